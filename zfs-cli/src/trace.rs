//! The timing trace of a replication run: one `tracing` event (target
//! [`TRACE_TARGET`], level TRACE) per span the run reports
//! ([`zfs_sync::Events::span`]: backend calls through [`zfs_sync::Timed`], the run's phases, each
//! dataset and transfer) with the time since the run started, the thread, what it was and how long
//! it took. For finding where a replication run spends its time; on with
//! `ZSYNC_LOG=zsync::trace=trace`.

use crate::logging::TRACE_TARGET;
use std::time::Instant;

/// Emits the trace events: `zsync: trace: +T [thread] what (D s)` in human form; the same as the
/// fields `at`, `thread`, `what`, `seconds` in JSON.
#[derive(Debug, Clone, Copy)]
pub struct Tracer {
    epoch: Instant,
}

impl Tracer {
    /// A tracer when the log lets the trace through; times count from now.
    pub fn if_enabled() -> Option<Tracer> {
        tracing::enabled!(target: TRACE_TARGET, tracing::Level::TRACE).then(|| Tracer {
            epoch: Instant::now(),
        })
    }

    /// Emits the event of a span that started at `started` and ends now.
    pub fn line(&self, what: &str, started: Instant) {
        let th = std::thread::current();
        let at = started.saturating_duration_since(self.epoch).as_secs_f64();
        let seconds = started.elapsed().as_secs_f64();
        let thread = th.name().unwrap_or("?");
        tracing::trace!(
            target: TRACE_TARGET,
            at,
            thread,
            what,
            seconds,
            "+{at:.3} [{thread}] {what} ({seconds:.3} s)"
        );
    }
}
