//! Builders shared by the unit tests (test builds only).

use crate::plan::{DatasetPlan, Decision, Step, VersionRef};
use zfs_core::{BookmarkName, DatasetKind, DatasetName, SnapshotName, Version, VersionName};

/// A dataset name.
pub(crate) fn ds(name: &str) -> DatasetName {
    DatasetName::parse(name).unwrap()
}

/// A snapshot version (`pool/ds@short`), created at `1_700_000_000 + txg`.
pub(crate) fn snap(name: &str, guid: u64, txg: u64) -> Version {
    Version::snapshot(
        SnapshotName::parse(name).unwrap(),
        guid,
        txg,
        1_700_000_000 + txg as i64,
    )
}

/// A bookmark version (`pool/ds#short`), created at `1_700_000_000 + txg`.
pub(crate) fn bookmark(name: &str, guid: u64, txg: u64) -> Version {
    Version::bookmark(
        BookmarkName::parse(name).unwrap(),
        guid,
        txg,
        1_700_000_000 + txg as i64,
    )
}

/// A snapshot as a plan refers to it.
pub(crate) fn vref(name: &str, guid: u64, txg: u64) -> VersionRef {
    VersionRef {
        name: VersionName::Snapshot(SnapshotName::parse(name).unwrap()),
        guid,
        createtxg: txg,
        creation: 0,
    }
}

/// A full send of `ds@s1` (guid 1).
pub(crate) fn full(ds: &str) -> Step {
    Step::Full {
        snapshot: vref(&format!("{ds}@s1"), 1, 1),
    }
}

/// An `-i` send of `ds@s2` (guid 2) from `ds@s1` (guid 1).
pub(crate) fn incremental(ds: &str) -> Step {
    let s2 = vref(&format!("{ds}@s2"), 2, 2);
    Step::Incremental {
        from: vref(&format!("{ds}@s1"), 1, 1),
        to: s2.clone(),
        intermediates: false,
        receives: vec![s2],
    }
}

/// A filesystem's plan: `source` replicated to `target` with `steps`, waiting for `after`.
pub(crate) fn dataset_plan(
    source: &str,
    target: &str,
    after: &[&str],
    steps: Vec<Step>,
) -> DatasetPlan {
    DatasetPlan {
        source: ds(source),
        target: ds(target),
        kind: DatasetKind::Filesystem,
        encrypted: false,
        raw: false,
        after: after.iter().map(|a| ds(a)).collect(),
        decision: Decision::Replicate { steps },
        cleanup: Vec::new(),
    }
}

/// A substream summary with a BEGIN record for `name` (guids as given, `fromguid` 0 for full).
pub(crate) fn begin(
    name: &str,
    toguid: u64,
    fromguid: u64,
) -> zfs_stream::record::SubstreamSummary {
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
