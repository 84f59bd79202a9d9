//! The `Lzc` backend: libzfs_core through FFI (crate `libzfs-sys`, loaded at run time), local only.
//!
//! What libzfs_core does better than the CLI is done here: atomic multi-dataset snapshots with user
//! properties, batched destroys, temporary holds tied to a descriptor (released by the kernel when the
//! process dies), bookmark copies, send/receive straight to and from a pipe without a child process, and
//! errno-precise errors. What libzfs_core cannot do is delegated to an inner backend (normally `Cli`):
//! listing, creating and destroying datasets, properties, `receive -A`, receive with `-o`/`-x`, `send -p`,
//! `rollback -r`, and receiving a new filesystem that should be mounted (libzfs_core never mounts).
//!
//! Availability: [`probe`] loads `libzfs_core.so.3` (and through it `libnvpair.so.3`) once and calls
//! `libzfs_core_init()` once, which opens `/dev/zfs`; any failure is returned as a one-line reason so the
//! caller can fall back to `Cli` and say why.
//!
//! Sends and receives run `lzc_send*`/`lzc_receive*` in a worker thread against a pipe (`O_CLOEXEC`). When
//! the reader of a send goes away, the kernel's pipe write raises SIGPIPE on the sending thread; Rust
//! programs ignore SIGPIPE by default, so the call returns `EPIPE` instead. A program embedding this crate
//! that restores the default SIGPIPE disposition would be killed instead.

pub mod nvlist;

use crate::backend::{
    Backend, CreateKind, Depth, ListOptions, RecvRequest, RecvSink, SendFlags, SendRequest,
    SendStream, TemporaryHolds,
};
use crate::error::{Cause, ZfsError, LOCALHOST};
use crate::name::{BookmarkName, DatasetName, SnapshotName};
use crate::version::{Listing, Version, VersionName};
use libzfs_sys as sys;
use nvlist::{NvError, NvList, NvValue};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::thread::JoinHandle;

/// The ZFS control device.
pub const ZFS_DEV: &str = "/dev/zfs";

static LIBRARY: OnceLock<Result<sys::LibZfsCore, String>> = OnceLock::new();
static INIT: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads libzfs_core (and libnvpair) once. Does not touch `/dev/zfs`; enough for nvlist work.
pub fn library() -> Result<&'static sys::LibZfsCore, String> {
    LIBRARY
        .get_or_init(|| {
            // SAFETY: loads the system's libzfs_core; its initialisers are trusted like any system library.
            unsafe { sys::load() }
                .map_err(|e| format!("cannot load {}: {e}", sys::LIBZFS_CORE_SONAME))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Loads the library and runs `libzfs_core_init()` once (it opens `/dev/zfs`). `Err` is a one-line reason
/// why the `Lzc` backend cannot be used here. The library stays initialised for the life of the process.
pub fn probe() -> Result<&'static sys::LibZfsCore, String> {
    let lib = library()?;
    INIT.get_or_init(|| {
        // SAFETY: no arguments; refcounted and thread-safe per libzfs_core.h.
        let rc = unsafe { (lib.libzfs_core_init)() };
        if rc == 0 {
            Ok(())
        } else {
            Err(format!(
                "libzfs_core_init failed: {} (is the zfs module loaded and {ZFS_DEV} accessible?)",
                std::io::Error::from_raw_os_error(rc)
            ))
        }
    })
    .clone()?;
    Ok(lib)
}

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
    lib: &'static sys::LibZfsCore,
    inner: Box<dyn Backend>,
}

impl std::fmt::Debug for Lzc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lzc")
            .field("inner", &self.inner.name())
            .finish()
    }
}

/// Converts the backend-neutral flags to `lzc_send_flags` bits (`props` has no lzc equivalent).
pub fn send_flag_bits(flags: &SendFlags) -> sys::lzc_send_flags {
    let mut bits = 0;
    if flags.embed {
        bits |= sys::LZC_SEND_FLAG_EMBED_DATA;
    }
    if flags.large_block {
        bits |= sys::LZC_SEND_FLAG_LARGE_BLOCK;
    }
    if flags.compressed {
        bits |= sys::LZC_SEND_FLAG_COMPRESS;
    }
    if flags.raw {
        bits |= sys::LZC_SEND_FLAG_RAW;
    }
    if flags.saved {
        bits |= sys::LZC_SEND_FLAG_SAVED;
    }
    bits
}

fn cstr(op: &'static str, s: &str) -> Result<CString, ZfsError> {
    CString::new(s).map_err(|_| ZfsError::InvalidArgument {
        op,
        detail: format!("{s:?} contains a NUL byte"),
    })
}

fn nv_err(op: &'static str) -> impl Fn(NvError) -> ZfsError {
    move |e| match e {
        NvError::Nul(s) => ZfsError::InvalidArgument {
            op,
            detail: format!("{s:?} contains a NUL byte"),
        },
        NvError::Errno { errno, key, .. } => ZfsError::Errno {
            op,
            name: key,
            host: LOCALHOST.to_owned(),
            errno,
        },
    }
}

/// Longest hold tag OpenZFS accepts (MAXNAMELEN - 1).
const MAX_TAG_LEN: usize = 255;

fn check_tag(op: &'static str, tag: &str) -> Result<(), ZfsError> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.contains('\0') {
        return Err(ZfsError::InvalidArgument {
            op,
            detail: format!("hold tag {tag:?} must be 1..={MAX_TAG_LEN} bytes without NUL"),
        });
    }
    Ok(())
}

/// Checks a user property for `lzc_snapshot` (which accepts user properties only).
fn check_user_prop(op: &'static str, key: &str, value: &str) -> Result<(), ZfsError> {
    let name_ok = key.contains(':')
        && key.len() <= 255
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c));
    if !name_ok {
        return Err(ZfsError::InvalidArgument {
            op,
            detail: format!(
                "{key:?} is not a user property name (module:name, lowercase letters, digits, - _ . :)"
            ),
        });
    }
    if value.len() > 8191 || value.contains('\0') {
        return Err(ZfsError::InvalidArgument {
            op,
            detail: format!("value of {key} is longer than 8191 bytes or contains NUL"),
        });
    }
    Ok(())
}

/// Items grouped by pool name.
type PoolGroups<'a, T> = Vec<(String, Vec<&'a T>)>;

/// A user hold: snapshot and tag.
type Hold = (SnapshotName, String);

/// Groups items by pool, keeping input order within each pool; pools in first-seen order.
fn by_pool<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    pool: impl Fn(&T) -> String,
) -> PoolGroups<'a, T> {
    let mut groups: PoolGroups<'a, T> = Vec::new();
    for it in items {
        let p = pool(it);
        match groups.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(it),
            None => groups.push((p, vec![it])),
        }
    }
    groups
}

fn hold_pool(h: &Hold) -> String {
    h.0.dataset().pool().as_str().to_owned()
}

/// Splits holds into rounds in which each snapshot appears at most once (an nvlist key holds one tag),
/// grouped by pool within each round. Exact duplicates are dropped.
fn hold_rounds(holds: &[Hold]) -> Vec<PoolGroups<'_, Hold>> {
    let mut rounds: Vec<Vec<&Hold>> = Vec::new();
    for h in holds {
        if rounds.iter().any(|r| r.contains(&h)) {
            continue;
        }
        match rounds.iter_mut().find(|r| r.iter().all(|x| x.0 != h.0)) {
            Some(r) => r.push(h),
            None => rounds.push(vec![h]),
        }
    }
    rounds.into_iter().map(|r| by_pool(r, hold_pool)).collect()
}

/// Maps a failed call to a typed error: the first entry of the error list (it names the failing object),
/// else the return code against `fallback` (the first name of the batch).
fn call_error(op: &'static str, rc: i32, entries: &[(String, i32)], fallback: &str) -> ZfsError {
    match entries.iter().find(|(_, e)| *e != 0) {
        Some((name, errno)) => ZfsError::from_errno(op, name, LOCALHOST, *errno),
        None => ZfsError::from_errno(
            op,
            fallback,
            LOCALHOST,
            if rc == 0 { libc::EIO } else { rc },
        ),
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

/// Refines an `lzc_destroy_snaps` error: the kernel says EEXIST for clones and EBUSY for user holds (or a
/// snapshot in use, e.g. being sent); `has_holds` tells the two EBUSY cases apart.
fn destroy_error(e: ZfsError, has_holds: impl Fn(&str) -> bool) -> ZfsError {
    match e {
        ZfsError::AlreadyExists { name, host, cause } => ZfsError::HasClones { name, host, cause },
        ZfsError::Busy { name, host, cause } if has_holds(&name) => {
            ZfsError::HasHolds { name, host, cause }
        }
        other => other,
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ZfsError> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: valid 2-element array; O_CLOEXEC so no child process inherits the ends.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(ZfsError::Io {
            op: "pipe2".into(),
            name: String::new(),
            host: LOCALHOST.into(),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: pipe2 returned two fresh descriptors we now own.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

fn thread_error(op: &'static str, name: &str) -> ZfsError {
    ZfsError::Io {
        op: format!("{op} thread"),
        name: name.to_owned(),
        host: LOCALHOST.into(),
        source: std::io::Error::other("worker thread panicked"),
    }
}

impl Lzc {
    /// Probes libzfs_core (see [`probe`]) and wraps `inner`, which serves what libzfs_core cannot do.
    pub fn new(inner: Box<dyn Backend>) -> Result<Lzc, String> {
        Ok(Lzc {
            lib: probe()?,
            inner,
        })
    }

    /// The backend this one delegates to.
    pub fn inner(&self) -> &dyn Backend {
        self.inner.as_ref()
    }

    fn nvlist(&self, op: &'static str) -> Result<NvList, ZfsError> {
        NvList::new(self.lib).map_err(nv_err(op))
    }

    /// Takes ownership of an out-parameter list.
    fn adopt(&self, ptr: *mut sys::nvlist_t) -> Option<NvList> {
        // SAFETY: `ptr` came from a libzfs_core out-parameter (NULL or a list we must free).
        unsafe { NvList::from_raw(self.lib, ptr) }
    }

    /// Runs an errlist-style call: its return code and the decoded `(name, errno)` error entries.
    fn errlist_raw(
        &self,
        f: impl FnOnce(*mut *mut sys::nvlist_t) -> i32,
    ) -> (i32, Vec<(String, i32)>) {
        let mut errs: *mut sys::nvlist_t = std::ptr::null_mut();
        let rc = f(&mut errs);
        let entries = self
            .adopt(errs)
            .map(|l| nvlist::errlist_entries(&l.decode()))
            .unwrap_or_default();
        (rc, entries.into_iter().filter(|(_, e)| *e != 0).collect())
    }

    /// Runs an errlist-style call and maps failure; a non-empty error list counts as failure even when the
    /// call returned 0 (lzc_hold reports missing snapshots that way).
    fn errlist_call(
        &self,
        op: &'static str,
        fallback: &str,
        f: impl FnOnce(*mut *mut sys::nvlist_t) -> i32,
    ) -> Result<(), ZfsError> {
        let (rc, entries) = self.errlist_raw(f);
        if rc == 0 && entries.is_empty() {
            Ok(())
        } else {
            Err(call_error(op, rc, &entries, fallback))
        }
    }

    fn snapshot_pool(
        &self,
        snaps: &[&SnapshotName],
        props: Option<&NvList>,
    ) -> Result<(), ZfsError> {
        const OP: &str = "lzc_snapshot";
        let mut list = self.nvlist(OP)?;
        for s in snaps {
            list.add_flag(s.as_str()).map_err(nv_err(OP))?;
        }
        let props_ptr = props.map_or(std::ptr::null_mut(), NvList::as_ptr);
        let first = snaps.first().map_or("", |s| s.as_str());
        self.errlist_call(OP, first, |errs| {
            // SAFETY: valid lists; errs is an out-parameter adopted by errlist_call.
            unsafe { (self.lib.lzc_snapshot)(list.as_ptr(), props_ptr, errs) }
        })
    }

    /// The holds on `snap` via `lzc_get_holds` (tag → creation time).
    fn get_holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        let name = cstr("lzc_get_holds", snap.as_str())?;
        let mut out: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: valid name; out-parameter adopted below.
        let rc = unsafe { (self.lib.lzc_get_holds)(name.as_ptr(), &mut out) };
        let out = self.adopt(out);
        if rc != 0 {
            return Err(ZfsError::from_errno(
                "lzc_get_holds",
                snap.as_str(),
                LOCALHOST,
                rc,
            ));
        }
        Ok(out
            .map(|l| l.decode())
            .unwrap_or_default()
            .into_iter()
            .map(|(tag, v)| (tag, v.as_i64().unwrap_or(0)))
            .collect())
    }

    fn hold_with_fd(
        &self,
        holds: &[(SnapshotName, String)],
        cleanup_fd: i32,
    ) -> Result<(), ZfsError> {
        const OP: &str = "lzc_hold";
        for (_, tag) in holds {
            check_tag(OP, tag)?;
        }
        let mut placed: Vec<(SnapshotName, String)> = Vec::new();
        for round in hold_rounds(holds) {
            for (_, group) in round {
                let mut list = self.nvlist(OP)?;
                for (snap, tag) in &group {
                    list.add_string(snap.as_str(), tag).map_err(nv_err(OP))?;
                }
                let first = group.first().map_or("", |h| h.0.as_str());
                let (rc, failed) = self.errlist_raw(|errs| {
                    // SAFETY: valid list; fd is -1 or an open /dev/zfs descriptor.
                    unsafe { (self.lib.lzc_hold)(list.as_ptr(), cleanup_fd, errs) }
                });
                if rc != 0 || !failed.is_empty() {
                    // A failing call holds nothing, except that lzc_hold skips missing snapshots (listed
                    // with rc 0) and holds the rest. Undo what this operation placed; temporary holds go
                    // with their descriptor instead.
                    if cleanup_fd < 0 {
                        if rc == 0 {
                            placed.extend(
                                group
                                    .iter()
                                    .filter(|h| failed.iter().all(|(n, _)| n != h.0.as_str()))
                                    .map(|h| (*h).clone()),
                            );
                        }
                        let _ = self.release(&placed);
                    }
                    return Err(call_error(OP, rc, &failed, first));
                }
                placed.extend(group.iter().map(|h| (*h).clone()));
            }
        }
        Ok(())
    }

    /// The bookmarks of `ds` with guid, createtxg and creation, via `lzc_get_bookmarks`, sorted by
    /// createtxg. A missing dataset is [`ZfsError::NotFound`].
    pub fn bookmarks(&self, ds: &DatasetName) -> Result<Vec<Version>, ZfsError> {
        const OP: &str = "lzc_get_bookmarks";
        let name = cstr(OP, ds.as_str())?;
        let mut props = self.nvlist(OP)?;
        for p in ["guid", "createtxg", "creation"] {
            props.add_flag(p).map_err(nv_err(OP))?;
        }
        let mut out: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: valid name and list; out-parameter adopted below.
        let rc = unsafe { (self.lib.lzc_get_bookmarks)(name.as_ptr(), props.as_ptr(), &mut out) };
        let out = self.adopt(out);
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
            versions.push(Version {
                guid: num("guid").ok_or_else(|| missing("guid"))?,
                createtxg: num("createtxg").ok_or_else(|| missing("createtxg"))?,
                creation: num("creation")
                    .and_then(|c| i64::try_from(c).ok())
                    .ok_or_else(|| missing("creation"))?,
                name: VersionName::Bookmark(bm),
                userrefs: 0,
                user_props: BTreeMap::new(),
            });
        }
        versions.sort_by_key(|v| v.createtxg);
        Ok(versions)
    }

    fn spawn_send(&self, req: &SendRequest) -> Result<LzcSend, ZfsError> {
        let op = if req.resume.is_some() {
            "lzc_send_resume"
        } else {
            "lzc_send"
        };
        let to = cstr(op, req.to.as_str())?;
        let from = req
            .from
            .as_ref()
            .map(|f| cstr(op, f.as_str()))
            .transpose()?;
        let flags = send_flag_bits(&req.flags);
        let resume = req.resume.as_ref().map(|r| (r.object, r.offset));
        let (read, write) = pipe()?;
        let lib = self.lib;
        let name = req.to.as_str().to_owned();
        let thread = std::thread::Builder::new()
            .name("lzc_send".into())
            .spawn(move || {
                let from_ptr = from.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
                // SAFETY: valid C strings and an open pipe write end owned by this thread.
                let rc = unsafe {
                    match resume {
                        None => (lib.lzc_send)(to.as_ptr(), from_ptr, write.as_raw_fd(), flags),
                        Some((obj, off)) => (lib.lzc_send_resume)(
                            to.as_ptr(),
                            from_ptr,
                            write.as_raw_fd(),
                            flags,
                            obj,
                            off,
                        ),
                    }
                };
                drop(write); // EOF for the reader
                rc
            })
            .map_err(|e| ZfsError::Io {
                op: "spawn lzc_send thread".into(),
                name: name.clone(),
                host: LOCALHOST.into(),
                source: e,
            })?;
        Ok(LzcSend {
            op,
            name,
            read: Some(read),
            thread: Some(thread),
        })
    }

    fn spawn_receive(&self, req: &RecvRequest) -> Result<LzcRecv, ZfsError> {
        let op = if req.resumable {
            "lzc_receive_resumable"
        } else {
            "lzc_receive"
        };
        let target = cstr(op, req.target.as_str())?;
        let origin = req
            .origin
            .as_ref()
            .map(|o| cstr(op, o.as_str()))
            .transpose()?;
        let (force, raw, resumable) = (req.force, req.raw, req.resumable);
        let (read, write) = pipe()?;
        let lib = self.lib;
        let name = req.target.as_str().to_owned();
        let thread = std::thread::Builder::new()
            .name("lzc_receive".into())
            .spawn(move || {
                let origin_ptr = origin.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
                let b = |v: bool| if v { sys::B_TRUE } else { sys::B_FALSE };
                let f = if resumable {
                    lib.lzc_receive_resumable
                } else {
                    lib.lzc_receive
                };
                // SAFETY: valid C strings; NULL props; an open pipe read end owned by this thread.
                let rc = unsafe {
                    f(
                        target.as_ptr(),
                        std::ptr::null_mut(),
                        origin_ptr,
                        b(force),
                        b(raw),
                        read.as_raw_fd(),
                    )
                };
                drop(read); // a writer still writing now gets EPIPE instead of blocking
                rc
            })
            .map_err(|e| ZfsError::Io {
                op: "spawn lzc_receive thread".into(),
                name: name.clone(),
                host: LOCALHOST.into(),
                source: e,
            })?;
        Ok(LzcRecv {
            op,
            name,
            write: Some(write),
            thread: Some(thread),
        })
    }
}

/// A send running in a thread, writing into a pipe.
struct LzcSend {
    op: &'static str,
    name: String,
    read: Option<OwnedFd>,
    thread: Option<JoinHandle<i32>>,
}

impl SendStream for LzcSend {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.read.take()
    }
    fn finish(mut self: Box<Self>) -> Result<(), ZfsError> {
        // If the caller never took the stream there is no reader: close it so the send stops with EPIPE.
        drop(self.read.take());
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        match t.join() {
            Ok(0) => Ok(()),
            Ok(rc) => Err(ZfsError::from_errno(self.op, &self.name, LOCALHOST, rc)),
            Err(_) => Err(thread_error(self.op, &self.name)),
        }
    }
}

impl Drop for LzcSend {
    fn drop(&mut self) {
        // Still holding the read end: closing it makes the kernel's next write fail, so the thread ends
        // and can be joined. If the caller took the read end, the thread ends when the caller closes it
        // (or reads to EOF); it is detached rather than blocking this drop.
        if let Some(r) = self.read.take() {
            drop(r);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A receive running in a thread, reading from a pipe.
struct LzcRecv {
    op: &'static str,
    name: String,
    write: Option<OwnedFd>,
    thread: Option<JoinHandle<i32>>,
}

impl RecvSink for LzcRecv {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.write.take()
    }
    fn finish(mut self: Box<Self>) -> Result<(), ZfsError> {
        drop(self.write.take());
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        match t.join() {
            Ok(0) => Ok(()),
            Ok(rc) => Err(receive_error(self.op, &self.name, rc)),
            Err(_) => Err(thread_error(self.op, &self.name)),
        }
    }
}

/// Maps a receive's errno; a stream that ended early gets a readable I/O error (kind `UnexpectedEof`)
/// instead of the bare ZFS errno 1040.
fn receive_error(op: &'static str, name: &str, rc: i32) -> ZfsError {
    if rc == crate::error::zfs_errno::STREAM_TRUNCATED {
        return ZfsError::Io {
            op: op.to_owned(),
            name: name.to_owned(),
            host: LOCALHOST.into(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "send stream truncated (ZFS_ERR_STREAM_TRUNCATED); a resumable receive kept its partial state",
            ),
        };
    }
    ZfsError::from_errno(op, name, LOCALHOST, rc)
}

impl Drop for LzcRecv {
    fn drop(&mut self) {
        // Closing the write end ends the stream early: the receive fails (keeping resumable state if
        // requested) and the thread can be joined. A taken write end is the caller's to close.
        if let Some(w) = self.write.take() {
            drop(w);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Backend for Lzc {
    fn name(&self) -> &'static str {
        "lzc"
    }

    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        self.inner.list(root, opts)
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

    fn create(
        &self,
        ds: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        // Property values would need typing (numbers, indexes); the CLI does that.
        self.inner.create(ds, kind, props)
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
            let mut p = self.nvlist(OP)?;
            for (k, v) in user_props {
                check_user_prop(OP, k, v)?;
                p.add_string(k, v).map_err(nv_err(OP))?;
            }
            Some(p)
        };
        check_atomic_snapshot(snaps)?;
        let group: Vec<&SnapshotName> = snaps.iter().collect();
        self.snapshot_pool(&group, props.as_ref())
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
            let mut list = self.nvlist(OP)?;
            for s in &group {
                list.add_flag(s.as_str()).map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |s| s.as_str());
            let d = if defer { sys::B_TRUE } else { sys::B_FALSE };
            let res = self.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_destroy_snaps)(list.as_ptr(), d, errs) }
            });
            res.map_err(|e| {
                destroy_error(e, |name| {
                    SnapshotName::parse(name)
                        .ok()
                        .and_then(|s| self.get_holds(&s).ok())
                        .is_some_and(|h| !h.is_empty())
                })
            })?;
        }
        Ok(())
    }

    fn destroy_dataset(&self, ds: &DatasetName, recursive: bool) -> Result<(), ZfsError> {
        // Unmounting first is libzfs territory; the CLI does it.
        self.inner.destroy_dataset(ds, recursive)
    }

    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        self.hold_with_fd(holds, -1)
    }

    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError> {
        let dev = cstr("open", ZFS_DEV)?;
        // SAFETY: valid path; a fresh descriptor on success. O_EXCL gives it its own cleanup minor;
        // O_CLOEXEC keeps child processes from inheriting (and so prolonging) the holds.
        let fd = unsafe { libc::open(dev.as_ptr(), libc::O_RDWR | libc::O_EXCL | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(ZfsError::Io {
                op: "open cleanup descriptor".into(),
                name: ZFS_DEV.into(),
                host: LOCALHOST.into(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: `fd` was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // On error `fd` drops, and with it any hold this call placed.
        self.hold_with_fd(holds, fd.as_raw_fd())?;
        Ok(TemporaryHolds::new(fd, holds.to_vec()))
    }

    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        const OP: &str = "lzc_release";
        for (_, tag) in holds {
            check_tag(OP, tag)?;
        }
        for (_, group) in by_pool(holds, |h| h.0.dataset().pool().as_str().to_owned()) {
            // {snap: {tag: -, ...}}
            let mut per_snap: Vec<(&SnapshotName, NvList)> = Vec::new();
            for (snap, tag) in group {
                let idx = match per_snap.iter().position(|(s, _)| *s == snap) {
                    Some(i) => i,
                    None => {
                        per_snap.push((snap, self.nvlist(OP)?));
                        per_snap.len() - 1
                    }
                };
                per_snap[idx].1.add_flag(tag).map_err(nv_err(OP))?;
            }
            let mut list = self.nvlist(OP)?;
            for (snap, tags) in &per_snap {
                list.add_list(snap.as_str(), tags).map_err(nv_err(OP))?;
            }
            let first = per_snap.first().map_or("", |(s, _)| s.as_str());
            self.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_release)(list.as_ptr(), errs) }
            })
            .map_err(|e| match e {
                // ESRCH: no such tag on the snapshot.
                ZfsError::Errno {
                    name, host, errno, ..
                } if errno == libc::ESRCH => ZfsError::NotFound {
                    name: format!("hold on {name}"),
                    host,
                    cause: Cause::Errno(errno),
                },
                other => other,
            })?;
        }
        Ok(())
    }

    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        self.get_holds(snap)
    }

    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        const OP: &str = "lzc_bookmark";
        for (_, group) in by_pool(pairs, |p| p.0.dataset().pool().as_str().to_owned()) {
            let mut list = self.nvlist(OP)?;
            for (bm, src) in &group {
                list.add_string(bm.as_str(), src.as_str())
                    .map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |p| p.0.as_str());
            self.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_bookmark)(list.as_ptr(), errs) }
            })?;
        }
        Ok(())
    }

    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        const OP: &str = "lzc_destroy_bookmarks";
        for (_, group) in by_pool(bms, |b| b.dataset().pool().as_str().to_owned()) {
            let mut list = self.nvlist(OP)?;
            for bm in &group {
                list.add_flag(bm.as_str()).map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |b| b.as_str());
            self.errlist_call(OP, first, |errs| {
                // SAFETY: valid list; errs adopted by errlist_call.
                unsafe { (self.lib.lzc_destroy_bookmarks)(list.as_ptr(), errs) }
            })?;
        }
        Ok(())
    }

    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream>, ZfsError> {
        if req.flags.props || (req.intermediates && req.resume.is_none()) {
            return self.inner.send(req); // -p and -I are libzfs features
        }
        Ok(Box::new(self.spawn_send(req)?))
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

    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink>, ZfsError> {
        let needs_cli =
            req.into_dataset || !req.props.is_empty() || !req.exclude_props.is_empty() || {
                // libzfs_core never mounts: a new filesystem that should be mounted goes through the CLI.
                !req.no_mount && !self.exists(req.target.dataset().as_str())?
            };
        if needs_cli {
            return self.inner.receive(req);
        }
        Ok(Box::new(self.spawn_receive(req)?))
    }

    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        self.inner.receive_abort(ds)
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

    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError> {
        self.inner.set_user_props(target, props)
    }

    fn properties(
        &self,
        root: &DatasetName,
        query: &crate::props::PropQuery,
    ) -> Result<crate::props::PropertyMap, ZfsError> {
        self.inner.properties(root, query)
    }

    fn pools(
        &self,
        names: &[crate::name::PoolName],
    ) -> Result<Vec<crate::pool::PoolStatus>, ZfsError> {
        self.inner.pools(names)
    }

    fn pool_status(
        &self,
        names: &[crate::name::PoolName],
    ) -> Result<Vec<crate::pool::PoolStatus>, ZfsError> {
        self.inner.pool_status(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    #[test]
    fn flag_conversion() {
        assert_eq!(send_flag_bits(&SendFlags::default()), 0);
        let all = SendFlags {
            large_block: true,
            embed: true,
            compressed: true,
            raw: true,
            props: true,
            saved: true,
        };
        assert_eq!(send_flag_bits(&all), 0b11111);
        let only_raw = SendFlags {
            raw: true,
            props: true,
            ..SendFlags::default()
        };
        assert_eq!(send_flag_bits(&only_raw), sys::LZC_SEND_FLAG_RAW);
        let lc = SendFlags {
            large_block: true,
            compressed: true,
            ..SendFlags::default()
        };
        assert_eq!(
            send_flag_bits(&lc),
            sys::LZC_SEND_FLAG_LARGE_BLOCK | sys::LZC_SEND_FLAG_COMPRESS
        );
    }

    #[test]
    fn grouping_by_pool_keeps_order() {
        let snaps = [snap("b/x@1"), snap("a/y@1"), snap("b/z@1")];
        let g = by_pool(&snaps, |s| s.dataset().pool().as_str().to_owned());
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, "b");
        assert_eq!(g[0].1, vec![&snaps[0], &snaps[2]]);
        assert_eq!(g[1].1, vec![&snaps[1]]);
    }

    #[test]
    fn hold_rounds_put_one_tag_per_snapshot_per_call() {
        let h = |s: &str, t: &str| (snap(s), t.to_owned());
        let holds = [
            h("p/a@1", "t1"),
            h("p/a@1", "t2"),
            h("q/b@1", "t1"),
            h("p/a@1", "t1"),
        ];
        let rounds = hold_rounds(&holds);
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].len(), 2); // pools p and q
        assert_eq!(rounds[0][0].1, vec![&holds[0]]);
        assert_eq!(rounds[0][1].1, vec![&holds[2]]);
        assert_eq!(rounds[1], vec![("p".to_owned(), vec![&holds[1]])]);
    }

    #[test]
    fn errlist_error_names_the_failing_object() {
        let e = call_error("lzc_snapshot", libc::EEXIST, &[], "p/a@1");
        assert!(matches!(e, ZfsError::AlreadyExists { ref name, .. } if name == "p/a@1"));
        let e = call_error("lzc_hold", 0, &[], "p/a@1");
        assert!(matches!(e, ZfsError::Errno { errno, .. } if errno == libc::EIO));
        let entries = [("p/b@1".to_owned(), libc::ENOENT)];
        let e = call_error("lzc_hold", 0, &entries, "p/a@1");
        assert!(matches!(e, ZfsError::NotFound { ref name, .. } if name == "p/b@1"));
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

    #[test]
    fn destroy_errors_are_refined() {
        let err = |errno| ZfsError::from_errno("lzc_destroy_snaps", "p/a@1", LOCALHOST, errno);
        assert!(matches!(
            destroy_error(err(libc::EEXIST), |_| false),
            ZfsError::HasClones { .. }
        ));
        assert!(matches!(
            destroy_error(err(libc::EBUSY), |n| n == "p/a@1"),
            ZfsError::HasHolds { .. }
        ));
        assert!(matches!(
            destroy_error(err(libc::EBUSY), |_| false),
            ZfsError::Busy { .. }
        ));
        assert!(destroy_error(err(libc::ENOENT), |_| true).is_not_found());
    }

    #[test]
    fn truncated_stream_is_a_readable_eof() {
        let e = receive_error("lzc_receive_resumable", "p/a@1", 1040);
        assert!(
            matches!(&e, ZfsError::Io { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof),
            "{e}"
        );
        assert!(e.to_string().contains("p/a@1") && e.to_string().contains("truncated"));
        assert!(matches!(
            receive_error("lzc_receive", "p/a@1", libc::EBUSY),
            ZfsError::Busy { .. }
        ));
    }

    #[test]
    fn argument_checks() {
        assert!(check_tag("t", "").is_err());
        assert!(check_tag("t", &"x".repeat(256)).is_err());
        assert!(check_tag("t", "zsync:host a").is_ok());
        assert!(check_user_prop("s", "zsync:kind", "daily").is_ok());
        assert!(check_user_prop("s", "compression", "lz4").is_err());
        assert!(check_user_prop("s", "Zsync:Kind", "x").is_err());
        assert!(check_user_prop("s", "zsync:k", "a\0b").is_err());
        assert!(cstr("x", "a\0").is_err());
    }

    #[test]
    fn probe_reports_a_reason_without_zfs() {
        // On a host without the zfs module, probe must fail with a reason, never panic; inside the lab
        // VM it succeeds.
        match probe() {
            Ok(_) => assert!(std::path::Path::new(ZFS_DEV).exists()),
            Err(why) => {
                assert!(!why.is_empty());
                eprintln!("lzc unavailable here: {why}");
            }
        }
    }
}
