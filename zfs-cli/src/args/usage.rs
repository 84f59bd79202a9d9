//! What a clap error becomes: help and version in full on stdout, a usage error as ONE line.

/// Outcome of turning a clap error into what the user sees.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageOutcome {
    /// Text to print.
    pub text: String,
    /// Print on stdout (help, version) rather than stderr.
    pub stdout: bool,
    /// Exit code: 0 for help/version, 2 for usage errors.
    pub code: u8,
}

/// Help and version print in full on stdout (exit 0); any real usage error becomes ONE line on
/// stderr naming the problem, with a hint, exit 2.
pub fn usage_error(err: &clap::Error, program: &str) -> UsageOutcome {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => UsageOutcome {
            text: err.render().to_string(),
            stdout: matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ),
            code: if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        },
        _ => {
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            UsageOutcome {
                text: format!("{program}: {first} (try '{program} --help')\n"),
                stdout: false,
                code: 2,
            }
        }
    }
}
