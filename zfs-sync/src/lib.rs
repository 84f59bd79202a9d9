#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod cancel;
pub mod error;
pub mod events;
pub mod exec;
#[cfg(test)]
mod fixtures;
pub mod guid_str;
/// Guides to zfs-sync's extension points.
pub mod guide {
    #[doc = include_str!("../guide/mover.md")]
    pub mod mover {}
    #[doc = include_str!("../guide/events.md")]
    pub mod events {}
}
pub mod model;
pub mod mover;
pub mod naming;
pub mod options;
pub mod plan;
pub mod planner;
pub mod preserve;
pub mod report;
pub mod timed;

pub use cancel::Cancel;
pub use error::{PlanError, SyncError};
pub use events::{Events, NoEvents};
pub use exec::Executor;
pub use mover::{
    CopyMover, Moved, Mover, PipelineMover, StreamCheck, StreamInfo, StreamSnapshot, TransferError,
};
pub use naming::{
    is_sync_snapshot, is_syncoid_snapshot, sync_snapshot_name, syncoid_snapshot_name, SyncNaming,
    SYNCOID_PREFIX, SYNC_PREFIX,
};
pub use options::{
    default_jobs, InitialReplication, PlanOptions, RecvOptions, ResumeToken, SendOptions,
    SnapshotFilter, SyncOptions, TreeSpec,
};
pub use plan::{
    AbortReason, CleanupAction, Conflict, DatasetPlan, Decision, Plan, Side, Step, VersionRef,
    PLAN_SCHEMA,
};
pub use planner::select_datasets;
pub use planner::{
    common_base, plan_dataset, plan_tree, CloneBase, CommonBase, TargetState, TreeInput,
};
pub use report::{DatasetReport, Outcome, Report, StepReport};
pub use timed::Timed;
/// The counters [`Events::stream_progress`] is given (zfs-stream's).
pub use zfs_stream::ProgressSnapshot;
