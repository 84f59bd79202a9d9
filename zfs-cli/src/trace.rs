//! The timing trace of `zsync sync` (`ZSYNC_TRACE=1`): one stderr line per span the run reports
//! ([`zfs_sync::Events::span`]: backend calls through [`zfs_sync::Timed`], the run's phases, each
//! dataset and transfer) with the time since the run started, the thread, what it was and how long
//! it took. For finding where a replication run spends its time.

use std::time::Instant;

/// Prints trace lines: `zsync: trace: +T [thread] what (D s)`.
#[derive(Debug, Clone, Copy)]
pub struct Tracer {
    epoch: Instant,
}

impl Tracer {
    /// A tracer when `ZSYNC_TRACE` is set to something other than empty or `0`; times count from now.
    pub fn from_env() -> Option<Tracer> {
        std::env::var("ZSYNC_TRACE")
            .is_ok_and(|v| !v.is_empty() && v != "0")
            .then(|| Tracer {
                epoch: Instant::now(),
            })
    }

    /// Prints the line of a span that started at `started` and ends now.
    pub fn line(&self, what: &str, started: Instant) {
        let th = std::thread::current();
        errln!(
            "zsync: trace: +{:.3} [{}] {what} ({:.3} s)",
            started.saturating_duration_since(self.epoch).as_secs_f64(),
            th.name().unwrap_or("?"),
            started.elapsed().as_secs_f64()
        );
    }
}
