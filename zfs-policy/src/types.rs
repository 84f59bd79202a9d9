//! The caller's inputs: datasets and snapshots as it lists them. [`SnapshotType`] is defined in its
//! own module (which [`crate::naming`] also uses) and re-exported here.

use chrono::{DateTime, Utc};

pub use crate::snapshot_type::{SnapshotType, UnknownSnapshotType};

/// Whether a dataset is a filesystem or a volume (zvol). Both are snapshotted alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum DatasetKind {
    /// A ZFS filesystem.
    #[default]
    Filesystem,
    /// A ZFS volume.
    Volume,
}

/// An existing dataset, as listed by the caller (`zfs list -t filesystem,volume`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dataset {
    /// Full dataset name, e.g. `tank/vm-100-disk-0`.
    pub name: String,
    /// Filesystem or volume.
    pub kind: DatasetKind,
}

impl Dataset {
    /// A filesystem named `name`.
    pub fn filesystem(name: impl Into<String>) -> Self {
        Dataset {
            name: name.into(),
            kind: DatasetKind::Filesystem,
        }
    }

    /// A volume named `name`.
    pub fn volume(name: impl Into<String>) -> Self {
        Dataset {
            name: name.into(),
            kind: DatasetKind::Volume,
        }
    }
}

/// An existing snapshot of one dataset: its name, its `creation` property and whether it has user holds.
///
/// The autosnap type is recognised once, when the value is built (see [`crate::naming::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    name: String,
    creation: DateTime<Utc>,
    secs: i64,
    held: bool,
    autosnap: Option<SnapshotType>,
}

impl Snapshot {
    /// A snapshot with short name `name` (the part after `@`; a full `dataset@name` is accepted and the
    /// dataset part is dropped) created at `creation`.
    pub fn new(name: impl Into<String>, creation: DateTime<Utc>) -> Self {
        let mut name: String = name.into();
        if let Some(at) = name.find('@') {
            name.drain(..=at);
        }
        let autosnap = crate::naming::parse(&name).map(|p| p.kind);
        Snapshot {
            name,
            creation,
            secs: creation.timestamp(),
            held: false,
            autosnap,
        }
    }

    /// Like [`Snapshot::new`] with `creation` in Unix seconds (the value of `zfs list -Hp -o creation`).
    /// Out-of-range values are clamped to the Unix epoch.
    pub fn from_unix(name: impl Into<String>, creation_secs: i64) -> Self {
        let creation = DateTime::from_timestamp(creation_secs, 0).unwrap_or(DateTime::UNIX_EPOCH);
        Snapshot::new(name, creation)
    }

    /// Marks the snapshot as having at least one user hold (`userrefs > 0`): it is never pruned.
    pub fn with_hold(mut self, held: bool) -> Self {
        self.held = held;
        self
    }

    /// Short snapshot name (after `@`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `creation` property.
    pub fn creation(&self) -> DateTime<Utc> {
        self.creation
    }

    /// The `creation` property in Unix seconds.
    pub fn creation_secs(&self) -> i64 {
        self.secs
    }

    /// Whether the snapshot has a user hold.
    pub fn held(&self) -> bool {
        self.held
    }

    /// The autosnap type when the name is a sanoid-style autosnap name, else `None` (not managed).
    pub fn autosnap_type(&self) -> Option<SnapshotType> {
        self.autosnap
    }
}
