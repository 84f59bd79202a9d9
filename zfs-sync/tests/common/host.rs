//! What the host tests of the executor share: job options at a fixed time, an executor over two
//! fakes with a plain copy mover, and an events sink that records what it hears.

use super::fake::Fake;
use std::sync::Mutex;
use std::time::Instant;
use zfs_sync::{
    CopyMover, DatasetPlan, DatasetReport, Events, Executor, Outcome, Plan, Report, Step,
    StepReport, SyncOptions, TreeSpec,
};

/// 2026-01-`day` 00:00:00 UTC.
pub fn day(day: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(&format!("2026-01-{day:02}T00:00:00Z"))
        .unwrap()
        .to_utc()
}

/// Job `job`, its sync snapshot named at [`day`]`(d)`, two workers.
pub fn job(d: u32) -> SyncOptions {
    SyncOptions {
        identifier: "job".into(),
        jobs: 2,
        now: Some(day(d)),
        ..SyncOptions::default()
    }
}

/// The sync snapshot [`job`]`(d)` takes.
pub fn sync_name(d: u32) -> String {
    zfs_sync::sync_snapshot_name("job", day(d))
}

/// An executor from `src` to `tgt` moving the streams with a plain copy (a fake's stream is no ZFS
/// stream for the in-transit check).
pub fn executor<'a>(src: &'a Fake, tgt: &'a Fake) -> Executor<'a> {
    Executor {
        mover: &CopyMover,
        ..Executor::new(src, tgt)
    }
}

/// `source root` to `target root`, recursively.
pub fn tree(src: &str, tgt: &str) -> TreeSpec {
    TreeSpec::recursive(super::ds(src), super::ds(tgt))
}

/// Each dataset's source and outcome.
pub fn outcomes(r: &Report) -> Vec<(String, Outcome)> {
    r.datasets
        .iter()
        .map(|d| (d.source.to_string(), d.outcome.clone()))
        .collect()
}

/// Each dataset's step kinds, as they ran.
pub fn ran(r: &Report, source: &str) -> Vec<&'static str> {
    let d = r
        .datasets
        .iter()
        .find(|d| d.source.as_str() == source)
        .unwrap_or_else(|| panic!("no {source} in {}", r.to_json()));
    d.steps.iter().map(|s| s.step.kind()).collect()
}

/// The word of an outcome (`synced`, `cancelled`, ...).
pub fn outcome_word(o: &Outcome) -> String {
    serde_json::to_value(o).unwrap()["outcome"]
        .as_str()
        .unwrap()
        .to_string()
}

type Hook<'a> = Box<dyn Fn(&str) + Send + Sync + 'a>;

/// Records every event as one line (`dataset_started p/a`, `step_finished p/a full`, ...) and every
/// span's name; after recording an event it calls its hook with the line.
pub struct Recorder<'a> {
    events: Mutex<Vec<String>>,
    spans: Mutex<Vec<String>>,
    hook: Hook<'a>,
}

impl<'a> Recorder<'a> {
    /// Records, does nothing else.
    pub fn new() -> Self {
        Self::with_hook(|_| {})
    }

    /// Records, and calls `hook` with each event line.
    pub fn with_hook(hook: impl Fn(&str) + Send + Sync + 'a) -> Self {
        Recorder {
            events: Mutex::new(Vec::new()),
            spans: Mutex::new(Vec::new()),
            hook: Box::new(hook),
        }
    }

    /// The event lines, in order.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// The span names, in order.
    pub fn spans(&self) -> Vec<String> {
        self.spans.lock().unwrap().clone()
    }

    fn heard(&self, line: String) {
        self.events.lock().unwrap().push(line.clone());
        (self.hook)(&line);
    }
}

impl Events for Recorder<'_> {
    fn run_started(&self, spec: &TreeSpec, sync_snapshot: Option<&str>) {
        self.heard(format!(
            "run_started {} {}",
            spec.source_root,
            sync_snapshot.unwrap_or("-")
        ));
    }
    fn planned(&self, plan: &Plan) {
        self.heard(format!("planned {}", plan.datasets.len()));
    }
    fn dataset_started(&self, dataset: &DatasetPlan) {
        self.heard(format!("dataset_started {}", dataset.source));
    }
    fn step_started(&self, dataset: &DatasetPlan, step: &Step) {
        self.heard(format!("step_started {} {}", dataset.source, step.kind()));
    }
    fn step_finished(&self, dataset: &DatasetPlan, step: &StepReport) {
        self.heard(format!(
            "step_finished {} {}",
            dataset.source,
            step.step.kind()
        ));
    }
    fn dataset_finished(&self, report: &DatasetReport) {
        self.heard(format!(
            "dataset_finished {} {}",
            report.source,
            outcome_word(&report.outcome)
        ));
    }
    fn run_finished(&self, report: &Report) {
        self.heard(format!("run_finished {}", report.exit_code));
    }
    fn span(&self, what: &str, _started: Instant) {
        self.spans.lock().unwrap().push(what.to_string());
    }
}
