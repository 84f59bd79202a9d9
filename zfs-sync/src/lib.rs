#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// The planner and its data: no feature needed, no backend, no zfs-stream.
pub mod cancel;
pub mod error;
pub mod model;
pub mod naming;
pub mod options;
pub mod pattern;
pub mod plan;
pub mod planner;
pub mod report;
pub mod sync_property;

// The executor (feature `exec`, on by default).
#[cfg(feature = "exec")]
pub mod events;
#[cfg(feature = "exec")]
pub mod exec;
#[cfg(feature = "exec")]
pub mod mover;
#[cfg(feature = "exec")]
pub mod movers;
#[cfg(feature = "exec")]
pub mod preserve;
#[cfg(feature = "exec")]
pub mod timed;
#[cfg(feature = "exec")]
pub mod wire;
/// Guides to zfs-sync's extension points (the executor's).
#[cfg(feature = "exec")]
pub mod guide {
    #[doc = include_str!("../guide/mover.md")]
    pub mod mover {}
    #[doc = include_str!("../guide/events.md")]
    pub mod events {}
}
// Builders for the executor's unit tests.
#[cfg(all(test, feature = "exec"))]
mod fixtures;

pub use cancel::Cancel;
pub use error::{PlanError, SyncError};
pub use naming::{
    is_sync_snapshot, is_syncoid_snapshot, sync_snapshot_name, syncoid_snapshot_name, SyncNaming,
    SYNCOID_PREFIX, SYNC_PREFIX,
};
pub use options::{
    default_jobs, InitialReplication, PlanOptions, RecvOptions, SendOptions, SnapshotFilter,
    SyncOptions, TreeSpec, SMALL_STREAM,
};
pub use pattern::{Pattern, PatternError};
pub use plan::{
    AbortReason, CleanupAction, Conflict, DatasetPlan, Decision, Plan, PropertySkip, Side, Step,
    VersionRef, PLAN_SCHEMA,
};
pub use planner::select_datasets;
pub use planner::{
    common_base, plan_dataset, plan_tree, CloneBase, CommonBase, TargetState, TokenDecodeError,
    TreeInput,
};
pub use report::{
    DatasetReport, Outcome, Report, StepReport, StreamCheck, StreamSnapshot, UncheckedStream,
};
pub use sync_property::{sync_property_skip, SYNC_PROPERTY};
/// GUIDs as decimal strings in JSON (zfs-core's helpers; the plan and report JSON use them).
pub use zfs_core::guid_str;
/// A target's decoded `receive_resume_token` (zfs-core's; the executor decodes with zfs-stream).
pub use zfs_core::ResumeToken;

#[cfg(feature = "exec")]
pub use events::{Events, NoEvents};
#[cfg(feature = "exec")]
pub use exec::{Executor, BUSY};
#[cfg(feature = "exec")]
pub use mover::{Moved, Mover, StreamInfo, TransferError};
#[cfg(feature = "exec")]
pub use movers::{CopyMover, PipelineMover};
#[cfg(feature = "exec")]
pub use timed::Timed;
#[cfg(feature = "exec")]
pub use wire::{choose_wires, WireChoice, WireEnd};
/// A stream's form between a backend and the mover (zfs-core's).
pub use zfs_core::Wire;
/// The counters [`Events::stream_progress`] is given (zfs-stream's).
#[cfg(feature = "exec")]
pub use zfs_stream::ProgressSnapshot;
