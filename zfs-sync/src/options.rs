//! Options: the planner's (snapshot filters, tree selection, first replication) and a run's (send,
//! receive and sync options).

use crate::naming::SyncNaming;
use crate::pattern::{Pattern, PatternError};
use serde::{Deserialize, Serialize};
use zfs_core::{DatasetName, Wire};

/// Which source snapshots are sent: a snapshot (short name, after `@`) is sent when it matches an include
/// pattern (or there are none) and no exclude pattern. Patterns are unanchored regexes ([`Pattern`]).
/// Filters never decide the common base.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    /// Send only snapshots matching one of these (empty: all).
    pub include: Vec<Pattern>,
    /// Never send snapshots matching one of these (wins over include).
    pub exclude: Vec<Pattern>,
}

impl SnapshotFilter {
    /// Builds a filter from pattern strings; the first invalid one is the error.
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Result<Self, PatternError> {
        Ok(SnapshotFilter {
            include: include
                .iter()
                .map(|p| Pattern::new(p.as_ref()))
                .collect::<Result<_, _>>()?,
            exclude: exclude
                .iter()
                .map(|p| Pattern::new(p.as_ref()))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether the snapshot with this short name is sent.
    pub fn selects(&self, short: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(short)))
            && !self.exclude.iter().any(|r| r.is_match(short))
    }
}

/// What a first (initial) replication sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialReplication {
    /// The oldest selected snapshot in full, then everything up to the newest (syncoid's default).
    #[default]
    All,
    /// Only the newest selected snapshot, in full (syncoid `--no-stream`).
    Newest,
}

/// Per-dataset planning options. `Default` is the safe choice: `-I`, resume, no destruction.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// `-I` (every snapshot between base and newest). `false`: `-i` to the newest only (`--no-stream`).
    pub intermediates: bool,
    /// What a first replication sends.
    pub initial: InitialReplication,
    /// Allow rolling the target back to the common base, destroying target-only newer snapshots.
    pub rollback: bool,
    /// Allow destroying a target that shares nothing with the source, to send it in full.
    pub force_delete: bool,
    /// Destroy target snapshots whose GUID is gone from the source (never the common base).
    pub delete_target_snapshots: bool,
    /// Resume interrupted receives from their token (otherwise the partial state is aborted).
    pub resume: bool,
    /// Abort a stale resume token (partial state only) instead of reporting a conflict.
    pub abort_stale_token: bool,
    /// Which snapshots are sent.
    pub snapshots: SnapshotFilter,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            intermediates: true,
            initial: InitialReplication::All,
            rollback: false,
            force_delete: false,
            delete_target_snapshots: false,
            resume: true,
            abort_stale_token: true,
            snapshots: SnapshotFilter::default(),
        }
    }
}

/// Which datasets of a tree are replicated and where to.
#[derive(Debug, Clone)]
pub struct TreeSpec {
    /// Source root dataset.
    pub source_root: DatasetName,
    /// Target root dataset: `source_root/a/b` maps to `target_root/a/b`.
    pub target_root: DatasetName,
    /// Include every dataset below the root.
    pub recursive: bool,
    /// Leave the root itself out (with `recursive`).
    pub skip_parent: bool,
    /// Leave out datasets whose full source name matches one of these (unanchored regexes).
    pub exclude_datasets: Vec<Pattern>,
    /// Honour syncoid's `syncoid:sync` dataset property for a run on this host (syncoid mode: the
    /// local host name); `None`: the property is not read. See [`crate::sync_property`].
    pub sync_host: Option<String>,
}

impl TreeSpec {
    /// A non-recursive spec for one dataset.
    pub fn single(source: DatasetName, target: DatasetName) -> Self {
        TreeSpec {
            source_root: source,
            target_root: target,
            recursive: false,
            skip_parent: false,
            exclude_datasets: Vec::new(),
            sync_host: None,
        }
    }

    /// A recursive spec.
    pub fn recursive(source: DatasetName, target: DatasetName) -> Self {
        TreeSpec {
            recursive: true,
            ..Self::single(source, target)
        }
    }

    /// Maps a source dataset at or below `source_root` to its target name.
    pub fn map(&self, source: &DatasetName) -> Option<DatasetName> {
        if !source.is_within(&self.source_root) {
            return None;
        }
        let rest = &source.as_str()[self.source_root.as_str().len()..];
        DatasetName::parse(&format!("{}{}", self.target_root, rest)).ok()
    }
}

/// Send flags passed through to every send (`--sendoptions`); `raw` is decided per dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// `-L`.
    pub large_block: bool,
    /// `-e`.
    pub embed: bool,
    /// `-c`.
    pub compressed: bool,
    /// `-w` for every dataset, not only encrypted ones.
    pub raw: bool,
    /// `-p`: send the dataset's properties in the stream (received as `received` values).
    pub props: bool,
}

/// Receive options passed through to every receive (`--recvoptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvOptions {
    /// `-o name=value`.
    pub props: Vec<(String, String)>,
    /// `-x name`.
    pub exclude_props: Vec<String>,
    /// `-u`: leave received filesystems unmounted. On by default: mounting a replica's children
    /// creates their mountpoint directories in the (mounted) parent, and reads update atime, so the
    /// next incremental into that parent fails with "destination has been modified since most recent
    /// snapshot" (bzfs and zfs_autobackup receive with `-u` too).
    pub no_mount: bool,
}

impl Default for RecvOptions {
    /// No properties, unmounted (`-u`).
    fn default() -> Self {
        RecvOptions {
            props: Vec::new(),
            exclude_props: Vec::new(),
            no_mount: true,
        }
    }
}

/// Everything a run needs besides the endpoints and the tree spec.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Planner options (filters, `-I`, rollback, force-delete, ...).
    pub plan: PlanOptions,
    /// Job identifier: sync snapshots are `zsync_<identifier>_<UTC>`, holds `zsync_<identifier>`.
    /// Letters, digits and `_ - . :` only.
    pub identifier: String,
    /// Take a sync snapshot of the tree before planning (`--no-sync-snap` turns it off).
    pub sync_snapshot: bool,
    /// How sync snapshots, holds and job bookmarks are named (syncoid mode: [`SyncNaming::Syncoid`]).
    pub naming: SyncNaming,
    /// Keep this job's older sync snapshots (`--keep-sync-snap`).
    pub keep_sync_snapshots: bool,
    /// Hold the newest replicated snapshot on both sides under `zsync_<identifier>`, moving it each run.
    pub use_hold: bool,
    /// Bookmark each replicated snapshot on the source (same short name).
    pub create_bookmark: bool,
    /// Send flags.
    pub send: SendOptions,
    /// Receive options.
    pub recv: RecvOptions,
    /// Read the source's locally set properties once per run and set them on every receive with
    /// `zfs receive -o` (syncoid's `--preserve-properties`); see the `preserve` module.
    pub preserve_properties: bool,
    /// Set the source's `recordsize` on the receive that creates a filesystem's target
    /// (`-o recordsize=`, as syncoid); see the `preserve` module.
    pub preserve_recordsize: bool,
    /// Receive incrementals with `-F`: discards changes made on the target since its newest snapshot (the
    /// plan has already checked that no target snapshot is newer than the base, so no snapshot is lost).
    /// syncoid's default; off here. Implied by `plan.rollback`. Without it a modified target fails with a
    /// hint; keep replicas `readonly=on` (mounting a writable replica can already modify it).
    pub force_receive: bool,
    /// Compression of streams that cross a network (`--compress`): `None` (the default) is
    /// [`Wire::ZSTD`] (zstd level 3) when either end is remote; `Some(Wire::Plain)` never
    /// compresses. Local → local is never compressed. A local end compresses or decompresses
    /// in-process; a remote end with its host's `zstd`/`lz4`, or not at all (with a notice in the
    /// report) when the host lacks the program. See the `wire` module.
    pub compress: Option<Wire>,
    /// Streams expected to be smaller than this many bytes cross a remote end plain and on its
    /// control session (not bulk: see [`zfs_core::SendRequest::bulk`]), whatever `compress` says:
    /// for them, the process a compressor or a bulk data path (an `ssh` client) costs per stream
    /// outweighs what it saves. Only where the source estimates a stream without a process (the
    /// libzfs_core backend's `lzc_send_space`); resumed streams and relays keep the run's wires.
    /// `0` turns it off. Default [`SMALL_STREAM`].
    pub small_stream: u64,
    /// Datasets replicated concurrently (at least 1).
    pub jobs: usize,
    /// The time the run's sync snapshot is named after; `None` (the default): the time the run
    /// starts. Set it to run at an injected time (tests, simulations); options reused for another
    /// run with a sync snapshot then need a new value, or that run's snapshot name is taken.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// Default [`SyncOptions::small_stream`]: 2 MiB. Below it, spawning an `ssh` client for the stream
/// costs more than libssh2's slower cipher does (zfs-ssh measured ~190 MiB/s for libssh2 against ~400
/// for OpenSSH: 2 MiB is ~5 ms of extra crypto, about what one process start costs).
pub const SMALL_STREAM: u64 = 2 << 20;

impl Default for SyncOptions {
    /// Job `default`: a sync snapshot, no holds or bookmarks, default send/receive options, zstd
    /// on the wire when an end is remote, [`default_jobs`] workers, named at the time each run
    /// starts.
    fn default() -> Self {
        SyncOptions {
            plan: PlanOptions::default(),
            identifier: "default".into(),
            sync_snapshot: true,
            naming: SyncNaming::Zsync,
            keep_sync_snapshots: false,
            use_hold: false,
            create_bookmark: false,
            send: SendOptions::default(),
            recv: RecvOptions::default(),
            preserve_properties: false,
            preserve_recordsize: false,
            force_receive: false,
            compress: None,
            small_stream: SMALL_STREAM,
            jobs: default_jobs(),
            now: None,
        }
    }
}

/// Twice the machine's cores, at least 8 and at most 16. A worker spends most of its time waiting
/// for the pool's transaction group syncs (every receive waits for one when it begins and one when it
/// ends), not on a CPU: concurrent receives share those syncs. Measured in the lab (51 datasets, one
/// new snapshot each, 2 vCPUs): 2 workers 32 s, 8-24 workers 18-22 s for the transfers.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_mul(2)
        .clamp(8, 16)
}
