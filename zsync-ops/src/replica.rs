//! The live replication state of one source/target pair (`zsync status`, `zsync monitor lag`, the
//! metrics): per dataset the newest snapshot both sides share (matched by GUID), its age as the
//! replication lag, the newest source snapshot of each sanoid type, snapshot counts per type on
//! both sides, the holds and bookmarks zsync owns and a resumable partial receive on the target.
//!
//! [`measure`] lists each side once (zfs-core `list` with versions) and selects the datasets as
//! the planner does ([`zfs_sync::select_datasets`]); holds are read only for snapshots whose
//! `userrefs` says they have any. [`dataset_state`] is the pure part.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use zfs_core::listing::{Dataset, Listing, Version};
use zfs_core::{Backend, DatasetName, Depth, ListOptions, SnapshotName, ZfsError};
use zfs_sync::naming::{SYNCOID_PREFIX, SYNC_PREFIX};
use zfs_sync::TreeSpec;

/// The count key of zsync's and syncoid's sync snapshots in [`ReplicaState::source_counts`].
pub const SYNC_TYPE: &str = "sync";
/// The count key of snapshots that are neither sanoid's nor sync snapshots.
pub const OTHER_TYPE: &str = "other";

/// A snapshot: its short name (after `@`) and creation time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotRef {
    /// The name after `@`.
    pub name: String,
    /// `creation`.
    pub created: DateTime<Utc>,
}

/// A hold zsync (or syncoid) placed: `zsync_<job>` / `syncoid_<job>` tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldRef {
    /// `source` or `target`.
    pub side: &'static str,
    /// The held snapshot's short name.
    pub snapshot: String,
    /// The hold tag.
    pub tag: String,
}

/// An interrupted, resumable receive on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialReceive {
    /// The snapshot being received (`toname` of the token), when the token could be decoded.
    pub snapshot: Option<String>,
    /// Stream bytes already received, when decoded.
    pub bytes: Option<u64>,
}

/// The live state of one replicated dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaState {
    /// The source's host (`localhost` or the SSH destination).
    pub source_host: String,
    /// The source dataset.
    pub source: String,
    /// The target's host.
    pub target_host: String,
    /// The target dataset.
    pub target: String,
    /// Whether the target dataset exists.
    pub target_exists: bool,
    /// Whether the source is a volume (else a filesystem).
    pub volume: bool,
    /// The newest snapshot both sides have (same GUID), by the source's order.
    pub newest_common: Option<SnapshotRef>,
    /// `now` minus the newest common snapshot's creation, in seconds; `None` without one.
    pub lag_seconds: Option<i64>,
    /// The newest source snapshot of each sanoid type (`hourly`, `daily`, ...).
    pub newest_by_type: BTreeMap<String, SnapshotRef>,
    /// Source snapshots per type (sanoid types, [`SYNC_TYPE`], [`OTHER_TYPE`]).
    pub source_counts: BTreeMap<String, u64>,
    /// Target snapshots per type.
    pub target_counts: BTreeMap<String, u64>,
    /// Holds with zsync's or syncoid's tags on either side.
    pub holds: Vec<HoldRef>,
    /// Source bookmarks zsync owns: sync-named ones, and those made from a snapshot the target
    /// has (`--create-bookmark` names them after it).
    pub bookmarks: Vec<String>,
    /// A resumable partial receive on the target.
    pub partial_receive: Option<PartialReceive>,
}

/// Why a pair could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// Listing one side failed (the host unreachable, the source root missing, ...).
    #[error("{side} {host}: cannot list {root}: {source}")]
    List {
        /// `source` or `target`.
        side: &'static str,
        /// That side's host.
        host: String,
        /// The listed root.
        root: DatasetName,
        /// zfs-core's error.
        source: Box<ZfsError>,
    },
}

impl ReplicaError {
    /// The host that could not be read.
    pub fn host(&self) -> &str {
        match self {
            ReplicaError::List { host, .. } => host,
        }
    }
}

/// The type a snapshot's short name counts as: a sanoid type, [`SYNC_TYPE`] or [`OTHER_TYPE`].
pub fn snapshot_type(short: &str) -> &'static str {
    if let Some(p) = zfs_policy::naming::parse(short) {
        return p.kind.as_str();
    }
    if short.starts_with(SYNC_PREFIX) || short.starts_with(SYNCOID_PREFIX) {
        return SYNC_TYPE;
    }
    OTHER_TYPE
}

/// Whether a hold tag or bookmark name is zsync's or syncoid's.
pub fn is_sync_name(name: &str) -> bool {
    name.starts_with(SYNC_PREFIX) || name.starts_with(SYNCOID_PREFIX)
}

fn created(v: &Version) -> DateTime<Utc> {
    DateTime::from_timestamp(v.creation, 0).unwrap_or_default()
}

fn snapshot_ref(v: &Version) -> SnapshotRef {
    SnapshotRef {
        name: v.name.short().to_owned(),
        created: created(v),
    }
}

fn counts<'a>(snaps: impl Iterator<Item = &'a Version>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for v in snaps {
        *m.entry(snapshot_type(v.name.short()).to_owned())
            .or_insert(0) += 1;
    }
    m
}

/// The state of one dataset from its listings (`target`: `None` when it does not exist); `holds`
/// reads the hold tags of a snapshot that has any (`userrefs > 0`), `decode` a resume token.
pub fn dataset_state(
    (source_host, source): (&str, &Dataset),
    (target_host, target_name, target): (&str, &DatasetName, Option<&Dataset>),
    now: DateTime<Utc>,
    holds: &dyn Fn(&'static str, &SnapshotName) -> Vec<String>,
    decode: &dyn Fn(&str) -> Option<(String, u64)>,
) -> ReplicaState {
    let source_snaps: Vec<&Version> = source.snapshots().collect();
    let target_snaps: Vec<&Version> = target.map(|t| t.snapshots().collect()).unwrap_or_default();
    let target_guids: HashMap<u64, &Version> = target_snaps.iter().map(|v| (v.guid, *v)).collect();
    // The source's order is createtxg; the newest source snapshot the target has is the common one.
    let newest_common = source_snaps
        .iter()
        .rev()
        .find(|v| target_guids.contains_key(&v.guid))
        .map(|v| snapshot_ref(v));
    let lag_seconds = newest_common
        .as_ref()
        .map(|c| (now - c.created).num_seconds());
    let mut newest_by_type = BTreeMap::new();
    for v in &source_snaps {
        if let Some(p) = zfs_policy::naming::parse(v.name.short()) {
            newest_by_type.insert(p.kind.as_str().to_owned(), snapshot_ref(v));
        }
    }
    let mut held = Vec::new();
    for (side, snaps) in [("source", &source_snaps), ("target", &target_snaps)] {
        for v in snaps.iter().filter(|v| v.userrefs > 0) {
            let zfs_core::VersionName::Snapshot(s) = &v.name else {
                continue;
            };
            for tag in holds(side, s).into_iter().filter(|t| is_sync_name(t)) {
                held.push(HoldRef {
                    side,
                    snapshot: v.name.short().to_owned(),
                    tag,
                });
            }
        }
    }
    let bookmarks = source
        .bookmarks()
        .filter(|b| is_sync_name(b.name.short()) || target_guids.contains_key(&b.guid))
        .map(|b| b.name.short().to_owned())
        .collect();
    let partial_receive = target
        .and_then(|t| t.receive_resume_token.as_deref())
        .filter(|t| !t.is_empty() && *t != "-")
        .map(|t| match decode(t) {
            Some((name, bytes)) => PartialReceive {
                snapshot: Some(name),
                bytes: Some(bytes),
            },
            None => PartialReceive {
                snapshot: None,
                bytes: None,
            },
        });
    ReplicaState {
        source_host: source_host.to_owned(),
        source: source.name.as_str().to_owned(),
        target_host: target_host.to_owned(),
        target: target_name.as_str().to_owned(),
        target_exists: target.is_some(),
        volume: source.kind == zfs_core::DatasetKind::Volume,
        newest_common,
        lag_seconds,
        newest_by_type,
        source_counts: counts(source_snaps.iter().copied()),
        target_counts: counts(target_snaps.iter().copied()),
        holds: held,
        bookmarks,
        partial_receive,
    }
}

fn list_opts(spec: &TreeSpec) -> ListOptions {
    ListOptions {
        depth: if spec.recursive {
            Depth::Recursive
        } else {
            Depth::Zero
        },
        versions: true,
        user_props: spec
            .sync_host
            .as_ref()
            .map(|_| vec![zfs_sync::SYNC_PROPERTY.to_owned()])
            .unwrap_or_default(),
    }
}

/// Measures every dataset `spec` covers: one listing of each side, the datasets selected as the
/// planner selects them (recursion, skip-parent, excludes, `syncoid:sync`), each mapped onto its
/// target. A target root that does not exist gives states with `target_exists: false`.
pub fn measure(
    source: &dyn Backend,
    target: &dyn Backend,
    spec: &TreeSpec,
    now: DateTime<Utc>,
) -> Result<Vec<ReplicaState>, ReplicaError> {
    let opts = list_opts(spec);
    let source_listing = source
        .list(&spec.source_root, &opts)
        .map_err(|e| ReplicaError::List {
            side: "source",
            host: source.host().to_owned(),
            root: spec.source_root.clone(),
            source: Box::new(e),
        })?;
    let target_opts = ListOptions {
        user_props: Vec::new(),
        ..opts
    };
    let target_listing = match target.list(&spec.target_root, &target_opts) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => Listing::default(),
        Err(e) => {
            return Err(ReplicaError::List {
                side: "target",
                host: target.host().to_owned(),
                root: spec.target_root.clone(),
                source: Box::new(e),
            })
        }
    };
    let holds = |side: &'static str, s: &SnapshotName| {
        let be = if side == "source" { source } else { target };
        be.holds(s)
            .map(|m| m.into_keys().collect())
            .unwrap_or_default()
    };
    let decode = |t: &str| {
        zfs_stream::resume::decode(t)
            .ok()
            .map(|r| (r.toname, r.bytes))
    };
    let (selected, _) = zfs_sync::select_datasets(&source_listing, spec);
    Ok(selected
        .into_iter()
        .filter_map(|d| {
            let target_name = spec.map(&d.name)?;
            Some(dataset_state(
                (source.host(), d),
                (
                    target.host(),
                    &target_name,
                    target_listing.get(&target_name),
                ),
                now,
                &holds,
                &decode,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::listing::DatasetKind;

    fn ds(name: &str, snaps: &[(&str, u64, i64)], bookmarks: &[(&str, u64)]) -> Dataset {
        let n = DatasetName::parse(name).unwrap();
        let mut versions: Vec<Version> = snaps
            .iter()
            .enumerate()
            .map(|(i, (s, guid, t))| {
                Version::snapshot(n.snapshot(s).unwrap(), *guid, 10 + i as u64 * 10, *t)
            })
            .collect();
        for (b, guid) in bookmarks {
            versions.push(Version::bookmark(n.bookmark(b).unwrap(), *guid, 1, 0));
        }
        Dataset::new(n, DatasetKind::Filesystem).with_versions(versions)
    }

    #[test]
    fn common_by_guid_lag_types_holds_and_bookmarks() {
        let t0 = 1_700_000_000;
        let mut src = ds(
            "tank/vm",
            &[
                ("autosnap_2023-11-14_22:00:00_daily", 1, t0),
                ("autosnap_2023-11-14_22:00:00_hourly", 2, t0),
                ("renamed-on-target", 3, t0 + 3600),
                ("autosnap_2023-11-14_23:00:00_hourly", 4, t0 + 3600),
                ("zsync_job_20231114T230000Z", 5, t0 + 3700),
                ("mine", 6, t0 + 7200),
            ],
            &[
                ("renamed-on-target", 3),
                ("zsync_job_x", 9),
                ("foreign", 77),
            ],
        );
        src.versions[4].userrefs = 1;
        // The target has guid 3 under another name, and nothing newer.
        let dst = ds(
            "backup/vm",
            &[
                ("autosnap_2023-11-14_22:00:00_daily", 1, t0),
                ("other-name", 3, t0 + 3600),
            ],
            &[],
        );
        let target_name = DatasetName::parse("backup/vm").unwrap();
        let now = DateTime::from_timestamp(t0 + 3600 + 90, 0).unwrap();
        let holds = |side: &'static str, s: &SnapshotName| {
            assert_eq!((side, s.short()), ("source", "zsync_job_20231114T230000Z"));
            vec!["zsync_job".to_string(), "someone_else".to_string()]
        };
        let st = dataset_state(
            ("localhost", &src),
            ("backup", &target_name, Some(&dst)),
            now,
            &holds,
            &|_| None,
        );
        let common = st.newest_common.clone().unwrap();
        assert_eq!(common.name, "renamed-on-target");
        assert_eq!(st.lag_seconds, Some(90));
        assert_eq!(
            st.newest_by_type["hourly"].name,
            "autosnap_2023-11-14_23:00:00_hourly"
        );
        assert_eq!(st.newest_by_type.len(), 2);
        let c = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
        assert_eq!(c(&st.source_counts, "hourly"), 2);
        assert_eq!(c(&st.source_counts, "daily"), 1);
        assert_eq!(c(&st.source_counts, SYNC_TYPE), 1);
        assert_eq!(c(&st.source_counts, OTHER_TYPE), 2);
        assert_eq!(c(&st.target_counts, "daily"), 1);
        assert_eq!(c(&st.target_counts, OTHER_TYPE), 1);
        assert_eq!(st.holds.len(), 1);
        assert_eq!(st.holds[0].tag, "zsync_job");
        assert_eq!(st.bookmarks, ["renamed-on-target", "zsync_job_x"]);
        assert!(st.target_exists && st.partial_receive.is_none());
    }

    #[test]
    fn missing_target_and_partial_receive() {
        let src = ds("tank/a", &[("s1", 1, 100)], &[]);
        let name = DatasetName::parse("backup/a").unwrap();
        let no_holds = |_: &'static str, _: &SnapshotName| Vec::new();
        let now = DateTime::from_timestamp(200, 0).unwrap();
        let st = dataset_state(
            ("localhost", &src),
            ("localhost", &name, None),
            now,
            &no_holds,
            &|_| None,
        );
        assert!(!st.target_exists);
        assert_eq!((st.newest_common, st.lag_seconds), (None, None));
        let mut dst = ds("backup/a", &[], &[]);
        dst.receive_resume_token = Some("1-abc".into());
        let st = dataset_state(
            ("localhost", &src),
            ("localhost", &name, Some(&dst)),
            now,
            &no_holds,
            &|t| Some((format!("tank/a@{t}"), 7)),
        );
        assert_eq!(
            st.partial_receive,
            Some(PartialReceive {
                snapshot: Some("tank/a@1-abc".into()),
                bytes: Some(7)
            })
        );
        assert_eq!(st.lag_seconds, None);
    }
}
