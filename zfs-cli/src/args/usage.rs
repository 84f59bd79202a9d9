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
            // The first paragraph is the message; a value with a newline in it spans lines there,
            // and the line must still name the flag: newlines become `\n`.
            let trimmed = rendered.trim_start();
            let paragraph = trimmed.split("\n\n").next().unwrap_or("").trim_end();
            let message = paragraph.strip_prefix("error: ").unwrap_or(paragraph);
            let message = if message.is_empty() {
                "invalid arguments".to_string()
            } else {
                one_line(message)
            };
            UsageOutcome {
                text: format!("{program}: {message} (try '{program} --help')\n"),
                stdout: false,
                code: 2,
            }
        }
    }
}

/// `text` on one line: newlines, carriage returns and other control characters escaped
/// (`\n`, `\r`, `\t`, `\u{1b}`), so a hostile value cannot add lines to an error or a log.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_what_would_break_the_line() {
        assert_eq!(one_line("plain: ok"), "plain: ok");
        assert_eq!(one_line("a\nb\r\tc\u{1b}[31m"), "a\\nb\\r\\tc\\u{1b}[31m");
    }

    #[test]
    fn a_value_with_a_newline_still_names_its_flag() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[arg(long, value_parser = clap::value_parser!(u32))]
            jobs: u32,
        }
        let err = T::try_parse_from(["t", "--jobs", "a\nb"]).unwrap_err();
        let out = usage_error(&err, "zsync");
        assert_eq!(out.text.lines().count(), 1, "{}", out.text);
        assert!(
            out.text.contains("'a\\nb'") && out.text.contains("--jobs"),
            "{}",
            out.text
        );
    }
}
