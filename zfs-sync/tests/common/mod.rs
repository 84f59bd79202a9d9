//! Fixture builders shared by the host tests, and run helpers shared by the lab tests.
#![allow(dead_code)]

#[cfg(feature = "exec")]
pub mod fake;
#[cfg(feature = "exec")]
pub mod host;

use zfs_core::{BookmarkName, Dataset, DatasetKind, DatasetName, SnapshotName, Version};

pub fn ds(name: &str) -> DatasetName {
    DatasetName::parse(name).unwrap()
}

/// Snapshot `ds@short`, created at `1_700_000_000 + txg`.
pub fn snap(ds: &str, short: &str, guid: u64, txg: u64) -> Version {
    let name = SnapshotName::parse(&format!("{ds}@{short}")).unwrap();
    Version::snapshot(name, guid, txg, 1_700_000_000 + txg as i64)
}

/// Bookmark `ds#short`, created at `1_700_000_000 + txg`.
pub fn bm(ds: &str, short: &str, guid: u64, txg: u64) -> Version {
    let name = BookmarkName::parse(&format!("{ds}#{short}")).unwrap();
    Version::bookmark(name, guid, txg, 1_700_000_000 + txg as i64)
}

/// Snapshots `ds@<short>` with the given (short, guid, txg).
pub fn snaps(ds: &str, list: &[(&str, u64, u64)]) -> Vec<Version> {
    list.iter().map(|(s, g, t)| snap(ds, s, *g, *t)).collect()
}

/// A filesystem with these versions (guid from its name's length, createtxg 1).
pub fn dataset(name: &str, versions: Vec<Version>) -> Dataset {
    let mut d = Dataset::new(ds(name), DatasetKind::Filesystem).with_versions(versions);
    d.guid = name.len() as u64 * 7919;
    d.createtxg = 1;
    d
}

/// Lab runs: default options for job `identifier`, without a sync snapshot (the tests name their
/// snapshots), two workers.
pub fn opts(identifier: &str) -> zfs_sync::SyncOptions {
    zfs_sync::SyncOptions {
        identifier: identifier.into(),
        sync_snapshot: false,
        jobs: 2,
        ..zfs_sync::SyncOptions::default()
    }
}

/// Lab runs: every dataset synced, exit code 0.
pub fn all_synced(r: &zfs_sync::Report) {
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert!(
        r.datasets
            .iter()
            .all(|d| d.outcome == zfs_sync::Outcome::Synced),
        "{}",
        r.to_json()
    );
    // Every stream was checked in transit and carried exactly the planned snapshots (a mismatch
    // would be a warning).
    for d in &r.datasets {
        assert!(d.warnings.is_empty(), "{}", r.to_json());
        for s in &d.steps {
            assert_eq!(s.checked.len() as u32, s.streams, "{}", r.to_json());
            assert!(s.checked.iter().all(|c| c.verified), "{}", r.to_json());
        }
    }
}

/// Lab runs: a pool with `src` and a `backup` parent for targets. Replicas inherit `readonly=on` from
/// `backup`, as recommended: mounting a writable replica can already modify it, and zsync never uses
/// `receive -F` unless told to (`rollback` or `force_receive`). `backup/dst`'s mountpoint directory
/// exists (it must before `backup` turns read-only).
pub fn replica_pool(tag: &str) -> Result<zsync_lab::TestPool, Box<dyn std::error::Error>> {
    let pool = zsync_lab::TestPool::new(tag)?;
    pool.zfs(&["set", "atime=off", pool.name()])?;
    pool.zfs(&["set", "compression=off", pool.name()])?;
    pool.zfs(&["create", &pool.dataset("src")])?;
    pool.zfs(&["create", &pool.dataset("backup")])?;
    std::fs::create_dir_all(pool.mountpoint().join("backup/dst"))?;
    pool.zfs(&["set", "readonly=on", &pool.dataset("backup")])?;
    Ok(pool)
}

/// Lab runs: the target has every listed source snapshot with the same GUID.
pub fn assert_same_guids(pool: &zsync_lab::TestPool, src: &str, dst: &str, names: &[&str]) {
    for n in names {
        let guid = |ds: &str| {
            let snap = format!("{ds}@{n}");
            pool.guid(&snap)
                .unwrap_or_else(|e| panic!("guid of {snap}: {e}"))
        };
        assert_eq!(
            guid(src),
            guid(dst),
            "guid of {dst}@{n} differs from {src}@{n}"
        );
    }
}
