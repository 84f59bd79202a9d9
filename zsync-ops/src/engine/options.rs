//! What a snapshot/prune run is asked to do.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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
    /// Snapshots (`pool/ds@snap`) never destroyed whatever retention says, with the reason told
    /// when one is kept (`zsync run` protects the newest snapshot a job's source and target share).
    pub protect: BTreeMap<String, String>,
}
