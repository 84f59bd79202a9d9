#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod exec;
pub mod model;
pub mod options;
pub mod planner;
pub mod preserve;
pub mod trace;
pub mod types;

pub use exec::{
    default_jobs, is_sync_snapshot, is_syncoid_snapshot, sync_snapshot_name, syncoid_snapshot_name,
    CopyMover, DatasetReport, Executor, Moved, Mover, Outcome, PipelineMover, ProgressObserver,
    RecvOptions, Report, SendOptions, StepReport, StreamCheck, StreamInfo, StreamSnapshot,
    SyncError, SyncNaming, SyncOptions,
};
pub use options::{InitialReplication, PlanOptions, ResumeToken, SnapshotFilter, TreeSpec};
pub use planner::select_datasets;
pub use planner::{plan_dataset, plan_tree, CloneBase, PlanError, TargetState, TreeInput};
pub use types::{
    AbortReason, Conflict, DatasetPlan, Decision, Plan, Step, VersionRef, PLAN_SCHEMA,
};
/// The counters a [`ProgressObserver`] is given (zfs-stream's).
pub use zfs_stream::ProgressSnapshot;
