//! What the user sees: result lines on stdout, warnings and errors on stderr, or one JSON report.

use crate::exit::AsExitCode;
use zsync_ops::{Events, Failure, HookKind, HookReport, Level, Phase, Report};

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

/// Whose wording a run's lines use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// zsync's: `created X`, `destroyed X` at normal verbosity, decisions with --verbose.
    Zsync,
    /// sanoid's: nothing on stdout at normal verbosity; with --verbose `INFO: taking
    /// snapshots...`, `taking snapshot X`, `INFO: pruning snapshots...`, `INFO: pruning X ... `;
    /// zsync's decisions only with --debug.
    Sanoid,
}

/// Prints as the run goes (unless JSON was asked for).
#[derive(Debug)]
pub struct Output {
    verbosity: Verbosity,
    json: bool,
    style: Style,
    /// Tests: lines kept here (`"out: ..."`, `"err: ..."`) instead of printed.
    captured: Option<Vec<String>>,
}

impl Output {
    /// New output in zsync's wording.
    pub fn new(verbosity: Verbosity, json: bool) -> Output {
        Output {
            verbosity,
            json,
            style: Style::Zsync,
            captured: None,
        }
    }

    /// New output in sanoid's wording (sanoid mode).
    pub fn sanoid(verbosity: Verbosity) -> Output {
        Output {
            style: Style::Sanoid,
            ..Output::new(verbosity, false)
        }
    }

    fn out(&mut self, line: &str) {
        match &mut self.captured {
            Some(c) => c.push(format!("out: {line}")),
            None => outln!("{line}"),
        }
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
            self.out(line);
        }
    }

    /// A decision, shown with --verbose.
    pub fn info(&mut self, line: &str) {
        if !self.json && self.verbosity >= Verbosity::Verbose {
            self.out(line);
        }
    }

    /// Internals, shown with --debug (through the log: [`crate::logging`]).
    pub fn debug(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Debug {
            match &mut self.captured {
                Some(c) => c.push(format!("err: zsync: debug: {line}")),
                None => crate::logging::debug(line),
            }
        }
    }

    /// A warning on stderr unless quiet (through the log: [`crate::logging`]).
    pub fn warn(&mut self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            match &mut self.captured {
                Some(c) => c.push(format!("err: zsync: warning: {line}")),
                None => crate::logging::warn(line),
            }
        }
    }

    /// An error on stderr (always), on one line (a tool's multi-line stderr is joined).
    pub fn error(&mut self, line: &str) {
        let one: Vec<&str> = line
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        match &mut self.captured {
            Some(c) => c.push(format!("err: zsync: error: {}", one.join(" "))),
            None => tracing::error!(target: "zsync", "{}", one.join(" ")),
        }
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
    fn phase_started(&mut self, phase: Phase) {
        if self.style == Style::Sanoid {
            self.info(match phase {
                Phase::Take => "INFO: taking snapshots...",
                Phase::Prune => "INFO: pruning snapshots...",
            });
        }
    }

    fn snapshot_created(&mut self, snapshot: &str, recursive: bool, dry_run: bool) {
        if self.style == Style::Sanoid {
            let tail = if recursive { " (zfs recursive)" } else { "" };
            self.info(&format!("taking snapshot {snapshot}{tail}"));
            return;
        }
        let verb = if dry_run { "would create" } else { "created" };
        let tail = if recursive { " (recursive)" } else { "" };
        self.result(&format!("{verb} {snapshot}{tail}"));
    }

    fn snapshot_destroyed(&mut self, snapshot: &str, reason: &str, dry_run: bool) {
        if self.style == Style::Sanoid {
            // sanoid's line, trailing space included.
            self.info(&format!("INFO: pruning {snapshot} ... "));
            return;
        }
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
        if self.style == Style::Sanoid {
            for t in targets {
                self.info(&format!("executing {} on dataset '{t}'", kind.key()));
            }
            return;
        }
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
            Level::Info if self.style == Style::Sanoid => self.debug(text),
            Level::Info => self.info(text),
            Level::Warn => self.warn(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(mut o: Output, f: impl FnOnce(&mut Output)) -> Vec<String> {
        o.captured = Some(Vec::new());
        f(&mut o);
        o.captured.unwrap_or_default()
    }

    fn run_events(o: &mut Output) {
        o.phase_started(Phase::Take);
        o.message(Level::Info, "tank: due hourly");
        o.snapshot_created("tank@autosnap_x_hourly", false, false);
        o.snapshot_created("pool@autosnap_x_daily", true, false);
        o.phase_started(Phase::Prune);
        o.snapshot_destroyed("tank@autosnap_w_hourly", "hourly=1", false);
    }

    /// sanoid is silent at normal verbosity (a MAILTO crontab must not start mailing).
    #[test]
    fn sanoid_style_is_silent_at_normal_verbosity() {
        assert!(capture(Output::sanoid(Verbosity::Normal), run_events).is_empty());
        assert!(capture(Output::sanoid(Verbosity::Quiet), run_events).is_empty());
    }

    /// Under --verbose, sanoid's wording (log greps look for these strings).
    #[test]
    fn sanoid_style_verbose_uses_sanoids_wording() {
        assert_eq!(
            capture(Output::sanoid(Verbosity::Verbose), run_events),
            vec![
                "out: INFO: taking snapshots...",
                "out: taking snapshot tank@autosnap_x_hourly",
                "out: taking snapshot pool@autosnap_x_daily (zfs recursive)",
                "out: INFO: pruning snapshots...",
                "out: INFO: pruning tank@autosnap_w_hourly ... ",
            ]
        );
    }

    #[test]
    fn zsync_style_prints_results_at_normal_verbosity() {
        assert_eq!(
            capture(Output::new(Verbosity::Normal, false), run_events),
            vec![
                "out: created tank@autosnap_x_hourly",
                "out: created pool@autosnap_x_daily (recursive)",
                "out: destroyed tank@autosnap_w_hourly",
            ]
        );
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
