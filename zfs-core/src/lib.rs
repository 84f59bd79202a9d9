#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod backend;
pub mod error;
pub mod list;
pub mod lzc;
pub mod name;
pub mod quote;
pub mod runner;
pub mod version;

pub use backend::{
    Backend, CreateKind, Depth, ListOptions, RecvRequest, RecvSink, ResumePoint, SendFlags,
    SendRequest, SendStream, TemporaryHolds,
};
pub use error::{Cause, ZfsError};
pub use name::{BookmarkName, DatasetName, NameError, PoolName, SnapshotName};
pub use version::{Dataset, DatasetKind, Encryption, Listing, Version, VersionKind, VersionName};
