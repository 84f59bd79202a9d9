//! Property tests of the planner over random histories.
//!
//! (a) every incremental starts from a version present on both sides by GUID;
//! (b) snapshot filters never change the chosen base;
//! (c) replaying a plan on a model of the target yields the newest selected source snapshot.

mod common;
use common::*;

use proptest::prelude::*;
use std::collections::HashSet;
use zfs_core::{DatasetName, Version};
use zfs_sync::{
    model, plan_dataset, Conflict, Decision, PlanOptions, SnapshotFilter, Step, TargetState,
};

#[derive(Debug, Clone)]
struct Case {
    source: Vec<Version>,
    target: Option<Vec<Version>>,
}

/// A shared history of `n` snapshots; the target received a prefix (some later deleted), may have its own
/// newer snapshots; the source may have deleted some (keeping a bookmark or not).
fn case() -> impl Strategy<Value = Case> {
    (
        1usize..24,
        prop::collection::vec(any::<(bool, bool, bool, bool)>(), 24),
        0usize..25,
        0usize..3,
        any::<u8>(),
    )
        .prop_map(|(n, flags, k, extra, mode)| {
            let mut source = Vec::new();
            let mut target = Vec::new();
            let k = k.min(n);
            for (i, &(is_b, src_deleted, keep_bm, tgt_deleted)) in flags.iter().enumerate().take(n)
            {
                let short = format!("{}{i}", if is_b { "b" } else { "a" });
                let guid = 1000 + i as u64 * 13;
                let txg = 10 * (i as u64 + 1);
                if !src_deleted || i == n - 1 {
                    source.push(snap("s/d", &short, guid, txg));
                } else if keep_bm {
                    source.push(bm("s/d", &short, guid, txg));
                }
                if i < k && !tgt_deleted {
                    target.push(snap("t/d", &short, guid, 5 + i as u64));
                }
            }
            for j in 0..extra {
                target.push(snap(
                    "t/d",
                    &format!("local{j}"),
                    900_000 + j as u64,
                    500 + j as u64,
                ));
            }
            let target = if target.is_empty() && mode % 2 == 0 {
                None
            } else {
                Some(target)
            };
            Case { source, target }
        })
}

fn plan(c: &Case, opts: &PlanOptions) -> Decision {
    let name = DatasetName::parse("t/d").unwrap();
    let ts = c.target.as_ref().map(|v| TargetState {
        name: &name,
        versions: v,
        resume_token: None,
    });
    plan_dataset(&c.source, ts, None, opts)
}

/// The base a decision uses: the common version's GUID, or `None` when there is none.
fn base_of(d: &Decision) -> Option<Option<u64>> {
    match d {
        Decision::Conflict { conflict } => match conflict {
            Conflict::UpToDate { newest } => Some(Some(newest.guid)),
            Conflict::Diverged { common, .. } => Some(Some(common.guid)),
            Conflict::NoCommonBase { .. } => Some(None),
            _ => None,
        },
        Decision::Replicate { steps } => {
            for s in steps {
                match s {
                    Step::Incremental { from, .. } => return Some(Some(from.guid)),
                    Step::Full { .. } | Step::Clone { .. } | Step::DestroyTarget { .. } => {
                        return Some(None)
                    }
                    Step::Rollback { to, .. } => return Some(Some(to.guid)),
                    _ => {}
                }
            }
            None
        }
    }
}

fn filters() -> impl Strategy<Value = SnapshotFilter> {
    prop_oneof![
        Just(SnapshotFilter::new(&[] as &[&str], &["^b"]).unwrap()),
        Just(SnapshotFilter::new(&["^b"], &[]).unwrap()),
        Just(SnapshotFilter::new(&["1"], &["3"]).unwrap()),
    ]
}

proptest! {
    #[test]
    fn incremental_from_is_on_both_sides(c in case(), intermediates in any::<bool>(), rollback in any::<bool>()) {
        let opts = PlanOptions { intermediates, rollback, ..Default::default() };
        let d = plan(&c, &opts);
        let src_guids: HashSet<u64> = c.source.iter().map(|v| v.guid).collect();
        // The model enforces "from is the target's newest snapshot" for every incremental.
        let replay = model::apply(c.target.as_deref(), &d);
        prop_assert!(replay.is_ok(), "{:?} -> {:?}", d, replay);
        for s in d.steps() {
            if let Step::Incremental { from, to, .. } = s {
                prop_assert!(src_guids.contains(&from.guid));
                prop_assert!(from.createtxg < to.createtxg);
            }
        }
    }

    #[test]
    fn filters_never_change_the_base(c in case(), f in filters(), rollback in any::<bool>()) {
        let plain = plan(&c, &PlanOptions { rollback, ..Default::default() });
        let filtered = plan(&c, &PlanOptions { rollback, snapshots: f, ..Default::default() });
        let (a, b) = (base_of(&plain), base_of(&filtered));
        // Where both name a base (or both say there is none), it is the same one.
        if let (Some(a), Some(b)) = (a, b) {
            prop_assert_eq!(a, b, "plain {:?}\nfiltered {:?}", plain, filtered);
        }
        // A filter cannot turn "no common base" into a replication from a base, nor the reverse.
        let ncb = |d: &Decision| matches!(d.conflict(), Some(Conflict::NoCommonBase { .. }));
        prop_assert_eq!(ncb(&plain), ncb(&filtered));
    }

    #[test]
    fn replay_reaches_newest_selected(c in case(), f in prop::option::of(filters()), intermediates in any::<bool>(), delete in any::<bool>()) {
        let opts = PlanOptions {
            intermediates,
            rollback: true,
            force_delete: true,
            delete_target_snapshots: delete,
            snapshots: f.clone().unwrap_or_default(),
            ..Default::default()
        };
        let d = plan(&c, &opts);
        let after = model::apply(c.target.as_deref(), &d);
        prop_assert!(after.is_ok(), "{:?}", after);
        let transferred = d.steps().iter().any(Step::is_transfer);
        if transferred {
            let filter = f.unwrap_or_default();
            let newest_sel = c.source.iter()
                .filter(|v| v.name.kind() == zfs_core::VersionKind::Snapshot && filter.selects(v.name.short()))
                .max_by_key(|v| v.createtxg)
                .map(|v| v.guid);
            let got = after.unwrap().and_then(|s| s.last().map(|m| m.guid));
            prop_assert_eq!(got, newest_sel, "{:?}", d);
        } else if let Some(c) = d.conflict() {
            // With rollback and force_delete, only "nothing to do" conflicts remain.
            prop_assert!(matches!(c, Conflict::UpToDate { .. } | Conflict::NoSourceSnapshots { .. }), "{:?}", c);
        }
    }
}
