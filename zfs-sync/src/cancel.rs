//! Cooperative cancellation of a run: a flag the caller sets (from a signal handler's thread, a
//! timeout, another job) and the executor checks before each dataset starts and between its steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A cancel token: clones share one flag. Cancelling stops a run between steps: a dataset not yet
/// started, or between two steps, ends as [`Outcome::Cancelled`](crate::Outcome::Cancelled). The
/// executor does not end a stream in flight itself; whoever cancels may (zsync ends its `zfs send`
/// / `zfs receive` children on a signal), and a step that fails once the token is cancelled is
/// reported as cancelled too, not failed.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token over an existing flag (e.g. one a signal handler sets).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }

    /// Cancels every run checking this token (or a clone of it). Cannot be undone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!a.is_cancelled() && !b.is_cancelled());
        std::thread::spawn(move || b.cancel()).join().unwrap();
        assert!(a.is_cancelled());
        assert!(
            !Cancel::default().is_cancelled(),
            "a new token is independent"
        );
        let flag = Arc::new(AtomicBool::new(false));
        let c = Cancel::from_flag(flag.clone());
        flag.store(true, Ordering::SeqCst);
        assert!(c.is_cancelled(), "the flag is the token's");
    }
}
