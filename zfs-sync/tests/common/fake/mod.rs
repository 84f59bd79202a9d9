//! An in-memory [`Backend`] for host tests of the executor: one host's datasets with their snapshots
//! and bookmarks (name, guid, createtxg, creation), holds, user properties and resume tokens.
//!
//! It follows the rules of ZFS that the executor relies on: snapshots of one call share one txg and
//! are all-or-nothing; a held snapshot or a clone's origin is not destroyed; a send stream carries the
//! guids of the snapshots it sends, and a receive gives the target snapshot the SAME guid; a full
//! stream needs an absent target below an existing parent; an incremental needs the target's newest
//! snapshot to be its base (`-F` destroys newer ones) and no change since it; a receive into a
//! dataset with partial state must be the resumed stream; a resume send refuses a token whose
//! snapshot is gone. Errors are built with `ZfsError::from_cli` from the text `zfs` prints, so they
//! classify as the CLI backend's do.
//!
//! Every backend call is recorded in order ([`Fake::calls`]) as an operation (the method's name) and
//! an object (what it was about), and a test can make calls fail ([`Fake::fail`]).
//!
//! Not modelled: file data, encryption and raw streams, mounts, a receive interrupted mid-stream
//! leaving partial state (a test gives a dataset a token with [`Fake::set_resume_token`]), and
//! deferred destroys (`defer` just skips what cannot go yet).
//!
//! Files: this one holds the model, the call log and what tests set up and look at; `backend.rs`
//! the `Backend` methods; `stream.rs` the send stream and the rules of `zfs send` and `zfs receive`.
//!
//! The stream is not a ZFS send stream: move it with `CopyMover` (or a `PipelineMover` with
//! `verify: false`).

mod backend;
mod stream;

use super::ds;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zfs_core::{
    Backend, Capabilities, CreateKind, DatasetKind, SnapshotName, Version, VersionKind, Wire,
    ZfsError,
};

/// Guids are unique across every fake of the process, as they are across pools.
static NEXT_GUID: AtomicU64 = AtomicU64::new(1);

fn new_guid() -> u64 {
    // Spread, so no test can rely on guids growing with time.
    NEXT_GUID
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        | 1
}

/// The `creation` of versions made in `txg`: ten seconds per txg.
fn creation_at(txg: u64) -> i64 {
    1_700_000_000 + 10 * txg as i64
}

/// One recorded backend call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The `Backend` method (`snapshot_recursive`, `send`, `hold`, ...).
    pub op: &'static str,
    /// What it was about: names joined with `, `; holds as `snap tag`; bookmarks as `bookmark from`;
    /// a clone as `snapshot new`; a send as `to[ from BASE][ -I][ -t][ wire=W]`; a receive as
    /// `target[ -F][ -d][ origin=O][ wire=W]` (the wire when not plain).
    pub object: String,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.object.is_empty() {
            f.write_str(self.op)
        } else {
            write!(f, "{} {}", self.op, self.object)
        }
    }
}

type MakeError = Box<dyn Fn(&str) -> ZfsError + Send + Sync>;

/// A failure a test asked for: calls of `op` whose object contains `object` fail with `make(host)`.
struct Fault {
    op: &'static str,
    object: String,
    make: MakeError,
}

/// A snapshot or bookmark.
#[derive(Debug, Clone)]
struct Ver {
    v: Version,
    holds: BTreeMap<String, i64>,
}

/// A filesystem or volume.
#[derive(Debug, Clone)]
struct Fs {
    kind: DatasetKind,
    guid: u64,
    createtxg: u64,
    origin: Option<SnapshotName>,
    token: Option<String>,
    props: BTreeMap<String, String>,
    /// Written to since its newest snapshot.
    modified: bool,
    /// Oldest first.
    versions: Vec<Ver>,
}

impl Fs {
    fn new(kind: DatasetKind, txg: u64) -> Fs {
        Fs {
            kind,
            guid: new_guid(),
            createtxg: txg,
            origin: None,
            token: None,
            props: BTreeMap::new(),
            modified: false,
            versions: Vec::new(),
        }
    }
    fn find(&self, name: &str) -> Option<&Ver> {
        self.versions.iter().find(|v| v.v.name.as_str() == name)
    }
    fn snapshots(&self) -> impl Iterator<Item = &Ver> {
        self.versions
            .iter()
            .filter(|v| v.v.name.kind() == VersionKind::Snapshot)
    }
}

#[derive(Default)]
struct State {
    datasets: BTreeMap<String, Fs>,
    txg: u64,
    /// What [`Backend::receiving`] answers ([`Fake::set_receiving`]).
    receiving: Vec<String>,
}

impl State {
    fn next_txg(&mut self) -> u64 {
        self.txg += 1;
        self.txg
    }
    fn version(&self, name: &str) -> Option<&Ver> {
        let ds = name.split(['@', '#']).next()?;
        self.datasets.get(ds)?.find(name)
    }
    fn version_mut(&mut self, name: &str) -> Option<&mut Ver> {
        let ds = name.split(['@', '#']).next()?;
        self.datasets
            .get_mut(ds)?
            .versions
            .iter_mut()
            .find(|v| v.v.name.as_str() == name)
    }
    /// Whether some dataset is a clone of `snap`.
    fn has_clones(&self, snap: &str) -> bool {
        self.datasets
            .values()
            .any(|d| d.origin.as_ref().is_some_and(|o| o.as_str() == snap))
    }
}

/// One host with ZFS, in memory.
pub struct Fake {
    host: String,
    caps: Capabilities,
    state: Mutex<State>,
    calls: Mutex<Vec<Call>>,
    faults: Mutex<Vec<Fault>>,
}

impl Fake {
    /// A host labelled `host` with one empty pool (its root filesystem) per name of `pools`.
    pub fn new(host: &str, pools: &[&str]) -> Fake {
        let mut state = State::default();
        for p in pools {
            let txg = state.next_txg();
            state
                .datasets
                .insert((*p).to_string(), Fs::new(DatasetKind::Filesystem, txg));
        }
        Fake {
            host: host.to_string(),
            caps: Capabilities::default(),
            state: Mutex::new(state),
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    /// The same host answering that streams run in this process (as the libzfs_core backend does).
    pub fn in_process(mut self) -> Fake {
        self.caps.in_process_streams = true;
        self
    }

    /// The same host as a remote one (as a `Cli` over SSH answers), running the `zstd` and `lz4`
    /// programs as told: its sends and receives then take those wires, and refuse any other.
    pub fn remote(mut self, zstd: bool, lz4: bool) -> Fake {
        self.caps.remote = true;
        self.caps.zstd = zstd;
        self.caps.lz4 = lz4;
        self
    }

    // ---- what tests set up and look at (not recorded as calls) ----

    /// Creates filesystems (parents first) as `zfs create` would.
    pub fn filesystems(&self, names: &[&str]) {
        for n in names {
            self.create(&ds(n), CreateKind::Filesystem, &[]).unwrap();
        }
        self.clear_calls();
    }

    /// Snapshots `root` and every dataset below it as `short` (one txg), as `zfs snapshot -r`.
    pub fn snap_r(&self, root: &str, short: &str) {
        self.snapshot_recursive(&sn(&format!("{root}@{short}")))
            .unwrap();
        self.clear_calls();
    }

    /// `zfs clone origin name`: a dataset of the origin's kind whose origin is the snapshot
    /// `origin` (not recorded).
    pub fn clone_of(&self, origin: &str, name: &str) {
        self.clone_snapshot(&sn(origin), &ds(name), &[]).unwrap();
        self.calls.lock().unwrap().pop();
    }

    /// Changes an existing dataset directly.
    fn change(&self, dataset: &str, f: impl FnOnce(&mut Fs)) {
        let mut st = self.state.lock().unwrap();
        f(st.datasets.get_mut(dataset).expect("no such dataset"));
    }

    /// Writes to a dataset: it differs from its newest snapshot (an incremental without `-F` fails).
    pub fn write(&self, dataset: &str) {
        self.change(dataset, |d| d.modified = true);
    }

    /// Gives a dataset a `receive_resume_token`, as an interrupted `zfs receive -s` leaves one.
    pub fn set_resume_token(&self, dataset: &str, token: &str) {
        self.change(dataset, |d| d.token = Some(token.to_string()));
    }

    /// Destroys a snapshot now, as another program would (not recorded).
    pub fn destroy_now(&self, snap: &str) {
        let dataset = snap.split('@').next().unwrap();
        self.change(dataset, |d| {
            d.versions.retain(|v| v.v.name.as_str() != snap)
        });
    }

    /// Whether a dataset exists.
    pub fn has(&self, dataset: &str) -> bool {
        self.state.lock().unwrap().datasets.contains_key(dataset)
    }

    /// A dataset's snapshots, oldest first, as (short name, guid).
    pub fn snaps(&self, dataset: &str) -> Vec<(String, u64)> {
        self.versions(dataset, VersionKind::Snapshot)
    }

    /// A dataset's bookmarks, oldest first, as (short name, guid).
    pub fn bookmarks(&self, dataset: &str) -> Vec<(String, u64)> {
        self.versions(dataset, VersionKind::Bookmark)
    }

    fn versions(&self, dataset: &str, kind: VersionKind) -> Vec<(String, u64)> {
        let st = self.state.lock().unwrap();
        let Some(d) = st.datasets.get(dataset) else {
            return Vec::new();
        };
        d.versions
            .iter()
            .filter(|v| v.v.name.kind() == kind)
            .map(|v| (v.v.name.short().to_string(), v.v.guid))
            .collect()
    }

    /// The tags held on a snapshot.
    pub fn tags(&self, snap: &str) -> Vec<String> {
        let st = self.state.lock().unwrap();
        st.version(snap)
            .map(|v| v.holds.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A dataset's kind, origin and resume token.
    pub fn describe(&self, dataset: &str) -> (DatasetKind, Option<String>, Option<String>) {
        let st = self.state.lock().unwrap();
        let d = &st.datasets[dataset];
        (
            d.kind,
            d.origin.as_ref().map(|o| o.to_string()),
            d.token.clone(),
        )
    }

    /// Pretends `zfs receive` processes into these datasets are running on this host.
    pub fn set_receiving(&self, datasets: &[&str]) {
        self.state.lock().unwrap().receiving = datasets.iter().map(|d| d.to_string()).collect();
    }

    /// Every recorded call, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The recorded calls of these operations, as `op object` lines.
    pub fn calls_of(&self, ops: &[&str]) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| ops.contains(&c.op))
            .map(|c| c.to_string())
            .collect()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// From now on, calls of `op` whose object contains `object` fail with `make(host)`.
    pub fn fail(
        &self,
        op: &'static str,
        object: &str,
        make: impl Fn(&str) -> ZfsError + Send + Sync + 'static,
    ) {
        self.faults.lock().unwrap().push(Fault {
            op,
            object: object.to_string(),
            make: Box::new(make),
        });
    }

    /// Records a call; the error of the first fault it matches.
    fn call(&self, op: &'static str, object: String) -> Result<(), ZfsError> {
        let err = self
            .faults
            .lock()
            .unwrap()
            .iter()
            .find(|f| f.op == op && object.contains(&f.object))
            .map(|f| (f.make)(&self.host));
        self.calls.lock().unwrap().push(Call { op, object });
        err.map_or(Ok(()), Err)
    }

    /// The error `zfs OP NAME` would give with this stderr, classified as the CLI backend does.
    fn refuse(&self, op: &str, name: &str, stderr: &str) -> ZfsError {
        ZfsError::from_cli(
            &[name],
            &self.host,
            format!("zfs {op} {name}"),
            Some(1),
            stderr,
        )
    }

    /// A stream wire this host did not offer in its capabilities is refused, as a backend must.
    fn offers(&self, op: &'static str, wire: Wire) -> Result<(), ZfsError> {
        if self.caps.runs_wire(wire) {
            return Ok(());
        }
        Err(ZfsError::Unsupported {
            op,
            backend: "fake",
            why: format!("{}: no {wire} wire offered", self.host),
        })
    }

    /// `zfs create`'s and `zfs clone`'s checks of the new dataset: absent, below an existing parent.
    fn creatable(&self, st: &State, op: &str, new: &zfs_core::DatasetName) -> Result<(), ZfsError> {
        let name = new.as_str();
        if st.datasets.contains_key(name) {
            return Err(self.refuse(
                op,
                name,
                &format!("cannot create '{name}': dataset already exists"),
            ));
        }
        let parent = new.parent().map(|p| p.to_string()).unwrap_or_default();
        if !st.datasets.contains_key(&parent) {
            return Err(self.refuse(
                op,
                name,
                &format!("cannot create '{name}': parent does not exist"),
            ));
        }
        Ok(())
    }

    fn not_found(&self, op: &str, name: &str) -> ZfsError {
        self.refuse(
            op,
            name,
            &format!("cannot open '{name}': dataset does not exist"),
        )
    }
}

fn sn(name: &str) -> SnapshotName {
    SnapshotName::parse(name).unwrap()
}

fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn holds_object(holds: &[(SnapshotName, String)]) -> String {
    join(holds.iter().map(|(s, t)| format!("{s} {t}")))
}
