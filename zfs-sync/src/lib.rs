#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod model;
pub mod options;
pub mod planner;
pub mod types;

pub use options::{InitialReplication, PlanOptions, ResumeToken, SnapshotFilter, TreeSpec};
pub use planner::{plan_dataset, plan_tree, CloneBase, PlanError, TargetState, TreeInput};
pub use types::{
    AbortReason, Conflict, DatasetPlan, Decision, Plan, Step, VersionRef, PLAN_SCHEMA,
};
