//! One dataset of a plan: its steps in order, the failure text with its hints, the replan after a
//! resume token went stale at run time, then the cleanup (or, when nothing was sent, the removal of
//! this run's unused sync snapshot).

use super::cleanup::plan_cleanup;
use super::context::{list_opts, snap_name, Context};
use super::step::StreamChecks;
use crate::error::StepError;
use crate::options::SyncOptions;
use crate::plan::{Conflict, DatasetPlan, Decision, Step};
use crate::planner::{plan_dataset, TargetState};
use crate::preserve::Preserved;
use crate::report::{unplanned_stream, DatasetReport, Outcome, StepReport};
use std::time::Instant;
use zfs_core::{Dataset, DatasetName, VersionKind, ZfsError};

impl Context<'_> {
    /// Runs one dataset's plan (after its `after` datasets, `failed_dep` naming one that failed).
    pub(super) fn run_dataset(
        &self,
        dp: &DatasetPlan,
        (src, tgt): (Option<&Dataset>, Option<&Dataset>),
        opts: &SyncOptions,
        sync_name: Option<&str>,
        failed_dep: Option<DatasetName>,
        preserved: Option<&Preserved>,
    ) -> DatasetReport {
        let started = Instant::now();
        let mut rep = DatasetReport {
            source: dp.source.clone(),
            target: dp.target.clone(),
            outcome: Outcome::Synced,
            steps: Vec::new(),
            bytes: 0,
            seconds: 0.0,
            warnings: preserved.map(|p| p.skipped.clone()).unwrap_or_default(),
        };
        let finish = |mut rep: DatasetReport| {
            rep.bytes = rep.steps.iter().map(|s| s.bytes).sum();
            rep.seconds = started.elapsed().as_secs_f64();
            self.events.span(&format!("dataset {}", dp.source), started);
            rep
        };
        if let Some(not_started) = not_started(
            &dp.decision,
            failed_dep.as_ref(),
            self.cancel.is_cancelled(),
        ) {
            rep.outcome = not_started;
            return finish(rep);
        }
        let mut decision = dp.decision.clone();
        let mut tgt_versions = tgt.map(|t| t.versions.clone());
        let mut src_versions = src.map(|s| s.versions.clone()).unwrap_or_default();
        let mut replanned = false;
        loop {
            let steps = match &decision {
                Decision::Conflict { conflict } => {
                    rep.outcome = match conflict {
                        Conflict::UpToDate { .. } => Outcome::UpToDate,
                        Conflict::NoSourceSnapshots { .. }
                        | Conflict::TargetParentMissing { .. } => Outcome::Skipped {
                            reason: conflict.describe(),
                        },
                        _ => Outcome::Refused {
                            conflict: conflict.clone(),
                        },
                    };
                    break;
                }
                Decision::Replicate { steps } => steps.clone(),
            };
            let mut stale = false;
            for step in &steps {
                if self.cancel.is_cancelled() {
                    rep.outcome = Outcome::Cancelled;
                    return finish(rep);
                }
                self.events.step_started(dp, step);
                let t0 = Instant::now();
                let mut checks = StreamChecks::default();
                let r = self.run_step(dp, step, opts, preserved, &src_versions, &mut checks);
                let (streams, bytes, err) = match r {
                    Ok((s, b)) => (s, b, None),
                    Err((s, b, e)) => (s, b, Some(e)),
                };
                if err.is_none() {
                    rep.warnings
                        .extend(unplanned_stream(step, &checks.checked, streams));
                }
                let step_report = StepReport {
                    step: step.clone(),
                    streams,
                    bytes,
                    seconds: t0.elapsed().as_secs_f64(),
                    checked: checks.checked,
                    unchecked: checks.unchecked,
                };
                self.events.step_finished(dp, &step_report);
                rep.steps.push(step_report);
                if let Some(e) = err {
                    // A stream stopped because the run was cancelled (its children ended) is not a
                    // failure of the dataset: it stays as it is, resumable.
                    if self.cancel.is_cancelled() {
                        rep.outcome = Outcome::Cancelled;
                        return finish(rep);
                    }
                    if matches!(step, Step::Resume { .. })
                        && matches!(&e, StepError::Zfs(z) if matches!(**z, ZfsError::StaleResumeToken { .. }))
                        && !replanned
                    {
                        stale = true;
                        break;
                    }
                    let hint = match &e {
                        StepError::Zfs(z) if matches!(**z, ZfsError::TargetModified { .. }) => {
                            "; the target changed since its newest snapshot: make it readonly=on, or allow \
                             discarding the change (force_receive / --rollback)"
                        }
                        _ => "",
                    };
                    let preserved_hint = match preserved {
                        Some(p) if !p.props.is_empty() || !p.on_create.is_empty() => format!(
                            "; preserved properties were set with receive -o ({}): an older OpenZFS or a \
                             target pool without the feature a value needs refuses some (exclude one with \
                             --recvoptions \"x NAME\")",
                            p.props
                                .iter()
                                .chain(&p.on_create)
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                        _ => String::new(),
                    };
                    rep.outcome = Outcome::Failed {
                        error: format!("{} {}: {e}{hint}{preserved_hint}", step.kind(), dp.source),
                    };
                    return finish(rep);
                }
            }
            if !stale {
                break;
            }
            // The token went stale after listing: abort it, re-list this dataset on both sides, re-plan.
            replanned = true;
            let fresh = self
                .target
                .receive_abort(&dp.target)
                .and_then(|_| self.source.list(&dp.source, &list_opts(false, true)))
                .and_then(|s| {
                    let t = self.target.list(&dp.target, &list_opts(false, true))?;
                    Ok((s, t))
                });
            match fresh {
                Ok((s, t)) => {
                    rep.warnings.push(format!(
                        "reset partial receive state of {}: its resume token went stale during the \
                         run (the snapshot it resumes is gone from the source)",
                        dp.target
                    ));
                    src_versions = s
                        .datasets
                        .first()
                        .map(|d| d.versions.clone())
                        .unwrap_or_default();
                    tgt_versions = t.datasets.first().map(|d| d.versions.clone());
                    let ts = tgt_versions.as_deref().map(|v| TargetState {
                        name: &dp.target,
                        versions: v,
                        resume_token: None,
                    });
                    decision = plan_dataset(&src_versions, ts, None, &opts.plan);
                }
                Err(e) => {
                    rep.outcome = Outcome::Failed {
                        error: format!("aborting stale resume state on {}: {e}", dp.target),
                    };
                    return finish(rep);
                }
            }
        }
        if matches!(rep.outcome, Outcome::Synced | Outcome::UpToDate) {
            let t = Instant::now();
            let actions = plan_cleanup(
                (&dp.source, &dp.target),
                &decision,
                &src_versions,
                tgt_versions.as_deref(),
                opts,
                sync_name,
            );
            self.apply_cleanup(&actions, &mut rep.warnings);
            self.events.span(&format!("after success {}", dp.source), t);
        } else if let (Outcome::Refused { .. } | Outcome::Skipped { .. }, Some(current)) =
            (&rep.outcome, sync_name)
        {
            // Nothing was sent: this run's sync snapshot is of no use; the previous one stays the base.
            let taken = src_versions
                .iter()
                .any(|v| v.name.kind() == VersionKind::Snapshot && v.name.short() == current);
            if taken {
                if let Ok(snap) = snap_name(&dp.source, current) {
                    if let Err(e) = self.source.destroy_snapshots(&[snap], false) {
                        rep.warnings
                            .push(format!("destroying unused sync snapshot: {e}"));
                    }
                }
            }
        }
        finish(rep)
    }
}

/// Whether a decision creates its target (a full or clone receive).
pub(super) fn creates_target(decision: &Decision) -> bool {
    decision
        .steps()
        .iter()
        .any(|s| matches!(s, Step::Full { .. } | Step::Clone { .. }))
}

/// Why a dataset does not start, if it does not: the run was `cancelled`, or `failed_dep`, one of the
/// datasets it waited for, failed and it would be created below or from it (an incremental into an
/// existing target still runs).
fn not_started(
    decision: &Decision,
    failed_dep: Option<&DatasetName>,
    cancelled: bool,
) -> Option<Outcome> {
    if cancelled {
        return Some(Outcome::Cancelled);
    }
    let dep = failed_dep?;
    creates_target(decision).then(|| Outcome::Skipped {
        reason: format!("{dep} failed, and this dataset would be created below or from it"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{ds, full, incremental, vref};

    #[test]
    fn a_failed_dependency_skips_only_datasets_created_below_or_from_it() {
        let parent = ds("p/a");
        let full = Decision::Replicate {
            steps: vec![full("p/a/c")],
        };
        let clone = Decision::Replicate {
            steps: vec![Step::Clone {
                origin: vref("p/a@s1", 1, 1),
                target_origin: "b/a@s1".parse().unwrap(),
                to: vref("p/a/c@s2", 2, 2),
            }],
        };
        let incremental = Decision::Replicate {
            steps: vec![incremental("p/a/c")],
        };
        let up_to_date = Decision::Conflict {
            conflict: Conflict::UpToDate {
                newest: vref("p/a/c@s1", 1, 1),
            },
        };
        for created in [&full, &clone] {
            assert_eq!(
                not_started(created, Some(&parent), false),
                Some(Outcome::Skipped {
                    reason: "p/a failed, and this dataset would be created below or from it".into()
                })
            );
            assert_eq!(not_started(created, None, false), None);
        }
        for existing in [&incremental, &up_to_date] {
            assert_eq!(not_started(existing, Some(&parent), false), None);
        }
    }

    #[test]
    fn a_cancelled_run_starts_no_further_dataset() {
        let parent = ds("p/a");
        let incremental = Decision::Replicate {
            steps: vec![incremental("p/a/c")],
        };
        // Cancelled wins over a failed dependency, and stops even a dataset with nothing to send.
        assert_eq!(
            not_started(&incremental, Some(&parent), true),
            Some(Outcome::Cancelled)
        );
        let up_to_date = Decision::Conflict {
            conflict: Conflict::UpToDate {
                newest: vref("p/a@s1", 1, 1),
            },
        };
        assert_eq!(
            not_started(&up_to_date, None, true),
            Some(Outcome::Cancelled)
        );

        // Through the scheduler: the second dataset cancels the run while it runs; the datasets after
        // it do not start, the one waiting for it too; the run's exit code says cancelled.
        let cancel = crate::Cancel::new();
        let deps = vec![vec![], vec![], vec![], vec![1], vec![]];
        let outcomes = super::super::schedule::run_jobs(
            &deps,
            1,
            |i, failed| {
                if let Some(o) =
                    not_started(&incremental, failed.map(|_| &parent), cancel.is_cancelled())
                {
                    return o;
                }
                if i == 1 {
                    cancel.cancel();
                }
                Outcome::Synced
            },
            |o| matches!(o, Outcome::Synced | Outcome::UpToDate),
        );
        let outcomes: Vec<Outcome> = outcomes.into_iter().map(Option::unwrap).collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Synced,
                Outcome::Synced,
                Outcome::Cancelled,
                Outcome::Cancelled,
                Outcome::Cancelled
            ]
        );
        assert_eq!(outcomes.iter().map(Outcome::exit_code).max(), Some(3));
    }
}
