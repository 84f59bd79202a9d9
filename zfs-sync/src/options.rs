//! Planner options, snapshot filters, tree selection and the decoded resume token.

use crate::types::guid_str;
use regex::Regex;
use serde::{Deserialize, Serialize};
use zfs_core::DatasetName;

/// A target's `receive_resume_token`, decoded (the executor fills it from zfs-stream's decoder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeToken {
    /// The token string as ZFS printed it (passed to `zfs send -t`).
    pub token: String,
    /// GUID of the snapshot the interrupted stream ends at.
    #[serde(with = "guid_str")]
    pub toguid: u64,
    /// GUID of its incremental source; `None` for a full stream.
    #[serde(with = "guid_str::option", default)]
    pub fromguid: Option<u64>,
    /// Name of the snapshot being sent, as the sender spelled it (`pool/ds@snap`).
    pub toname: String,
    /// Object number to resume at (libzfs_core resume).
    #[serde(default)]
    pub object: u64,
    /// Offset to resume at (libzfs_core resume).
    #[serde(default)]
    pub offset: u64,
    /// Bytes already received.
    #[serde(default)]
    pub bytes: u64,
    /// The stream is raw (`rawok`).
    #[serde(default)]
    pub raw: bool,
    /// The stream uses large blocks (`largeblockok`).
    #[serde(default)]
    pub large_block: bool,
    /// The stream embeds small blocks (`embedok`).
    #[serde(default)]
    pub embed: bool,
    /// The stream keeps on-disk compression (`compressok`).
    #[serde(default)]
    pub compressed: bool,
}

impl ResumeToken {
    /// Decodes a `receive_resume_token` with zfs-stream's decoder (checksum, zlib, native nvlist).
    pub fn decode(token: &str) -> Result<ResumeToken, String> {
        let t = zfs_stream::resume::ResumeToken::parse(token).map_err(|e| e.to_string())?;
        Ok(ResumeToken {
            token: token.trim().to_string(),
            toguid: t.toguid,
            fromguid: t.fromguid,
            toname: t.toname,
            object: t.object,
            offset: t.offset,
            bytes: t.bytes,
            raw: t.rawok,
            large_block: t.largeblockok,
            embed: t.embedok,
            compressed: t.compressok,
        })
    }
}

/// Which source snapshots are sent: a snapshot (short name, after `@`) is sent when it matches an include
/// pattern (or there are none) and no exclude pattern. Patterns are unanchored regexes. Filters never decide
/// the common base.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    /// Send only snapshots matching one of these (empty: all).
    pub include: Vec<Regex>,
    /// Never send snapshots matching one of these (wins over include).
    pub exclude: Vec<Regex>,
}

impl SnapshotFilter {
    /// Builds a filter from pattern strings.
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Result<Self, regex::Error> {
        Ok(SnapshotFilter {
            include: include
                .iter()
                .map(|p| Regex::new(p.as_ref()))
                .collect::<Result<_, _>>()?,
            exclude: exclude
                .iter()
                .map(|p| Regex::new(p.as_ref()))
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
    pub exclude_datasets: Vec<Regex>,
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
