#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod hooks;
pub mod lock;
pub mod report;

pub use hooks::{HookContext, HookKind, HookOutcome, HookRunner};
pub use lock::{LockError, RunLock};
pub use report::{Failure, HookReport, Report, RunOutcome, Skip};
