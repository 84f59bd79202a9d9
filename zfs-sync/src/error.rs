//! Why a tree could not be planned ([`PlanError`]), why a run could not start ([`SyncError`]), and why
//! one step failed (the step error, crate-internal, feature `exec`: it becomes the dataset's `failed`
//! outcome text).

use zfs_core::{DatasetName, ZfsError};

/// Why a tree could not be planned at all (per-dataset problems are [`Conflict`](crate::Conflict)s instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The source root is not in the source listing.
    #[error("source dataset {0} does not exist")]
    SourceNotFound(DatasetName),
    /// A mapped target name is not a valid ZFS name (too long).
    #[error("source dataset {dataset} cannot be mapped below target {target_root}: {why}")]
    BadMapping {
        /// Source dataset.
        dataset: DatasetName,
        /// Target root.
        target_root: DatasetName,
        /// Why.
        why: String,
    },
}

/// Why a run could not start (per-dataset failures are in the [`Report`](crate::Report) instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The identifier has characters outside `[A-Za-z0-9_.:-]` or is empty.
    #[error("invalid identifier {0:?}: use letters, digits and _ - . : only")]
    Identifier(String),
    /// Listing a side failed.
    #[error("listing the {side} {root}: {source}")]
    List {
        /// `source` or `target`.
        side: &'static str,
        /// The root listed.
        root: DatasetName,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Taking the sync snapshot failed.
    #[error("taking sync snapshot {name} on the source: {source}")]
    SyncSnapshot {
        /// Short name of the sync snapshot.
        name: String,
        /// The error.
        source: Box<ZfsError>,
    },
    /// The target did not answer ([`zfs_core::Backend::ping`]) before the sync snapshot was to be taken:
    /// nothing was taken or changed on either side.
    #[error("the target host {host} does not answer: {source}; no sync snapshot was taken")]
    TargetUnreachable {
        /// The target's host label.
        host: String,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Reading the source's properties (`--preserve-properties`/`--preserve-recordsize`) failed.
    #[error("reading the properties of the source {root}: {source}")]
    Properties {
        /// The root read.
        root: DatasetName,
        /// The error.
        source: Box<ZfsError>,
    },
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}
/// A step's failure.
#[cfg(feature = "exec")]
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error("{0}")]
    Zfs(Box<ZfsError>),
    #[error("moving the stream: {0}")]
    Transfer(Box<crate::mover::TransferError>),
    #[error("moving the stream: backend gave no stream descriptor")]
    NoStream,
}
