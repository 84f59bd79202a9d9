//! `zsync sync` / `zsync plan` arguments, and the replication flags they share with syncoid mode.

use clap::Args;

/// `zsync sync` / `zsync plan` options (they mirror the planner's and executor's).
#[derive(Debug, Clone, Args, Default)]
pub struct SyncArgs {
    /// Source dataset: `pool/ds` (local) or `[user@]host:pool/ds` (over SSH).
    pub source: String,
    /// Target dataset: `pool/ds` or `[user@]host:pool/ds`.
    pub target: String,
    /// The flags `zsync sync` shares with syncoid mode.
    #[command(flatten)]
    pub flags: SyncFlags,
    /// Allow discarding target-only snapshots newer than the common base.
    #[arg(long)]
    pub rollback: bool,
    /// Mount received filesystems. Default: received unmounted (`receive -u`), because a mounted
    /// replica changes (mountpoint directories of its children, atime) and the next incremental
    /// then fails with "destination has been modified".
    #[arg(long)]
    pub mount: bool,
    /// Do not check the send stream's records and fletcher-4 checksums in transit (checked by
    /// default; costs one read of every byte).
    #[arg(long)]
    pub no_stream_check: bool,
    /// Show a progress line on stderr (default: when stderr is a terminal, unless --quiet); into
    /// a log it is a plain line every 5 s.
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,
    /// Never show the progress line.
    #[arg(long)]
    pub no_progress: bool,
}

/// The replication flags `zsync sync`/`plan` and syncoid mode share (flattened into both
/// [`SyncArgs`] and [`SyncoidArgs`](super::SyncoidArgs), so a flag added here exists in both).
///
/// Not here because the two differ: the positional SRC/DST (optional in syncoid mode, for
/// `--version`), rollback (`--rollback` opts in for zsync; syncoid rolls back unless
/// `--no-rollback`), mounting (`--mount` opts in for zsync; syncoid mounts unless
/// `--recvoptions=u`). In syncoid mode `--quiet` has no `-q` and `--jobs`/`--json` are hidden
/// (see [`SyncoidArgs`](super::SyncoidArgs)).
#[derive(Debug, Clone, Args, Default, PartialEq, Eq)]
pub struct SyncFlags {
    /// Replicate the children too.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// With -r: do not replicate SRC itself, only its children.
    #[arg(long)]
    pub skip_parent: bool,
    /// Skip datasets whose full name matches this regex (repeatable).
    #[arg(long, value_name = "RE")]
    pub exclude_datasets: Vec<String>,
    /// Send only snapshots matching this regex (repeatable; does not affect base selection).
    #[arg(long, value_name = "RE")]
    pub include_snaps: Vec<String>,
    /// Do not send snapshots matching this regex (repeatable; wins over --include-snaps).
    #[arg(long, value_name = "RE")]
    pub exclude_snaps: Vec<String>,
    /// Send only the newest snapshot (`-i`), not every intermediate one (`-I`).
    #[arg(long)]
    pub no_stream: bool,
    /// Do not take a sync snapshot; send up to the newest existing one.
    #[arg(long)]
    pub no_sync_snap: bool,
    /// Keep older sync snapshots of this job.
    #[arg(long)]
    pub keep_sync_snap: bool,
    /// Job identifier in sync-snapshot, hold and bookmark names.
    #[arg(long, value_name = "ID")]
    pub identifier: Option<String>,
    /// Bookmark each replicated snapshot on the source.
    #[arg(long)]
    pub create_bookmark: bool,
    /// Hold the newest replicated snapshot on both sides.
    #[arg(long)]
    pub use_hold: bool,
    /// Do not resume interrupted receives; abort them.
    #[arg(long)]
    pub no_resume: bool,
    /// Allow destroying and recreating a target that shares no snapshot with the source.
    #[arg(long)]
    pub force_delete: bool,
    /// Destroy target snapshots that no longer exist on the source.
    #[arg(long)]
    pub delete_target_snapshots: bool,
    /// Set the source's locally set properties on the target (`receive -o`, every receive; not
    /// mountpoint, shares, reservations or quota).
    #[arg(long)]
    pub preserve_properties: bool,
    /// Set the source's recordsize on a target it creates (`receive -o recordsize=`).
    #[arg(long)]
    pub preserve_recordsize: bool,
    /// Extra `zfs send` flags, syncoid style (e.g. "L c e", "w").
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub sendoptions: Option<String>,
    /// Extra `zfs receive` flags, syncoid style (e.g. "o compression=lz4").
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub recvoptions: Option<String>,
    /// Stream compression where an end is remote: zstd (level 3, the default there), zstd-N (1-19),
    /// lz4, none; syncoid's names are mapped (zstd-fast, zstdmt-fast: zstd-3; zstd-slow,
    /// zstdmt-slow: zstd-19; lzo: lz4; gzip, pigz-fast: zstd-3; pigz-slow, xz: zstd-19). Local
    /// transfers are not compressed.
    #[arg(long, value_name = "ALGO")]
    pub compress: Option<String>,
    /// Streams a local source estimates below SIZE cross to a remote end uncompressed on the SSH
    /// session instead of --compress and the --ssh-transport data path, which cost a process
    /// per stream (default 2M; 0: every stream as those flags say).
    #[arg(long, value_name = "SIZE")]
    pub small_stream: Option<String>,
    /// Rate limit on the sending side (e.g. 10M, 500k).
    #[arg(long, value_name = "RATE")]
    pub source_bwlimit: Option<String>,
    /// Rate limit on the receiving side.
    #[arg(long, value_name = "RATE")]
    pub target_bwlimit: Option<String>,
    /// Datasets replicated in parallel (children still wait for their parents).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Errors only.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print every step.
    #[arg(long)]
    pub debug: bool,
    /// Print the snapshot lists of both sides.
    #[arg(long)]
    pub dumpsnaps: bool,
    /// Seconds to wait when another zsync on this machine is receiving into the target (or a
    /// dataset above or below it) before skipping it with exit 75 (default 10).
    #[arg(long, value_name = "SECONDS", value_parser = super::common::seconds_arg)]
    pub lock_wait: Option<std::time::Duration>,
    /// Directory of the per-target lock files (default /run/zsync/targets).
    #[arg(long, env = "ZSYNC_TARGET_LOCK_DIR", value_name = "DIR")]
    pub target_lock_dir: Option<std::path::PathBuf>,
    /// How to reach a remote endpoint.
    #[command(flatten)]
    pub ssh: super::ssh::SshFlags,
}
