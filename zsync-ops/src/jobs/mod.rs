//! The replication job file (`/etc/zsync/jobs.toml`, beside `sanoid.conf`): the jobs `zsync run`
//! replicates, read with `serde` + `toml` and checked before anything runs.
//!
//! ```toml
//! on_failure = ["/usr/local/bin/notify", "zsync run failed"]   # optional, file-wide
//!
//! [[job]]
//! name = "vms"
//! source = ["tank/vms"]      # or one: source = "tank/vms"
//! target = "root@backup:tank/backup"
//! recursive = true
//! compress = "zstd"
//! on_failure = ["/usr/local/bin/notify", "zsync job failed"]
//!
//! [job.retention]        # optional: prune the target by sanoid.conf's keys
//! daily = 30
//! monthly = 12
//! ```
//!
//! Every `zsync sync` option is a key spelled as its flag without the dashes (`skip-parent`,
//! `source-bwlimit`, `ssh-transport`, ...; see [`SyncSettings`]); unknown keys are refused. Each
//! error is one line, `jobs.toml:LINE:COLUMN: ...`, naming the key or job ([`JobFileError`]).
//!
//! Resolution into `zfs_sync::SyncOptions`: the flag → options logic stays in the binary
//! (`zfs-cli/src/args/resolve.rs`, where `zsync sync` uses it), not duplicated here. A job
//! carries its options as [`SyncSettings`], a typed struct with the same names as the binary's
//! `SyncFlags`/`SyncArgs`, and [`Job::sync_args`] renders one source of a job as the exact
//! `zsync sync` argument vector, which the binary parses with its own clap definitions and
//! resolves as for the command line. What is checked here at load time, with the key's line
//! and column: the names (`Endpoint::parse`), sizes and rates (zfs-stream's `parse_rate`),
//! `jobs`, `sshport`, `ssh-transport` and the retention keys (zfs-policy). Patterns, `compress`,
//! `sendoptions`, `recvoptions` and `sshoption` are checked by that resolution; the binary
//! reports those with [`JobFile::error_at`] and the job's [`Location`].
//!
//! Target retention ([`Retention`]) uses sanoid.conf's retention keys; the executor that prunes
//! with it must never destroy the newest snapshot source and target share (the base of the next
//! incremental), whatever the counts say.

mod error;
mod file;
mod job;
mod location;
mod retention;
mod settings;
mod sources;

pub use error::JobFileError;
pub use file::{JobFile, DEFAULT_PATH};
pub use job::{FailureCommand, Job};
pub use location::Location;
pub use retention::{Retention, RETENTION_KEYS};
pub use settings::SyncSettings;
