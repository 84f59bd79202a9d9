//! The executor: lists both sides once, plans, and runs the steps through zfs-core backends.
//!
//! One run: (1) the sync snapshot, taken atomically for the whole selected tree; (2) one listing per host;
//! (3) [`plan_tree`]; (4) datasets run concurrently (`jobs`), each after the datasets in its `after` list;
//! (5) per synced dataset: holds, bookmarks, cleanup of this job's older sync snapshots.
//! A failure is recorded in that dataset's report and the other datasets still run.

use crate::options::{PlanOptions, ResumeToken, TreeSpec};
use crate::planner::{plan_dataset, plan_tree, select_datasets, TargetState, TreeInput};
use crate::preserve::{preserved, Preserved};
use crate::types::{Conflict, DatasetPlan, Decision, Plan, Step, VersionRef};
use crate::{model, PlanError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::{Condvar, Mutex};
use std::time::Instant;
use zfs_core::{
    Backend, BookmarkName, Dataset, DatasetName, Depth, ListOptions, Listing, PropQuery,
    RecvRequest, ResumePoint, SendFlags, SendRequest, SnapshotName, Version, VersionKind,
    VersionName, ZfsError,
};

/// How many source snapshots were created after `after_txg`, up to `to_txg`: what a `-I` stream between
/// them carries.
fn snapshots_between(src: &[Version], after_txg: u64, to_txg: u64) -> usize {
    src.iter()
        .filter(|v| {
            v.name.kind() == VersionKind::Snapshot
                && v.createtxg > after_txg
                && v.createtxg <= to_txg
        })
        .count()
}

/// Prefix of sync snapshot names and hold tags.
pub const SYNC_PREFIX: &str = "zsync_";

/// Moves a send stream into a receive. The default [`CopyMover`] copies in-process; a zfs-stream pipeline
/// (buffering, rate limit, compression across a remote hop) plugs in here.
pub trait Mover: Send + Sync {
    /// Copies everything from `input` (the send's read end) into `output` (the receive's write end), then
    /// closes both; returns the bytes moved and, when the mover checked the stream, what it carried.
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> std::io::Result<Moved>;

    /// Whether [`StreamInfo::estimate`] is worth a `zfs send -nP` per stream (it is for progress
    /// display). Default: no.
    fn wants_estimate(&self) -> bool {
        false
    }
}

/// What the executor tells a [`Mover`] about the stream it is to move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Distinguishes streams (unique within the process; labels can repeat, e.g. one snapshot sent to
    /// two targets by two executors).
    pub id: u64,
    /// The source dataset.
    pub dataset: String,
    /// What is sent: `pool/a@s3` (full), `pool/a@s3 from @s1` (incremental; a base in another dataset,
    /// such as a clone's origin, keeps its full name), plus ` with intermediates` for `-I` and
    /// ` (resumed)` for a resume.
    pub label: String,
    /// Expected stream bytes (`zfs send -nP`), when [`Mover::wants_estimate`] asked for it and the
    /// source could tell.
    pub estimate: Option<u64>,
}

/// Told how each stream advances while a [`PipelineMover`] moves it: about twice a second from a
/// polling thread, and once more when the stream ended (`now.done`). Datasets run in parallel, so
/// calls for different streams interleave.
pub trait ProgressObserver: Sync {
    /// The stream's counters as of now.
    fn update(&self, stream: &StreamInfo, now: &zfs_stream::ProgressSnapshot);
}

/// What a [`Mover`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// Stream bytes passed to the receive.
    pub bytes: u64,
    /// What the in-transit check read from the stream; `None` when the mover does not check.
    pub check: Option<StreamCheck>,
}

/// What the in-transit check (zfs-stream's inspection) read from one send stream: which snapshots it
/// carried, by guid, and whether every record checksum was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCheck {
    /// One entry per substream, in stream order (an `-I` stream carries several).
    pub snapshots: Vec<StreamSnapshot>,
    /// Records in the stream.
    pub records: u64,
    /// Every record and running fletcher-4 checksum was verified through the final END record. `false`
    /// when a record type from a newer OpenZFS ended checking early (the receiver still verifies
    /// everything itself).
    pub verified: bool,
}

/// One snapshot a send stream carried (its BEGIN record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSnapshot {
    /// The snapshot's name as the sender wrote it (`drr_toname`).
    pub name: String,
    /// Its guid (`drr_toguid`; decimal string in JSON).
    #[serde(with = "crate::types::guid_str")]
    pub guid: u64,
    /// The incremental base's guid (`drr_fromguid`); `None` for a full stream.
    #[serde(with = "crate::types::guid_str::option", default)]
    pub from_guid: Option<u64>,
}

impl StreamCheck {
    /// The facts of an inspected stream; `None` before any BEGIN record was read.
    pub fn from_summary(summary: &zfs_stream::StreamSummary) -> Option<StreamCheck> {
        let snapshots: Vec<StreamSnapshot> = summary
            .substreams
            .iter()
            .filter_map(|s| s.begin.as_ref())
            .map(|b| StreamSnapshot {
                name: b.toname.clone(),
                guid: b.toguid,
                from_guid: (b.fromguid != 0).then_some(b.fromguid),
            })
            .collect();
        (!snapshots.is_empty()).then(|| StreamCheck {
            snapshots,
            records: summary.records,
            verified: summary.complete && summary.unverified_from.is_none(),
        })
    }

    /// One line: `verified 12 records: full pool/a@s1 (guid 1234…)`, substreams joined with `; `
    /// (guids in decimal, as `zfs get guid` prints them).
    pub fn describe(&self) -> String {
        let what: Vec<String> = self
            .snapshots
            .iter()
            .map(|s| match s.from_guid {
                None => format!("full {} (guid {})", s.name, s.guid),
                Some(f) => format!("incremental {} (guid {}, from {f})", s.name, s.guid),
            })
            .collect();
        format!(
            "{} {} records: {}",
            if self.verified {
                "verified"
            } else {
                "partly verified (newer record type)"
            },
            self.records,
            what.join("; ")
        )
    }
}

/// `std::io::copy` between the two descriptors (the standard library uses `splice` for pipes on Linux).
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyMover;

impl Mover for CopyMover {
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        _stream: &StreamInfo,
    ) -> std::io::Result<Moved> {
        let mut i = File::from(input);
        let mut o = File::from(output);
        std::io::copy(&mut i, &mut o).map(|bytes| Moved { bytes, check: None })
    }
}

/// zfs-stream's [`zfs_stream::Pipeline`] (splice when possible; optional buffer and rate limit). The
/// executor's default.
#[derive(Clone, Copy)]
pub struct PipelineMover<'a> {
    /// Bounded buffer stage of this many bytes (`--mbuffer-size`).
    pub buffer: Option<usize>,
    /// Bytes per second (`--source-bwlimit` / `--target-bwlimit`).
    pub rate_limit: Option<u64>,
    /// Check every record and running fletcher-4 checksum of the send stream in transit
    /// (zfs-stream's inspection; on by default): a corrupt stream stops before the receiver is handed
    /// anything past the damage, and the error names the record and byte offset. A record type from a
    /// newer OpenZFS (with a valid checksum) ends checking and passes the rest through; the receiver
    /// verifies every record itself either way.
    pub verify: bool,
    /// Told how each stream advances (with a `zfs send -nP` estimate per stream); `None`: nothing
    /// polls, no estimate is asked for.
    pub progress: Option<&'a dyn ProgressObserver>,
}

impl std::fmt::Debug for PipelineMover<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineMover")
            .field("buffer", &self.buffer)
            .field("rate_limit", &self.rate_limit)
            .field("verify", &self.verify)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for PipelineMover<'_> {
    /// No buffer, no limit, verifying, no progress.
    fn default() -> Self {
        DEFAULT_MOVER
    }
}

static DEFAULT_MOVER: PipelineMover<'static> = PipelineMover {
    buffer: None,
    rate_limit: None,
    verify: true,
    progress: None,
};

/// How often a [`ProgressObserver`] hears about a moving stream.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Mover for PipelineMover<'_> {
    fn wants_estimate(&self) -> bool {
        self.progress.is_some()
    }

    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> std::io::Result<Moved> {
        let mut p = zfs_stream::Pipeline::new(input, output).inspect(self.verify);
        if let Some(b) = self.buffer {
            p = p.buffer(b);
        }
        if let Some(r) = self.rate_limit {
            p = p.rate_limit(r);
        }
        if let Some(e) = stream.estimate {
            p = p.size_estimate(e);
        }
        let result = match self.progress {
            None => p.run(),
            Some(observer) => {
                let handle = p.progress();
                let (stop, stopped) = std::sync::mpsc::channel::<()>();
                let result = std::thread::scope(|s| {
                    let handle = &handle;
                    s.spawn(move || {
                        // Wakes every PROGRESS_EVERY until the sender below is dropped.
                        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                            stopped.recv_timeout(PROGRESS_EVERY)
                        {
                            let now = handle.snapshot();
                            if now.done {
                                break; // the final update below says so, once
                            }
                            observer.update(stream, &now);
                        }
                    });
                    let r = p.run();
                    drop(stop);
                    r
                });
                let mut last = handle.snapshot();
                last.done = true;
                observer.update(stream, &last);
                result
            }
        };
        result
            .map(|r| Moved {
                bytes: r.bytes_out,
                check: r.summary.as_ref().and_then(StreamCheck::from_summary),
            })
            .map_err(|e| match &e {
                // Damage found in transit is the cause of whatever the receiver then says; a stream that
                // merely ended early is explained by the sender's own error.
                zfs_stream::PipeError::Stream { error, .. }
                    if !matches!(error, zfs_stream::StreamError::Truncated { .. }) =>
                {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                }
                _ => std::io::Error::other(e.to_string()),
            })
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
    /// `zfs receive -o` (syncoid's `--preserve-properties`); see [`crate::preserve`].
    pub preserve_properties: bool,
    /// Set the source's `recordsize` on the receive that creates a filesystem's target
    /// (`-o recordsize=`, as syncoid); see [`crate::preserve`].
    pub preserve_recordsize: bool,
    /// Receive incrementals with `-F`: discards changes made on the target since its newest snapshot (the
    /// plan has already checked that no target snapshot is newer than the base, so no snapshot is lost).
    /// syncoid's default; off here. Implied by `plan.rollback`. Without it a modified target fails with a
    /// hint; keep replicas `readonly=on` (mounting a writable replica can already modify it).
    pub force_receive: bool,
    /// Datasets replicated concurrently (at least 1).
    pub jobs: usize,
}

impl Default for SyncOptions {
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
            jobs: default_jobs(),
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

/// Why a run could not start (per-dataset failures are in the [`Report`] instead).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The identifier has characters outside `[A-Za-z0-9_.:-]` or is empty.
    #[error("invalid identifier {0:?}: use letters, digits and _ - . : only")]
    Identifier(String),
    /// Listing a side failed.
    #[error("listing the {side} {root}: {source}")]
    List {
        /// `source` or `target`.
        side: &'static str,
        /// The root listed.
        root: DatasetName,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Taking the sync snapshot failed.
    #[error("taking sync snapshot {name} on the source: {source}")]
    SyncSnapshot {
        /// Short name of the sync snapshot.
        name: String,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Reading the source's properties (`--preserve-properties`/`--preserve-recordsize`) failed.
    #[error("reading the properties of the source {root}: {source}")]
    Properties {
        /// The root read.
        root: DatasetName,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// What happened to one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step ran.
    Synced,
    /// Nothing to send.
    UpToDate,
    /// Not attempted (e.g. a dependency failed, no snapshot to send, target parent missing).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The plan refused (divergence, no common base, stale token): a user decision is needed.
    Refused {
        /// The conflict with its facts.
        conflict: Conflict,
    },
    /// A step failed.
    Failed {
        /// The error, one line.
        error: String,
    },
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The planned step.
    pub step: Step,
    /// Send/receive streams run for it: an `-I` step is one stream, or one `-i` per snapshot when a filter
    /// leaves snapshots out or libzfs_core runs both ends (plus one `-i` first from a bookmark base).
    pub streams: u32,
    /// Stream bytes moved.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// What the in-transit check read from each stream that completed (empty with the check off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<StreamCheck>,
}

/// What a [`Mover`] is told about `send`.
fn stream_info(send: &SendRequest, estimate: Option<u64>) -> StreamInfo {
    let dataset = send.to.dataset().to_string();
    let mut label = send.to.to_string();
    if let Some(from) = &send.from {
        let base = from.as_str();
        label.push_str(" from ");
        // `@s1` / `#b1` when the base is in the same dataset; the full name otherwise (a clone's
        // origin).
        let local = base
            .strip_prefix(dataset.as_str())
            .filter(|rest| rest.starts_with(['@', '#']));
        label.push_str(local.unwrap_or(base));
        if send.intermediates {
            label.push_str(" with intermediates");
        }
    }
    if send.resume.is_some() {
        label.push_str(" (resumed)");
    }
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    StreamInfo {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        dataset,
        label,
        estimate,
    }
}

/// The snapshots a step's streams should carry, in order: the ones it receives.
fn planned_snapshots(step: &Step) -> Vec<&VersionRef> {
    match step {
        Step::Full { snapshot } => vec![snapshot],
        Step::Clone { to, .. } | Step::Resume { to, .. } => vec![to],
        Step::Incremental {
            to,
            intermediates,
            receives,
            ..
        } => {
            if *intermediates {
                receives.iter().collect()
            } else {
                vec![to]
            }
        }
        _ => Vec::new(),
    }
}

/// A warning when the verified streams of a completed step carried other snapshots than planned: one
/// replaced under its name, or one destroyed on the source (an `-I` stream skips it), between listing
/// and sending. `None` when they match, or when not every stream was checked and verified.
fn unplanned_stream(step: &Step, checked: &[StreamCheck], streams: u32) -> Option<String> {
    if checked.is_empty()
        || checked.len() != streams as usize
        || checked.iter().any(|c| !c.verified)
    {
        return None;
    }
    let carried: Vec<&StreamSnapshot> = checked.iter().flat_map(|c| &c.snapshots).collect();
    let planned = planned_snapshots(step);
    if carried
        .iter()
        .map(|s| s.guid)
        .eq(planned.iter().map(|v| v.guid))
    {
        return None;
    }
    let unplanned: Vec<String> = carried
        .iter()
        .filter(|c| !planned.iter().any(|p| p.guid == c.guid))
        .map(|c| format!("{} (guid {})", c.name, c.guid))
        .collect();
    if !unplanned.is_empty() {
        return Some(format!(
            "the send stream carried {}, which the plan did not name: a snapshot was replaced \
             under its name while the run went on",
            unplanned.join(", ")
        ));
    }
    let missing: Vec<String> = planned
        .iter()
        .filter(|p| !carried.iter().any(|c| c.guid == p.guid))
        .map(|p| format!("{} (guid {})", p.name, p.guid))
        .collect();
    Some(format!(
        "planned but not in the send stream: {} (destroyed on the source while the run went on?)",
        missing.join(", ")
    ))
}

/// The result for one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    /// Source dataset.
    pub source: DatasetName,
    /// Target dataset.
    pub target: DatasetName,
    /// What happened.
    pub outcome: Outcome,
    /// The steps that ran (in order; on failure the failing step is the last).
    pub steps: Vec<StepReport>,
    /// Bytes moved in total.
    pub bytes: u64,
    /// Wall time in total.
    pub seconds: f64,
    /// Problems after the data was safe (holds, bookmarks, sync snapshot cleanup).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The sync snapshot's short name, when one was taken.
    pub sync_snapshot: Option<String>,
    /// The plan that was executed.
    pub plan: Plan,
    /// One report per planned dataset, in plan order.
    pub datasets: Vec<DatasetReport>,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// 0: all synced or up to date; 1: some skipped; 2: any failure or refusal.
    pub exit_code: i32,
}

impl Report {
    /// Stable pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Whether `short` is a sync snapshot of exactly this identifier: `zsync_<identifier>_<YYYYMMDDTHHMMSSZ>`.
pub fn is_sync_snapshot(short: &str, identifier: &str) -> bool {
    let Some(rest) = short
        .strip_prefix(SYNC_PREFIX)
        .and_then(|r| r.strip_prefix(identifier))
        .and_then(|r| r.strip_prefix('_'))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
}

/// The sync snapshot name for `identifier` at `now` (UTC).
pub fn sync_snapshot_name(identifier: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{SYNC_PREFIX}{identifier}_{}", now.format("%Y%m%dT%H%M%SZ"))
}

/// Prefix of syncoid's sync snapshot names and hold tags.
pub const SYNCOID_PREFIX: &str = "syncoid_";

/// How a job names its sync snapshots, holds and bookmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncNaming {
    /// `zsync_<identifier>_<YYYYMMDDTHHMMSSZ>` (UTC), holds `zsync_<identifier>`.
    #[default]
    Zsync,
    /// syncoid's (2.1/2.3): `syncoid_<identifier>_<YYYY-MM-DD:HH:MM:SS>-GMT<offset>` in local time, the
    /// offset written `hh:mm` with a `-` only when negative (`+` is not allowed in snapshot names); holds
    /// `syncoid_<identifier>`. In syncoid mode the identifier is `[id_]hostname`, as syncoid builds it.
    /// Matching is exact (the rest after the identifier must be a timestamp; syncoid's own `_` between
    /// date and time and its offset-less older form are recognised too), so host `nas` never matches
    /// `nas2`'s snapshots.
    Syncoid,
}

impl SyncNaming {
    /// The sync snapshot name for `identifier` at `now`.
    pub fn snapshot_name(self, identifier: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            SyncNaming::Zsync => sync_snapshot_name(identifier, now),
            SyncNaming::Syncoid => {
                let local = now.with_timezone(&chrono::Local).fixed_offset();
                syncoid_snapshot_name(identifier, local)
            }
        }
    }

    /// Whether `short` is a sync snapshot (or job bookmark) of exactly this identifier.
    pub fn matches(self, short: &str, identifier: &str) -> bool {
        match self {
            SyncNaming::Zsync => is_sync_snapshot(short, identifier),
            SyncNaming::Syncoid => is_syncoid_snapshot(short, identifier),
        }
    }

    /// The hold tag of this job.
    pub fn hold_tag(self, identifier: &str) -> String {
        match self {
            SyncNaming::Zsync => format!("{SYNC_PREFIX}{identifier}"),
            SyncNaming::Syncoid => format!("{SYNCOID_PREFIX}{identifier}"),
        }
    }
}

/// syncoid's sync snapshot name at `now` (local time with its offset).
pub fn syncoid_snapshot_name(
    identifier: &str,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> String {
    let off = now.offset().local_minus_utc();
    let sign = if off < 0 { "-" } else { "" };
    let (h, m) = (off.abs() / 3600, off.abs() % 3600 / 60);
    format!(
        "{SYNCOID_PREFIX}{identifier}_{}-GMT{sign}{h:02}:{m:02}",
        now.format("%Y-%m-%d:%H:%M:%S")
    )
}

/// Whether `short` is a syncoid sync snapshot of exactly `identifier` (`[id_]host`).
pub fn is_syncoid_snapshot(short: &str, identifier: &str) -> bool {
    let Some(rest) = short
        .strip_prefix(SYNCOID_PREFIX)
        .and_then(|r| r.strip_prefix(identifier))
        .and_then(|r| r.strip_prefix('_'))
    else {
        return false;
    };
    let b = rest.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    // YYYY-MM-DD[:_]HH:MM:SS
    if b.len() < 19
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || !matches!(b[10], b':' | b'_')
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let tz = &rest[19..];
    if tz.is_empty() {
        return true; // syncoid before 2.1
    }
    let Some(off) = tz
        .strip_prefix("-GMT")
        .map(|o| o.strip_prefix('-').unwrap_or(o))
    else {
        return false;
    };
    let o = off.as_bytes();
    o.len() == 5
        && o[2] == b':'
        && o[..2].iter().all(u8::is_ascii_digit)
        && o[3..].iter().all(u8::is_ascii_digit)
}

fn check_identifier(id: &str) -> Result<(), SyncError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(SyncError::Identifier(id.to_string()));
    }
    Ok(())
}

/// Runs replication between two backends.
pub struct Executor<'a> {
    /// The source side.
    pub source: &'a dyn Backend,
    /// The target side.
    pub target: &'a dyn Backend,
    /// How bytes move from send to receive.
    pub mover: &'a dyn Mover,
    /// Called as each dataset finishes (from worker threads).
    pub on_dataset: Option<&'a (dyn Fn(&DatasetReport) + Sync)>,
}

fn list_opts(recursive: bool, versions: bool) -> ListOptions {
    ListOptions {
        depth: if recursive {
            Depth::Recursive
        } else {
            Depth::Zero
        },
        versions,
        user_props: Vec::new(),
    }
}

fn snap_name(ds: &DatasetName, short: &str) -> Result<SnapshotName, ZfsError> {
    ds.snapshot(short).map_err(ZfsError::InvalidName)
}

fn as_snapshot(v: &VersionRef) -> Result<SnapshotName, ZfsError> {
    v.snapshot()
        .cloned()
        .ok_or_else(|| ZfsError::InvalidArgument {
            op: "send",
            detail: format!("{} is not a snapshot", v.name),
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Ok,
    Bad,
}

impl<'a> Executor<'a> {
    /// An executor moving bytes with a default [`PipelineMover`] (splice, no buffer, no limit).
    pub fn new(source: &'a dyn Backend, target: &'a dyn Backend) -> Self {
        Executor {
            source,
            target,
            mover: &DEFAULT_MOVER,
            on_dataset: None,
        }
    }

    fn list_target(&self, spec: &TreeSpec) -> Result<Listing, SyncError> {
        match self
            .target
            .list(&spec.target_root, &list_opts(spec.recursive, true))
        {
            Ok(l) => Ok(l),
            Err(ZfsError::NotFound { .. }) => Ok(Listing::default()),
            Err(source) => Err(SyncError::List {
                side: "target",
                root: spec.target_root.clone(),
                source: Box::new(source),
            }),
        }
    }

    fn list_source(&self, spec: &TreeSpec, versions: bool) -> Result<Listing, SyncError> {
        self.source
            .list(&spec.source_root, &list_opts(spec.recursive, versions))
            .map_err(|source| SyncError::List {
                side: "source",
                root: spec.source_root.clone(),
                source: Box::new(source),
            })
    }

    /// Lists both sides and plans; changes nothing (`zsync plan`).
    pub fn plan(&self, spec: &TreeSpec, opts: &PlanOptions) -> Result<Plan, SyncError> {
        let (src, tgt) = std::thread::scope(|s| {
            let tgt = s.spawn(|| self.list_target(spec));
            let src = self.list_source(spec, true);
            let tgt = tgt.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (src, tgt)
        });
        let (src, tgt) = (src?, tgt?);
        Ok(plan_tree(
            &TreeInput {
                source: &src,
                target: &tgt,
                decode_token: &ResumeToken::decode,
            },
            spec,
            opts,
        )?)
    }

    /// Takes the sync snapshot (atomically for every selected dataset) and returns the source listing.
    fn snapshot_and_list(&self, spec: &TreeSpec, name: &str) -> Result<Listing, SyncError> {
        let err = |source| SyncError::SyncSnapshot {
            name: name.to_string(),
            source: Box::new(source),
        };
        let root_snap = snap_name(&spec.source_root, name).map_err(err)?;
        if !spec.recursive {
            self.source.snapshot(&[root_snap], &[]).map_err(err)?;
        } else if !spec.skip_parent && spec.exclude_datasets.is_empty() {
            self.source.snapshot_recursive(&root_snap).map_err(err)?;
        } else {
            let pre = self.list_source(spec, false)?;
            let (sel, _) = select_datasets(&pre, spec);
            let snaps = sel
                .iter()
                .map(|d| snap_name(&d.name, name))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            if !snaps.is_empty() {
                self.source.snapshot(&snaps, &[]).map_err(err)?;
            }
        }
        self.list_source(spec, true)
    }

    /// The `-o` sets of `--preserve-properties`/`--preserve-recordsize`, by source dataset: at most two
    /// `zfs get` spawns for the whole tree, none when neither is asked for.
    fn read_preserved(
        &self,
        spec: &TreeSpec,
        opts: &SyncOptions,
    ) -> Result<BTreeMap<DatasetName, Preserved>, SyncError> {
        if !opts.preserve_properties && !opts.preserve_recordsize {
            return Ok(BTreeMap::new());
        }
        let read = |q: PropQuery| {
            self.source
                .properties(&spec.source_root, &q)
                .map_err(|e| SyncError::Properties {
                    root: spec.source_root.clone(),
                    source: Box::new(e),
                })
        };
        let local = if opts.preserve_properties {
            Some(read(PropQuery::local(spec.recursive))?)
        } else {
            None
        };
        let recordsize = if opts.preserve_recordsize {
            Some(read(PropQuery::named(&["recordsize"], spec.recursive))?)
        } else {
            None
        };
        Ok(preserved(local.as_ref(), recordsize.as_ref(), &opts.recv))
    }

    /// One run: sync snapshot, listings, plan, steps, cleanup. Per-dataset failures are in the report.
    pub fn run(&self, spec: &TreeSpec, opts: &SyncOptions) -> Result<Report, SyncError> {
        check_identifier(&opts.identifier)?;
        let started = Instant::now();
        let sync_name = opts.sync_snapshot.then(|| {
            opts.naming
                .snapshot_name(&opts.identifier, chrono::Utc::now())
        });
        let t = Instant::now();
        // The target listing does not depend on the sync snapshot: list it meanwhile. The source's
        // properties are read before the snapshot is taken, so a failed read changes nothing.
        let (src, tgt, props) = std::thread::scope(|s| {
            let tgt = s.spawn(|| self.list_target(spec));
            let props = self.read_preserved(spec, opts);
            let src = match (&props, &sync_name) {
                (Err(_), _) => Ok(Listing::default()),
                (Ok(_), Some(n)) => self.snapshot_and_list(spec, n),
                (Ok(_), None) => self.list_source(spec, true),
            };
            let tgt = tgt.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (src, tgt, props)
        });
        let preserved = props?;
        let (src, tgt) = (src?, tgt?);
        crate::trace::line("run: sync snapshot and listings", t);
        let t = Instant::now();
        let plan = plan_tree(
            &TreeInput {
                source: &src,
                target: &tgt,
                decode_token: &ResumeToken::decode,
            },
            spec,
            &opts.plan,
        )?;
        crate::trace::line("run: plan", t);
        let t = Instant::now();
        let datasets = self.execute(&plan, &src, &tgt, opts, sync_name.as_deref(), &preserved);
        crate::trace::line("run: execute", t);
        let exit_code = datasets
            .iter()
            .map(|d| match d.outcome {
                Outcome::Synced | Outcome::UpToDate => 0,
                Outcome::Skipped { .. } => 1,
                Outcome::Refused { .. } | Outcome::Failed { .. } => 2,
            })
            .max()
            .unwrap_or(0);
        Ok(Report {
            sync_snapshot: sync_name,
            plan,
            datasets,
            seconds: started.elapsed().as_secs_f64(),
            exit_code,
        })
    }

    /// Runs a plan's datasets with `opts.jobs` workers; dependents wait for their `after` datasets.
    fn execute(
        &self,
        plan: &Plan,
        src: &Listing,
        tgt: &Listing,
        opts: &SyncOptions,
        sync_name: Option<&str>,
        preserved: &BTreeMap<DatasetName, Preserved>,
    ) -> Vec<DatasetReport> {
        let n = plan.datasets.len();
        let idx: HashMap<&DatasetName, usize> = plan
            .datasets
            .iter()
            .enumerate()
            .map(|(i, d)| (&d.source, i))
            .collect();
        // A dataset waits for its `after` datasets (parent, clone origin) only when it creates its target
        // (full or clone receive: the parent or origin snapshot must be there) or when one of them
        // destroys its target tree first. An incremental into an existing target needs nothing from its
        // parent: it starts at once instead of queueing behind the parent's receive.
        let creates = |d: &DatasetPlan| {
            d.decision
                .steps()
                .iter()
                .any(|s| matches!(s, Step::Full { .. } | Step::Clone { .. }))
        };
        let destroys = |d: &DatasetPlan| {
            d.decision
                .steps()
                .iter()
                .any(|s| matches!(s, Step::DestroyTarget { .. }))
        };
        let deps: Vec<Vec<usize>> = plan
            .datasets
            .iter()
            .map(|d| {
                d.after
                    .iter()
                    .filter_map(|a| idx.get(a).copied())
                    .filter(|&a| creates(d) || destroys(&plan.datasets[a]))
                    .collect()
            })
            .collect();
        let src_by: HashMap<&str, &Dataset> =
            src.datasets.iter().map(|d| (d.name.as_str(), d)).collect();
        let tgt_by: HashMap<&str, &Dataset> =
            tgt.datasets.iter().map(|d| (d.name.as_str(), d)).collect();

        struct Sched {
            state: Vec<State>,
            reports: Vec<Option<DatasetReport>>,
        }
        let sched = Mutex::new(Sched {
            state: vec![State::Waiting; n],
            reports: vec![None; n],
        });
        let cv = Condvar::new();
        let workers = opts.jobs.clamp(1, n.max(1));

        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    // Pick the first waiting dataset whose dependencies are done.
                    let (i, failed_dep) = {
                        let mut g = sched.lock().unwrap_or_else(|e| e.into_inner());
                        loop {
                            if g.state.iter().all(|s| matches!(s, State::Ok | State::Bad)) {
                                return;
                            }
                            let ready = (0..n).find(|&i| {
                                g.state[i] == State::Waiting
                                    && deps[i]
                                        .iter()
                                        .all(|&d| matches!(g.state[d], State::Ok | State::Bad))
                            });
                            if let Some(i) = ready {
                                g.state[i] = State::Running;
                                let failed = deps[i]
                                    .iter()
                                    .find(|&&d| g.state[d] == State::Bad)
                                    .map(|&d| plan.datasets[d].source.clone());
                                break (i, failed);
                            }
                            if !g.state.contains(&State::Running) {
                                // Nothing runnable and nothing running: cannot happen with a valid order.
                                return;
                            }
                            g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                        }
                    };
                    let dp = &plan.datasets[i];
                    let report = self.run_dataset(
                        dp,
                        (
                            src_by.get(dp.source.as_str()).copied(),
                            tgt_by.get(dp.target.as_str()).copied(),
                        ),
                        opts,
                        sync_name,
                        failed_dep,
                        preserved.get(&dp.source),
                    );
                    if let Some(cb) = self.on_dataset {
                        cb(&report);
                    }
                    let ok = matches!(report.outcome, Outcome::Synced | Outcome::UpToDate);
                    let mut g = sched.lock().unwrap_or_else(|e| e.into_inner());
                    g.state[i] = if ok { State::Ok } else { State::Bad };
                    g.reports[i] = Some(report);
                    cv.notify_all();
                });
            }
        });
        let g = sched.into_inner().unwrap_or_else(|e| e.into_inner());
        g.reports
            .into_iter()
            .zip(&plan.datasets)
            .map(|(r, dp)| {
                r.unwrap_or_else(|| DatasetReport {
                    source: dp.source.clone(),
                    target: dp.target.clone(),
                    outcome: Outcome::Skipped {
                        reason: "not scheduled".into(),
                    },
                    steps: Vec::new(),
                    bytes: 0,
                    seconds: 0.0,
                    warnings: Vec::new(),
                })
            })
            .collect()
    }

    fn run_dataset(
        &self,
        dp: &DatasetPlan,
        (src, tgt): (Option<&Dataset>, Option<&Dataset>),
        opts: &SyncOptions,
        sync_name: Option<&str>,
        failed_dep: Option<DatasetName>,
        preserved: Option<&Preserved>,
    ) -> DatasetReport {
        let started = Instant::now();
        let mut rep = DatasetReport {
            source: dp.source.clone(),
            target: dp.target.clone(),
            outcome: Outcome::Synced,
            steps: Vec::new(),
            bytes: 0,
            seconds: 0.0,
            warnings: preserved.map(|p| p.skipped.clone()).unwrap_or_default(),
        };
        let finish = |mut rep: DatasetReport| {
            rep.bytes = rep.steps.iter().map(|s| s.bytes).sum();
            rep.seconds = started.elapsed().as_secs_f64();
            crate::trace::line(&format!("dataset {}", dp.source), started);
            rep
        };
        let mut decision = dp.decision.clone();
        let creates = decision
            .steps()
            .iter()
            .any(|s| matches!(s, Step::Full { .. } | Step::Clone { .. }));
        if let (Some(dep), true) = (&failed_dep, creates) {
            rep.outcome = Outcome::Skipped {
                reason: format!("{dep} failed, and this dataset would be created below or from it"),
            };
            return finish(rep);
        }
        let mut tgt_versions = tgt.map(|t| t.versions.clone());
        let mut src_versions = src.map(|s| s.versions.clone()).unwrap_or_default();
        let mut replanned = false;
        loop {
            let steps = match &decision {
                Decision::Conflict { conflict } => {
                    rep.outcome = match conflict {
                        Conflict::UpToDate { .. } => Outcome::UpToDate,
                        Conflict::NoSourceSnapshots { .. }
                        | Conflict::TargetParentMissing { .. } => Outcome::Skipped {
                            reason: conflict.describe(),
                        },
                        _ => Outcome::Refused {
                            conflict: conflict.clone(),
                        },
                    };
                    break;
                }
                Decision::Replicate { steps } => steps.clone(),
            };
            let mut stale = false;
            for step in &steps {
                let t0 = Instant::now();
                let mut checked = Vec::new();
                let r = self.run_step(dp, step, opts, preserved, &src_versions, &mut checked);
                let (streams, bytes, err) = match r {
                    Ok((s, b)) => (s, b, None),
                    Err((s, b, e)) => (s, b, Some(e)),
                };
                if err.is_none() {
                    rep.warnings
                        .extend(unplanned_stream(step, &checked, streams));
                }
                rep.steps.push(StepReport {
                    step: step.clone(),
                    streams,
                    bytes,
                    seconds: t0.elapsed().as_secs_f64(),
                    checked,
                });
                if let Some(e) = err {
                    if matches!(step, Step::Resume { .. })
                        && matches!(&e, StepError::Zfs(z) if matches!(**z, ZfsError::StaleResumeToken { .. }))
                        && !replanned
                    {
                        stale = true;
                        break;
                    }
                    let hint = match &e {
                        StepError::Zfs(z) if matches!(**z, ZfsError::TargetModified { .. }) => {
                            "; the target changed since its newest snapshot: make it readonly=on, or allow \
                             discarding the change (force_receive / --rollback)"
                        }
                        _ => "",
                    };
                    let preserved_hint = match preserved {
                        Some(p) if !p.props.is_empty() || !p.on_create.is_empty() => format!(
                            "; preserved properties were set with receive -o ({}): an older OpenZFS or a \
                             target pool without the feature a value needs refuses some (exclude one with \
                             --recvoptions \"x NAME\")",
                            p.props
                                .iter()
                                .chain(&p.on_create)
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                        _ => String::new(),
                    };
                    rep.outcome = Outcome::Failed {
                        error: format!("{} {}: {e}{hint}{preserved_hint}", step.kind(), dp.source),
                    };
                    return finish(rep);
                }
            }
            if !stale {
                break;
            }
            // The token went stale after listing: abort it, re-list this dataset on both sides, re-plan.
            replanned = true;
            let fresh = self
                .target
                .receive_abort(&dp.target)
                .and_then(|_| self.source.list(&dp.source, &list_opts(false, true)))
                .and_then(|s| {
                    let t = self.target.list(&dp.target, &list_opts(false, true))?;
                    Ok((s, t))
                });
            match fresh {
                Ok((s, t)) => {
                    src_versions = s
                        .datasets
                        .first()
                        .map(|d| d.versions.clone())
                        .unwrap_or_default();
                    tgt_versions = t.datasets.first().map(|d| d.versions.clone());
                    let ts = tgt_versions.as_deref().map(|v| TargetState {
                        name: &dp.target,
                        versions: v,
                        resume_token: None,
                    });
                    decision = plan_dataset(&src_versions, ts, None, &opts.plan);
                }
                Err(e) => {
                    rep.outcome = Outcome::Failed {
                        error: format!("aborting stale resume state on {}: {e}", dp.target),
                    };
                    return finish(rep);
                }
            }
        }
        if matches!(rep.outcome, Outcome::Synced | Outcome::UpToDate) {
            let t = Instant::now();
            self.after_success(
                dp,
                &decision,
                &src_versions,
                tgt_versions.as_deref(),
                opts,
                sync_name,
                &mut rep.warnings,
            );
            crate::trace::line(&format!("after success {}", dp.source), t);
        } else if let (Outcome::Refused { .. } | Outcome::Skipped { .. }, Some(current)) =
            (&rep.outcome, sync_name)
        {
            // Nothing was sent: this run's sync snapshot is of no use; the previous one stays the base.
            let taken = src_versions
                .iter()
                .any(|v| v.name.kind() == VersionKind::Snapshot && v.name.short() == current);
            if taken {
                if let Ok(snap) = snap_name(&dp.source, current) {
                    if let Err(e) = self.source.destroy_snapshots(&[snap], false) {
                        rep.warnings
                            .push(format!("destroying unused sync snapshot: {e}"));
                    }
                }
            }
        }
        finish(rep)
    }

    /// Runs one step; returns (streams, bytes) or the error with what was done so far.
    fn run_step(
        &self,
        dp: &DatasetPlan,
        step: &Step,
        opts: &SyncOptions,
        preserved: Option<&Preserved>,
        src_versions: &[Version],
        checked: &mut Vec<StreamCheck>,
    ) -> Result<(u32, u64), (u32, u64, StepError)> {
        let e0 = |e: ZfsError| (0, 0, StepError::Zfs(Box::new(e)));
        let flags = SendFlags {
            large_block: opts.send.large_block,
            embed: opts.send.embed,
            compressed: opts.send.compressed,
            raw: dp.raw || opts.send.raw,
            props: opts.send.props,
            saved: false,
        };
        let every = preserved.map_or(&[][..], |p| &p.props[..]);
        let on_create = preserved.map_or(&[][..], |p| &p.on_create[..]);
        // `creates`: this receive creates the target (full or clone stream).
        let recv = |short: &str,
                    force: bool,
                    origin: Option<SnapshotName>,
                    creates: bool|
         -> Result<RecvRequest, ZfsError> {
            Ok(RecvRequest {
                target: snap_name(&dp.target, short)?,
                force,
                resumable: true,
                raw: flags.raw,
                origin,
                props: every
                    .iter()
                    .chain(if creates { on_create } else { &[] })
                    .chain(&opts.recv.props)
                    .cloned()
                    .collect(),
                exclude_props: opts.recv.exclude_props.clone(),
                no_mount: opts.recv.no_mount,
                into_dataset: false,
            })
        };
        // With --rollback (or force_receive) the user allowed discarding target changes since the base.
        let force = opts.plan.rollback || opts.force_receive;
        match step {
            Step::AbortResume { .. } => self
                .target
                .receive_abort(&dp.target)
                .map(|_| (0, 0))
                .map_err(e0),
            Step::Rollback { to, .. } => {
                let snap = as_snapshot(to).map_err(e0)?;
                self.target
                    .rollback_to(&snap, true)
                    .map(|_| (0, 0))
                    .map_err(e0)
            }
            Step::DestroyTarget { target, .. } => self
                .target
                .destroy_dataset(target, true)
                .map(|_| (0, 0))
                .map_err(e0),
            Step::DestroyTargetSnapshots { snapshots } => {
                let s = snapshots
                    .iter()
                    .map(as_snapshot)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(e0)?;
                self.target
                    .destroy_snapshots(&s, false)
                    .map(|_| (0, 0))
                    .map_err(e0)
            }
            Step::Full { snapshot } => {
                let to = as_snapshot(snapshot).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: None,
                    intermediates: false,
                    flags,
                    resume: None,
                };
                let r = recv(to.short(), false, None, true).map_err(e0)?;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Clone {
                origin,
                target_origin,
                to,
            } => {
                let to = as_snapshot(to).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: Some(origin.name.clone()),
                    intermediates: false,
                    flags,
                    resume: None,
                };
                let r = recv(to.short(), false, Some(target_origin.clone()), true).map_err(e0)?;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Resume { token, to, from } => {
                let to = as_snapshot(to).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: from.as_ref().map(|f| f.name.clone()),
                    intermediates: false,
                    flags: SendFlags {
                        large_block: token.large_block,
                        embed: token.embed,
                        compressed: token.compressed,
                        raw: token.raw,
                        props: false,
                        saved: false,
                    },
                    resume: Some(ResumePoint {
                        token: token.token.clone(),
                        object: token.object,
                        offset: token.offset,
                    }),
                };
                let mut r =
                    recv(to.short(), force && from.is_some(), None, from.is_none()).map_err(e0)?;
                r.raw = token.raw;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Incremental {
                from,
                to,
                intermediates,
                receives,
            } => {
                let chain: Vec<&VersionRef> = if *intermediates {
                    receives.iter().collect()
                } else {
                    vec![to]
                };
                // One `-I` stream for the rest of the chain, received into the dataset (the stream names
                // each snapshot), when it would carry exactly the planned snapshots (a snapshot filter
                // can leave some out) and when the alternative costs a process pair per snapshot (the
                // CLI). With libzfs_core on both ends, one in-process `-i` per snapshot costs no spawn and
                // keeps each snapshot its own resumable unit — unless the receive takes `-o`/`-x`, which
                // the Lzc backend runs through the CLI anyway.
                let in_process = self.source.name() == "lzc"
                    && self.target.name() == "lzc"
                    && every.is_empty()
                    && opts.recv.props.is_empty()
                    && opts.recv.exclude_props.is_empty();
                let package = |base: &VersionRef, rest: &[&VersionRef]| {
                    rest.len() > 1
                        && !in_process
                        && snapshots_between(src_versions, base.createtxg, to.createtxg)
                            == rest.len()
                };
                let (mut streams, mut bytes) = (0u32, 0u64);
                let mut prev: &VersionRef = from;
                let mut rest = &chain[..];
                // `-I` starts at a snapshot: from a bookmark, the first snapshot comes with `-i`.
                loop {
                    let Some((next, tail)) = rest.split_first() else {
                        return Ok((streams, bytes));
                    };
                    let whole =
                        matches!(prev.name, VersionName::Snapshot(_)) && package(prev, rest);
                    let last = if whole { to } else { *next };
                    let last_snap = as_snapshot(last)
                        .map_err(|e| (streams, bytes, StepError::Zfs(Box::new(e))))?;
                    let mut req = SendRequest::incremental(prev.name.clone(), last_snap.clone());
                    req.intermediates = whole;
                    req.flags = flags;
                    let mut r = recv(last_snap.short(), force, None, false)
                        .map_err(|e| (streams, bytes, StepError::Zfs(Box::new(e))))?;
                    r.into_dataset = whole;
                    streams += 1;
                    let package: &[&VersionRef] = if whole { rest } else { &[] };
                    bytes += self
                        .stream(&req, &r, package, checked)
                        .map_err(|e| (streams, bytes, e))?;
                    if whole {
                        return Ok((streams, bytes));
                    }
                    prev = next;
                    rest = tail;
                }
            }
        }
    }

    /// One send piped into one receive.
    /// A completed stream's check (when the mover made one) goes to `checked`.
    fn stream(
        &self,
        send: &SendRequest,
        recv: &RecvRequest,
        package: &[&VersionRef],
        checked: &mut Vec<StreamCheck>,
    ) -> Result<u64, StepError> {
        // The estimate first: no send is running yet. Not for a resume (`-nP -t` would need the
        // token's own flags); a failed estimate only means no ETA.
        let estimate = (self.mover.wants_estimate() && send.resume.is_none())
            .then(|| self.estimate(send, package))
            .flatten();
        let info = stream_info(send, estimate);
        let mut s = self
            .source
            .send(send)
            .map_err(|e| StepError::Zfs(Box::new(e)))?;
        let mut r = match self.target.receive(recv) {
            Ok(r) => r,
            Err(e) => {
                drop(s);
                return Err(StepError::Zfs(Box::new(e)));
            }
        };
        let (Some(input), Some(output)) = (s.take_stream(), r.take_input()) else {
            return Err(StepError::Transfer(
                "backend gave no stream descriptor".into(),
            ));
        };
        let t = Instant::now();
        let moved = self.mover.transfer(input, output, &info);
        crate::trace::line(&format!("transfer {}", send.to), t);
        let recv_res = r.finish();
        let send_res = s.finish();
        match (send_res, recv_res, moved) {
            (Ok(()), Ok(()), Ok(m)) => {
                checked.extend(m.check);
                Ok(m.bytes)
            }
            // The send could not start its stream (stale token, vanished snapshot): that is the cause.
            (Err(se @ (ZfsError::StaleResumeToken { .. } | ZfsError::NotFound { .. })), _, _) => {
                Err(StepError::Zfs(Box::new(se)))
            }
            // The stream was found damaged in transit (the mover says InvalidData): that is the cause.
            (_, _, Err(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                Err(StepError::Transfer(io.to_string()))
            }
            // A failing receive makes the send fail with a broken pipe: the receive's error is the cause.
            (_, Err(re), _) => Err(StepError::Zfs(Box::new(re))),
            (Err(se), Ok(()), _) => Err(StepError::Zfs(Box::new(se))),
            (Ok(()), Ok(()), Err(io)) => Err(StepError::Transfer(io.to_string())),
        }
    }

    /// Expected bytes of `send` (`zfs send -nP` / `lzc_send_space`). An `-I` stream (`package`: the
    /// snapshots it carries) is the sum of its hops: one `-i` estimate from base to newest would count
    /// blocks rewritten in between once, where the package sends them in every hop.
    fn estimate(&self, send: &SendRequest, package: &[&VersionRef]) -> Option<u64> {
        if !send.intermediates {
            return self
                .source
                .send_space(&send.to, send.from.as_ref(), &send.flags)
                .ok();
        }
        let mut from = send.from.clone();
        let mut total = 0u64;
        for hop in package {
            let to = hop.snapshot()?;
            total += self
                .source
                .send_space(to, from.as_ref(), &send.flags)
                .ok()?;
            from = Some(hop.name.clone());
        }
        Some(total)
    }

    /// Holds, bookmarks and sync snapshot cleanup after a dataset synced; problems become warnings.
    #[allow(clippy::too_many_arguments)]
    fn after_success(
        &self,
        dp: &DatasetPlan,
        decision: &Decision,
        src_versions: &[zfs_core::Version],
        tgt_versions: Option<&[zfs_core::Version]>,
        opts: &SyncOptions,
        sync_name: Option<&str>,
        warnings: &mut Vec<String>,
    ) {
        // The newest snapshot both sides now share, and everything received.
        let mut received: Vec<&VersionRef> = Vec::new();
        for s in decision.steps() {
            match s {
                Step::Full { snapshot } => received.push(snapshot),
                Step::Clone { to, .. } | Step::Resume { to, .. } => received.push(to),
                Step::Incremental { receives, .. } => received.extend(receives.iter()),
                _ => {}
            }
        }
        let common: Option<VersionRef> = match (received.last(), decision.conflict()) {
            (Some(r), _) => Some((*r).clone()),
            (None, Some(Conflict::UpToDate { newest })) => Some(newest.clone()),
            _ => None,
        };
        let Some(common) = common else { return };
        let common_short = common.name.short().to_string();
        let mut warn = |what: &str, e: ZfsError| warnings.push(format!("{what}: {e}"));

        if opts.use_hold {
            let tag = opts.naming.hold_tag(&opts.identifier);
            for (be, ds, versions, side) in [
                (self.source, &dp.source, Some(src_versions), "source"),
                (self.target, &dp.target, tgt_versions, "target"),
            ] {
                if side == "source" && common.name.kind() == VersionKind::Bookmark {
                    continue; // a bookmark cannot be held
                }
                let Ok(new) = snap_name(ds, &common_short) else {
                    continue;
                };
                let old_refs = versions
                    .unwrap_or(&[])
                    .iter()
                    .filter(|v| v.name.kind() == VersionKind::Snapshot && v.userrefs > 0)
                    .filter_map(|v| match &v.name {
                        VersionName::Snapshot(s) => Some(s.clone()),
                        _ => None,
                    });
                let mut already = false;
                let mut release = Vec::new();
                for s in old_refs {
                    match be.holds(&s) {
                        Ok(h) if h.contains_key(&tag) => {
                            if s.short() == common_short {
                                already = true;
                            } else {
                                release.push((s, tag.clone()));
                            }
                        }
                        Ok(_) => {}
                        Err(ZfsError::NotFound { .. }) => {}
                        Err(e) => warn(&format!("{side} holds of {s}"), e),
                    }
                }
                if !already {
                    if let Err(e) = be.hold(&[(new.clone(), tag.clone())]) {
                        warn(&format!("{side} hold {tag} on {new}"), e);
                        continue; // keep the old hold when the new one failed
                    }
                }
                if !release.is_empty() {
                    if let Err(e) = be.release(&release) {
                        warn(&format!("{side} release {tag}"), e);
                    }
                }
            }
        }

        if opts.create_bookmark {
            // One job bookmark per dataset: the newest replicated snapshot, so the next run has a base
            // even after that snapshot is pruned. It is named in this job's sync-snapshot pattern (the
            // snapshot's own name when it is this job's sync snapshot, else the pattern at the
            // snapshot's creation time) and this job's older bookmarks are destroyed: matched exactly,
            // so other jobs' and users' bookmarks are never touched.
            if let (Some(snap), VersionKind::Snapshot) = (common.snapshot(), common.name.kind()) {
                let name = if opts.naming.matches(snap.short(), &opts.identifier) {
                    snap.short().to_string()
                } else {
                    let at =
                        chrono::DateTime::from_timestamp(common.creation, 0).unwrap_or_default();
                    opts.naming.snapshot_name(&opts.identifier, at)
                };
                let bookmarks = || {
                    src_versions
                        .iter()
                        .filter(|v| v.name.kind() == VersionKind::Bookmark)
                };
                let existing = bookmarks().find(|v| v.name.short() == name);
                let made = match existing {
                    Some(b) if b.guid == common.guid => true,
                    Some(b) => {
                        warn(
                            &format!("{} not bookmarked", common.name),
                            ZfsError::InvalidArgument {
                                op: "bookmark",
                                detail: format!("{} exists for another snapshot", b.name),
                            },
                        );
                        false
                    }
                    None => match dp.source.bookmark(&name) {
                        Ok(b) => match self.source.bookmark(&[(b, common.name.clone())]) {
                            Ok(()) => true,
                            Err(e) => {
                                warn("source bookmark", e);
                                false
                            }
                        },
                        Err(e) => {
                            warn("bookmark name", ZfsError::InvalidName(e));
                            false
                        }
                    },
                };
                if made {
                    let old: Vec<BookmarkName> = bookmarks()
                        .filter(|v| {
                            v.name.short() != name
                                && v.createtxg <= common.createtxg
                                && opts.naming.matches(v.name.short(), &opts.identifier)
                        })
                        .filter_map(|v| match &v.name {
                            VersionName::Bookmark(b) => Some(b.clone()),
                            _ => None,
                        })
                        .collect();
                    if !old.is_empty() {
                        if let Err(e) = self.source.destroy_bookmarks(&old) {
                            warn("destroying this job's older bookmarks", e);
                        }
                    }
                }
            }
        }

        if let (Some(current), false) = (sync_name, opts.keep_sync_snapshots) {
            // Source: this job's sync snapshots other than the current one and the common base.
            let old_src: Vec<SnapshotName> = src_versions
                .iter()
                .filter_map(|v| match &v.name {
                    VersionName::Snapshot(s) => Some(s),
                    _ => None,
                })
                .filter(|s| {
                    opts.naming.matches(s.short(), &opts.identifier)
                        && s.short() != current
                        && s.short() != common_short
                })
                .cloned()
                .collect();
            if !old_src.is_empty() {
                if let Err(e) = self.source.destroy_snapshots(&old_src, false) {
                    warn("destroying older source sync snapshots", e);
                }
            }
            // Target: from the model of the target after this plan.
            if let Ok(Some(after)) = model::apply(tgt_versions, decision) {
                let old_tgt: Vec<SnapshotName> = after
                    .iter()
                    .filter(|m| {
                        opts.naming.matches(&m.short, &opts.identifier)
                            && m.short != current
                            && m.short != common_short
                    })
                    .filter_map(|m| snap_name(&dp.target, &m.short).ok())
                    .collect();
                if !old_tgt.is_empty() {
                    if let Err(e) = self.target.destroy_snapshots(&old_tgt, false) {
                        warn("destroying older target sync snapshots", e);
                    }
                }
            }
        }
    }
}

/// A step's failure.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{0}")]
    Zfs(Box<ZfsError>),
    #[error("moving the stream: {0}")]
    Transfer(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sync_snapshot_names_match_exactly_by_identifier() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 15, 4, 5)
            .unwrap();
        let n = sync_snapshot_name("nas", t);
        assert_eq!(n, "zsync_nas_20261127T150405Z");
        assert!(is_sync_snapshot(&n, "nas"));
        // syncoid's prefix match would take these; exact matching does not.
        assert!(!is_sync_snapshot(&sync_snapshot_name("nas2", t), "nas"));
        assert!(!is_sync_snapshot(&sync_snapshot_name("nas_b", t), "nas"));
        assert!(!is_sync_snapshot("zsync_nas_20261127T150405Z_extra", "nas"));
        assert!(!is_sync_snapshot("zsync_nas_2026112XT150405Z", "nas"));
        assert!(!is_sync_snapshot("autosnap_2026", "nas"));
    }

    #[test]
    fn syncoid_names_match_syncoid_and_only_this_host() {
        let t = chrono::FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 27, 16, 4, 5)
            .unwrap();
        let n = syncoid_snapshot_name("nas", t);
        assert_eq!(n, "syncoid_nas_2026-11-27:16:04:05-GMT01:00");
        let west = chrono::FixedOffset::west_opt(5 * 3600 + 1800)
            .unwrap()
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .unwrap();
        assert_eq!(
            syncoid_snapshot_name("job_nas", west),
            "syncoid_job_nas_2026-01-02:03:04:05-GMT-05:30"
        );
        let s = SyncNaming::Syncoid;
        assert!(s.matches(&n, "nas"));
        assert!(s.matches("syncoid_nas_2026-11-27_16:04:05-GMT-01:00", "nas"));
        assert!(s.matches("syncoid_nas_2026-11-27:16:04:05", "nas"));
        assert!(!s.matches("syncoid_nas2_2026-11-27:16:04:05-GMT01:00", "nas"));
        assert!(!s.matches("syncoid_nas_b_2026-11-27:16:04:05-GMT01:00", "nas"));
        assert!(!s.matches("syncoid_nas_2026-11-27:16:04:05-GMT01:00x", "nas"));
        assert!(!s.matches(&sync_snapshot_name("nas", chrono::Utc::now()), "nas"));
        assert_eq!(s.hold_tag("nas"), "syncoid_nas");
        assert_eq!(SyncNaming::Zsync.hold_tag("nas"), "zsync_nas");
        // Whatever the local zone, the generated name matches its own pattern.
        assert!(s.matches(&s.snapshot_name("x_h", chrono::Utc::now()), "x_h"));
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("job-1.a:b_c").is_ok());
        for bad in ["", "a b", "a/b", "a@b", "a#b"] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
    }

    fn begin(name: &str, toguid: u64, fromguid: u64) -> zfs_stream::record::SubstreamSummary {
        zfs_stream::record::SubstreamSummary {
            begin: Some(zfs_stream::record::Begin {
                order: zfs_stream::record::ByteOrder::Little,
                header_type: zfs_stream::record::HeaderType::Substream,
                features: Default::default(),
                creation_time: 0,
                objset_type: 2,
                flags: 0,
                toguid,
                fromguid,
                toname: name.into(),
            }),
            complete: true,
            ..Default::default()
        }
    }

    fn vref(name: &str, guid: u64, txg: u64) -> VersionRef {
        VersionRef {
            name: VersionName::Snapshot(SnapshotName::parse(name).unwrap()),
            guid,
            createtxg: txg,
            creation: 0,
        }
    }

    #[test]
    fn stream_check_reads_the_begin_records() {
        let mut sum = zfs_stream::StreamSummary {
            records: 9,
            complete: true,
            substreams: vec![begin("p/a@s2", 0x22, 0x11), begin("p/a@s3", 0x33, 0x22)],
            ..Default::default()
        };
        let c = StreamCheck::from_summary(&sum).unwrap();
        assert!(c.verified);
        assert_eq!(c.records, 9);
        assert_eq!(c.snapshots[0].from_guid, Some(0x11));
        assert_eq!(c.snapshots[1].guid, 0x33);
        assert_eq!(
            c.describe(),
            "verified 9 records: incremental p/a@s2 (guid 34, from 17); \
             incremental p/a@s3 (guid 51, from 34)"
        );
        sum.unverified_from = Some(zfs_stream::UnknownRecord {
            index: 3,
            offset: 936,
            drr_type: 99,
        });
        assert!(!StreamCheck::from_summary(&sum).unwrap().verified);
        sum.substreams = vec![zfs_stream::record::SubstreamSummary::default()];
        assert_eq!(StreamCheck::from_summary(&sum), None, "no BEGIN read yet");
    }

    #[test]
    fn streams_that_carried_other_snapshots_than_planned_are_flagged() {
        let (s1, s2, s3) = (
            vref("p/a@s1", 0x11, 1),
            vref("p/a@s2", 0x22, 2),
            vref("p/a@s3", 0x33, 3),
        );
        let step = Step::Incremental {
            from: s1.clone(),
            to: s3.clone(),
            intermediates: true,
            receives: vec![s2.clone(), s3.clone()],
        };
        let check = |subs: Vec<zfs_stream::record::SubstreamSummary>| {
            StreamCheck::from_summary(&zfs_stream::StreamSummary {
                complete: true,
                substreams: subs,
                ..Default::default()
            })
            .unwrap()
        };
        // One -I package, or one -i stream per snapshot: both match.
        let package = check(vec![
            begin("p/a@s2", 0x22, 0x11),
            begin("p/a@s3", 0x33, 0x22),
        ]);
        assert_eq!(
            unplanned_stream(&step, std::slice::from_ref(&package), 1),
            None
        );
        let each = [
            check(vec![begin("p/a@s2", 0x22, 0x11)]),
            check(vec![begin("p/a@s3", 0x33, 0x22)]),
        ];
        assert_eq!(unplanned_stream(&step, &each, 2), None);
        // s3 replaced under its name between listing and sending.
        let replaced = check(vec![
            begin("p/a@s2", 0x22, 0x11),
            begin("p/a@s3", 0x99, 0x22),
        ]);
        let w = unplanned_stream(&step, std::slice::from_ref(&replaced), 1).unwrap();
        assert!(
            w.starts_with("the send stream carried p/a@s3 (guid 153), which the plan did not name"),
            "{w}"
        );
        // s2 destroyed on the source after planning: the -I stream skips it.
        let skipped = check(vec![begin("p/a@s3", 0x33, 0x11)]);
        let w = unplanned_stream(&step, std::slice::from_ref(&skipped), 1).unwrap();
        assert!(
            w.starts_with("planned but not in the send stream: p/a@s2 (guid 34) (destroyed"),
            "{w}"
        );
        // Not verified to the end, not every stream checked, or none checked: nothing to say.
        let mut partial = replaced.clone();
        partial.verified = false;
        assert_eq!(unplanned_stream(&step, &[partial], 1), None);
        assert_eq!(unplanned_stream(&step, &[replaced], 2), None);
        assert_eq!(unplanned_stream(&step, &[], 1), None);
        let full = Step::Full { snapshot: s1 };
        let ok = check(vec![begin("p/a@s1", 0x11, 0)]);
        assert_eq!(unplanned_stream(&full, &[ok], 1), None);
    }

    /// (label, bytes, estimate, done) per update.
    type Update = (String, u64, Option<u64>, bool);

    #[derive(Default)]
    struct Seen(Mutex<Vec<Update>>);

    impl ProgressObserver for Seen {
        fn update(&self, s: &StreamInfo, p: &zfs_stream::ProgressSnapshot) {
            self.0
                .lock()
                .unwrap()
                .push((s.label.clone(), p.bytes, p.estimate, p.done));
        }
    }

    #[test]
    fn pipeline_mover_tells_its_observer_and_ends_with_done() {
        let seen = Seen::default();
        // 2 MiB at 1 MiB/s: the rate limit keeps it moving past the first 500 ms poll.
        let mover = PipelineMover {
            verify: false,
            progress: Some(&seen),
            rate_limit: Some(1 << 20),
            ..Default::default()
        };
        assert!(mover.wants_estimate() && !PipelineMover::default().wants_estimate());
        let data: Vec<u8> = (0..2u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        let (src_r, mut src_w) = std::io::pipe().unwrap();
        let (mut sink_r, sink_w) = std::io::pipe().unwrap();
        let info = StreamInfo {
            id: 7,
            dataset: "p/a".into(),
            label: "p/a@s2 from @s1".into(),
            estimate: Some(data.len() as u64),
        };
        let moved = std::thread::scope(|s| {
            s.spawn(|| {
                use std::io::Write;
                src_w.write_all(&data).unwrap();
                drop(src_w);
            });
            let reader = s.spawn(move || {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut sink_r, &mut out).unwrap();
                out
            });
            let m = mover
                .transfer(OwnedFd::from(src_r), OwnedFd::from(sink_w), &info)
                .unwrap();
            assert_eq!(reader.join().unwrap(), data);
            m
        });
        assert_eq!(
            moved,
            Moved {
                bytes: data.len() as u64,
                check: None
            }
        );
        let seen = seen.0.into_inner().unwrap();
        let last = seen.last().expect("a final update");
        assert_eq!(
            last,
            &(info.label.clone(), data.len() as u64, info.estimate, true)
        );
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
        assert_eq!(seen.iter().filter(|u| u.3).count(), 1, "{seen:?}");
        assert!(
            seen.iter().any(|u| !u.3 && u.1 > 0),
            "polled while moving: {seen:?}"
        );
    }

    #[test]
    fn stream_labels_say_what_is_sent() {
        let snap = |s: &str| SnapshotName::parse(s).unwrap();
        let mut req = SendRequest::incremental(
            VersionName::Bookmark(zfs_core::BookmarkName::parse("p/a#b1").unwrap()),
            snap("p/a@s3"),
        );
        assert_eq!(stream_info(&req, None).label, "p/a@s3 from #b1");
        req.from = Some(VersionName::Snapshot(snap("p/a@s1")));
        req.intermediates = true;
        let i = stream_info(&req, Some(5));
        assert_eq!(i.label, "p/a@s3 from @s1 with intermediates");
        assert_eq!((i.dataset.as_str(), i.estimate), ("p/a", Some(5)));
        // A clone's origin elsewhere (even a sibling whose name starts the same) keeps its name.
        req.from = Some(VersionName::Snapshot(snap("p/ab@s1")));
        req.intermediates = false;
        assert_eq!(stream_info(&req, None).label, "p/a@s3 from p/ab@s1");
        req.from = None;
        assert_eq!(stream_info(&req, None).label, "p/a@s3");
    }
}
