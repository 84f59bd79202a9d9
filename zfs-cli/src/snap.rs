//! `snapshot` / `prune` / `cron`: one listing, policy decisions from zfs-policy, batched ZFS calls.
//!
//! Order of a run:
//! 1. **List** each configured root once (recursive, with snapshots; roots nested in other roots
//!    are covered by their ancestor's listing).
//! 2. **Resolve** every existing dataset's effective policy (zfs-policy; section order does not matter).
//! 3. **Take**: per dataset, the due types (zfs-policy's schedule in the local time zone) share one
//!    timestamp. Per pool: every `pre_snapshot_script` runs first; then the pool's due snapshots are
//!    taken with ONE [`Backend::snapshot`] call per type (ZFS allows one snapshot per dataset in an
//!    atomic call): every dataset's hourly in one txg, every daily in one txg, ... (one txg with the
//!    Lzc backend; `zfs snapshot a@x b@x` with the Cli backend, also atomic). A `recursive = zfs`
//!    dataset uses [`Backend::snapshot_recursive`].
//!    Then every `post_snapshot_script`. A failed batch is retried one snapshot at a time, so one bad
//!    dataset does not cost the others their snapshots.
//! 4. **Prune**: per dataset, zfs-policy's retention decides; held snapshots (`userrefs > 0`) and the
//!    newest snapshot of each type are never destroyed (checked again here). `pre_pruning_script`
//!    runs per snapshot (non-zero exit keeps it, as in sanoid), then ONE
//!    [`Backend::destroy_snapshots`] call per dataset, then `pruning_script` per destroyed snapshot.
//!    Snapshots taken in the same run count as existing. When some dataset has `prune_defer` set, ONE
//!    [`Backend::pools`] call reads every pool's capacity; such a dataset is pruned only when its
//!    pool's capacity is above `prune_defer` (sanoid's rule), else it is reported as deferred with the
//!    capacity.
//!
//! A dry run performs steps 1–2 and prints what 3–4 would do; it runs no hooks (sanoid's
//! `--readonly` runs none either).

use crate::output::Output;
use chrono::{DateTime, Local, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use zfs_core::{Backend, DatasetName, Depth, ListOptions, SnapshotName, ZfsError};
use zfs_policy::{Config, DatasetPolicy, Protect, Snapshot, SnapshotType, TakeMode};
use zsync_ops::hooks::{HookContext, HookKind, HookRunner};
use zsync_ops::report::{Failure, HookReport, Report, Skip};

/// What to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Take due snapshots.
    pub take: bool,
    /// Prune.
    pub prune: bool,
    /// Change nothing; report what would happen.
    pub dry_run: bool,
    /// The run's time (normally now; injectable for tests).
    pub now: DateTime<Utc>,
}

/// One dataset's snapshots as the policy sees them, plus their ZFS names.
#[derive(Debug, Clone, Default)]
pub struct DatasetState {
    /// Filesystem or volume.
    pub kind: zfs_policy::DatasetKind,
    /// Snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
}

/// The listing of every configured root, flattened: dataset name → state.
pub type State = BTreeMap<String, DatasetState>;

/// The minimal set of roots to list: configured dataset paths with nested ones dropped.
pub fn listing_roots(config: &Config) -> Vec<String> {
    let paths: BTreeSet<&str> = config.datasets.iter().map(|s| s.path.as_str()).collect();
    paths
        .iter()
        .filter(|p| {
            !paths
                .iter()
                .any(|q| q != *p && p.starts_with(q) && p.as_bytes().get(q.len()) == Some(&b'/'))
        })
        .map(|p| p.to_string())
        .collect()
}

/// Lists the roots (one backend call each). Missing roots go to `report.missing`.
pub fn list_state(
    config: &Config,
    backend: &dyn Backend,
    report: &mut Report,
    out: &mut Output,
) -> State {
    let mut state = State::new();
    let opts = ListOptions {
        depth: Depth::Recursive,
        versions: true,
        user_props: Vec::new(),
    };
    for root in listing_roots(config) {
        let name = match DatasetName::parse(&root) {
            Ok(n) => n,
            Err(e) => {
                report.failures.push(Failure {
                    what: format!("list {root}"),
                    error: e.to_string(),
                });
                continue;
            }
        };
        match backend.list(&name, &opts) {
            Ok(listing) => {
                out.debug(&format!(
                    "listed {root}: {} datasets",
                    listing.datasets.len()
                ));
                for d in listing.datasets {
                    let kind = match d.kind {
                        zfs_core::DatasetKind::Filesystem => zfs_policy::DatasetKind::Filesystem,
                        zfs_core::DatasetKind::Volume => zfs_policy::DatasetKind::Volume,
                    };
                    let snapshots = d
                        .snapshots()
                        .map(|v| {
                            Snapshot::from_unix(v.name.short(), v.creation)
                                .with_hold(v.userrefs > 0)
                        })
                        .collect();
                    state.insert(
                        d.name.as_str().to_string(),
                        DatasetState { kind, snapshots },
                    );
                }
            }
            Err(ZfsError::NotFound { .. }) => {}
            Err(e) => report.failures.push(Failure {
                what: format!("list {root}"),
                error: e.to_string(),
            }),
        }
    }
    state
}

/// A snapshot batch member.
#[derive(Debug, Clone)]
struct Planned {
    dataset: String,
    recursive: bool,
    types: Vec<SnapshotType>,
    names: Vec<String>,
    policy: DatasetPolicy,
}

fn script_timeout(p: &zfs_policy::Policy) -> Option<Duration> {
    (p.script_timeout > 0).then(|| Duration::from_secs(p.script_timeout as u64))
}

fn run_hook(
    runner: &HookRunner,
    kind: HookKind,
    command: &str,
    ctx: &HookContext,
    timeout: Option<Duration>,
    report: &mut Report,
    out: &mut Output,
) -> bool {
    out.info(&format!(
        "running {} for {}",
        kind.key(),
        ctx.targets.join(",")
    ));
    let outcome = runner.run(command, &ctx.env(kind), timeout);
    let ok = outcome.ok();
    if !ok {
        out.warn(&format!(
            "{} for {} {outcome}",
            kind.key(),
            ctx.targets.join(",")
        ));
    }
    report.hooks.push(HookReport {
        script: kind.key().to_string(),
        targets: ctx.targets.clone(),
        outcome: outcome.to_string(),
        ok,
    });
    ok
}

/// Runs a snapshot/prune job over `config`; never panics on ZFS state; returns the report.
pub fn run(config: &Config, backend: &dyn Backend, opts: &RunOptions, out: &mut Output) -> Report {
    let mut report = Report {
        dry_run: opts.dry_run,
        now: opts.now.to_rfc3339(),
        ..Report::default()
    };
    let mut state = list_state(config, backend, &mut report, out);
    let datasets: Vec<zfs_policy::Dataset> = state
        .iter()
        .map(|(name, s)| zfs_policy::Dataset {
            name: name.clone(),
            kind: s.kind,
        })
        .collect();
    let resolution = config.resolve(&datasets);
    for m in &resolution.missing {
        out.warn(&format!("configured dataset {m} does not exist; skipped"));
        report.missing.push(m.clone());
    }
    let runner = HookRunner {
        stdout_to_stderr: out.is_json(),
        ..HookRunner::default()
    };
    if opts.take {
        take(
            backend,
            &resolution.policies,
            &mut state,
            opts,
            &runner,
            &mut report,
            out,
        );
    }
    if opts.prune {
        prune(
            backend,
            &resolution.policies,
            &state,
            opts,
            &runner,
            &mut report,
            out,
        );
    }
    report
}

fn take(
    backend: &dyn Backend,
    policies: &[DatasetPolicy],
    state: &mut State,
    opts: &RunOptions,
    runner: &HookRunner,
    report: &mut Report,
    out: &mut Output,
) {
    let now_local = opts.now.with_timezone(&Local);
    // Pool → planned snapshots, in dataset order.
    let mut by_pool: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
    for p in policies {
        if !p.takes_snapshots() {
            if let TakeMode::ByAncestor { root } = &p.take {
                out.info(&format!(
                    "{}: snapshots come from {root} (recursive = zfs)",
                    p.dataset
                ));
            }
            continue;
        }
        let snaps = state
            .get(&p.dataset)
            .map(|s| s.snapshots.as_slice())
            .unwrap_or(&[]);
        let types = p.due(snaps, &now_local);
        if types.is_empty() {
            out.info(&format!("{}: nothing due", p.dataset));
            continue;
        }
        let names = zfs_policy::snapshot_names(&now_local, &types);
        out.info(&format!(
            "{}: due {}",
            p.dataset,
            types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
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
                    out,
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

        let taken = snapshot_batch(backend, &pool, &batch, opts.dry_run, report, out);

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
                out,
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

/// Takes the batch of one pool; returns the full names that now exist (or would, in a dry run).
fn snapshot_batch(
    backend: &dyn Backend,
    pool: &str,
    batch: &[&Planned],
    dry_run: bool,
    report: &mut Report,
    out: &mut Output,
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
            out.result(&format!("would create {s} (recursive)"));
            report.created.push(s.as_str().to_string());
            done.insert(s.as_str().to_string());
        }
        for s in plain.iter() {
            out.result(&format!("would create {s}"));
            report.created.push(s.as_str().to_string());
            done.insert(s.as_str().to_string());
        }
        return done;
    }
    if !recursive.is_empty() || !plain.is_empty() {
        out.debug(&format!(
            "pool {pool}: {} snapshots, {} recursive",
            plain.len(),
            recursive.len()
        ));
    }
    for s in &recursive {
        match backend.snapshot_recursive(s) {
            Ok(()) => {
                out.result(&format!("created {s} (recursive)"));
                report.created.push(s.as_str().to_string());
                done.insert(s.as_str().to_string());
            }
            Err(e) => {
                out.error(&format!("snapshot -r {s}: {e}"));
                report.failures.push(Failure {
                    what: format!("snapshot -r {s}"),
                    error: e.to_string(),
                });
            }
        }
    }
    // ZFS takes at most one snapshot per dataset in one atomic call, so the pool's batch is one
    // call per type: every dataset's monthly in one txg, every hourly in the next, ...
    let mut rounds: BTreeMap<usize, Vec<SnapshotName>> = BTreeMap::new();
    for s in plain {
        let order = zfs_policy::name::parse(s.short())
            .and_then(|p| SnapshotType::TAKE_ORDER.iter().position(|t| *t == p.kind))
            .unwrap_or(SnapshotType::TAKE_ORDER.len());
        rounds.entry(order).or_default().push(s);
    }
    for (_, mut round) in rounds {
        let results: Vec<(SnapshotName, Result<(), ZfsError>)> = match backend.snapshot(&round, &[])
        {
            Ok(()) => round.into_iter().map(|s| (s, Ok(()))).collect(),
            Err(e) if round.len() == 1 => vec![(round.remove(0), Err(e))],
            Err(e) => {
                out.warn(&format!(
                    "atomic snapshot of {} datasets in pool {pool} failed ({e}); retrying one by one",
                    round.len()
                ));
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
                    out.result(&format!("created {s}"));
                    report.created.push(s.as_str().to_string());
                    done.insert(s.as_str().to_string());
                }
                Err(e) => {
                    out.error(&format!("snapshot {s}: {e}"));
                    report.failures.push(Failure {
                        what: format!("snapshot {s}"),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
    done
}

fn prune(
    backend: &dyn Backend,
    policies: &[DatasetPolicy],
    state: &State,
    opts: &RunOptions,
    runner: &HookRunner,
    report: &mut Report,
    out: &mut Output,
) {
    let now_local = opts.now.with_timezone(&Local);
    let empty = DatasetState::default();
    let capacities = pool_capacities(backend, policies, report, out);
    for p in policies {
        let st = state.get(&p.dataset).unwrap_or(&empty);
        // prune_defer: with the capacity unknown (zpool failed) the policy defers, the safe side.
        let protect = match capacities.get(p.pool()) {
            Some(&c) => Protect::new().capacity(c),
            None => Protect::new(),
        };
        let plan = zfs_policy::plan(p, &st.snapshots, &now_local, &protect);
        if let Some(skip) = &plan.skipped {
            if !matches!(skip, zfs_policy::retention::Skip::PruningOff) {
                out.info(&format!("{}: not pruning: {skip}", p.dataset));
                report.skipped.push(Skip {
                    name: p.dataset.clone(),
                    reason: skip.to_string(),
                });
            }
            continue;
        }
        let protected = guard_set(&st.snapshots);
        let mut candidates: Vec<(&str, SnapshotType, String)> = Vec::new();
        for d in &plan.destroy {
            if let Some(why) = protected.get(d.name) {
                // zfs-policy already refuses these; this is a second line of defence.
                report.skipped.push(Skip {
                    name: format!("{}@{}", p.dataset, d.name),
                    reason: why.to_string(),
                });
                continue;
            }
            candidates.push((d.name, d.kind, d.reason.to_string()));
        }
        if candidates.is_empty() {
            out.info(&format!(
                "{}: nothing to prune ({} kept)",
                p.dataset,
                plan.keep.len()
            ));
            continue;
        }
        if opts.dry_run {
            for (name, _, why) in &candidates {
                out.result(&format!("would destroy {}@{name} ({why})", p.dataset));
                report.destroyed.push(format!("{}@{name}", p.dataset));
            }
            continue;
        }
        let timeout = script_timeout(&p.settings);
        let mut approved: Vec<(SnapshotName, SnapshotType)> = Vec::new();
        for (name, kind, _) in &candidates {
            let full = format!("{}@{name}", p.dataset);
            let snap = match SnapshotName::parse(&full) {
                Ok(s) => s,
                Err(e) => {
                    report.failures.push(Failure {
                        what: format!("destroy {full}"),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            if let Some(cmd) = &p.settings.pre_pruning_script {
                let ctx = prune_ctx(&p.dataset, name, *kind);
                if !run_hook(
                    runner,
                    HookKind::PrePruning,
                    cmd,
                    &ctx,
                    timeout,
                    report,
                    out,
                ) {
                    report.skipped.push(Skip {
                        name: full,
                        reason: "pre_pruning_script failed: kept".into(),
                    });
                    continue;
                }
            }
            approved.push((snap, *kind));
        }
        if approved.is_empty() {
            continue;
        }
        let names: Vec<SnapshotName> = approved.iter().map(|(s, _)| s.clone()).collect();
        let results: Vec<(SnapshotName, Result<(), ZfsError>)> =
            match backend.destroy_snapshots(&names, false) {
                Ok(()) => names.into_iter().map(|s| (s, Ok(()))).collect(),
                Err(e) if names.len() == 1 => vec![(names[0].clone(), Err(e))],
                Err(e) => {
                    out.warn(&format!(
                        "destroying {} snapshots of {} at once failed ({e}); retrying one by one",
                        names.len(),
                        p.dataset
                    ));
                    names
                        .into_iter()
                        .map(|s| {
                            let r = backend.destroy_snapshots(std::slice::from_ref(&s), false);
                            (s, r)
                        })
                        .collect()
                }
            };
        for ((snap, r), (_, kind)) in results.into_iter().zip(approved.iter()) {
            match r {
                Ok(()) => {
                    out.result(&format!("destroyed {snap}"));
                    report.destroyed.push(snap.as_str().to_string());
                    if let Some(cmd) = &p.settings.pruning_script {
                        let ctx = prune_ctx(&p.dataset, snap.short(), *kind);
                        run_hook(runner, HookKind::Pruning, cmd, &ctx, timeout, report, out);
                    }
                }
                Err(e) => {
                    out.error(&format!("destroy {snap}: {e}"));
                    report.failures.push(Failure {
                        what: format!("destroy {snap}"),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
}

/// Used capacity (percent) of every pool, from ONE `zpool list` — only when some pruned dataset has
/// `prune_defer` set; else empty. A failure is reported and leaves the capacities unknown.
fn pool_capacities(
    backend: &dyn Backend,
    policies: &[DatasetPolicy],
    report: &mut Report,
    out: &mut Output,
) -> BTreeMap<String, u8> {
    if !policies
        .iter()
        .any(|p| p.prune && p.settings.prune_defer > 0)
    {
        return BTreeMap::new();
    }
    match backend.pools(&[]) {
        Ok(pools) => pools
            .into_iter()
            .map(|p| {
                out.debug(&format!("pool {} capacity {}%", p.name, p.capacity));
                (p.name.as_str().to_owned(), p.capacity)
            })
            .collect(),
        Err(e) => {
            out.warn(&format!(
                "cannot read pool capacities for prune_defer ({e}); deferring those datasets"
            ));
            report.failures.push(Failure {
                what: "zpool list (prune_defer)".into(),
                error: e.to_string(),
            });
            BTreeMap::new()
        }
    }
}

fn prune_ctx(dataset: &str, snapname: &str, kind: SnapshotType) -> HookContext {
    HookContext {
        targets: vec![dataset.to_string()],
        snapnames: vec![snapname.to_string()],
        types: vec![kind.as_str().to_string()],
        pre_failure: None,
    }
}

/// Snapshots that must never be destroyed, with the reason: held ones and the newest of each type.
pub fn guard_set(snapshots: &[Snapshot]) -> BTreeMap<&str, &'static str> {
    let mut guard: BTreeMap<&str, &'static str> = BTreeMap::new();
    let mut newest: BTreeMap<SnapshotType, &Snapshot> = BTreeMap::new();
    for s in snapshots {
        if s.held() {
            guard.insert(s.name(), "held (userrefs > 0): never pruned");
        }
        if let Some(t) = s.autosnap_type() {
            let e = newest.entry(t).or_insert(s);
            if s.creation() >= e.creation() {
                *e = s;
            }
        }
    }
    for s in newest.values() {
        guard
            .entry(s.name())
            .or_insert("newest snapshot of its type: never pruned");
    }
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_drop_nested_paths() {
        let c = Config::parse(
            "[tank]\n[tank/a]\n[tank/a/b]\n[tankx]\n[other/x]\n[other/y]\n",
            "t.conf",
        )
        .unwrap();
        assert_eq!(
            listing_roots(&c),
            vec!["other/x", "other/y", "tank", "tankx"]
        );
    }

    #[test]
    fn guard_keeps_held_and_newest_per_type() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let snaps = vec![
            Snapshot::new("autosnap_a_hourly", t(100)).with_hold(true),
            Snapshot::new("autosnap_b_hourly", t(200)),
            Snapshot::new("autosnap_c_hourly", t(300)),
            Snapshot::new("autosnap_c_daily", t(300)),
            Snapshot::new("manual", t(400)),
        ];
        let g = guard_set(&snaps);
        assert!(g.contains_key("autosnap_a_hourly"));
        assert!(!g.contains_key("autosnap_b_hourly"));
        assert!(g.contains_key("autosnap_c_hourly"));
        assert!(g.contains_key("autosnap_c_daily"));
        assert!(!g.contains_key("manual"));
    }
}
