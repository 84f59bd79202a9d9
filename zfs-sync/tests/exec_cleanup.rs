//! Host tests of what follows a synced dataset, over in-memory backends ([`Fake`]): the job's hold
//! moves, its one bookmark, its older sync snapshots go (never another job's), a failure is a
//! warning; and what `zsync plan` shows of it against what the run then does.

mod common;
use common::fake::Fake;
use common::host::{executor, job, outcomes, sync_name, tree};

use zfs_core::{Backend, VersionName, ZfsError};
use zfs_sync::{CleanupAction, Outcome, Report, Side, SyncOptions};

/// `p/a` and `p/a/b` with the snapshot s1 (all this job's tests start there), and an empty target
/// pool `b`.
fn hosts() -> (Fake, Fake) {
    let src = Fake::new("src", &["p"]);
    src.filesystems(&["p/a", "p/a/b"]);
    src.snap_r("p/a", "s1");
    (src, Fake::new("tgt", &["b"]))
}

/// Short names of `(short, guid)` pairs.
fn shorts(v: Vec<(String, u64)>) -> Vec<String> {
    v.into_iter().map(|s| s.0).collect()
}

fn run(src: &Fake, tgt: &Fake, opts: &SyncOptions) -> Report {
    let r = executor(src, tgt).run(&tree("p/a", "b/a"), opts).unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    r
}

fn holding(d: u32) -> SyncOptions {
    SyncOptions {
        sync_snapshot: false,
        use_hold: true,
        ..job(d)
    }
}

#[test]
fn the_hold_moves_to_the_newest_common_snapshot_on_both_sides() {
    let (src, tgt) = hosts();
    run(&src, &tgt, &holding(1));
    for s in ["p/a@s1", "b/a@s1", "p/a/b@s1", "b/a/b@s1"] {
        assert_eq!(src.tags(s).len() + tgt.tags(s).len(), 1, "{s}");
    }
    // Another tag on s1 stays when this job's moves on.
    src.hold(&[("p/a@s1".parse().unwrap(), "keep".into())])
        .unwrap();
    src.snap_r("p/a", "s2");
    src.clear_calls();
    tgt.clear_calls();
    run(&src, &tgt, &holding(2));
    assert_eq!(src.tags("p/a@s1"), ["keep"]);
    assert_eq!(src.tags("p/a@s2"), ["zsync_job"]);
    assert_eq!(tgt.tags("b/a@s1"), Vec::<String>::new());
    assert_eq!(tgt.tags("b/a@s2"), ["zsync_job"]);
    let moves = |f: &Fake, ds: &str| -> Vec<String> {
        f.calls_of(&["hold", "release"])
            .into_iter()
            .filter(|c| c.contains(&format!(" {ds}@")))
            .collect()
    };
    assert_eq!(
        moves(&src, "p/a"),
        ["hold p/a@s2 zsync_job", "release p/a@s1 zsync_job"]
    );
    assert_eq!(
        moves(&tgt, "b/a"),
        ["hold b/a@s2 zsync_job", "release b/a@s1 zsync_job"]
    );
}

#[test]
fn a_jobs_bookmark_and_sync_snapshots_replace_its_older_ones_never_others() {
    let (src, tgt) = hosts();
    let other = "zsync_other_20251231T000000Z";
    src.snap_r("p/a", other);
    let from = |s: &str| VersionName::Snapshot(s.parse().unwrap());
    src.bookmark(&[
        ("p/a#mine".parse().unwrap(), from("p/a@s1")),
        (
            format!("p/a#{other}").parse().unwrap(),
            from(&format!("p/a@{other}")),
        ),
    ])
    .unwrap();
    let o = |d| SyncOptions {
        create_bookmark: true,
        ..job(d)
    };
    run(&src, &tgt, &o(1));
    assert_eq!(shorts(src.bookmarks("p/a")), ["mine", other, &sync_name(1)]);
    run(&src, &tgt, &o(2));
    assert_eq!(shorts(src.bookmarks("p/a")), ["mine", other, &sync_name(2)]);
    for (s, t) in [("p/a", "b/a"), ("p/a/b", "b/a/b")] {
        let want = ["s1", other, &sync_name(2)];
        assert_eq!(shorts(src.snaps(s)), want, "{s}");
        assert_eq!(shorts(tgt.snaps(t)), want, "{t}");
    }
}

fn denied(host: &str) -> ZfsError {
    ZfsError::Permission {
        name: "x".into(),
        host: host.into(),
        cause: zfs_core::Cause::None,
    }
}

#[test]
fn a_failed_hold_or_bookmark_is_a_warning_and_keeps_what_was_there() {
    let (src, tgt) = hosts();
    let o = |d| SyncOptions {
        use_hold: true,
        create_bookmark: true,
        keep_sync_snapshots: true,
        ..job(d)
    };
    run(&src, &tgt, &o(1));
    src.snap_r("p/a", "s2");
    tgt.fail("hold", "", denied);
    src.fail("bookmark", "", denied);
    src.clear_calls();
    let r = run(&src, &tgt, &o(2));
    let (t1, t2) = (sync_name(1), sync_name(2));
    for d in &r.datasets {
        assert_eq!(d.outcome, Outcome::Synced);
        let (s, t) = (d.source.as_str(), d.target.as_str());
        assert_eq!(
            d.warnings,
            [
                format!("target hold zsync_job on {t}@{t2}: {}", denied("tgt")),
                format!("source bookmark: {}", denied("src")),
            ],
            "{s}"
        );
        // The target keeps its old hold; the source's moved.
        assert_eq!(tgt.tags(&format!("{t}@{t1}")), ["zsync_job"]);
        assert_eq!(src.tags(&format!("{s}@{t1}")), Vec::<String>::new());
        assert_eq!(src.tags(&format!("{s}@{t2}")), ["zsync_job"]);
        // No new bookmark, and the old one stays.
        assert_eq!(shorts(src.bookmarks(s)), [t1.as_str()]);
    }
    assert_eq!(src.calls_of(&["destroy_bookmarks"]), Vec::<String>::new());
}

/// The calls `actions` make on `side` when each hold is new and every other held snapshot carries
/// the tag (as in the runs below).
fn effects(actions: &[CleanupAction], side: Side) -> Vec<String> {
    let names = |v: &[String]| v.join(", ");
    let mut calls = Vec::new();
    for a in actions {
        match a {
            CleanupAction::Hold {
                side: s,
                snapshot,
                tag,
                held,
            } if *s == side => {
                calls.push(format!("hold {snapshot} {tag}"));
                let old: Vec<String> = held
                    .iter()
                    .filter(|h| *h != snapshot)
                    .map(|h| format!("{h} {tag}"))
                    .collect();
                if !old.is_empty() {
                    calls.push(format!("release {}", names(&old)));
                }
            }
            CleanupAction::Bookmark {
                snapshot,
                bookmark,
                exists,
                older,
            } if side == Side::Source => {
                if !exists {
                    calls.push(format!("bookmark {bookmark} {snapshot}"));
                }
                if !older.is_empty() {
                    let older: Vec<String> = older.iter().map(|b| b.to_string()).collect();
                    calls.push(format!("destroy_bookmarks {}", names(&older)));
                }
            }
            CleanupAction::DestroySyncSnapshots { side: s, snapshots } if *s == side => {
                let s: Vec<String> = snapshots.iter().map(|s| s.to_string()).collect();
                calls.push(format!("destroy_snapshots {}", names(&s)));
            }
            _ => {}
        }
    }
    calls
}

const CLEANUP_OPS: [&str; 5] = [
    "hold",
    "release",
    "bookmark",
    "destroy_bookmarks",
    "destroy_snapshots",
];

/// The run's cleanup calls on both sides are what its plan's cleanup actions say, in plan order.
fn did_what_its_plan_said(r: &Report, src: &Fake, tgt: &Fake) {
    for (fake, side) in [(src, Side::Source), (tgt, Side::Target)] {
        let want: Vec<String> = r
            .plan
            .datasets
            .iter()
            .flat_map(|d| effects(&d.cleanup, side))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(fake.calls_of(&CLEANUP_OPS), want, "{side}");
    }
}

#[test]
fn zsync_plan_shows_the_cleanup_the_run_then_does() {
    let (src, tgt) = hosts();
    let o = |d| SyncOptions {
        use_hold: true,
        create_bookmark: true,
        jobs: 1,
        ..job(d)
    };
    run(&src, &tgt, &o(1));
    src.snap_r("p/a", "s2");
    src.clear_calls();
    tgt.clear_calls();

    // Without a sync snapshot the plan is the run's, cleanup included, and the run does just that.
    let plain = SyncOptions {
        sync_snapshot: false,
        ..o(2)
    };
    let ex = executor(&src, &tgt);
    let planned = ex.plan(&tree("p/a", "b/a"), &plain).unwrap();
    let r = run(&src, &tgt, &plain);
    assert_eq!(r.plan, planned);
    did_what_its_plan_said(&r, &src, &tgt);
    let t1 = sync_name(1);
    let s2_bookmark = &shorts(src.bookmarks("p/a"))[0];
    let lines: Vec<String> = planned.datasets[0]
        .cleanup
        .iter()
        .map(CleanupAction::describe)
        .collect();
    assert_eq!(
        lines,
        [
            format!("hold p/a@s2 with tag zsync_job, releasing the tag from whichever of p/a@{t1} carry it"),
            format!("hold b/a@s2 with tag zsync_job, releasing the tag from whichever of b/a@{t1} carry it"),
            format!("bookmark p/a@s2 as p/a#{s2_bookmark}, destroying this job's older bookmarks p/a#{t1}"),
        ]
    );

    // With one, the plan's listing lacks the run's sync snapshot: the hold and the bookmark go to
    // the newest snapshot it has (s3), the run's to its sync snapshot; the rest is the same.
    src.snap_r("p/a", "s3");
    src.clear_calls();
    tgt.clear_calls();
    let planned = ex.plan(&tree("p/a", "b/a"), &o(3)).unwrap();
    let r = run(&src, &tgt, &o(3));
    did_what_its_plan_said(&r, &src, &tgt);
    assert!(outcomes(&r).iter().all(|(_, o)| *o == Outcome::Synced));
    for (p, ran) in planned.datasets.iter().zip(&r.plan.datasets) {
        assert_eq!(p.cleanup.len(), ran.cleanup.len(), "{}", p.source);
        for (a, b) in p.cleanup.iter().zip(&ran.cleanup) {
            match (a, b) {
                (
                    CleanupAction::Hold {
                        side,
                        snapshot,
                        tag,
                        held,
                    },
                    CleanupAction::Hold {
                        side: side2,
                        snapshot: snapshot2,
                        tag: tag2,
                        held: held2,
                    },
                ) => {
                    assert_eq!((side, tag, held), (side2, tag2, held2));
                    assert_eq!(
                        (snapshot.short(), snapshot2.short()),
                        ("s3", &*sync_name(3))
                    );
                }
                (
                    CleanupAction::Bookmark {
                        snapshot, older, ..
                    },
                    CleanupAction::Bookmark {
                        snapshot: snapshot2,
                        older: older2,
                        ..
                    },
                ) => {
                    assert_eq!(older, older2);
                    assert_eq!(
                        (snapshot.short(), snapshot2.short()),
                        ("s3", &*sync_name(3))
                    );
                }
                _ => assert_eq!(a, b),
            }
        }
    }

    // Nothing new: the plan is up to date at the last sync snapshot, which its cleanup keeps (the
    // common base); the run still takes and sends its own, so it destroys that one.
    src.clear_calls();
    tgt.clear_calls();
    let planned = ex.plan(&tree("p/a", "b/a"), &o(4)).unwrap();
    let r = run(&src, &tgt, &o(4));
    did_what_its_plan_said(&r, &src, &tgt);
    let destroys = |p: &zfs_sync::Plan| -> Vec<String> {
        p.datasets
            .iter()
            .flat_map(|d| &d.cleanup)
            .filter(|a| matches!(a, CleanupAction::DestroySyncSnapshots { .. }))
            .map(CleanupAction::describe)
            .collect()
    };
    assert_eq!(destroys(&planned), Vec::<String>::new());
    let t3 = sync_name(3);
    assert_eq!(
        destroys(&r.plan),
        [
            format!("destroy this job's older source sync snapshots p/a@{t3}"),
            format!("destroy this job's older target sync snapshots b/a@{t3}"),
            format!("destroy this job's older source sync snapshots p/a/b@{t3}"),
            format!("destroy this job's older target sync snapshots b/a/b@{t3}"),
        ]
    );
}
