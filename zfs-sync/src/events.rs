//! What a run tells whoever watches it: one trait with a no-op default for every event, so a sink
//! implements only what it needs (a progress line, result lines as datasets finish, a timing trace,
//! metrics). The executor ([`Executor::events`](crate::Executor::events)), the
//! [`PipelineMover`](crate::PipelineMover) (stream progress) and the [`Timed`](crate::Timed) backend
//! decorator (backend calls) all report here.
//!
//! Datasets run in parallel: events of different datasets and streams arrive interleaved, from worker
//! threads. A sink that prints takes its own lock. Events never change what the run does.

use crate::mover::StreamInfo;
use crate::options::TreeSpec;
use crate::plan::{DatasetPlan, Plan, Step};
use crate::report::{DatasetReport, Report, StepReport};
use std::time::Instant;

/// The events of a replication run, in the order they happen for one dataset:
/// [`run_started`](Events::run_started), [`planned`](Events::planned), then per dataset
/// [`dataset_started`](Events::dataset_started), per step [`step_started`](Events::step_started),
/// [`stream_progress`](Events::stream_progress) while its streams move,
/// [`step_finished`](Events::step_finished), then [`dataset_finished`](Events::dataset_finished);
/// last [`run_finished`](Events::run_finished). [`span`](Events::span) reports how long a part of
/// the run took, whenever one ends.
pub trait Events: Sync {
    /// A run starts: what it replicates and the sync snapshot it takes (its short name), if any.
    fn run_started(&self, spec: &TreeSpec, sync_snapshot: Option<&str>) {
        let _ = (spec, sync_snapshot);
    }

    /// The run planned: what it is about to do.
    fn planned(&self, plan: &Plan) {
        let _ = plan;
    }

    /// A dataset's turn came (its dependencies are done).
    fn dataset_started(&self, dataset: &DatasetPlan) {
        let _ = dataset;
    }

    /// A step of `dataset` starts.
    fn step_started(&self, dataset: &DatasetPlan, step: &Step) {
        let _ = (dataset, step);
    }

    /// How a moving stream advances: about twice a second while it moves, and once more when it ended
    /// (`now.done`). Only movers that poll report it (a [`PipelineMover`](crate::PipelineMover) given
    /// this sink as its `progress`).
    fn stream_progress(&self, stream: &StreamInfo, now: &zfs_stream::ProgressSnapshot) {
        let _ = (stream, now);
    }

    /// A step of `dataset` ended (its report says how, and on failure the dataset's report follows).
    fn step_finished(&self, dataset: &DatasetPlan, step: &StepReport) {
        let _ = (dataset, step);
    }

    /// A dataset is done: synced, up to date, skipped, refused, failed or cancelled.
    fn dataset_finished(&self, report: &DatasetReport) {
        let _ = report;
    }

    /// The run is done, with the report [`Executor::run`](crate::Executor::run) returns. A run that
    /// could not start or plan (it returns a [`SyncError`](crate::SyncError) instead) ends without
    /// this event: the error goes to the caller.
    fn run_finished(&self, report: &Report) {
        let _ = report;
    }

    /// A timed part of the run ended: `what` (`run: plan`, `dataset pool/a`, `transfer pool/a@s2`, or a
    /// backend call reported by [`Timed`](crate::Timed)) started at `started` and ends now. For finding
    /// where a run spends its time.
    fn span(&self, what: &str, started: Instant) {
        let _ = (what, started);
    }
}

/// Hears nothing: the executor's default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl Events for NoEvents {}

/// The executor's default sink.
pub(crate) static NO_EVENTS: NoEvents = NoEvents;
