//! What the stages of a run work through (the two backends, the mover, the cancel token, the events sink, the
//! wires), and the small helpers
//! that address datasets and snapshots on them.

use crate::cancel::Cancel;
use crate::events::Events;
use crate::mover::Mover;
use crate::plan::{Side, VersionRef};
use crate::wire::WireChoice;
use zfs_core::{Backend, DatasetName, Depth, ListOptions, SnapshotName, ZfsError};

/// The two ends of a run, the mover between them, the cancel token and the events sink: what the dataset, step and
/// cleanup stages use (the [`Executor`](super::Executor)'s collaborators).
#[derive(Clone, Copy)]
pub(super) struct Context<'e> {
    /// The source side.
    pub(super) source: &'e dyn Backend,
    /// The target side.
    pub(super) target: &'e dyn Backend,
    /// How bytes move from send to receive.
    pub(super) mover: &'e dyn Mover,
    /// Checked before a dataset starts and between its steps.
    pub(super) cancel: &'e Cancel,
    /// Told what happens.
    pub(super) events: &'e dyn Events,
    /// Each end's wire for every stream of the run ([`crate::wire::choose_wires`]).
    pub(super) wires: WireChoice,
    /// [`SyncOptions::small_stream`](crate::SyncOptions::small_stream) where it applies to this
    /// run's two ends (a remote end, a source that estimates in-process), else 0.
    pub(super) small_stream: u64,
}

impl<'e> Context<'e> {
    /// The backend of `side`.
    pub(super) fn side(&self, side: Side) -> &'e dyn Backend {
        match side {
            Side::Source => self.source,
            Side::Target => self.target,
        }
    }
}

/// Listing options: the dataset alone or its whole tree, with or without snapshots and bookmarks.
pub(super) fn list_opts(recursive: bool, versions: bool) -> ListOptions {
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

/// `ds@short`, a bad name as a [`ZfsError`].
pub(super) fn snap_name(ds: &DatasetName, short: &str) -> Result<SnapshotName, ZfsError> {
    ds.snapshot(short).map_err(ZfsError::InvalidName)
}

/// A plan's version as the snapshot it must be (sends and destroys take snapshots only).
pub(super) fn as_snapshot(v: &VersionRef) -> Result<SnapshotName, ZfsError> {
    v.snapshot()
        .cloned()
        .ok_or_else(|| ZfsError::InvalidArgument {
            op: "send",
            detail: format!("{} is not a snapshot", v.name),
        })
}
