//! A [`Backend`] decorator that times every call of the backend it wraps and reports each as an
//! [`Events::span`]: the operation, its object and how long it took. For finding where a replication
//! run spends its time (process spawns, txg waits, listings); `zsync` prints these spans with
//! `ZSYNC_LOG=zsync::trace=trace`.

use crate::events::Events;
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::time::Instant;
use zfs_core::{
    Backend, BookmarkName, CreateKind, DatasetName, ListOptions, Listing, RecvRequest, RecvSink,
    SendFlags, SendRequest, SendStream, SnapshotName, TemporaryHolds, VersionName, ZfsError,
};

/// A [`Backend`] that reports every call of the one it wraps to `events` as a
/// [`span`](Events::span) (`list pool/a Recursive versions=true`, `send start …`, `receive finish …`).
pub struct Timed<'a> {
    /// The timed backend.
    pub inner: &'a dyn Backend,
    /// Where the spans go.
    pub events: &'a dyn Events,
}

/// Runs `f` and reports it as a span named `what()`.
fn timed<T>(events: &dyn Events, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
    let s = Instant::now();
    let r = f();
    events.span(&what(), s);
    r
}

struct TimedSend<'a> {
    inner: Box<dyn SendStream + 'a>,
    name: String,
    events: &'a dyn Events,
}

impl SendStream for TimedSend<'_> {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.inner.take_stream()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let TimedSend {
            inner,
            name,
            events,
        } = *self;
        timed(events, || format!("send finish {name}"), || inner.finish())
    }
}

struct TimedRecv<'a> {
    inner: Box<dyn RecvSink + 'a>,
    name: String,
    events: &'a dyn Events,
}

impl RecvSink for TimedRecv<'_> {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.inner.take_input()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let TimedRecv {
            inner,
            name,
            events,
        } = *self;
        timed(
            events,
            || format!("receive finish {name}"),
            || inner.finish(),
        )
    }
}

impl Backend for Timed<'_> {
    zfs_core::delegate_backend!(inner; name, host, capabilities);
    fn ping(&self) -> Result<(), ZfsError> {
        timed(self.events, || "ping".into(), || self.inner.ping())
    }
    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        timed(
            self.events,
            || format!("list {root} {:?} versions={}", opts.depth, opts.versions),
            || self.inner.list(root, opts),
        )
    }
    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        timed(
            self.events,
            || format!("exists {name}"),
            || self.inner.exists(name),
        )
    }
    fn create(
        &self,
        ds: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("create {ds}"),
            || self.inner.create(ds, kind, props),
        )
    }
    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("snapshot {} snapshots", snaps.len()),
            || self.inner.snapshot(snaps, user_props),
        )
    }
    fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        new: &DatasetName,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("clone {snap} {new}"),
            || self.inner.clone_snapshot(snap, new, props),
        )
    }
    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("snapshot -r {snap}"),
            || self.inner.snapshot_recursive(snap),
        )
    }
    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError> {
        timed(
            self.events,
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
        timed(
            self.events,
            || format!("destroy dataset {ds}"),
            || self.inner.destroy_dataset(ds, recursive),
        )
    }
    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("hold {} snapshots", holds.len()),
            || self.inner.hold(holds),
        )
    }
    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError> {
        timed(
            self.events,
            || format!("hold temporary {} snapshots", holds.len()),
            || self.inner.hold_temporary(holds),
        )
    }
    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("release {} holds", holds.len()),
            || self.inner.release(holds),
        )
    }
    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        timed(
            self.events,
            || format!("holds {snap}"),
            || self.inner.holds(snap),
        )
    }
    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("bookmark {} bookmarks", pairs.len()),
            || self.inner.bookmark(pairs),
        )
    }
    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("destroy {} bookmarks", bms.len()),
            || self.inner.destroy_bookmarks(bms),
        )
    }
    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream + '_>, ZfsError> {
        let inner = timed(
            self.events,
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
        Ok(Box::new(TimedSend {
            inner,
            name: req.to.to_string(),
            events: self.events,
        }))
    }
    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        timed(
            self.events,
            || format!("send_space {to}"),
            || self.inner.send_space(to, from, flags),
        )
    }
    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink + '_>, ZfsError> {
        let inner = timed(
            self.events,
            || format!("receive start {}", req.target),
            || self.inner.receive(req),
        )?;
        Ok(Box::new(TimedRecv {
            inner,
            name: req.target.to_string(),
            events: self.events,
        }))
    }
    fn receiving(&self) -> Result<Vec<String>, ZfsError> {
        timed(
            self.events,
            || "ps (receives)".into(),
            || self.inner.receiving(),
        )
    }

    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("receive -A {ds}"),
            || self.inner.receive_abort(ds),
        )
    }
    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("rollback {snap}"),
            || self.inner.rollback_to(snap, destroy_newer),
        )
    }
    fn properties(
        &self,
        root: &DatasetName,
        query: &zfs_core::PropQuery,
    ) -> Result<zfs_core::PropertyMap, ZfsError> {
        timed(
            self.events,
            || format!("properties {root}"),
            || self.inner.properties(root, query),
        )
    }
    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError> {
        timed(
            self.events,
            || format!("set {target}"),
            || self.inner.set_user_props(target, props),
        )
    }
    fn pools(&self, names: &[zfs_core::PoolName]) -> Result<Vec<zfs_core::PoolStatus>, ZfsError> {
        timed(
            self.events,
            || format!("pools {} named", names.len()),
            || self.inner.pools(names),
        )
    }
    fn pool_status(
        &self,
        names: &[zfs_core::PoolName],
    ) -> Result<Vec<zfs_core::PoolStatus>, ZfsError> {
        timed(
            self.events,
            || format!("pool_status {} named", names.len()),
            || self.inner.pool_status(names),
        )
    }
}
