#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod backend;
pub mod cli;
mod delegate;
pub mod endpoint;
pub mod error;
pub mod guid_str;
pub mod listing;
pub mod lzc;
pub mod name;
mod newtype;
pub mod open;
pub mod pool;
pub mod props;
pub mod quote;
pub mod resume;
pub mod runner;
pub mod validate;

pub use backend::{
    Backend, Capabilities, CreateKind, Depth, ListOptions, RecvRequest, RecvSink, SendFlags,
    SendRequest, SendStream, TemporaryHolds,
};
pub use cli::parse::PoolList;
pub use cli::Cli;
pub use endpoint::{Endpoint, EndpointError, RemoteHost};
pub use error::{Cause, ZfsError};
pub use listing::{Dataset, DatasetKind, Encryption, Listing, Version};
pub use name::{
    BookmarkName, DatasetName, NameError, PoolName, SnapshotName, VersionKind, VersionName,
};
pub use open::{open, open_endpoint, BackendChoice};
pub use pool::{ErrorCounts, PoolDetail, PoolHealth, PoolStatus, VdevStatus};
pub use props::{PropQuery, PropSource, PropValue, PropertyMap, SourceKind};
pub use resume::ResumeToken;
pub use runner::{LocalRunner, Runner};
pub use validate::{HoldTag, UserProp};
