//! Progress of a running pipe, readable from any thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A cheap, cloneable handle on a pipe's counters. The pipe updates it with
/// relaxed atomics; the CLI polls [`Progress::snapshot`] as often as it likes.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    stream_bytes: AtomicU64,
    estimate: AtomicU64,
    started: OnceLock<Instant>,
    finished_after_ns: AtomicU64,
    done: AtomicBool,
}

/// A point-in-time reading of [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSnapshot {
    /// Bytes read from the source (compressed, if it is).
    pub bytes_in: u64,
    /// Bytes written to the sink (compressed, if it is).
    pub bytes_out: u64,
    /// Send-stream bytes (uncompressed), what a `zfs send -nP` estimate counts.
    pub bytes: u64,
    /// Time since the pipe started (frozen when it ended).
    pub elapsed: Duration,
    /// Average stream bytes per second so far.
    pub rate: f64,
    /// The size estimate, if one was given.
    pub estimate: Option<u64>,
    /// Estimated time left, if there is an estimate and a rate.
    pub eta: Option<Duration>,
    /// Whether the pipe has ended.
    pub done: bool,
}

impl ProgressSnapshot {
    /// Percentage of the estimate done (capped at 100).
    pub fn percent(&self) -> Option<f64> {
        self.estimate
            .filter(|&e| e > 0)
            .map(|e| (self.bytes as f64 * 100.0 / e as f64).min(100.0))
    }
}

impl Progress {
    /// A fresh handle (not started).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the expected stream size (e.g. from `zfs send -nP`).
    pub fn set_estimate(&self, bytes: u64) {
        self.0.estimate.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn start(&self) {
        let _ = self.0.started.set(Instant::now());
    }

    pub(crate) fn finish(&self) {
        if let Some(s) = self.0.started.get() {
            let ns = s.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            self.0.finished_after_ns.store(ns.max(1), Ordering::Relaxed);
        }
        self.0.done.store(true, Ordering::Release);
    }

    pub(crate) fn add_in(&self, n: u64) {
        self.0.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_out(&self, n: u64) {
        self.0.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_stream(&self, n: u64) {
        self.0.stream_bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes read from the source so far.
    pub fn bytes_in(&self) -> u64 {
        self.0.bytes_in.load(Ordering::Relaxed)
    }

    /// Bytes written to the sink so far.
    pub fn bytes_out(&self) -> u64 {
        self.0.bytes_out.load(Ordering::Relaxed)
    }

    /// Reads all counters at once.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let i = &self.0;
        let done = i.done.load(Ordering::Acquire);
        let fin = i.finished_after_ns.load(Ordering::Relaxed);
        let elapsed = match (i.started.get(), fin) {
            (Some(_), f) if f > 0 => Duration::from_nanos(f),
            (Some(s), _) => s.elapsed(),
            (None, _) => Duration::ZERO,
        };
        let bytes = i.stream_bytes.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
        let estimate = match i.estimate.load(Ordering::Relaxed) {
            0 => None,
            e => Some(e),
        };
        let eta = match estimate {
            Some(e) if rate > 0.0 && !done => Some(Duration::from_secs_f64(
                e.saturating_sub(bytes) as f64 / rate,
            )),
            Some(_) if done => Some(Duration::ZERO),
            _ => None,
        };
        ProgressSnapshot {
            bytes_in: i.bytes_in.load(Ordering::Relaxed),
            bytes_out: i.bytes_out.load(Ordering::Relaxed),
            bytes,
            elapsed,
            rate,
            estimate,
            eta,
            done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_counts_and_eta() {
        let p = Progress::new();
        let s = p.snapshot();
        assert_eq!((s.bytes, s.elapsed, s.eta), (0, Duration::ZERO, None));
        p.set_estimate(1000);
        p.start();
        let q = p.clone();
        q.add_in(10);
        q.add_stream(250);
        q.add_out(20);
        let s = p.snapshot();
        assert_eq!((s.bytes_in, s.bytes, s.bytes_out), (10, 250, 20));
        assert_eq!(s.percent(), Some(25.0));
        assert!(!s.done);
        p.finish();
        let s = p.snapshot();
        assert!(s.done);
        assert_eq!(s.eta, Some(Duration::ZERO));
        assert_eq!(p.snapshot().elapsed, s.elapsed, "elapsed frozen at the end");
    }
}
