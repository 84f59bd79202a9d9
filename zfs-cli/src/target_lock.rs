//! The per-target lock around a replication ([`zsync_ops::target_lock`]): a run that finds another
//! zsync on this machine receiving into its target waits `--lock-wait`, then skips the target
//! (exit 75, [`EXIT_LOCKED`]) with one line naming it and the holder.

use crate::args::SyncFlags;
use crate::exit::{Fail, EXIT_LOCKED};
use std::path::PathBuf;
use std::time::Duration;
use zfs_core::Endpoint;
use zsync_ops::lock::DEFAULT_LOCK_WAIT;
use zsync_ops::target_lock::{TargetLock, TargetLockError, DEFAULT_TARGET_LOCK_DIR};

/// Locks `target` for a run with `flags` (`--lock-wait`, `--target-lock-dir`). `Ok(None)` when
/// the lock directory cannot be used (e.g. an unprivileged run without `/run/zsync`): `warn` says
/// so and the run goes on unlocked rather than not backing up at all. A busy target is a
/// [`Fail`] with exit 75: `skipped POOL/DS: another zsync is receiving into it (pid N: ...)`.
pub fn lock_target(
    target: &Endpoint,
    flags: &SyncFlags,
    warn: &dyn Fn(&str),
) -> Result<Option<TargetLock>, Fail> {
    let dir = flags
        .target_lock_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TARGET_LOCK_DIR));
    let wait: Duration = flags.lock_wait.unwrap_or(DEFAULT_LOCK_WAIT);
    let host = target.remote.as_ref().map(|r| r.host.as_str());
    match TargetLock::acquire(&dir, host, target.dataset.as_str(), wait) {
        Ok(lock) => Ok(Some(lock)),
        Err(e @ TargetLockError::Busy { .. }) => Err(Fail {
            code: EXIT_LOCKED,
            message: format!("skipped {target}: {e}; try again later or raise --lock-wait"),
        }),
        Err(e @ TargetLockError::Io { .. }) => {
            warn(&format!(
                "{e}; {target} is replicated without the per-target lock"
            ));
            Ok(None)
        }
    }
}
