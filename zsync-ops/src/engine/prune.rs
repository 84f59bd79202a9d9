//! Pruning: per dataset, retention's verdict (zfs-policy), a second guard for held and newest
//! snapshots, the pre-pruning scripts, one batched destroy (one by one when it fails), the
//! pruning scripts; `prune_defer` by pool capacity.

use super::failure::failed;
use super::listing::{DatasetState, State};
use super::options::RunOptions;
use super::script::{run_hook, script_timeout};
use crate::events::{Events, Level};
use crate::hooks::{HookContext, HookKind, HookRunner};
use crate::report::{Failure, Report, Skip};
use chrono::Local;
use std::collections::BTreeMap;
use zfs_core::{Backend, SnapshotName, ZfsError};
use zfs_policy::{DatasetPolicy, Policy, Protect, Snapshot, SnapshotType};

/// Destroys what retention no longer keeps in `policies`' datasets.
pub(crate) fn prune(
    backend: &dyn Backend,
    policies: &[DatasetPolicy],
    state: &State,
    opts: &RunOptions,
    runner: &HookRunner,
    report: &mut Report,
    events: &mut dyn Events,
) {
    let now_local = opts.now.with_timezone(&Local);
    let empty = DatasetState::default();
    let capacities = pool_capacities(backend, policies, report, events);
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
                events.message(Level::Info, &format!("{}: not pruning: {skip}", p.dataset));
                report.skipped.push(Skip {
                    name: p.dataset.clone(),
                    reason: skip.to_string(),
                });
            }
            continue;
        }
        say_kept_count_zero(p, &plan, report, events);
        let protected = guard_set(&st.snapshots, &p.settings);
        let mut candidates: Vec<(&str, SnapshotType, String)> = Vec::new();
        for d in &plan.destroy {
            let full = format!("{}@{}", p.dataset, d.name);
            if let Some(why) = opts.protect.get(&full) {
                events.message(Level::Info, &format!("{full}: kept: {why}"));
                report.skipped.push(Skip {
                    name: full,
                    reason: why.clone(),
                });
                continue;
            }
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
            events.message(
                Level::Info,
                &format!("{}: nothing to prune ({} kept)", p.dataset, plan.keep.len()),
            );
            continue;
        }
        if opts.dry_run {
            for (name, _, why) in &candidates {
                let full = format!("{}@{name}", p.dataset);
                events.snapshot_destroyed(&full, why, true);
                report.destroyed.push(full);
            }
            continue;
        }
        let timeout = script_timeout(&p.settings);
        let mut approved: Vec<(SnapshotName, SnapshotType, &str)> = Vec::new();
        for (name, kind, why) in &candidates {
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
                    events,
                ) {
                    report.skipped.push(Skip {
                        name: full,
                        reason: "pre_pruning_script failed: kept".into(),
                    });
                    continue;
                }
            }
            approved.push((snap, *kind, why.as_str()));
        }
        if approved.is_empty() {
            continue;
        }
        let names: Vec<SnapshotName> = approved.iter().map(|(s, _, _)| s.clone()).collect();
        let results: Vec<(SnapshotName, Result<(), ZfsError>)> =
            match backend.destroy_snapshots(&names, false) {
                Ok(()) => names.into_iter().map(|s| (s, Ok(()))).collect(),
                Err(e) if names.len() == 1 => vec![(names[0].clone(), Err(e))],
                Err(e) => {
                    events.message(
                        Level::Warn,
                        &format!(
                        "destroying {} snapshots of {} at once failed ({e}); retrying one by one",
                        names.len(),
                        p.dataset
                    ),
                    );
                    names
                        .into_iter()
                        .map(|s| {
                            let r = backend.destroy_snapshots(std::slice::from_ref(&s), false);
                            (s, r)
                        })
                        .collect()
                }
            };
        for ((snap, r), (_, kind, why)) in results.into_iter().zip(approved.iter()) {
            match r {
                Ok(()) => {
                    events.snapshot_destroyed(snap.as_str(), why, false);
                    report.destroyed.push(snap.as_str().to_string());
                    if let Some(cmd) = &p.settings.pruning_script {
                        let ctx = prune_ctx(&p.dataset, snap.short(), *kind);
                        run_hook(
                            runner,
                            HookKind::Pruning,
                            cmd,
                            &ctx,
                            timeout,
                            report,
                            events,
                        );
                    }
                }
                Err(e) => failed(report, events, format!("destroy {snap}"), &e),
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
    events: &mut dyn Events,
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
                events.message(
                    Level::Debug,
                    &format!("pool {} capacity {}%", p.name, p.capacity),
                );
                (p.name.as_str().to_owned(), p.capacity)
            })
            .collect(),
        Err(e) => {
            events.message(
                Level::Warn,
                &format!(
                    "cannot read pool capacities for prune_defer ({e}); deferring those datasets"
                ),
            );
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

/// A type with count 0 means "none" (sanoid destroys them all); a snapshot of such a type that is
/// still kept (held, e.g. a replication base under `--use-hold`, or otherwise protected) is said
/// once per run as a warning and listed in the report, so the user knows why it stays.
fn say_kept_count_zero(
    p: &DatasetPolicy,
    plan: &zfs_policy::PrunePlan<'_>,
    report: &mut Report,
    events: &mut dyn Events,
) {
    for k in &plan.keep {
        if p.settings.count(k.kind) != 0 {
            continue;
        }
        let why = if k.reasons.held {
            "it is held (userrefs > 0; e.g. a replication base held by `syncoid --use-hold`)"
                .to_string()
        } else if let Some(w) = &k.reasons.protected {
            format!("it is protected ({w})")
        } else {
            continue;
        };
        let full = format!("{}@{}", p.dataset, k.name);
        events.message(
            Level::Warn,
            &format!("{full} kept although {} = 0: {why}", k.kind),
        );
        report.skipped.push(Skip {
            name: full,
            reason: format!("{} = 0 but {why}", k.kind),
        });
    }
}

/// Snapshots that must never be destroyed, with the reason: held ones and the newest of each type
/// whose count is above 0 (count 0 asks for none of that type, as in sanoid).
pub fn guard_set<'a>(
    snapshots: &'a [Snapshot],
    settings: &Policy,
) -> BTreeMap<&'a str, &'static str> {
    let mut guard: BTreeMap<&str, &'static str> = BTreeMap::new();
    let mut newest: BTreeMap<SnapshotType, &Snapshot> = BTreeMap::new();
    for s in snapshots {
        if s.held() {
            guard.insert(s.name(), "held (userrefs > 0): never pruned");
        }
        if let Some(t) = s.autosnap_type().filter(|t| settings.count(*t) > 0) {
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
    use chrono::DateTime;

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
        let g = guard_set(&snaps, &Policy::default());
        assert!(g.contains_key("autosnap_a_hourly"));
        assert!(!g.contains_key("autosnap_b_hourly"));
        assert!(g.contains_key("autosnap_c_hourly"));
        assert!(g.contains_key("autosnap_c_daily"));
        assert!(!g.contains_key("manual"));
    }

    /// `yearly = 0`: the newest yearly is not guarded (sanoid destroys them all); a held one is.
    #[test]
    fn guard_does_not_keep_newest_of_a_count_zero_type() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let snaps = vec![
            Snapshot::new("autosnap_a_yearly", t(100)).with_hold(true),
            Snapshot::new("autosnap_b_yearly", t(200)),
            Snapshot::new("autosnap_b_daily", t(200)),
        ];
        let settings = Policy {
            yearly: 0,
            daily: 3,
            ..Policy::default()
        };
        let g = guard_set(&snaps, &settings);
        assert!(!g.contains_key("autosnap_b_yearly"), "{g:?}");
        assert!(g.contains_key("autosnap_a_yearly"), "held stays guarded");
        assert!(g.contains_key("autosnap_b_daily"));
    }
}
