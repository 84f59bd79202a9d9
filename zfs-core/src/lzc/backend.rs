//! The [`Lzc`] backend value and its [`Backend`] implementation: what libzfs_core does natively, and
//! what it hands to its inner backend.

use super::call::{by_pool, cstr, Lib};
use super::errors::{destroy_error, nv_err};
use super::holds;
use super::library::{open_dev, probe};
use super::nvlist::{self, NvList, NvValue};
use super::stream::{self, send_flag_bits};
use crate::backend::{
    Backend, Capabilities, Depth, ListOptions, RecvRequest, RecvSink, SendFlags, SendRequest,
    SendStream, TemporaryHolds,
};
use crate::error::{Cause, ZfsError, LOCALHOST};
use crate::listing::{DatasetKind, Version};
use crate::name::{BookmarkName, DatasetName, SnapshotName, VersionName};
use crate::validate;
use crate::wire::Wire;
use libzfs_sys as sys;
use std::collections::BTreeMap;

/// Opens the `Lzc` backend over the local `Cli` backend, or says why it is unavailable.
pub fn open() -> Result<Box<dyn Backend>, String> {
    open_with(Box::new(crate::cli::Cli::local()))
}

/// Opens the `Lzc` backend over `inner` (normally the local `Cli`), or says why it is unavailable.
pub fn open_with(inner: Box<dyn Backend>) -> Result<Box<dyn Backend>, String> {
    Ok(Box::new(Lzc::new(inner)?))
}

/// libzfs_core backend; see the module docs for what it delegates.
pub struct Lzc {
    lib: Lib,
    inner: Box<dyn Backend>,
}

impl std::fmt::Debug for Lzc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lzc")
            .field("inner", &self.inner.name())
            .finish()
    }
}

/// One atomic `lzc_snapshot` call takes snapshots of one pool, at most one per dataset.
fn check_atomic_snapshot(snaps: &[SnapshotName]) -> Result<(), ZfsError> {
    let Some(first) = snaps.first() else {
        return Ok(());
    };
    let pool = first.dataset().pool();
    let mut seen = std::collections::BTreeSet::new();
    for s in snaps {
        if s.dataset().pool() != pool {
            return Err(ZfsError::InvalidArgument {
                op: "snapshot",
                detail: format!(
                    "{s} and {first} are in different pools; an atomic snapshot needs one pool"
                ),
            });
        }
        if !seen.insert(s.dataset()) {
            return Err(ZfsError::InvalidArgument {
                op: "snapshot",
                detail: format!(
                    "two snapshots of {} in one atomic call; ZFS allows one per dataset per call",
                    s.dataset()
                ),
            });
        }
    }
    Ok(())
}

impl Lzc {
    /// Probes libzfs_core (see [`probe`]) and wraps `inner`, which serves what libzfs_core cannot do.
    pub fn new(inner: Box<dyn Backend>) -> Result<Lzc, String> {
        Ok(Lzc {
            lib: Lib(probe()?),
            inner,
        })
    }

    /// The backend this one delegates to.
    pub fn inner(&self) -> &dyn Backend {
        self.inner.as_ref()
    }

    fn snapshot_pool(
        &self,
        snaps: &[&SnapshotName],
        props: Option<&NvList>,
    ) -> Result<(), ZfsError> {
        const OP: &str = "lzc_snapshot";
        let mut list = self.lib.nvlist(OP)?;
        for s in snaps {
            list.add_flag(s.as_str()).map_err(nv_err(OP))?;
        }
        let props_ptr = props.map_or(std::ptr::null_mut(), NvList::as_ptr);
        let first = snaps.first().map_or("", |s| s.as_str());
        self.lib.errlist_call(OP, first, |errs| {
            // SAFETY: valid lists; errs is an out-parameter adopted by errlist_call.
            unsafe { (self.lib.lzc_snapshot)(list.as_ptr(), props_ptr, errs) }
        })
    }

    /// The bookmarks of `ds` with guid, createtxg and creation, via `lzc_get_bookmarks`, sorted by
    /// createtxg. A missing dataset is [`ZfsError::NotFound`].
    pub fn bookmarks(&self, ds: &DatasetName) -> Result<Vec<Version>, ZfsError> {
        const OP: &str = "lzc_get_bookmarks";
        let name = cstr(OP, ds.as_str())?;
        let mut props = self.lib.nvlist(OP)?;
        for p in ["guid", "createtxg", "creation"] {
            props.add_flag(p).map_err(nv_err(OP))?;
        }
        let mut out: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: valid name and list; out-parameter adopted below.
        let rc = unsafe { (self.lib.lzc_get_bookmarks)(name.as_ptr(), props.as_ptr(), &mut out) };
        let out = self.lib.adopt(out);
        if rc != 0 {
            return Err(ZfsError::from_errno(OP, ds.as_str(), LOCALHOST, rc));
        }
        let mut versions = Vec::new();
        for (short, v) in out.map(|l| l.decode()).unwrap_or_default() {
            let bm = ds.bookmark(&short)?;
            let props = v.as_list().unwrap_or(&[]);
            // Each property is {value: N} (plus `source` for some).
            let num = |p: &str| {
                nvlist::get(props, p)
                    .and_then(NvValue::as_list)
                    .and_then(|l| nvlist::get(l, "value"))
                    .and_then(NvValue::as_u64)
            };
            let missing = |p: &str| ZfsError::Parse {
                what: format!("{OP} {ds}"),
                host: LOCALHOST.into(),
                line: 0,
                detail: format!("bookmark {bm} has no {p}"),
            };
            let guid = num("guid").ok_or_else(|| missing("guid"))?;
            let createtxg = num("createtxg").ok_or_else(|| missing("createtxg"))?;
            let creation = num("creation")
                .and_then(|c| i64::try_from(c).ok())
                .ok_or_else(|| missing("creation"))?;
            versions.push(Version::bookmark(bm, guid, createtxg, creation));
        }
        versions.sort_by_key(|v| v.createtxg);
        Ok(versions)
    }
}

/// Lzc streams are plain: a compressed `wire` is [`ZfsError::Unsupported`] before anything runs (even
/// for the requests the inner CLI backend would run), as [`Capabilities::runs_wire`] says.
fn plain_wire(op: &'static str, wire: Wire) -> Result<(), ZfsError> {
    if wire.is_plain() {
        return Ok(());
    }
    Err(ZfsError::Unsupported {
        op,
        backend: "lzc",
        why: format!(
            "a {wire} stream: libzfs_core streams are plain and local; compress in-process \
             (zfs-stream) instead of asking the backend"
        ),
    })
}

impl Backend for Lzc {
    fn name(&self) -> &'static str {
        "lzc"
    }

    /// Plain sends and receives in a thread; temporary holds; `send -I` through the inner backend;
    /// local, with no compressed wire (the caller compresses in-process).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            in_process_streams: true,
            temporary_holds: true,
            native_intermediates: false,
            remote: false,
            zstd: false,
            lz4: false,
        }
    }

    /// Opens and closes `/dev/zfs` (no process, no ioctl); the inner backend is not asked.
    fn ping(&self) -> Result<(), ZfsError> {
        open_dev().map(drop)
    }

    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        if name.contains('#') {
            let bm = BookmarkName::parse(name)?;
            return match self.bookmarks(&bm.dataset()) {
                Ok(list) => Ok(list.iter().any(|v| v.name.as_str() == bm.as_str())),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            };
        }
        if name.contains('@') {
            SnapshotName::parse(name)?;
        } else {
            DatasetName::parse(name)?;
        }
        let c = cstr("lzc_exists", name)?;
        // SAFETY: valid C string.
        Ok(unsafe { (self.lib.lzc_exists)(c.as_ptr()) } != sys::B_FALSE)
    }

    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        const OP: &str = "lzc_snapshot";
        if snaps.is_empty() {
            return Ok(());
        }
        let props = if user_props.is_empty() {
            None
        } else {
            let mut p = self.lib.nvlist(OP)?;
            validate::user_props(user_props)?;
            for (k, v) in user_props {
                p.add_string(k, v).map_err(nv_err(OP))?;
            }
            Some(p)
        };
        check_atomic_snapshot(snaps)?;
        let group: Vec<&SnapshotName> = snaps.iter().collect();
        self.snapshot_pool(&group, props.as_ref())
    }

    /// `lzc_clone` for a volume clone without properties; a filesystem clone (libzfs_core never
    /// mounts) or one with properties (typed values are libzfs territory) goes to the inner
    /// backend. One listing of the snapshot's dataset tells which.
    fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        new: &DatasetName,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        const OP: &str = "lzc_clone";
        crate::cli::argv::check_clone(snap, new)?;
        if !props.is_empty() {
            return self.inner.clone_snapshot(snap, new, props);
        }
        let only = ListOptions {
            depth: Depth::Zero,
            versions: false,
            user_props: Vec::new(),
        };
        let origin = match self.inner.list(&snap.dataset(), &only) {
            Ok(l) => l,
            Err(e) if e.is_not_found() => {
                return Err(ZfsError::from_errno(
                    OP,
                    snap.as_str(),
                    LOCALHOST,
                    libc::ENOENT,
                ))
            }
            Err(e) => return Err(e),
        };
        if origin.datasets.first().map(|d| d.kind) != Some(DatasetKind::Volume) {
            return self.inner.clone_snapshot(snap, new, props);
        }
        let new_c = cstr(OP, new.as_str())?;
        let snap_c = cstr(OP, snap.as_str())?;
        // SAFETY: valid strings; NULL props is allowed (no properties).
        let rc =
            unsafe { (self.lib.lzc_clone)(new_c.as_ptr(), snap_c.as_ptr(), std::ptr::null_mut()) };
        // ENOENT is a missing origin snapshot or a missing parent of `new`: name the one it is.
        // SAFETY: valid C string.
        let snap_missing = || unsafe { (self.lib.lzc_exists)(snap_c.as_ptr()) } == sys::B_FALSE;
        match rc {
            0 => Ok(()),
            libc::ENOENT if snap_missing() => {
                Err(ZfsError::from_errno(OP, snap.as_str(), LOCALHOST, rc))
            }
            _ => Err(ZfsError::from_errno(OP, new.as_str(), LOCALHOST, rc)),
        }
    }

    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        let root = snap.dataset();
        let listing = self.inner.list(
            &root,
            &ListOptions {
                depth: Depth::Recursive,
                versions: false,
                user_props: Vec::new(),
            },
        )?;
        let snaps = listing
            .datasets
            .iter()
            .map(|d| d.name.snapshot(snap.short()))
            .collect::<Result<Vec<_>, _>>()?;
        if snaps.is_empty() {
            return Err(ZfsError::from_errno(
                "lzc_snapshot",
                root.as_str(),
                LOCALHOST,
                libc::ENOENT,
            ));
        }
        self.snapshot(&snaps, &[])
    }

    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError> {
        const OP: &str = "lzc_destroy_snaps";
        for (_, group) in by_pool(snaps, |s| s.dataset().pool().as_str().to_owned()) {
            let mut list = self.lib.nvlist(OP)?;
            for s in &group {
                list.add_flag(s.as_str()).map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |s| s.as_str());
            let d = if defer { sys::B_TRUE } else { sys::B_FALSE };
            let res = self.lib.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_destroy_snaps)(list.as_ptr(), d, errs) }
            });
            res.map_err(|e| {
                destroy_error(e, |name| {
                    SnapshotName::parse(name)
                        .ok()
                        .and_then(|s| holds::get_holds(self.lib, &s).ok())
                        .is_some_and(|h| !h.is_empty())
                })
            })?;
        }
        Ok(())
    }

    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        holds::hold(self.lib, holds, -1)
    }

    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError> {
        holds::hold_temporary(self.lib, holds)
    }

    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        holds::release(self.lib, holds)
    }

    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        holds::get_holds(self.lib, snap)
    }

    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        const OP: &str = "lzc_bookmark";
        for (_, group) in by_pool(pairs, |p| p.0.dataset().pool().as_str().to_owned()) {
            let mut list = self.lib.nvlist(OP)?;
            for (bm, src) in &group {
                list.add_string(bm.as_str(), src.as_str())
                    .map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |p| p.0.as_str());
            self.lib.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_bookmark)(list.as_ptr(), errs) }
            })?;
        }
        Ok(())
    }

    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        const OP: &str = "lzc_destroy_bookmarks";
        for (_, group) in by_pool(bms, |b| b.dataset().pool().as_str().to_owned()) {
            let mut list = self.lib.nvlist(OP)?;
            for bm in &group {
                list.add_flag(bm.as_str()).map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |b| b.as_str());
            self.lib.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_destroy_bookmarks)(list.as_ptr(), errs) }
            })?;
        }
        Ok(())
    }

    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream + '_>, ZfsError> {
        plain_wire("send", req.wire)?;
        if req.flags.props || (req.intermediates && req.resume.is_none()) {
            return self.inner.send(req); // -p and -I are libzfs features
        }
        Ok(Box::new(stream::start_send(self.lib, req)?))
    }

    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        const OP: &str = "lzc_send_space";
        let to_c = cstr(OP, to.as_str())?;
        let from_c = from.map(|f| cstr(OP, f.as_str())).transpose()?;
        let mut space = 0u64;
        // SAFETY: valid strings (or NULL) and out-pointer.
        let rc = unsafe {
            (self.lib.lzc_send_space)(
                to_c.as_ptr(),
                from_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                send_flag_bits(flags),
                &mut space,
            )
        };
        if rc != 0 {
            return Err(ZfsError::from_errno(OP, to.as_str(), LOCALHOST, rc));
        }
        Ok(space)
    }

    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink + '_>, ZfsError> {
        plain_wire("receive", req.wire)?;
        let needs_cli =
            req.into_dataset || !req.props.is_empty() || !req.exclude_props.is_empty() || {
                // libzfs_core never mounts: a new filesystem that should be mounted goes through the CLI.
                !req.no_mount && !self.exists(req.target.dataset().as_str())?
            };
        if needs_cli {
            return self.inner.receive(req);
        }
        Ok(Box::new(stream::start_receive(self.lib, req)?))
    }

    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        const OP: &str = "lzc_rollback_to";
        if destroy_newer {
            return self.inner.rollback_to(snap, true); // -r destroys newer snapshots: libzfs
        }
        let ds = snap.dataset();
        let ds_c = cstr(OP, ds.as_str())?;
        let snap_c = cstr(OP, snap.as_str())?;
        // SAFETY: valid strings.
        let rc = unsafe { (self.lib.lzc_rollback_to)(ds_c.as_ptr(), snap_c.as_ptr()) };
        match rc {
            0 => Ok(()),
            // Newer snapshots or bookmarks exist (OpenZFS 2.3 says EEXIST, some versions EXDEV).
            libc::EEXIST | libc::EXDEV => Err(ZfsError::HasNewerVersions {
                name: snap.as_str().to_owned(),
                host: LOCALHOST.into(),
                cause: Cause::Errno(rc),
            }),
            // The target snapshot (or any snapshot) does not exist.
            libc::ESRCH => Err(ZfsError::NotFound {
                name: snap.as_str().to_owned(),
                host: LOCALHOST.into(),
                cause: Cause::Errno(rc),
            }),
            _ => Err(ZfsError::from_errno(OP, snap.as_str(), LOCALHOST, rc)),
        }
    }

    // What libzfs_core cannot do goes to the inner backend: listing; creating (property values would
    // need typing: numbers, indexes) and destroying datasets (unmounting first is libzfs territory);
    // `receive -A`; setting and reading properties; pool status.
    crate::delegate_backend!(inner; list, create, destroy_dataset, receive_abort, receiving, set_user_props,
        properties, pools, pool_status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    #[test]
    fn a_compressed_wire_is_refused_by_name() {
        plain_wire("send", Wire::Plain).unwrap();
        for w in [Wire::ZSTD, Wire::Lz4] {
            match plain_wire("receive", w) {
                Err(e @ ZfsError::Unsupported { op: "receive", .. }) => {
                    let text = e.to_string();
                    assert!(
                        text.contains(&w.to_string()) && text.contains("lzc"),
                        "{text}"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn atomic_snapshot_needs_one_pool_one_per_dataset() {
        assert!(check_atomic_snapshot(&[]).is_ok());
        assert!(check_atomic_snapshot(&[snap("p/a@1"), snap("p/b@1"), snap("p@1")]).is_ok());
        let e = check_atomic_snapshot(&[snap("p/a@1"), snap("q/a@1")]).unwrap_err();
        assert!(e.to_string().contains("different pools"), "{e}");
        let e = check_atomic_snapshot(&[snap("p/a@1"), snap("p/a@2")]).unwrap_err();
        assert!(e.to_string().contains("one per dataset"), "{e}");
    }
}
