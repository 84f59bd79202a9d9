//! `zsync clone`: a (replicated) snapshot cloned as a new dataset on its host, so a VM can be booted
//! from it, and for a volume the block device once it exists.
//!
//! The checks come first and change nothing: the snapshot must exist, the new dataset must not. Then
//! one `clone_snapshot` call, one listing of the new dataset (filesystem or volume?), and for a volume
//! the caller's wait for its device (zfs-core's `zvol::wait_for_device` through the host's runner:
//! the device is a udev side effect, not a ZFS call).

use serde::Serialize;
use zfs_core::{Backend, DatasetKind, DatasetName, Depth, ListOptions, SnapshotName, ZfsError};

/// What to clone, as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneRequest {
    /// The snapshot to clone.
    pub snapshot: SnapshotName,
    /// The new dataset (same pool, parent existing, not existing itself).
    pub new: DatasetName,
    /// Properties set at creation (`zfs clone -o k=v`).
    pub props: Vec<(String, String)>,
}

/// What a clone made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cloned {
    /// The host label of the backend (`localhost` or the SSH destination).
    pub host: String,
    /// The snapshot cloned.
    pub origin: String,
    /// The new dataset.
    pub dataset: String,
    /// `filesystem` or `volume`.
    pub kind: &'static str,
    /// For a volume: its device (`/dev/zvol/POOL/VOL`) once it exists; `None` when it did not appear
    /// in the caller's time (and for a filesystem).
    pub device: Option<String>,
}

impl Cloned {
    /// A volume whose device did not appear in time.
    pub fn device_missing(&self) -> bool {
        self.kind == "volume" && self.device.is_none()
    }
}

/// Why a clone was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    /// The snapshot does not exist (nothing created).
    #[error("{host}: snapshot {snapshot} does not exist")]
    NoSnapshot {
        /// The host label.
        host: String,
        /// The snapshot asked for.
        snapshot: String,
    },
    /// The new dataset exists already (nothing created).
    #[error("{host}: {dataset} already exists; clone to a new name")]
    Exists {
        /// The host label.
        host: String,
        /// The dataset asked for.
        dataset: String,
    },
    /// ZFS refused, or the host could not be asked (nothing created).
    #[error("{0}")]
    Refused(Box<ZfsError>),
    /// The clone was made, but reading it back or waiting for its device failed.
    #[error("{dataset} was created, then: {source}")]
    After {
        /// The new dataset.
        dataset: String,
        /// What failed.
        source: Box<ZfsError>,
    },
}

impl CloneError {
    /// Whether the new dataset exists despite the error.
    pub fn created(&self) -> bool {
        matches!(self, CloneError::After { .. })
    }
}

/// Clones `req.snapshot` as `req.new` through `backend`, refusing (and creating nothing) when the
/// snapshot is missing or the new dataset exists; for a volume, `wait_device` (given the new volume)
/// says where its device is once it exists, or `None` when it did not appear.
pub fn clone_snapshot(
    backend: &dyn Backend,
    req: &CloneRequest,
    wait_device: impl FnOnce(&DatasetName) -> Result<Option<String>, ZfsError>,
) -> Result<Cloned, CloneError> {
    let host = backend.host().to_owned();
    let snap = req.snapshot.as_str();
    if !backend
        .exists(snap)
        .map_err(|e| CloneError::Refused(Box::new(e)))?
    {
        return Err(CloneError::NoSnapshot {
            host,
            snapshot: snap.to_owned(),
        });
    }
    let new = req.new.as_str();
    if backend
        .exists(new)
        .map_err(|e| CloneError::Refused(Box::new(e)))?
    {
        return Err(CloneError::Exists {
            host,
            dataset: new.to_owned(),
        });
    }
    backend
        .clone_snapshot(&req.snapshot, &req.new, &req.props)
        .map_err(|e| CloneError::Refused(Box::new(e)))?;
    let after = |source| CloneError::After {
        dataset: new.to_owned(),
        source: Box::new(source),
    };
    let only = ListOptions {
        depth: Depth::Zero,
        versions: false,
        user_props: Vec::new(),
    };
    let listing = backend.list(&req.new, &only).map_err(after)?;
    let volume = listing
        .datasets
        .first()
        .is_some_and(|d| d.kind == DatasetKind::Volume);
    let device = if volume {
        wait_device(&req.new).map_err(after)?
    } else {
        None
    };
    Ok(Cloned {
        host,
        origin: snap.to_owned(),
        dataset: new.to_owned(),
        kind: if volume { "volume" } else { "filesystem" },
        device,
    })
}
