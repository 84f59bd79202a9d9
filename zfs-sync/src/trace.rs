//! Timing trace of every backend call (`ZSYNC_TRACE=1`): one stderr line per call with the time since
//! the run started, the thread, the operation, its object and how long it took. For finding where a
//! replication run spends its time (process spawns, txg waits, listings).

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::time::Instant;
use zfs_core::{
    Backend, BookmarkName, CreateKind, DatasetName, ListOptions, Listing, RecvRequest, RecvSink,
    SendFlags, SendRequest, SendStream, SnapshotName, TemporaryHolds, VersionName, ZfsError,
};

fn epoch() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}

/// Whether `ZSYNC_TRACE` is set to something other than empty or `0`.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let _ = epoch();
        std::env::var("ZSYNC_TRACE").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// Prints one trace line (when [`enabled`]): `zsync: trace: +T [thread] what (D s)`.
pub fn line(what: &str, started: Instant) {
    if !enabled() {
        return;
    }
    let th = std::thread::current();
    eprintln!(
        "zsync: trace: +{:.3} [{}] {what} ({:.3} s)",
        started.duration_since(epoch()).as_secs_f64(),
        th.name().unwrap_or("?"),
        started.elapsed().as_secs_f64()
    );
}

/// A [`Backend`] that traces every call of the one it wraps.
pub struct Traced<'a> {
    /// The traced backend.
    pub inner: &'a dyn Backend,
}

fn t<T>(what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
    let s = Instant::now();
    let r = f();
    line(&what(), s);
    r
}

struct TracedSend {
    inner: Box<dyn SendStream>,
    name: String,
}

impl SendStream for TracedSend {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.inner.take_stream()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let TracedSend { inner, name } = *self;
        t(|| format!("send finish {name}"), || inner.finish())
    }
}

struct TracedRecv {
    inner: Box<dyn RecvSink>,
    name: String,
}

impl RecvSink for TracedRecv {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.inner.take_input()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let TracedRecv { inner, name } = *self;
        t(|| format!("receive finish {name}"), || inner.finish())
    }
}

impl Backend for Traced<'_> {
    zfs_core::delegate_backend!(inner; name, host, capabilities);
    fn ping(&self) -> Result<(), ZfsError> {
        t(|| "ping".into(), || self.inner.ping())
    }
    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        t(
            || format!("list {root} {:?} versions={}", opts.depth, opts.versions),
            || self.inner.list(root, opts),
        )
    }
    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        t(|| format!("exists {name}"), || self.inner.exists(name))
    }
    fn create(
        &self,
        ds: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        t(
            || format!("create {ds}"),
            || self.inner.create(ds, kind, props),
        )
    }
    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        t(
            || format!("snapshot {} snapshots", snaps.len()),
            || self.inner.snapshot(snaps, user_props),
        )
    }
    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        t(
            || format!("snapshot -r {snap}"),
            || self.inner.snapshot_recursive(snap),
        )
    }
    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError> {
        t(
            || {
                format!(
                    "destroy {} snapshots (first {})",
                    snaps.len(),
                    snaps.first().map_or("-", |s| s.as_str())
                )
            },
            || self.inner.destroy_snapshots(snaps, defer),
        )
    }
    fn destroy_dataset(&self, ds: &DatasetName, recursive: bool) -> Result<(), ZfsError> {
        t(
            || format!("destroy dataset {ds}"),
            || self.inner.destroy_dataset(ds, recursive),
        )
    }
    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        t(
            || format!("hold {} snapshots", holds.len()),
            || self.inner.hold(holds),
        )
    }
    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError> {
        t(
            || format!("hold temporary {} snapshots", holds.len()),
            || self.inner.hold_temporary(holds),
        )
    }
    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        t(
            || format!("release {} holds", holds.len()),
            || self.inner.release(holds),
        )
    }
    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        t(|| format!("holds {snap}"), || self.inner.holds(snap))
    }
    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        t(
            || format!("bookmark {} bookmarks", pairs.len()),
            || self.inner.bookmark(pairs),
        )
    }
    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        t(
            || format!("destroy {} bookmarks", bms.len()),
            || self.inner.destroy_bookmarks(bms),
        )
    }
    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream>, ZfsError> {
        let inner = t(
            || {
                format!(
                    "send start {}{}{}",
                    req.from
                        .as_ref()
                        .map_or(String::new(), |f| format!("{f} -> ")),
                    req.to,
                    if req.intermediates { " (-I)" } else { "" }
                )
            },
            || self.inner.send(req),
        )?;
        Ok(Box::new(TracedSend {
            inner,
            name: req.to.to_string(),
        }))
    }
    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        t(
            || format!("send_space {to}"),
            || self.inner.send_space(to, from, flags),
        )
    }
    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink>, ZfsError> {
        let inner = t(
            || format!("receive start {}", req.target),
            || self.inner.receive(req),
        )?;
        Ok(Box::new(TracedRecv {
            inner,
            name: req.target.to_string(),
        }))
    }
    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        t(
            || format!("receive -A {ds}"),
            || self.inner.receive_abort(ds),
        )
    }
    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        t(
            || format!("rollback {snap}"),
            || self.inner.rollback_to(snap, destroy_newer),
        )
    }
    fn properties(
        &self,
        root: &DatasetName,
        query: &zfs_core::PropQuery,
    ) -> Result<zfs_core::PropertyMap, ZfsError> {
        t(
            || format!("properties {root}"),
            || self.inner.properties(root, query),
        )
    }
    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError> {
        t(
            || format!("set {target}"),
            || self.inner.set_user_props(target, props),
        )
    }
    fn pools(&self, names: &[zfs_core::PoolName]) -> Result<Vec<zfs_core::PoolStatus>, ZfsError> {
        t(
            || format!("pools {} named", names.len()),
            || self.inner.pools(names),
        )
    }
    fn pool_status(
        &self,
        names: &[zfs_core::PoolName],
    ) -> Result<Vec<zfs_core::PoolStatus>, ZfsError> {
        t(
            || format!("pool_status {} named", names.len()),
            || self.inner.pool_status(names),
        )
    }
}
