//! The executor: lists both sides once, plans, and runs the steps through zfs-core backends.
//!
//! One run: (1) the sync snapshot, taken atomically for the whole selected tree; (2) one listing per host;
//! (3) [`plan_tree`]; (4) when anything is sent, the busy check (one [`Backend::receiving`] on the
//! target: a target another `zfs receive` writes into is skipped); (5) datasets run concurrently
//! (`jobs`), each after the datasets in its `after` list; (6) per synced dataset: holds, bookmarks,
//! cleanup of this job's older sync snapshots.
//! A failure is recorded in that dataset's report and the other datasets still run.
//!
//! The stages: `schedule` (the worker pool), `dataset` (one dataset's steps, the stale-token replan, the
//! skip and cancel rules), `step` (one step's streams and the cause of a failed one), `cleanup` (what
//! follows a synced dataset), over `context` (the backends, mover and cancel token they share).

mod cleanup;
mod context;
mod dataset;
mod schedule;
mod step;

use crate::cancel::Cancel;
use crate::error::SyncError;
use crate::events::{Events, NO_EVENTS};
use crate::mover::Mover;
use crate::movers::DEFAULT_MOVER;
use crate::naming::check_identifier;
use crate::options::{SyncOptions, TreeSpec};
use crate::plan::{DatasetPlan, Decision, Plan, Step};
use crate::planner::{plan_tree, select_datasets, TreeInput};
use crate::preserve::{preserved, Preserved};
use crate::report::{DatasetReport, Outcome, Report};
use crate::sync_property::SYNC_PROPERTY;
use crate::wire::{choose_wires, WireChoice, WireEnd};
use cleanup::attach_cleanup;
use context::{list_opts, snap_name, Context};
use dataset::creates_target;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use zfs_core::{Backend, Dataset, DatasetName, Listing, PropQuery, ZfsError};

/// Runs replication between two backends.
pub struct Executor<'a> {
    /// The source side.
    pub source: &'a dyn Backend,
    /// The target side.
    pub target: &'a dyn Backend,
    /// How bytes move from send to receive.
    pub mover: &'a dyn Mover,
    /// Told what happens: the run, each dataset and step, spans of time ([`Events`]; from worker
    /// threads). [`Executor::new`] gives [`NoEvents`](crate::NoEvents).
    pub events: &'a dyn Events,
    /// Checked before each dataset starts and between its steps; once cancelled, the rest of the run
    /// ends as [`Outcome::Cancelled`] (exit code 3). [`Executor::new`] gives a token nobody cancels:
    /// replace it with a clone of the caller's.
    pub cancel: Cancel,
}

impl<'a> Executor<'a> {
    /// The stages' view of this executor, moving streams in the form `wires` says; streams smaller
    /// than `small_stream` bytes go plain and not bulk where that applies: an end is remote and the
    /// source estimates in-process (else the limit is 0, off).
    fn context(&self, wires: WireChoice, small_stream: u64) -> Context<'_> {
        let (src, tgt) = (self.source.capabilities(), self.target.capabilities());
        let small_stream = match (src.remote || tgt.remote) && src.in_process_streams {
            true => small_stream,
            false => 0,
        };
        Context {
            source: self.source,
            target: self.target,
            mover: self.mover,
            cancel: &self.cancel,
            events: self.events,
            wires,
            small_stream,
        }
    }

    /// Each end's wire for this run's streams, and the notices of ends that go uncompressed
    /// against what was asked ([`choose_wires`]). Asks a remote backend's capabilities (which
    /// codec programs its host runs: once per backend).
    fn wires(&self, opts: &SyncOptions) -> (WireChoice, Vec<String>) {
        let end = |b: &'a dyn Backend| WireEnd {
            host: b.host(),
            caps: b.capabilities(),
        };
        choose_wires(
            opts.compress,
            end(self.source),
            end(self.target),
            self.mover.converts_wire(),
        )
    }

    /// An executor moving bytes with a default [`PipelineMover`](crate::PipelineMover) (splice, no
    /// buffer, no limit).
    pub fn new(source: &'a dyn Backend, target: &'a dyn Backend) -> Self {
        Executor {
            source,
            target,
            mover: &DEFAULT_MOVER,
            events: &NO_EVENTS,
            cancel: Cancel::new(),
        }
    }

    fn list_target(&self, spec: &TreeSpec) -> Result<Listing, SyncError> {
        match self
            .target
            .list(&spec.target_root, &list_opts(spec.recursive, true))
        {
            Ok(l) => Ok(l),
            Err(ZfsError::NotFound { .. }) => Ok(Listing::default()),
            Err(source) => Err(SyncError::List {
                side: "target",
                root: spec.target_root.clone(),
                source: Box::new(source),
            }),
        }
    }

    /// The source tree; with `syncoid:sync` read when the spec honours it.
    fn list_source(&self, spec: &TreeSpec, versions: bool) -> Result<Listing, SyncError> {
        let mut opts = list_opts(spec.recursive, versions);
        if spec.sync_host.is_some() {
            opts.user_props.push(SYNC_PROPERTY.to_string());
        }
        self.source
            .list(&spec.source_root, &opts)
            .map_err(|source| SyncError::List {
                side: "source",
                root: spec.source_root.clone(),
                source: Box::new(source),
            })
    }

    /// Lists both sides and plans; changes nothing (`zsync plan`). Each dataset's plan carries the
    /// cleanup a run would do after it ([`DatasetPlan::cleanup`](crate::DatasetPlan::cleanup)): as if
    /// the run's sync snapshot (when `opts.sync_snapshot`, named at `opts.now`) were taken, though it
    /// is not in these listings, so the newest common snapshot here is the one before it.
    pub fn plan(&self, spec: &TreeSpec, opts: &SyncOptions) -> Result<Plan, SyncError> {
        let (src, tgt) = std::thread::scope(|s| {
            let tgt = s.spawn(|| self.list_target(spec));
            let src = self.list_source(spec, true);
            let tgt = tgt.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (src, tgt)
        });
        let (src, tgt) = (src?, tgt?);
        plan_listings(
            (&src, &tgt),
            spec,
            opts,
            sync_snapshot_name(opts).as_deref(),
        )
    }

    /// Takes the sync snapshot (atomically for every selected dataset) and returns the source listing.
    fn snapshot_and_list(&self, spec: &TreeSpec, name: &str) -> Result<Listing, SyncError> {
        let err = |source| SyncError::SyncSnapshot {
            name: name.to_string(),
            source: Box::new(source),
        };
        let root_snap = snap_name(&spec.source_root, name).map_err(err)?;
        if !spec.recursive && spec.sync_host.is_none() {
            self.source.snapshot(&[root_snap], &[]).map_err(err)?;
        } else if !spec.skip_parent && spec.exclude_datasets.is_empty() && spec.sync_host.is_none()
        {
            self.source.snapshot_recursive(&root_snap).map_err(err)?;
        } else {
            let pre = self.list_source(spec, false)?;
            let (sel, _) = select_datasets(&pre, spec);
            let snaps = sel
                .iter()
                .map(|d| snap_name(&d.name, name))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            if !snaps.is_empty() {
                self.source.snapshot(&snaps, &[]).map_err(err)?;
            }
        }
        self.list_source(spec, true)
    }

    /// The `-o` sets of `--preserve-properties`/`--preserve-recordsize`, by source dataset: at most two
    /// `zfs get` spawns for the whole tree, none when neither is asked for.
    fn read_preserved(
        &self,
        spec: &TreeSpec,
        opts: &SyncOptions,
    ) -> Result<BTreeMap<DatasetName, Preserved>, SyncError> {
        if !opts.preserve_properties && !opts.preserve_recordsize {
            return Ok(BTreeMap::new());
        }
        let read = |q: PropQuery| {
            self.source
                .properties(&spec.source_root, &q)
                .map_err(|e| SyncError::Properties {
                    root: spec.source_root.clone(),
                    source: Box::new(e),
                })
        };
        let local = if opts.preserve_properties {
            Some(read(PropQuery::local(spec.recursive))?)
        } else {
            None
        };
        let recordsize = if opts.preserve_recordsize {
            Some(read(PropQuery::named(&["recordsize"], spec.recursive))?)
        } else {
            None
        };
        Ok(preserved(local.as_ref(), recordsize.as_ref(), &opts.recv))
    }

    /// One run: sync snapshot, listings, plan, steps, cleanup. Per-dataset failures are in the report.
    pub fn run(&self, spec: &TreeSpec, opts: &SyncOptions) -> Result<Report, SyncError> {
        check_identifier(&opts.identifier)?;
        let started = Instant::now();
        let sync_name = sync_snapshot_name(opts);
        self.events.run_started(spec, sync_name.as_deref());
        let t = Instant::now();
        // The target listing does not depend on the sync snapshot: list it meanwhile. Before the
        // snapshot is taken the target must answer and the source's properties must have been read, so
        // an unreachable target or a failed read changes nothing.
        let (src, tgt, props) = std::thread::scope(|s| {
            let tgt = s.spawn(|| self.list_target(spec));
            let answers = sync_name.as_ref().map(|_| s.spawn(|| self.target.ping()));
            let props = self.read_preserved(spec, opts).and_then(|p| {
                match answers.map(|a| a.join().unwrap_or_else(|p| std::panic::resume_unwind(p))) {
                    Some(Err(e)) => Err(SyncError::TargetUnreachable {
                        host: self.target.host().to_string(),
                        source: Box::new(e),
                    }),
                    _ => Ok(p),
                }
            });
            let src = match (&props, &sync_name) {
                (Err(_), _) => Ok(Listing::default()),
                (Ok(_), Some(n)) => self.snapshot_and_list(spec, n),
                (Ok(_), None) => self.list_source(spec, true),
            };
            let tgt = tgt.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (src, tgt, props)
        });
        let preserved = props?;
        let (src, tgt) = (src?, tgt?);
        self.events.span("run: sync snapshot and listings", t);
        let t = Instant::now();
        let plan = plan_listings((&src, &tgt), spec, opts, sync_name.as_deref())?;
        self.events.span("run: plan", t);
        self.events.planned(&plan);
        // Both hosts answered (listings): ask which codecs the remote ones run, when anything is to
        // be sent at all.
        let t = Instant::now();
        let sends = plan
            .datasets
            .iter()
            .any(|d| matches!(d.decision, Decision::Replicate { .. }));
        let (wires, mut notices) = match sends {
            true => self.wires(opts),
            false => (WireChoice::PLAIN, Vec::new()),
        };
        self.events.span("run: wire", t);
        // syncoid's busy check: a target another `zfs receive` is writing into is skipped.
        let busy = match sends {
            true => self.target.receiving().unwrap_or_else(|e| {
                notices.push(format!(
                    "cannot check for running receives on {}: {e}",
                    self.target.host()
                ));
                Vec::new()
            }),
            false => Vec::new(),
        };
        let t = Instant::now();
        let ctx = self.context(wires, opts.small_stream);
        let datasets = ctx.execute(
            &plan,
            (&src, &tgt),
            opts,
            (sync_name.as_deref(), &busy),
            &preserved,
        );
        self.events.span("run: execute", t);
        let exit_code = datasets
            .iter()
            .map(|d| d.outcome.exit_code())
            .max()
            .unwrap_or(0);
        let report = Report {
            sync_snapshot: sync_name,
            plan,
            datasets,
            seconds: started.elapsed().as_secs_f64(),
            exit_code,
            notices,
        };
        self.events.run_finished(&report);
        Ok(report)
    }
}

impl Context<'_> {
    /// Runs a plan's datasets with `opts.jobs` workers; dependents wait for their `after` datasets
    /// ([`waits_for`]).
    fn execute(
        &self,
        plan: &Plan,
        (src, tgt): (&Listing, &Listing),
        opts: &SyncOptions,
        (sync_name, busy): (Option<&str>, &[String]),
        preserved: &BTreeMap<DatasetName, Preserved>,
    ) -> Vec<DatasetReport> {
        let src_by: HashMap<&str, &Dataset> =
            src.datasets.iter().map(|d| (d.name.as_str(), d)).collect();
        let tgt_by: HashMap<&str, &Dataset> =
            tgt.datasets.iter().map(|d| (d.name.as_str(), d)).collect();
        let reports = schedule::run_jobs(
            &waits_for(plan),
            opts.jobs,
            |i, failed_dep| {
                let dp = &plan.datasets[i];
                self.events.dataset_started(dp);
                if busy_target(dp, busy) {
                    let report = DatasetReport {
                        source: dp.source.clone(),
                        target: dp.target.clone(),
                        outcome: Outcome::Skipped {
                            reason: format!(
                                "{BUSY}: {} is already target of a zfs receive process.",
                                dp.target
                            ),
                        },
                        steps: Vec::new(),
                        bytes: 0,
                        seconds: 0.0,
                        warnings: Vec::new(),
                    };
                    self.events.dataset_finished(&report);
                    return report;
                }
                let report = self.run_dataset(
                    dp,
                    (
                        src_by.get(dp.source.as_str()).copied(),
                        tgt_by.get(dp.target.as_str()).copied(),
                    ),
                    opts,
                    sync_name,
                    failed_dep.map(|d| plan.datasets[d].source.clone()),
                    preserved.get(&dp.source),
                );
                self.events.dataset_finished(&report);
                report
            },
            |report| matches!(report.outcome, Outcome::Synced | Outcome::UpToDate),
        );
        reports
            .into_iter()
            .zip(&plan.datasets)
            .map(|(r, dp)| {
                r.unwrap_or_else(|| DatasetReport {
                    source: dp.source.clone(),
                    target: dp.target.clone(),
                    outcome: Outcome::Skipped {
                        reason: "not scheduled".into(),
                    },
                    steps: Vec::new(),
                    bytes: 0,
                    seconds: 0.0,
                    warnings: Vec::new(),
                })
            })
            .collect()
    }
}

/// How the reason of a dataset skipped by the busy check begins (syncoid's words).
pub const BUSY: &str = "Cannot sync now";

/// Whether `dp` would receive into a target that another `zfs receive` (`busy`, from
/// [`Backend::receiving`]) is writing into.
fn busy_target(dp: &DatasetPlan, busy: &[String]) -> bool {
    dp.decision.steps().iter().any(Step::is_transfer)
        && busy.iter().any(|b| b == dp.target.as_str())
}

/// The name of the run's sync snapshot, when it takes one.
fn sync_snapshot_name(opts: &SyncOptions) -> Option<String> {
    opts.sync_snapshot.then(|| {
        let now = opts.now.unwrap_or_else(chrono::Utc::now);
        opts.naming.snapshot_name(&opts.identifier, now)
    })
}

/// The plan of two listings, with each dataset's cleanup (`sync_name`: the run's sync snapshot).
fn plan_listings(
    (src, tgt): (&Listing, &Listing),
    spec: &TreeSpec,
    opts: &SyncOptions,
    sync_name: Option<&str>,
) -> Result<Plan, SyncError> {
    let mut plan = plan_tree(
        &TreeInput {
            source: src,
            target: tgt,
            decode_token: &|token| Ok(zfs_stream::resume::decode(token)?),
        },
        spec,
        &opts.plan,
    )?;
    attach_cleanup(&mut plan, (src, tgt), opts, sync_name);
    Ok(plan)
}

/// For each dataset of `plan` (by index), the datasets it waits for: those of its `after` datasets
/// (parent, clone origin) it needs. It waits only when it creates its target (full or clone receive:
/// the parent or origin snapshot must be there) or when one of them destroys its target tree first.
/// An incremental into an existing target needs nothing from its parent: it starts at once instead of
/// queueing behind the parent's receive.
fn waits_for(plan: &Plan) -> Vec<Vec<usize>> {
    let idx: HashMap<&DatasetName, usize> = plan
        .datasets
        .iter()
        .enumerate()
        .map(|(i, d)| (&d.source, i))
        .collect();
    let destroys = |d: &DatasetPlan| {
        d.decision
            .steps()
            .iter()
            .any(|s| matches!(s, Step::DestroyTarget { .. }))
    };
    plan.datasets
        .iter()
        .map(|d| {
            d.after
                .iter()
                .filter_map(|a| idx.get(a).copied())
                .filter(|&a| creates_target(&d.decision) || destroys(&plan.datasets[a]))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{dataset_plan, ds, full, incremental as incr};
    use crate::plan::PLAN_SCHEMA;

    fn plan(datasets: Vec<DatasetPlan>) -> Plan {
        Plan {
            schema: PLAN_SCHEMA,
            source_root: ds("p/a"),
            target_root: ds("b/a"),
            datasets,
            excluded: Vec::new(),
            property_skipped: Vec::new(),
        }
    }

    #[test]
    fn only_created_targets_and_destroyed_trees_wait_for_their_after_datasets() {
        let destroy = |t: &str| Step::DestroyTarget {
            target: ds(t),
            snapshots: Vec::new(),
            descendants: Vec::new(),
        };
        let p = plan(vec![
            dataset_plan("p/a", "b/a", &[], vec![incr("p/a")]),
            // Created below an existing parent: waits for it.
            dataset_plan("p/a/new", "b/a/new", &["p/a"], vec![full("p/a/new")]),
            // An incremental into an existing target: does not wait for its parent.
            dataset_plan("p/a/old", "b/a/old", &["p/a"], vec![incr("p/a/old")]),
            // Its parent destroys its target tree first: waits even for an incremental.
            dataset_plan(
                "p/a/re",
                "b/a/re",
                &["p/a"],
                vec![destroy("b/a/re"), full("p/a/re")],
            ),
            dataset_plan("p/a/re/c", "b/a/re/c", &["p/a/re"], vec![incr("p/a/re/c")]),
            // An `after` dataset outside the plan (excluded) is not waited for.
            dataset_plan("p/a/x", "b/a/x", &["p/gone"], vec![full("p/a/x")]),
        ]);
        assert_eq!(
            waits_for(&p),
            vec![vec![], vec![0], vec![], vec![0], vec![3], vec![]]
        );
    }
}
