//! Host tests of `common_base`: the newest version a source and a target share, by GUID, with the
//! planner's rules (the planner plans from the same base).

mod common;
use common::*;

use zfs_sync::{common_base, plan_dataset, PlanOptions, Step, TargetState};

const S: &str = "src/d";
const T: &str = "dst/d";

/// (source name, target name) of the common base, or `None`.
fn base(src: &[zfs_core::Version], tgt: &[zfs_core::Version]) -> Option<(String, String)> {
    common_base(src, tgt).map(|b| (b.source.name.to_string(), b.target.name.to_string()))
}

fn pair(s: &str, t: &str) -> Option<(String, String)> {
    Some((format!("{S}{s}"), format!("{T}{t}")))
}

#[test]
fn the_newest_shared_snapshot_by_guid_not_by_name() {
    let src = snaps(S, &[("a", 1, 10), ("b", 2, 20), ("c", 3, 30)]);
    // The target's `c` is another snapshot under the same name; its `b` is the source's.
    let tgt = snaps(T, &[("a", 1, 5), ("b", 2, 6), ("c", 99, 7)]);
    assert_eq!(base(&src, &tgt), pair("@b", "@b"));
    // Renamed on the target: still shared.
    let tgt = snaps(T, &[("renamed", 2, 6)]);
    assert_eq!(base(&src, &tgt), pair("@b", "@renamed"));
    // Input order does not matter: each side is ordered by createtxg.
    let mut shuffled = src.clone();
    shuffled.reverse();
    let tgt = snaps(T, &[("c", 3, 9), ("a", 1, 5)]);
    assert_eq!(base(&shuffled, &tgt), pair("@c", "@c"));
}

#[test]
fn a_pruned_snapshot_is_found_through_its_bookmark_and_a_snapshot_wins_over_one() {
    let mut src = snaps(S, &[("a", 1, 10), ("c", 3, 30)]);
    src.push(bm(S, "b", 2, 20));
    let tgt = snaps(T, &[("a", 1, 5), ("b", 2, 6)]);
    assert_eq!(base(&src, &tgt), pair("#b", "@b"));
    // The snapshot and a bookmark of it both exist: the snapshot.
    src.push(snap(S, "b", 2, 20));
    assert_eq!(base(&src, &tgt), pair("@b", "@b"));
}

#[test]
fn target_bookmarks_do_not_count_and_nothing_shared_is_none() {
    let src = snaps(S, &[("a", 1, 10), ("b", 2, 20)]);
    let mut tgt = snaps(T, &[("a", 1, 5)]);
    tgt.push(bm(T, "b", 2, 6));
    assert_eq!(base(&src, &tgt), pair("@a", "@a"));
    assert_eq!(base(&src, &snaps(T, &[("x", 9, 1)])), None);
    assert_eq!(base(&src, &[]), None);
    assert_eq!(base(&[], &tgt), None);
}

#[test]
fn the_planner_sends_from_the_common_base() {
    let mut src = snaps(S, &[("a", 1, 10), ("c", 3, 30), ("d", 4, 40)]);
    src.push(bm(S, "b", 2, 20));
    let tgt = snaps(T, &[("a", 1, 5), ("b", 2, 6)]);
    let name = ds(T);
    let d = plan_dataset(
        &src,
        Some(TargetState {
            name: &name,
            versions: &tgt,
            resume_token: None,
        }),
        None,
        &PlanOptions::default(),
    );
    let Some(Step::Incremental { from, .. }) = d.steps().first() else {
        panic!("{d:?}")
    };
    let b = common_base(&src, &tgt).unwrap();
    assert_eq!(
        (from.name.clone(), from.guid),
        (b.source.name.clone(), b.source.guid)
    );
}
