#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod cancel;
pub mod error;
pub mod exec;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod mover;
pub mod naming;
pub mod options;
pub mod plan;
pub mod planner;
pub mod preserve;
pub mod report;
pub mod trace;

pub use cancel::Cancel;
pub use error::{PlanError, SyncError};
pub use exec::Executor;
pub use mover::{
    CopyMover, Moved, Mover, PipelineMover, ProgressObserver, StreamCheck, StreamInfo,
    StreamSnapshot, TransferError,
};
pub use naming::{
    is_sync_snapshot, is_syncoid_snapshot, sync_snapshot_name, syncoid_snapshot_name, SyncNaming,
    SYNCOID_PREFIX, SYNC_PREFIX,
};
pub use options::{
    default_jobs, InitialReplication, PlanOptions, RecvOptions, SendOptions, SnapshotFilter,
    SyncOptions, TreeSpec,
};
pub use plan::{
    AbortReason, CleanupAction, Conflict, DatasetPlan, Decision, Plan, Side, Step, VersionRef,
    PLAN_SCHEMA,
};
pub use planner::select_datasets;
pub use planner::{
    common_base, plan_dataset, plan_tree, CloneBase, CommonBase, TargetState, TokenDecodeError,
    TreeInput,
};
pub use report::{DatasetReport, Outcome, Report, StepReport};
/// GUIDs as decimal strings in JSON (zfs-core's helpers; the plan and report JSON use them).
pub use zfs_core::guid_str;
/// A target's decoded `receive_resume_token` (zfs-core's; the executor decodes with zfs-stream).
pub use zfs_core::ResumeToken;
/// The counters a [`ProgressObserver`] is given (zfs-stream's).
pub use zfs_stream::ProgressSnapshot;
