//! After a failed replication: was a pool exported (or lost) during the run? The datasets' errors
//! then only say "does not exist"; one line per vanished pool says why and what to do.

use crate::sync::OpenedPair;
use zfs_core::{Endpoint, ZfsError};

/// The pools of `source` and `target` (on their hosts in `pair`) that are no longer imported,
/// as one line each: `pool P on HOST is not imported any more (exported during the run?): zpool
/// import P, then run again (a partial receive resumes)`.
pub fn lost_pools(pair: &OpenedPair, source: &Endpoint, target: &Endpoint) -> Vec<String> {
    let sides = [
        (pair.source.backend.as_ref(), source),
        (pair.target_backend(), target),
    ];
    let mut lines = Vec::new();
    for (backend, end) in sides {
        let pool = end.dataset.pool();
        if let Err(ZfsError::NotFound { .. }) = backend.pools(std::slice::from_ref(&pool)) {
            let line = format!(
                "pool {pool} on {} is not imported any more (exported during the run?): \
                 zpool import {pool}, then run again (a partial receive resumes)",
                backend.host()
            );
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines
}

/// Prints [`lost_pools`] as warnings (also under `--quiet`: they explain the errors above them).
pub fn say_lost_pools(pair: &OpenedPair, source: &Endpoint, target: &Endpoint) {
    for line in lost_pools(pair, source, target) {
        crate::logging::warn(&line);
    }
}
