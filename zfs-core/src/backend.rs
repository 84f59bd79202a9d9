//! The backend trait every ZFS side effect goes through, and its request types.
//!
//! Two implementations exist: `Cli` (argv vectors for `zfs`/`zpool` through a
//! command runner, local or remote) and the `Lzc` backend (libzfs_core via FFI, local only), which
//! delegates what libzfs_core cannot do (listing, properties, `receive -A`, `-o`/`-x` on receive, `send -p`)
//! to an inner `Cli`.

use crate::error::ZfsError;
use crate::listing::Listing;
use crate::name::{BookmarkName, DatasetName, PoolName, SnapshotName, VersionName};
use crate::pool::PoolStatus;
use crate::props::{PropQuery, PropertyMap};
use crate::resume::ResumeToken;
use crate::wire::Wire;
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;

/// How deep a listing goes below its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// The root dataset only (with its versions when requested).
    Zero,
    /// The whole tree (`-r`).
    #[default]
    Recursive,
    /// At most this many levels of children; every listed dataset comes with all its versions (the
    /// backend asks `zfs list -d N+1` and drops the extra datasets).
    Levels(u32),
}

/// What a listing returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// How deep to go.
    pub depth: Depth,
    /// Include snapshots and bookmarks.
    pub versions: bool,
    /// User properties (`module:name`) to fetch for every dataset and version.
    pub user_props: Vec<String>,
}

impl Default for ListOptions {
    /// Whole tree, with versions, no user properties.
    fn default() -> Self {
        ListOptions {
            depth: Depth::Recursive,
            versions: true,
            user_props: Vec::new(),
        }
    }
}

/// What to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    /// A filesystem (`zfs create`).
    Filesystem,
    /// A volume of `size` bytes (`zfs create -V size`, `-s` when `sparse`).
    Volume {
        /// Volume size in bytes (a multiple of the volume block size).
        size: u64,
        /// No reservation (`-s`).
        sparse: bool,
    },
}

/// Flags of a send stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendFlags {
    /// Allow blocks larger than 128 KiB (`-L`, `LZC_SEND_FLAG_LARGE_BLOCK`).
    pub large_block: bool,
    /// Embedded data blocks (`-e`, `LZC_SEND_FLAG_EMBED_DATA`).
    pub embed: bool,
    /// Keep on-disk compression (`-c`, `LZC_SEND_FLAG_COMPRESS`).
    pub compressed: bool,
    /// Raw (encrypted as on disk) stream (`-w`, `LZC_SEND_FLAG_RAW`).
    pub raw: bool,
    /// Include dataset properties (`-p`; Cli only, Lzc delegates).
    pub props: bool,
    /// Send the saved partial state of an interrupted receive (`-S`, `LZC_SEND_FLAG_SAVED`).
    pub saved: bool,
}

/// A send: full (`from == None`) or incremental from a snapshot or bookmark (`-i`), or with every
/// intermediate snapshot in one stream (`-I`, from a snapshot only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// The snapshot to send.
    pub to: SnapshotName,
    /// Incremental source (snapshot or bookmark of the same dataset or its origin).
    pub from: Option<VersionName>,
    /// Include every snapshot between `from` and `to` in the stream (`zfs send -I`). Needs `from` to be a
    /// snapshot of the same dataset: else [`ZfsError::InvalidArgument`]. libzfs_core has no such send, so
    /// the Lzc backend runs these through its CLI backend.
    pub intermediates: bool,
    /// Stream flags.
    pub flags: SendFlags,
    /// Resume an interrupted send instead of starting over: the target's decoded token (zfs-stream
    /// decodes it; zfs-core does not depend on it). Fill `to`, `from` and `flags` from it too: Cli uses
    /// only [`ResumeToken::token`] (`zfs send -t`), Lzc [`ResumeToken::object`] and
    /// [`ResumeToken::offset`] with `lzc_send_resume`.
    pub resume: Option<ResumeToken>,
    /// How the stream leaves the backend: plain, or compressed on the sending host
    /// (`zfs send ... | zstd -c -3` as one pipeline, the send's status kept). Only a backend whose
    /// [`Capabilities::runs_wire`] says so takes a compressed wire; Lzc refuses one
    /// ([`ZfsError::Unsupported`]).
    pub wire: Wire,
    /// The stream may be large (the default): a remote runner moves it on its bulk data path (e.g.
    /// zfs-ssh's OpenSSH master). `false` for a stream known to be small keeps it on the runner's
    /// control session, which costs no process per stream. Local backends ignore it.
    pub bulk: bool,
}

impl SendRequest {
    /// A full send of `to` with default flags.
    pub fn full(to: SnapshotName) -> Self {
        SendRequest {
            to,
            from: None,
            intermediates: false,
            flags: SendFlags::default(),
            resume: None,
            wire: Wire::Plain,
            bulk: true,
        }
    }
    /// An incremental send `from` → `to` with default flags (`-i`: only `to` is received).
    pub fn incremental(from: VersionName, to: SnapshotName) -> Self {
        SendRequest {
            to,
            from: Some(from),
            intermediates: false,
            flags: SendFlags::default(),
            resume: None,
            wire: Wire::Plain,
            bulk: true,
        }
    }
    /// An incremental send of every snapshot after `from` up to `to` in one stream (`-I`).
    pub fn with_intermediates(from: SnapshotName, to: SnapshotName) -> Self {
        SendRequest {
            to,
            from: Some(VersionName::Snapshot(from)),
            intermediates: true,
            flags: SendFlags::default(),
            resume: None,
            wire: Wire::Plain,
            bulk: true,
        }
    }
}

/// A receive into the snapshot `target` (its dataset is created by a full stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvRequest {
    /// The snapshot the stream becomes; the caller knows its short name from the plan (or the token).
    pub target: SnapshotName,
    /// Roll back / destroy what is in the way (`-F`). Destroys data on the target: only with an explicit
    /// user flag.
    pub force: bool,
    /// Keep partial state when interrupted (`-s`).
    pub resumable: bool,
    /// The stream is raw (Lzc needs to know; Cli detects it).
    pub raw: bool,
    /// Receive as a clone of this snapshot (`-o origin=`).
    pub origin: Option<SnapshotName>,
    /// Properties to set on the received dataset (`-o k=v`).
    pub props: Vec<(String, String)>,
    /// Properties to exclude from the stream (`-x k`).
    pub exclude_props: Vec<String>,
    /// Do not mount the received filesystem (`-u`).
    pub no_mount: bool,
    /// Receive into `target`'s dataset and let the stream name each snapshot (`zfs receive DS`). An `-I`
    /// package needs it: given `DS@snap`, `zfs receive` would name the package's first snapshot `snap` and
    /// then fail on the next. `target` still names the last snapshot the stream brings (for errors). Lzc
    /// runs these through its CLI backend.
    pub into_dataset: bool,
    /// How the stream reaches the backend: plain, or compressed, decompressed on the receiving host
    /// (`zstd -dc | zfs receive ...` as one pipeline). As [`SendRequest::wire`].
    pub wire: Wire,
    /// The stream may be large (the default); as [`SendRequest::bulk`].
    pub bulk: bool,
}

impl RecvRequest {
    /// A plain receive into `target`: not forced, not resumable, mounted as usual.
    pub fn new(target: SnapshotName) -> Self {
        RecvRequest {
            target,
            force: false,
            resumable: false,
            raw: false,
            origin: None,
            props: Vec::new(),
            exclude_props: Vec::new(),
            no_mount: false,
            into_dataset: false,
            wire: Wire::Plain,
            bulk: true,
        }
    }
}

/// A running send.
///
/// Take the read end with [`SendStream::take_stream`], read it to EOF (or close it to give up), then call
/// [`SendStream::finish`] for the result. Dropping it without `finish` stops the send (kills the process or
/// closes the pipe) and reaps it.
pub trait SendStream: Send {
    /// The read end of the stream; `None` once taken.
    fn take_stream(&mut self) -> Option<OwnedFd>;
    /// Waits for the send to end and maps its outcome to a typed error.
    fn finish(self: Box<Self>) -> Result<(), ZfsError>;
}

/// A running receive.
///
/// Take the write end with [`RecvSink::take_input`], write the stream into it and close it (drop), then call
/// [`RecvSink::finish`]. `finish` closes the input if it was not taken. Dropping without `finish` aborts
/// the receive and reaps it.
pub trait RecvSink: Send {
    /// The write end the stream goes into; `None` once taken.
    fn take_input(&mut self) -> Option<OwnedFd>;
    /// Closes the input if still held, waits for the receive to end, maps its outcome.
    fn finish(self: Box<Self>) -> Result<(), ZfsError>;
}

/// User holds that the kernel releases when the cleanup descriptor is closed — on drop, or when the process
/// dies (even by SIGKILL). Created by [`Backend::hold_temporary`] (Lzc only).
#[derive(Debug)]
pub struct TemporaryHolds {
    cleanup_fd: OwnedFd,
    holds: Vec<(SnapshotName, String)>,
}

impl TemporaryHolds {
    /// Wraps the `/dev/zfs` cleanup descriptor passed to `lzc_hold` and the holds made with it.
    pub fn new(cleanup_fd: OwnedFd, holds: Vec<(SnapshotName, String)>) -> Self {
        TemporaryHolds { cleanup_fd, holds }
    }
    /// The holds (snapshot, tag) this guard keeps.
    pub fn holds(&self) -> &[(SnapshotName, String)] {
        &self.holds
    }
    /// The cleanup descriptor (for passing to further `lzc_hold` calls).
    pub fn cleanup_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.cleanup_fd.as_fd()
    }
    /// Releases the holds now (same as dropping).
    pub fn release(self) {
        drop(self)
    }
}

/// What a backend does natively, for callers that choose a path by ability, never by backend name.
/// New abilities may be added: build one from [`Capabilities::default`] (nothing special) and set
/// fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// Plain sends and receives run inside this process, with no child process per stream (Lzc: a
    /// libzfs_core call in a thread against a pipe). Sends with `-p` or `-I` and receives with `-o`/`-x`
    /// may still start one.
    pub in_process_streams: bool,
    /// [`Backend::hold_temporary`] works (holds released with a descriptor, even on SIGKILL).
    pub temporary_holds: bool,
    /// Sends with intermediates (`-I`) run in this backend itself, not handed to another.
    pub native_intermediates: bool,
    /// Commands run on another host (the runner's [`is_remote`](crate::Runner::is_remote)): streams
    /// cross a network, so they are worth compressing.
    pub remote: bool,
    /// The host runs `zstd`, so sends and receives take [`Wire::Zstd`]. Asked of remote backends
    /// only (once per backend, then remembered): a local end never needs it, the caller compresses
    /// in-process.
    pub zstd: bool,
    /// The host runs `lz4`, so sends and receives take [`Wire::Lz4`]. As [`Capabilities::zstd`].
    pub lz4: bool,
}

impl Capabilities {
    /// Whether sends and receives take `wire` (plain always).
    pub fn runs_wire(&self, wire: Wire) -> bool {
        match wire {
            Wire::Plain => true,
            Wire::Zstd { .. } => self.zstd,
            Wire::Lz4 => self.lz4,
        }
    }
}

/// Every ZFS operation zsync performs. Implementations validate nothing twice: names arrive validated as
/// types; free-form strings (`exists`, `set_user_props`, property names) are validated before anything
/// runs. Every method is required (none answers "unsupported" by default); a decorator forwards what it
/// does not change with [`delegate_backend!`](crate::delegate_backend).
pub trait Backend: Send + Sync {
    /// `"cli"` or `"lzc"`, for display; choose by [`Backend::capabilities`], not by name.
    fn name(&self) -> &'static str;

    /// Host label used in errors (`localhost` for local backends).
    fn host(&self) -> &str {
        crate::error::LOCALHOST
    }

    /// What this backend does natively; callers choose by this, not by [`Backend::name`].
    fn capabilities(&self) -> Capabilities;

    /// Checks, cheaply, that the host answers and ZFS works there (each backend says what it costs). A
    /// host that cannot be reached is [`ZfsError::Transport`].
    fn ping(&self) -> Result<(), ZfsError>;

    /// Lists `root` and (per `opts`) its descendants and their snapshots and bookmarks in ONE process spawn.
    /// A missing root is [`ZfsError::NotFound`] naming it.
    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError>;

    /// Whether a dataset, snapshot or bookmark exists. `name` is validated first.
    fn exists(&self, name: &str) -> Result<bool, ZfsError>;

    /// Creates a filesystem or volume with properties (the parent must exist).
    fn create(
        &self,
        ds: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError>;

    /// Takes the snapshots atomically (one txg), with user properties. All must be in one pool and at most
    /// one per dataset (ZFS refuses two snapshots of the same dataset in one call): else
    /// [`ZfsError::InvalidArgument`] before anything runs.
    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError>;

    /// Clones `snap` as the new filesystem or volume `new` (`zfs clone [-o k=v]... SNAP NEW`), with
    /// properties set at creation; a filesystem clone is mounted as `zfs clone` mounts it. `new` must
    /// be in the snapshot's pool (else [`ZfsError::InvalidArgument`] before anything runs) below an
    /// existing parent. An existing `new` is [`ZfsError::AlreadyExists`] naming it; a missing
    /// snapshot is [`ZfsError::NotFound`] naming the snapshot.
    fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        new: &DatasetName,
        props: &[(String, String)],
    ) -> Result<(), ZfsError>;

    /// Snapshots a dataset and all its descendants with the same short name (`zfs snapshot -r`).
    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError>;

    /// Destroys snapshots in batches (`-d` when `defer`: destroy once holds/clones are gone). Snapshots
    /// that do not exist are ignored (as `lzc_destroy_snaps` does); a held one is [`ZfsError::HasHolds`].
    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError>;

    /// Destroys a filesystem or volume (`-r`: with its snapshots and children). Data loss: callers must have
    /// an explicit user flag.
    fn destroy_dataset(&self, ds: &DatasetName, recursive: bool) -> Result<(), ZfsError>;

    /// Places user holds (snapshot, tag).
    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError>;

    /// Places holds that disappear when the returned guard is dropped or the process dies.
    /// Cli: [`ZfsError::Unsupported`].
    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError>;

    /// Releases user holds (snapshot, tag).
    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError>;

    /// The holds on a snapshot: tag → creation time (seconds since the epoch).
    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError>;

    /// Creates bookmarks, each from a snapshot or an existing bookmark.
    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError>;

    /// Destroys bookmarks; missing ones are ignored (as `lzc_destroy_bookmarks` does).
    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError>;

    /// Starts a send; see [`SendStream`].
    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream + '_>, ZfsError>;

    /// Estimated stream size in bytes.
    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError>;

    /// Starts a receive; see [`RecvSink`].
    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink + '_>, ZfsError>;

    /// Discards the partial state of an interrupted resumable receive (`zfs receive -A`).
    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError>;

    /// The datasets that `zfs receive` processes running on this host write into (`ps -Ao args=`,
    /// read by `cli::parse::receive_targets`): syncoid's check that no other receive is running into
    /// a target. In-process (libzfs_core) receives of other programs do not show.
    fn receiving(&self) -> Result<Vec<String>, ZfsError>;

    /// Rolls the dataset back to `snap`. With `destroy_newer`, newer snapshots and bookmarks are destroyed
    /// (`-r`); without it, a rollback past newer snapshots fails. Loses data written since `snap`: callers
    /// must have an explicit user flag.
    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError>;

    /// Sets user properties (`module:name`) on a dataset or snapshot. Names and properties are validated.
    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError>;

    /// Properties of `root` (and its descendants with [`PropQuery::recursive`]), filesystems and volumes
    /// only: one `zfs get` for the values and one without them that the values must match, so a user
    /// property value imitating `zfs get` rows is refused (`cli::parse::verify_rows`); when the two
    /// differ, both are read once more (the tree may have changed in between) before that is an error.
    /// Property names are validated before anything runs; a missing root is [`ZfsError::NotFound`]
    /// naming it.
    fn properties(&self, root: &DatasetName, query: &PropQuery) -> Result<PropertyMap, ZfsError>;

    /// Health and capacity of the named pools (all imported pools when `names` is empty), in
    /// `zpool list` order, from ONE `zpool list -Hp` spawn (up to three when it prints a pool as `-`, see
    /// `cli::parse::PoolList::unreadable`); [`crate::pool::PoolStatus::detail`] is `None`. A missing
    /// pool is [`ZfsError::NotFound`] naming it.
    fn pools(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError>;

    /// As [`Backend::pools`], plus the `zpool status` detail of each pool (vdev states, error counters,
    /// scan and data errors): two spawns.
    fn pool_status(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError>;
}
