//! What `zsync sync` shows while it runs, as a [`zfs_sync::Events`] sink: a result line per dataset as
//! it finishes (with its warnings, and under `--debug` what the stream check read or why it could
//! not), printed above
//! the progress line when there is one, and the timing trace.

use crate::progress::ProgressLine;
use crate::render::result_line;
use crate::trace::Tracer;
use std::sync::Mutex;
use std::time::Instant;
use zfs_sync::{DatasetReport, Events, ProgressSnapshot, StreamInfo};

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
}

impl SyncEvents {
    fn print_report(&self, d: &DatasetReport) {
        if !self.quiet {
            println!("{}", result_line(d));
        }
        if !self.no_warnings {
            for w in &d.warnings {
                eprintln!("zsync: warning: {}: {w}", d.target);
            }
        }
        if self.debug {
            for c in d.steps.iter().flat_map(|s| &s.checked) {
                eprintln!("zsync: debug: {}: stream {}", d.source, c.describe());
            }
            for u in d.steps.iter().flat_map(|s| &s.unchecked) {
                eprintln!(
                    "zsync: debug: {}: stream {} {}",
                    d.source, u.stream, u.reason
                );
            }
        }
    }
}

impl Events for SyncEvents {
    fn stream_progress(&self, stream: &StreamInfo, now: &ProgressSnapshot) {
        if let Some(p) = &self.progress {
            p.update(stream, now);
        }
    }

    fn dataset_finished(&self, d: &DatasetReport) {
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
