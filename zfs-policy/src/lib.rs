#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The chrono version this crate's API uses.
pub use chrono;

pub mod config;
pub mod grid;
pub mod monitor;
pub mod naming;
pub mod resolve;
pub mod retention;
pub mod schedule;
mod snapshot_type;
pub mod types;

pub use config::{Config, ConfigError, ConfigErrorKind, ConfigWarning, Policy, Recursive};
pub use grid::Grid;
pub use naming::{snapshot_name, snapshot_names};
pub use resolve::{DatasetPolicy, Origin, Resolution, TakeMode};
pub use retention::{plan, Protect, PrunePlan};
pub use types::{Dataset, DatasetKind, Snapshot, SnapshotType};
