//! What a snapshot/prune run is asked to do.

use chrono::{DateTime, Utc};

/// What to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Take due snapshots.
    pub take: bool,
    /// Prune.
    pub prune: bool,
    /// Change nothing; report what would happen.
    pub dry_run: bool,
    /// The run's time (normally now; injectable for tests).
    pub now: DateTime<Utc>,
    /// Send hook scripts' stdout to stderr (keeps a machine-readable report on stdout clean).
    pub hook_stdout_to_stderr: bool,
}
