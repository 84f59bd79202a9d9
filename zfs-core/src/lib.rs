#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod name;
pub mod version;

pub use name::{BookmarkName, DatasetName, NameError, PoolName, SnapshotName};
pub use version::{Dataset, DatasetKind, Encryption, Listing, Version, VersionKind, VersionName};
