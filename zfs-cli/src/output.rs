//! What the user sees: result lines on stdout, warnings and errors on stderr, or one JSON report.

use serde::Serialize;

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

/// One hook run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HookReport {
    /// Config key (`pre_snapshot_script`, ...).
    pub script: String,
    /// Datasets it was about.
    pub targets: Vec<String>,
    /// `succeeded`, `failed with exit status 1`, `timed out after 5 s and was killed`, ...
    pub outcome: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// A failed operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// What was attempted (`snapshot tank@x`, `destroy tank@y`, `list tank`).
    pub what: String,
    /// The error.
    pub error: String,
}

/// A dataset or snapshot deliberately left alone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skip {
    /// Dataset or snapshot.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The result of a snapshot/prune run.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Report {
    /// Nothing was changed.
    pub dry_run: bool,
    /// The run's time (RFC 3339, UTC).
    pub now: String,
    /// Snapshots created (or that would be, in a dry run).
    pub created: Vec<String>,
    /// Snapshots destroyed (or that would be).
    pub destroyed: Vec<String>,
    /// Left alone on purpose (hook vetoes, holds, prune_defer, missing datasets).
    pub skipped: Vec<Skip>,
    /// Hook runs.
    pub hooks: Vec<HookReport>,
    /// Failed ZFS operations.
    pub failures: Vec<Failure>,
    /// Configured datasets that do not exist.
    pub missing: Vec<String>,
}

impl Report {
    /// 2 when a ZFS operation failed; 1 when a hook failed, something was skipped for a problem,
    /// or a configured dataset is missing; else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.failures.is_empty() {
            2
        } else if !self.missing.is_empty() || self.hooks.iter().any(|h| !h.ok) {
            1
        } else {
            0
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
            println!("{line}");
        }
    }

    /// A decision, shown with --verbose.
    pub fn info(&mut self, line: &str) {
        if !self.json && self.verbosity >= Verbosity::Verbose {
            println!("{line}");
        }
    }

    /// Internals, shown with --debug.
    pub fn debug(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Debug {
            eprintln!("zsync: debug: {line}");
        }
    }

    /// A warning on stderr (unless quiet).
    pub fn warn(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("zsync: warning: {line}");
        }
    }

    /// An error on stderr (always).
    pub fn error(&mut self, line: &str) {
        eprintln!("zsync: error: {line}");
    }

    /// Prints the JSON report if asked for; returns the exit code.
    pub fn finish(&mut self, report: &Report) -> u8 {
        if self.json {
            match serde_json::to_string_pretty(report) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("zsync: error: cannot render the report: {e}"),
            }
        }
        report.exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.hooks.push(HookReport {
            script: "pre_snapshot_script".into(),
            targets: vec!["tank".into()],
            outcome: "failed with exit status 1".into(),
            ok: false,
        });
        assert_eq!(r.exit_code(), 1);
        r.failures.push(Failure {
            what: "snapshot tank@x".into(),
            error: "out of space".into(),
        });
        assert_eq!(r.exit_code(), 2);
    }

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
