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
    /// The receive ran out of space on the target: what the stream needs and what the target has.
    #[error("{}", no_space_text(target, *needed, *available))]
    NoSpace {
        /// The receiving dataset.
        target: DatasetName,
        /// The stream's estimated size, when known.
        needed: Option<u64>,
        /// The target's `available` (its parent's when it does not exist yet), when readable.
        available: Option<u64>,
    },
}

/// The one line of [`StepError::NoSpace`].
#[cfg(feature = "exec")]
fn no_space_text(target: &DatasetName, needed: Option<u64>, available: Option<u64>) -> String {
    let needed = needed.map_or_else(
        || "an unknown size".to_string(),
        |n| format!("about {}", crate::report::human_bytes(n)),
    );
    let available = available.map_or_else(
        || "an unknown amount".to_string(),
        crate::report::human_bytes,
    );
    format!(
        "target {target} is out of space: the stream needs {needed}, {available} available on \
         {target}; the source is untouched and the target's snapshots are intact: free space on \
         the target pool and run again (a partial receive is kept and resumed)"
    )
}

#[cfg(all(test, feature = "exec"))]
mod tests {
    use super::*;

    #[test]
    fn no_space_names_the_target_and_both_sizes() {
        let e = StepError::NoSpace {
            target: DatasetName::parse("small/dst").unwrap(),
            needed: Some(40 << 20),
            available: Some(12_900_000),
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "target small/dst is out of space: the stream needs about 40.0 MiB, 12.3 MiB \
                 available on small/dst; "
            ),
            "{text}"
        );
        let unknown = StepError::NoSpace {
            target: DatasetName::parse("small/dst").unwrap(),
            needed: None,
            available: None,
        };
        assert!(unknown
            .to_string()
            .contains("needs an unknown size, an unknown amount available"));
        assert_eq!(crate::report::human_bytes(512), "512 B");
        assert_eq!(crate::report::human_bytes(1536), "1.5 KiB");
    }
}
