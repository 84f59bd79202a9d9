#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod clone;
pub mod drill;
pub mod engine;
pub mod events;
pub mod hooks;
pub mod jobs;
pub mod lock;
pub mod metrics;
pub mod monitor;
pub mod pools;
pub mod replica;
pub mod report;
pub mod state;
pub mod target_lock;
pub mod verify;

pub use clone::{CloneError, CloneRequest, Cloned};
pub use engine::RunOptions;
pub use events::{Events, Level, NoEvents, Phase};
pub use hooks::{HookContext, HookKind, HookOutcome, HookRunner};
pub use jobs::{Job, JobFile, JobFileError};
pub use lock::{LockError, RunLock};
pub use monitor::{Check, CheckReport, CheckState, Monitor, MonitorError};
pub use report::{Failure, HookReport, Report, RunOutcome, Skip};
pub use target_lock::{TargetLock, TargetLockError};
