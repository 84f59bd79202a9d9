//! Taking the due snapshots: per pool, the pre scripts, one atomic call per snapshot type, a
//! one-by-one retry when a batch fails, the post scripts.

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
        // Pre scripts: a failure with no_inconsistent_snapshot drops that dataset from the batch.
        let mut pre_failed: BTreeMap<String, bool> = BTreeMap::new();
        let mut batch: Vec<&Planned> = Vec::new();
        for pl in &planned {
            let mut failed = false;
            if let (Some(cmd), false) = (&pl.policy.settings.pre_snapshot_script, opts.dry_run) {
                let ctx = hook_ctx(pl, None);
                failed = !run_hook(
                    runner,
                    HookKind::PreSnapshot,
                    cmd,
                    &ctx,
                    script_timeout(&pl.policy.settings),
                    report,
                    events,
                );
            }
            pre_failed.insert(pl.dataset.clone(), failed);
            if failed && pl.policy.settings.no_inconsistent_snapshot {
                report.skipped.push(Skip {
                    name: pl.dataset.clone(),
                    reason: "pre_snapshot_script failed and no_inconsistent_snapshot is set".into(),
                });
                continue;
            }
            batch.push(pl);
        }

        let taken = snapshot_batch(backend, &pool, &batch, opts.dry_run, report, events);

        // Record the new snapshots so pruning in the same run sees them.
        for pl in &batch {
            for (name, _) in pl.names.iter().zip(&pl.types) {
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

        // Post scripts.
        if opts.dry_run {
            continue;
        }
        for pl in &planned {
            let Some(cmd) = &pl.policy.settings.post_snapshot_script else {
                continue;
            };
            let failed = pre_failed.get(&pl.dataset).copied().unwrap_or(false);
            if failed && !pl.policy.settings.force_post_snapshot_script {
                continue;
            }
            let ctx = hook_ctx(pl, Some(failed));
            run_hook(
                runner,
                HookKind::PostSnapshot,
                cmd,
                &ctx,
                script_timeout(&pl.policy.settings),
                report,
                events,
            );
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
        let results: Vec<(SnapshotName, Result<(), ZfsError>)> = match backend.snapshot(&round, &[])
        {
            Ok(()) => round.into_iter().map(|s| (s, Ok(()))).collect(),
            Err(e) if round.len() == 1 => vec![(round.remove(0), Err(e))],
            Err(e) => {
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
                Err(e) => failed(report, events, format!("snapshot {s}"), &e),
            }
        }
    }
    done
}
