//! What the user sees: result lines on stdout, warnings and errors on stderr, or one JSON report.

use crate::exit::AsExitCode;
use zsync_ops::{Events, Failure, HookKind, HookReport, Level, Report};

/// How much to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Results (created, destroyed) and warnings.
    Normal,
    /// Also every decision.
    Verbose,
    /// Also internals (backend, listing sizes).
    Debug,
}

impl Verbosity {
    /// From the usual flags (`--quiet` wins).
    pub fn from_flags(quiet: bool, verbose: bool, debug: bool) -> Verbosity {
        if quiet {
            Verbosity::Quiet
        } else if debug {
            Verbosity::Debug
        } else if verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// Prints as the run goes (unless JSON was asked for).
#[derive(Debug)]
pub struct Output {
    verbosity: Verbosity,
    json: bool,
}

impl Output {
    /// New output.
    pub fn new(verbosity: Verbosity, json: bool) -> Output {
        Output { verbosity, json }
    }

    /// Whether a JSON report is printed at the end (stdout must stay clean).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Current verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A result line (created/destroyed), shown unless quiet or JSON.
    pub fn result(&mut self, line: &str) {
        if !self.json && self.verbosity >= Verbosity::Normal {
            outln!("{line}");
        }
    }

    /// A decision, shown with --verbose.
    pub fn info(&mut self, line: &str) {
        if !self.json && self.verbosity >= Verbosity::Verbose {
            outln!("{line}");
        }
    }

    /// Internals, shown with --debug.
    pub fn debug(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Debug {
            errln!("zsync: debug: {line}");
        }
    }

    /// A warning on stderr (unless quiet).
    pub fn warn(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            errln!("zsync: warning: {line}");
        }
    }

    /// An error on stderr (always), on one line (a tool's multi-line stderr is joined).
    pub fn error(&mut self, line: &str) {
        let one: Vec<&str> = line
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        errln!("zsync: error: {}", one.join(" "));
    }

    /// Prints the JSON report if asked for; returns the exit code.
    pub fn finish(&mut self, report: &Report) -> u8 {
        if self.json {
            match serde_json::to_string_pretty(report) {
                Ok(s) => outln!("{s}"),
                Err(e) => errln!("zsync: error: cannot render the report: {e}"),
            }
        }
        report.exit_code()
    }
}

/// The engine's events as the lines a run prints: results (created, destroyed) on stdout, ZFS
/// errors and failed hooks on stderr, decisions with --verbose, internals with --debug.
impl Events for Output {
    fn snapshot_created(&mut self, snapshot: &str, recursive: bool, dry_run: bool) {
        let verb = if dry_run { "would create" } else { "created" };
        let tail = if recursive { " (recursive)" } else { "" };
        self.result(&format!("{verb} {snapshot}{tail}"));
    }

    fn snapshot_destroyed(&mut self, snapshot: &str, reason: &str, dry_run: bool) {
        if dry_run {
            self.result(&format!("would destroy {snapshot} ({reason})"));
        } else {
            self.result(&format!("destroyed {snapshot}"));
        }
    }

    fn operation_failed(&mut self, failure: &Failure) {
        self.error(&format!("{}: {}", failure.what, failure.error));
    }

    fn hook_started(&mut self, kind: HookKind, targets: &[String]) {
        self.info(&format!("running {} for {}", kind.key(), targets.join(",")));
    }

    fn hook_finished(&mut self, hook: &HookReport) {
        if !hook.ok {
            self.warn(&format!(
                "{} for {} {}",
                hook.script,
                hook.targets.join(","),
                hook.outcome
            ));
        }
    }

    fn message(&mut self, level: Level, text: &str) {
        match level {
            Level::Debug => self.debug(text),
            Level::Info => self.info(text),
            Level::Warn => self.warn(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_flags() {
        assert_eq!(Verbosity::from_flags(true, true, true), Verbosity::Quiet);
        assert_eq!(
            Verbosity::from_flags(false, true, false),
            Verbosity::Verbose
        );
        assert_eq!(Verbosity::from_flags(false, false, true), Verbosity::Debug);
        assert_eq!(
            Verbosity::from_flags(false, false, false),
            Verbosity::Normal
        );
    }
}
