//! Taking the due snapshots: per pool, one atomic call per snapshot type for the datasets without
//! snapshot scripts (a one-by-one retry when a batch fails); then each dataset with a
//! `pre_snapshot_script`/`post_snapshot_script` in turn, in sanoid's order: pre → its snapshots
//! → post.

use super::failure::failed;
use super::listing::State;
use super::options::RunOptions;
use super::script::{run_hook, script_timeout};
use crate::events::{Events, Level};
use crate::hooks::{HookContext, HookKind, HookRunner};
use crate::report::{Failure, Report, Skip};
use chrono::{DateTime, Local};
use std::collections::{BTreeMap, BTreeSet};
use zfs_core::{Backend, SnapshotName, ZfsError};
use zfs_policy::{DatasetPolicy, Snapshot, SnapshotType, TakeMode};

/// A snapshot batch member.
#[derive(Debug, Clone)]
struct Planned {
    dataset: String,
    recursive: bool,
    types: Vec<SnapshotType>,
    names: Vec<String>,
    policy: DatasetPolicy,
}

/// Takes every due snapshot of `policies` and adds them to `state` (so pruning in the same run
/// sees them).
pub(crate) fn take(
    backend: &dyn Backend,
    policies: &[DatasetPolicy],
    state: &mut State,
    opts: &RunOptions,
    runner: &HookRunner,
    report: &mut Report,
    events: &mut dyn Events,
) {
    let now_local = opts.now.with_timezone(&Local);
    // Pool → planned snapshots, in dataset order.
    let mut by_pool: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
    for p in policies {
        if !p.takes_snapshots() {
            if let TakeMode::ByAncestor { root } = &p.take {
                events.message(
                    Level::Info,
                    &format!(
                        "{}: snapshots come from {root} (recursive = zfs)",
                        p.dataset
                    ),
                );
            }
            continue;
        }
        let snaps = state
            .get(&p.dataset)
            .map(|s| s.snapshots.as_slice())
            .unwrap_or(&[]);
        let types = p.due(snaps, &now_local);
        if types.is_empty() {
            events.message(Level::Info, &format!("{}: nothing due", p.dataset));
            continue;
        }
        let names = zfs_policy::snapshot_names(&now_local, &types);
        events.message(
            Level::Info,
            &format!(
                "{}: due {}",
                p.dataset,
                types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        );
        by_pool
            .entry(p.pool().to_string())
            .or_default()
            .push(Planned {
                dataset: p.dataset.clone(),
                recursive: p.take == TakeMode::Recursive,
                types,
                names,
                policy: p.clone(),
            });
    }

    for (pool, planned) in by_pool {
        // Datasets without snapshot scripts: one atomic batch for the pool. Datasets with a
        // pre or post script: sanoid's order, each in turn (pre → its snapshots → post), so a
        // freeze window (fsfreeze of a VM) covers one dataset's snapshot, not the whole pool's.
        let (scripted, atomic): (Vec<&Planned>, Vec<&Planned>) =
            planned.iter().partition(|pl| has_snapshot_scripts(pl));
        if !atomic.is_empty() {
            let taken = snapshot_batch(backend, &pool, &atomic, opts.dry_run, report, events);
            record_taken(state, &atomic, &taken, opts);
        }
        for pl in scripted {
            let failed = run_pre(pl, opts, runner, report, events);
            let batch: Vec<&Planned> = if failed && pl.policy.settings.no_inconsistent_snapshot {
                report.skipped.push(Skip {
                    name: pl.dataset.clone(),
                    reason: "pre_snapshot_script failed and no_inconsistent_snapshot is set".into(),
                });
                Vec::new()
            } else {
                vec![pl]
            };
            let taken = snapshot_batch(backend, &pool, &batch, opts.dry_run, report, events);
            record_taken(state, &batch, &taken, opts);
            if !opts.dry_run {
                run_post(pl, failed, runner, report, events);
            }
        }
    }
}

/// Whether the dataset has a `pre_snapshot_script` or `post_snapshot_script`.
fn has_snapshot_scripts(pl: &Planned) -> bool {
    let s = &pl.policy.settings;
    s.pre_snapshot_script.is_some() || s.post_snapshot_script.is_some()
}

/// Runs the dataset's `pre_snapshot_script` (not in a dry run); returns whether it failed.
fn run_pre(
    pl: &Planned,
    opts: &RunOptions,
    runner: &HookRunner,
    report: &mut Report,
    events: &mut dyn Events,
) -> bool {
    match (&pl.policy.settings.pre_snapshot_script, opts.dry_run) {
        (Some(cmd), false) => !run_hook(
            runner,
            HookKind::PreSnapshot,
            cmd,
            &hook_ctx(pl, None),
            script_timeout(&pl.policy.settings),
            report,
            events,
        ),
        _ => false,
    }
}

/// Runs the dataset's `post_snapshot_script` unless its pre script failed (then only with
/// `force_post_snapshot_script`, with `SANOID_PRE_FAILURE=1`).
fn run_post(
    pl: &Planned,
    pre_failed: bool,
    runner: &HookRunner,
    report: &mut Report,
    events: &mut dyn Events,
) {
    let Some(cmd) = &pl.policy.settings.post_snapshot_script else {
        return;
    };
    if pre_failed && !pl.policy.settings.force_post_snapshot_script {
        return;
    }
    run_hook(
        runner,
        HookKind::PostSnapshot,
        cmd,
        &hook_ctx(pl, Some(pre_failed)),
        script_timeout(&pl.policy.settings),
        report,
        events,
    );
}

/// Records the snapshots of `batch` that were taken, so pruning in the same run sees them.
fn record_taken(
    state: &mut State,
    batch: &[&Planned],
    taken: &BTreeSet<String>,
    opts: &RunOptions,
) {
    for pl in batch {
        for name in &pl.names {
            let full = format!("{}@{name}", pl.dataset);
            if !taken.contains(&full) {
                continue;
            }
            let targets: Vec<String> = if pl.recursive {
                state
                    .keys()
                    .filter(|d| {
                        *d == &pl.dataset
                            || (d.starts_with(&pl.dataset)
                                && d.as_bytes().get(pl.dataset.len()) == Some(&b'/'))
                    })
                    .cloned()
                    .collect()
            } else {
                vec![pl.dataset.clone()]
            };
            for t in targets {
                if let Some(s) = state.get_mut(&t) {
                    s.snapshots.push(Snapshot::new(name.clone(), opts.now));
                }
            }
        }
    }
}

fn hook_ctx(pl: &Planned, pre_failure: Option<bool>) -> HookContext {
    HookContext {
        targets: vec![pl.dataset.clone()],
        snapnames: pl.names.clone(),
        types: pl.types.iter().map(|t| t.as_str().to_string()).collect(),
        pre_failure,
    }
}

/// The round a snapshot is taken in: its type's place in [`SnapshotType::TAKE_ORDER`] (names
/// that are not sanoid's last).
fn take_round(short_name: &str) -> usize {
    Snapshot::new(short_name, DateTime::UNIX_EPOCH)
        .autosnap_type()
        .and_then(|kind| SnapshotType::TAKE_ORDER.iter().position(|t| *t == kind))
        .unwrap_or(SnapshotType::TAKE_ORDER.len())
}

/// Takes the batch of one pool; returns the full names that now exist (or would, in a dry run).
fn snapshot_batch(
    backend: &dyn Backend,
    pool: &str,
    batch: &[&Planned],
    dry_run: bool,
    report: &mut Report,
    events: &mut dyn Events,
) -> BTreeSet<String> {
    let mut done = BTreeSet::new();
    let mut plain: Vec<SnapshotName> = Vec::new();
    let mut recursive: Vec<SnapshotName> = Vec::new();
    for pl in batch {
        for name in &pl.names {
            let full = format!("{}@{name}", pl.dataset);
            match SnapshotName::parse(&full) {
                Ok(s) if pl.recursive => recursive.push(s),
                Ok(s) => plain.push(s),
                Err(e) => report.failures.push(Failure {
                    what: format!("snapshot {full}"),
                    error: e.to_string(),
                }),
            }
        }
    }
    if dry_run {
        for s in recursive.iter() {
            events.snapshot_created(s.as_str(), true, true);
            report.created.push(s.as_str().to_string());
            done.insert(s.as_str().to_string());
        }
        for s in plain.iter() {
            events.snapshot_created(s.as_str(), false, true);
            report.created.push(s.as_str().to_string());
            done.insert(s.as_str().to_string());
        }
        return done;
    }
    if !recursive.is_empty() || !plain.is_empty() {
        events.message(
            Level::Debug,
            &format!(
                "pool {pool}: {} snapshots, {} recursive",
                plain.len(),
                recursive.len()
            ),
        );
    }
    for s in &recursive {
        match backend.snapshot_recursive(s) {
            Ok(()) => {
                events.snapshot_created(s.as_str(), true, false);
                report.created.push(s.as_str().to_string());
                done.insert(s.as_str().to_string());
            }
            Err(e) => failed(report, events, format!("snapshot -r {s}"), &e),
        }
    }
    // ZFS takes at most one snapshot per dataset in one atomic call, so the pool's batch is one
    // call per type: every dataset's monthly in one txg, every hourly in the next, ...
    let mut rounds: BTreeMap<usize, Vec<SnapshotName>> = BTreeMap::new();
    for s in plain {
        rounds.entry(take_round(s.short())).or_default().push(s);
    }
    for (_, mut round) in rounds {
        let mut retried = false;
        let results: Vec<(SnapshotName, Result<(), ZfsError>)> = match backend.snapshot(&round, &[])
        {
            Ok(()) => round.into_iter().map(|s| (s, Ok(()))).collect(),
            Err(e) if round.len() == 1 => vec![(round.remove(0), Err(e))],
            Err(e) => {
                retried = true;
                events.message(
                    Level::Warn,
                    &format!(
                        "atomic snapshot of {} datasets in pool {pool} failed ({e}); retrying one by one",
                        round.len()
                    ),
                );
                round
                    .into_iter()
                    .map(|s| {
                        let r = backend.snapshot(std::slice::from_ref(&s), &[]);
                        (s, r)
                    })
                    .collect()
            }
        };
        for (s, r) in results {
            match r {
                Ok(()) => {
                    events.snapshot_created(s.as_str(), false, false);
                    report.created.push(s.as_str().to_string());
                    done.insert(s.as_str().to_string());
                }
                // After a failed atomic call, a snapshot that now exists is there: ZFS can report
                // an error (seen: EAGAIN) for a call that committed, or another run took it.
                Err(ZfsError::AlreadyExists { .. }) if retried => events.message(
                    Level::Warn,
                    &format!(
                        "snapshot {s} already exists (the atomic call that failed took it, or \
                         another run did): kept"
                    ),
                ),
                Err(e) => failed(report, events, format!("snapshot {s}"), &e),
            }
        }
    }
    done
}
