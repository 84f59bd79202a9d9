//! What `zsync sync` shows while it runs, as a [`zfs_sync::Events`] sink: a result line per dataset as
//! it finishes (with its warnings, and under `--debug` what the stream check read or why it could
//! not), printed above
//! the progress line when there is one, and the timing trace.

use crate::progress::ProgressLine;
use crate::render::result_line;
use crate::syncoid_lines::{self, Line};
use crate::trace::Tracer;
use std::sync::Mutex;
use std::time::Instant;
use zfs_sync::{
    DatasetPlan, DatasetReport, Events, Plan, ProgressSnapshot, Step, StepReport, StreamInfo,
};

/// The sync run's printer.
#[derive(Debug)]
pub struct SyncEvents {
    /// The progress line, when one is shown.
    pub progress: Option<ProgressLine>,
    /// The timing trace, when on.
    pub trace: Option<Tracer>,
    /// No result lines on stdout (`--quiet`, `--json`).
    pub quiet: bool,
    /// No warnings on stderr (`--quiet`).
    pub no_warnings: bool,
    /// What each stream check read, on stderr (`--debug`).
    pub debug: bool,
    /// Keeps the lines of datasets finishing together apart.
    pub print_lock: Mutex<()>,
    /// syncoid mode: also print syncoid's log lines ([`crate::syncoid_lines`]).
    pub syncoid: bool,
    /// `--quiet` as syncoid reads it (no `INFO:` or `WARNING:` lines).
    pub syncoid_quiet: bool,
    /// `--no-stream` (syncoid's full-send line says so).
    pub no_stream: bool,
}

impl SyncEvents {
    fn print_report(&self, d: &DatasetReport) {
        if !self.quiet {
            outln!("{}", result_line(d));
        }
        if !self.no_warnings {
            for w in &d.warnings {
                crate::logging::warn(&format!("{}: {w}", d.target));
            }
        }
        if self.debug {
            for c in d.steps.iter().flat_map(|s| &s.checked) {
                crate::logging::debug(&format!("{}: stream {}", d.source, c.describe()));
            }
            for u in d.steps.iter().flat_map(|s| &s.unchecked) {
                crate::logging::debug(&format!("{}: stream {} {}", d.source, u.stream, u.reason));
            }
        }
    }

    /// Prints syncoid's lines (syncoid mode only), above the progress line when there is one.
    fn syncoid_lines(&self, lines: &[Line]) {
        if !self.syncoid || lines.is_empty() {
            return;
        }
        let _g = self.print_lock.lock();
        let print = || {
            for l in lines {
                l.print(self.syncoid_quiet, self.debug);
            }
        };
        match &self.progress {
            Some(p) => p.print_above(print),
            None => print(),
        }
    }
}

impl Events for SyncEvents {
    fn planned(&self, plan: &Plan) {
        let lines: Vec<Line> = plan
            .property_skipped
            .iter()
            .map(syncoid_lines::property_skipped)
            .collect();
        self.syncoid_lines(&lines);
    }

    fn dataset_started(&self, dataset: &DatasetPlan) {
        self.syncoid_lines(&syncoid_lines::dataset_started(dataset));
    }

    fn step_started(&self, dataset: &DatasetPlan, step: &Step) {
        if step.is_transfer() {
            crate::signals::stream_started(dataset.target.as_ref());
        }
        self.syncoid_lines(&syncoid_lines::step_started(dataset, step, self.no_stream));
    }

    fn step_finished(&self, dataset: &DatasetPlan, step: &StepReport) {
        if step.step.is_transfer() {
            crate::signals::stream_ended(dataset.target.as_ref());
        }
    }

    fn stream_progress(&self, stream: &StreamInfo, now: &ProgressSnapshot) {
        if let Some(p) = &self.progress {
            p.update(stream, now);
        }
    }

    fn dataset_finished(&self, d: &DatasetReport) {
        self.syncoid_lines(&syncoid_lines::dataset_finished(d));
        let _g = self.print_lock.lock();
        match &self.progress {
            Some(p) => p.print_above(|| self.print_report(d)),
            None => self.print_report(d),
        }
    }

    fn span(&self, what: &str, started: Instant) {
        if let Some(t) = &self.trace {
            t.line(what, started);
        }
    }
}
