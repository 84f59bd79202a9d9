#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// The model: names, what a listing yields, requests, errors. No feature needed.
pub mod backend;
mod delegate;
pub mod endpoint;
pub mod error;
pub mod guid_str;
/// Guides to zfs-core's extension points (their examples use the CLI backend).
#[cfg(feature = "backends")]
pub mod guide {
    #[doc = include_str!("../guide/backend.md")]
    pub mod backend {}
    #[doc = include_str!("../guide/runner.md")]
    pub mod runner {}
}
pub mod listing;
pub mod name;
mod newtype;
pub mod pool;
pub mod props;
pub mod quote;
pub mod resume;
pub mod validate;
pub mod wire;

// What runs something (feature `backends`, on by default).
#[cfg(feature = "backends")]
pub mod cli;
#[cfg(feature = "backends")]
pub mod lzc;
#[cfg(feature = "backends")]
pub mod open;
#[cfg(feature = "backends")]
pub mod runner;
#[cfg(feature = "backends")]
pub mod zvol;

pub use backend::{
    Backend, Capabilities, CreateKind, Depth, ListOptions, RecvRequest, RecvSink, SendFlags,
    SendRequest, SendStream, TemporaryHolds,
};
pub use endpoint::{Endpoint, EndpointError, RemoteHost};
pub use error::{Cause, ZfsError};
pub use listing::{Dataset, DatasetKind, Encryption, Listing, Version};
pub use name::{
    BookmarkName, DatasetName, NameError, PoolName, SnapshotName, VersionKind, VersionName,
};
pub use pool::{ErrorCounts, PoolDetail, PoolHealth, PoolStatus, VdevStatus};
pub use props::{PropQuery, PropSource, PropValue, PropertyMap, SourceKind};
pub use resume::ResumeToken;
pub use validate::{HoldTag, UserProp};
pub use wire::Wire;

#[cfg(feature = "backends")]
pub use cli::{parse::PoolList, Cli};
#[cfg(feature = "backends")]
pub use open::{open, open_endpoint, BackendChoice};
#[cfg(feature = "backends")]
pub use runner::{LocalRunner, Runner};
