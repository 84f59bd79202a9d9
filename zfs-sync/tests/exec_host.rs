//! Host tests of the executor's orchestration over in-memory backends ([`Fake`]): replication of a
//! tree, an unreachable target, failures and the datasets they skip, cancellation, the events a run
//! reports, and resuming an interrupted receive.

mod common;
use common::ds;
use common::fake::Fake;
use common::host::{executor, job, outcomes, ran, sync_name, tree, Recorder};

use zfs_core::{
    Backend, CreateKind, ListOptions, RecvRequest, SendRequest, SnapshotName, VersionName, ZfsError,
};
use zfs_stream::nvlist::{Nvlist, Value};
use zfs_sync::{Cancel, Executor, Outcome, SyncError, SyncOptions, Timed, TreeSpec};

/// A source `p` with `p/a`, `p/a/b` and the volume `p/a/v`; a target with the empty pool `b`.
fn hosts() -> (Fake, Fake) {
    let src = Fake::new("src", &["p"]);
    src.filesystems(&["p/a", "p/a/b"]);
    let vol = CreateKind::Volume {
        size: 4 << 20,
        sparse: true,
    };
    src.create(&ds("p/a/v"), vol, &[]).unwrap();
    src.clear_calls();
    (src, Fake::new("tgt", &["b"]))
}

/// Job options without a sync snapshot (the tests name their snapshots).
fn plain() -> SyncOptions {
    SyncOptions {
        sync_snapshot: false,
        ..job(1)
    }
}

/// Every source dataset below `p/a` has the same snapshots, by name and guid, at `b/a`.
fn same_snapshots(src: &Fake, tgt: &Fake, datasets: &[&str]) {
    for s in datasets {
        let t = s.replacen("p/a", "b/a", 1);
        assert!(!src.snaps(s).is_empty(), "{s} has no snapshots");
        assert_eq!(tgt.snaps(&t), src.snaps(s), "{s} -> {t}");
    }
}

fn synced(r: &zfs_sync::Report) {
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    for (d, o) in outcomes(r) {
        assert_eq!(o, Outcome::Synced, "{d}: {}", r.to_json());
    }
}

#[test]
fn a_tree_is_sent_in_full_then_incrementally_with_the_source_guids() {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    src.clone_of("p/a/b@s1", "p/a/k");
    src.snap_r("p/a", "s2");
    let all = ["p/a", "p/a/b", "p/a/k", "p/a/v"];
    let ex = executor(&src, &tgt);

    let r = ex.run(&tree("p/a", "b/a"), &job(1)).unwrap();
    synced(&r);
    assert_eq!(ran(&r, "p/a"), ["full", "incremental"]);
    assert_eq!(ran(&r, "p/a/k"), ["clone", "incremental"]);
    same_snapshots(&src, &tgt, &all);
    assert_eq!(src.snaps("p/a")[2].0, sync_name(1));
    let (kind, origin, _) = tgt.describe("b/a/k");
    assert_eq!(origin.as_deref(), Some("b/a/b@s1"), "received as a clone");
    assert_eq!(kind, zfs_core::DatasetKind::Filesystem);
    assert_eq!(tgt.describe("b/a/v").0, zfs_core::DatasetKind::Volume);

    // The next run: one `-I` package per dataset, received into the dataset; the first run's sync
    // snapshot is gone on both sides.
    src.snap_r("p/a", "s3");
    src.clear_calls();
    tgt.clear_calls();
    let r = ex.run(&tree("p/a", "b/a"), &job(2)).unwrap();
    synced(&r);
    for d in all {
        assert_eq!(ran(&r, d), ["incremental"], "{d}");
        let short: Vec<String> = src.snaps(d).into_iter().map(|s| s.0).collect();
        assert!(!short.contains(&sync_name(1)), "{d}: {short:?}");
        assert_eq!(short.last(), Some(&sync_name(2)), "{d}");
    }
    same_snapshots(&src, &tgt, &all);
    let receives = tgt.calls_of(&["receive"]);
    assert_eq!(receives.len(), 4, "{receives:?}");
    assert!(receives.iter().all(|r| r.ends_with(" -d")), "{receives:?}");

    // Nothing new: up to date, nothing sent.
    src.clear_calls();
    let r = ex.run(&tree("p/a", "b/a"), &plain()).unwrap();
    assert_eq!(r.exit_code, 0);
    assert!(outcomes(&r).iter().all(|(_, o)| *o == Outcome::UpToDate));
    assert_eq!(src.calls_of(&["send"]), Vec::<String>::new());
}

#[test]
fn in_process_backends_send_one_stream_per_snapshot() {
    let src = Fake::new("src", &["p"]).in_process();
    let tgt = Fake::new("tgt", &["b"]).in_process();
    src.filesystems(&["p/a"]);
    src.snap_r("p/a", "s1");
    let spec = TreeSpec::single(ds("p/a"), ds("b/a"));
    executor(&src, &tgt).run(&spec, &plain()).unwrap();
    src.snap_r("p/a", "s2");
    src.snap_r("p/a", "s3");
    let r = executor(&src, &tgt).run(&spec, &plain()).unwrap();
    synced(&r);
    assert_eq!(r.datasets[0].steps[0].streams, 2);
    assert_eq!(
        src.calls_of(&["send"]),
        ["send p/a@s2 from p/a@s1", "send p/a@s3 from p/a@s2"]
    );
    same_snapshots(&src, &tgt, &["p/a"]);
}

#[test]
fn an_unreachable_target_stops_the_run_before_the_sync_snapshot() {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    tgt.fail("ping", "", |host| ZfsError::Transport {
        host: host.into(),
        op: "ssh tgt zfs version".into(),
        detail: "connection refused".into(),
    });
    let err = executor(&src, &tgt)
        .run(&tree("p/a", "b/a"), &job(1))
        .unwrap_err();
    match &err {
        SyncError::TargetUnreachable { host, source } => {
            assert_eq!(host, "tgt");
            assert!(source.is_transport(), "{source}");
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("no sync snapshot was taken"),
        "{err}"
    );
    let snapshots = src.calls_of(&["snapshot", "snapshot_recursive"]);
    assert!(snapshots.is_empty(), "{snapshots:?}");
    assert_eq!(src.snaps("p/a").len(), 1);
    for c in tgt.calls() {
        assert!(["ping", "list"].contains(&c.op), "changed the target: {c}");
    }
}

#[test]
fn a_failed_parent_skips_the_children_created_below_it_only() {
    let src = Fake::new("src", &["p"]);
    src.filesystems(&["p/a", "p/a/div", "p/a/old"]);
    src.snap_r("p/a", "s1");
    let tgt = Fake::new("tgt", &["b"]);
    synced(
        &executor(&src, &tgt)
            .run(&tree("p/a", "b/a"), &plain())
            .unwrap(),
    );
    // A new child, a new snapshot everywhere, a change on the target's parent, and a snapshot of
    // the target's own below it.
    src.filesystems(&["p/a/new"]);
    src.snap_r("p/a", "s2");
    tgt.write("b/a");
    tgt.snapshot(&["b/a/div@local".parse().unwrap()], &[])
        .unwrap();
    tgt.clear_calls();

    let r = executor(&src, &tgt)
        .run(&tree("p/a", "b/a"), &job(2))
        .unwrap();
    assert_eq!(r.exit_code, 2, "{}", r.to_json());
    let o = outcomes(&r);
    let names: Vec<&str> = o.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(names, ["p/a", "p/a/div", "p/a/new", "p/a/old"]);
    let Outcome::Failed { error } = &o[0].1 else {
        panic!("{o:?}")
    };
    assert!(error.starts_with("incremental p/a: "), "{error}");
    assert!(error.contains("has been modified"), "{error}");
    assert!(error.contains("make it readonly=on"), "the hint: {error}");
    assert!(matches!(o[1].1, Outcome::Refused { .. }), "{o:?}");
    assert_eq!(
        o[2].1,
        Outcome::Skipped {
            reason: "p/a failed, and this dataset would be created below or from it".into()
        }
    );
    assert_eq!(o[3].1, Outcome::Synced);
    assert!(!tgt.has("b/a/new"));
    let receives = tgt.calls_of(&["receive"]);
    assert_eq!(receives.len(), 2, "p/a and p/a/old only: {receives:?}");
    same_snapshots(&src, &tgt, &["p/a/old"]);
    // This run's sync snapshot: the refused dataset's is destroyed (nothing was sent); the failed
    // one keeps its own, and so does the one skipped for it (it never started: the next run's
    // cleanup removes it).
    let last = |d: &str| src.snaps(d).last().unwrap().0.clone();
    assert_eq!(last("p/a/div"), "s2");
    assert_eq!(last("p/a"), sync_name(2));
    assert_eq!(last("p/a/new"), sync_name(2));
}

#[test]
fn a_failed_send_fails_its_dataset_only() {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    src.fail("send", "p/a/v@", |host| ZfsError::Io {
        op: "spawn zfs".into(),
        name: "p/a/v@s1".into(),
        host: host.into(),
        source: std::io::Error::other("out of processes"),
    });
    let r = executor(&src, &tgt)
        .run(&tree("p/a", "b/a"), &plain())
        .unwrap();
    assert_eq!(r.exit_code, 2);
    let o = outcomes(&r);
    assert_eq!(
        o[2].1,
        Outcome::Failed {
            error: "full p/a/v: src: p/a/v@s1: spawn zfs: out of processes".into()
        }
    );
    assert_eq!(
        o[..2].iter().filter(|(_, o)| *o == Outcome::Synced).count(),
        2,
        "{o:?}"
    );
    assert!(!tgt.has("b/a/v"));
    same_snapshots(&src, &tgt, &["p/a", "p/a/b"]);
}

/// A run over `p/a`, `p/a/b`, `p/a/v` (one worker) whose events sink cancels it on the first event
/// line starting with `trigger`.
fn cancelled_run(trigger: &str) -> (zfs_sync::Report, Fake, Fake) {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    src.snap_r("p/a", "s2");
    let cancel = Cancel::new();
    let rec = Recorder::with_hook(|line| {
        if line.starts_with(trigger) {
            cancel.cancel();
        }
    });
    let ex = Executor {
        events: &rec,
        cancel: cancel.clone(),
        ..executor(&src, &tgt)
    };
    let r = ex
        .run(&tree("p/a", "b/a"), &SyncOptions { jobs: 1, ..job(1) })
        .unwrap();
    (r, src, tgt)
}

#[test]
fn a_cancelled_run_starts_no_further_dataset() {
    // Cancelled before the run (the token is cancelled at the first event).
    let (r, src, tgt) = cancelled_run("run_started");
    assert_eq!(r.exit_code, 3);
    assert!(outcomes(&r).iter().all(|(_, o)| *o == Outcome::Cancelled));
    assert_eq!(src.calls_of(&["send"]), Vec::<String>::new());
    assert_eq!(tgt.calls_of(&["receive"]), Vec::<String>::new());
    // The sync snapshot was taken and stays (the next run's cleanup removes it).
    assert_eq!(src.snaps("p/a").last().unwrap().0, sync_name(1));

    // Cancelled as the first dataset starts: the check follows the event, so not even that one runs.
    let (r, src, _) = cancelled_run("dataset_started");
    assert!(outcomes(&r).iter().all(|(_, o)| *o == Outcome::Cancelled));
    assert_eq!(src.calls_of(&["send"]), Vec::<String>::new());

    // Cancelled when the first dataset is done: the others do not start.
    let (r, src, tgt) = cancelled_run("dataset_finished");
    assert_eq!(r.exit_code, 3);
    let o = outcomes(&r);
    assert_eq!(o[0], ("p/a".to_string(), Outcome::Synced));
    assert!(
        o[1..].iter().all(|(_, o)| *o == Outcome::Cancelled),
        "{o:?}"
    );
    let sends = src.calls_of(&["send"]);
    assert!(
        sends.iter().all(|s| s.starts_with("send p/a@")),
        "{sends:?}"
    );
    assert!(!tgt.has("b/a/b") && !tgt.has("b/a/v"));
}

#[test]
fn a_cancel_between_steps_stops_the_dataset_after_its_current_step() {
    let (r, src, tgt) = cancelled_run("step_finished p/a full");
    let d = &r.datasets[0];
    assert_eq!(d.outcome, Outcome::Cancelled);
    assert_eq!(ran(&r, "p/a"), ["full"], "the incremental did not run");
    assert_eq!(tgt.snaps("b/a"), src.snaps("p/a")[..1]);
    assert_eq!(src.calls_of(&["send"]), ["send p/a@s1"]);
    assert_eq!(r.exit_code, 3);
}

#[test]
fn events_come_in_order_and_timed_backends_report_every_call() {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    let rec = Recorder::new();
    let (src_spans, tgt_spans) = (Recorder::new(), Recorder::new());
    let timed_src = Timed {
        inner: &src,
        events: &src_spans,
    };
    let timed_tgt = Timed {
        inner: &tgt,
        events: &tgt_spans,
    };
    let ex = Executor {
        events: &rec,
        ..executor(&src, &tgt)
    };
    let ex = Executor {
        source: &timed_src,
        target: &timed_tgt,
        ..ex
    };
    let r = ex.run(&tree("p/a", "b/a"), &job(1)).unwrap();
    synced(&r);

    let ev = rec.events();
    assert_eq!(ev[0], format!("run_started p/a {}", sync_name(1)));
    assert_eq!(ev[1], "planned 3");
    assert_eq!(ev.last().unwrap(), "run_finished 0");
    let pos = |line: &str| ev.iter().position(|e| e == line).unwrap();
    for d in &r.datasets {
        let name = d.source.as_str();
        let mine: Vec<&str> = ev
            .iter()
            .filter(|e| !e.starts_with("run_") && e.split(' ').nth(1) == Some(name))
            .map(String::as_str)
            .collect();
        let mut want = vec![format!("dataset_started {name}")];
        for s in &d.steps {
            want.push(format!("step_started {name} {}", s.step.kind()));
            want.push(format!("step_finished {name} {}", s.step.kind()));
        }
        want.push(format!("dataset_finished {name} synced"));
        assert_eq!(mine, want, "{ev:?}");
    }
    // The children are created below the parent: they start once it is done.
    for child in ["p/a/b", "p/a/v"] {
        assert!(
            pos("dataset_finished p/a synced") < pos(&format!("dataset_started {child}")),
            "{ev:?}"
        );
    }
    let spans = rec.spans();
    for s in [
        "run: plan",
        "run: execute",
        "dataset p/a/b",
        "transfer p/a/v@s1",
    ] {
        assert!(spans.iter().any(|x| x == s), "no span {s}: {spans:?}");
    }

    // One span per backend call, plus one when each stream finished.
    for (fake, spans, stream) in [(&src, &src_spans, "send"), (&tgt, &tgt_spans, "receive")] {
        let spans = spans.spans();
        let calls = fake.calls();
        let streams = calls.iter().filter(|c| c.op == stream).count();
        assert!(streams >= 3, "{calls:?}");
        let finished = spans
            .iter()
            .filter(|s| s.starts_with(&format!("{stream} finish ")))
            .count();
        assert_eq!(finished, streams, "{spans:?}");
        assert_eq!(spans.len(), calls.len() + streams, "{spans:?}\n{calls:?}");
        let count = |word: &str| spans.iter().filter(|s| s.starts_with(word)).count();
        let lists = calls.iter().filter(|c| c.op == "list").count();
        assert_eq!(count("list "), lists, "{spans:?}");
    }
}

/// A `receive_resume_token` for an interrupted send of `to` (from `from`), as the kernel writes it.
fn token(to: &str, to_guid: u64, from_guid: Option<u64>) -> String {
    let mut nv = Nvlist::new()
        .with("object", Value::Uint64(128))
        .with("offset", Value::Uint64(1 << 20))
        .with("bytes", Value::Uint64(3 << 20))
        .with("toguid", Value::Uint64(to_guid))
        .with("toname", Value::String(to.into()));
    if let Some(f) = from_guid {
        nv = nv.with("fromguid", Value::Uint64(f));
    }
    zfs_stream::resume::encode_token(&nv)
}

/// `p/a` with s1 replicated to `b/a`, then s2 and s3 taken, and `b/a` left with the resume token of
/// an interrupted s1 -> s2 receive.
fn interrupted() -> (Fake, Fake) {
    let src = Fake::new("src", &["p"]);
    src.filesystems(&["p/a"]);
    src.snap_r("p/a", "s1");
    let tgt = Fake::new("tgt", &["b"]);
    let spec = TreeSpec::single(ds("p/a"), ds("b/a"));
    synced(&executor(&src, &tgt).run(&spec, &plain()).unwrap());
    src.snap_r("p/a", "s2");
    src.snap_r("p/a", "s3");
    let guids = src.snaps("p/a");
    tgt.set_resume_token("b/a", &token("p/a@s2", guids[1].1, Some(guids[0].1)));
    src.clear_calls();
    tgt.clear_calls();
    (src, tgt)
}

#[test]
fn an_interrupted_receive_is_resumed_then_continued() {
    let (src, tgt) = interrupted();
    let spec = TreeSpec::single(ds("p/a"), ds("b/a"));
    let r = executor(&src, &tgt).run(&spec, &plain()).unwrap();
    synced(&r);
    assert_eq!(ran(&r, "p/a"), ["resume", "incremental"]);
    assert_eq!(
        src.calls_of(&["send"]),
        ["send p/a@s2 from p/a@s1 -t", "send p/a@s3 from p/a@s2"]
    );
    same_snapshots(&src, &tgt, &["p/a"]);
    assert_eq!(tgt.describe("b/a").2, None, "the token is used up");
}

#[test]
fn a_token_gone_stale_at_run_time_is_aborted_and_the_dataset_replanned() {
    let (src, tgt) = interrupted();
    // s2 is destroyed on the source after the listing, as the resume starts.
    let rec = Recorder::with_hook(|line| {
        if line == "step_started p/a resume" {
            src.destroy_now("p/a@s2");
        }
    });
    let ex = Executor {
        events: &rec,
        ..executor(&src, &tgt)
    };
    let r = ex
        .run(&TreeSpec::single(ds("p/a"), ds("b/a")), &plain())
        .unwrap();
    synced(&r);
    assert_eq!(ran(&r, "p/a"), ["resume", "incremental"]);
    assert_eq!(
        src.calls_of(&["send"]),
        ["send p/a@s2 from p/a@s1 -t", "send p/a@s3 from p/a@s1"]
    );
    assert_eq!(
        tgt.calls_of(&["receive", "receive_abort", "list"]),
        [
            "list b/a",
            "receive b/a@s2",
            "receive_abort b/a",
            "list b/a",
            "receive b/a@s3"
        ]
    );
    let names: Vec<String> = tgt.snaps("b/a").into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["s1", "s3"]);
    same_snapshots(&src, &tgt, &["p/a"]);
    assert_eq!(tgt.describe("b/a").2, None);
    // The abort is said, not silent.
    assert_eq!(
        r.datasets[0].warnings.len(),
        1,
        "{:?}",
        r.datasets[0].warnings
    );
    assert!(r.datasets[0].warnings[0].starts_with("reset partial receive state of b/a: "));
}

#[test]
fn a_token_stale_at_listing_is_aborted_by_the_plan() {
    let (src, tgt) = interrupted();
    src.destroy_now("p/a@s2");
    let r = executor(&src, &tgt)
        .run(&TreeSpec::single(ds("p/a"), ds("b/a")), &plain())
        .unwrap();
    synced(&r);
    assert_eq!(ran(&r, "p/a"), ["abort_resume", "incremental"]);
    assert_eq!(
        tgt.calls_of(&["receive", "receive_abort"]),
        ["receive_abort b/a", "receive b/a@s3"]
    );
    same_snapshots(&src, &tgt, &["p/a"]);
}

/// Sends `req` from `src` into `target` on `tgt` (a plain receive); the receive's result.
fn transfer(src: &Fake, tgt: &Fake, req: SendRequest, target: &str) -> Result<(), ZfsError> {
    let mut send = src.send(&req).unwrap();
    let mut recv = tgt.receive(&RecvRequest::new(target.parse().unwrap()))?;
    let (i, o) = (send.take_stream().unwrap(), recv.take_input().unwrap());
    std::io::copy(&mut std::fs::File::from(i), &mut std::fs::File::from(o)).unwrap();
    let r = recv.finish();
    send.finish().unwrap();
    r
}

#[test]
fn the_fake_refuses_what_zfs_refuses() {
    let (src, tgt) = hosts();
    let sn = |s: &str| -> SnapshotName { s.parse().unwrap() };
    // One call's snapshots share a txg; two of one dataset in one call are refused.
    src.snapshot(&[sn("p/a@s1"), sn("p/a/b@s1")], &[]).unwrap();
    let listed = src.list(&ds("p/a"), &ListOptions::default()).unwrap();
    let txgs: Vec<u64> = listed
        .datasets
        .iter()
        .flat_map(|d| d.versions.iter().map(|v| v.createtxg))
        .collect();
    assert_eq!(txgs, [txgs[0]; 2]);
    let two = [sn("p/a@x"), sn("p/a@y")];
    let refused = src.snapshot(&two, &[]);
    assert!(matches!(refused, Err(ZfsError::InvalidArgument { .. })));
    // A held snapshot is not destroyed, and nothing of its batch is.
    src.snap_r("p/a", "s2");
    src.hold(&[(sn("p/a@s1"), "t".into())]).unwrap();
    let refused = src.destroy_snapshots(&[sn("p/a@s2"), sn("p/a@s1")], false);
    assert!(matches!(refused, Err(ZfsError::HasHolds { .. })));
    assert_eq!(src.snaps("p/a").len(), 2);
    // On a replica with s1 and s2: an incremental from s1 (not its newest) is refused without -F,
    // and a full stream onto the existing dataset too.
    let spec = TreeSpec::single(ds("p/a"), ds("b/a"));
    synced(&executor(&src, &tgt).run(&spec, &plain()).unwrap());
    let from_s1 = SendRequest::incremental(VersionName::Snapshot(sn("p/a@s1")), sn("p/a@s2"));
    let err = transfer(&src, &tgt, from_s1, "b/a@again").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("does not match incremental source"), "{text}");
    let full = transfer(&src, &tgt, SendRequest::full(sn("p/a@s2")), "b/a@full");
    assert!(
        matches!(full, Err(ZfsError::AlreadyExists { .. })),
        "{full:?}"
    );
    assert_eq!(tgt.snaps("b/a"), src.snaps("p/a"), "nothing received");
}

/// The fake clones as `zfs clone` does: the origin's kind, the origin recorded, refusals by name
/// that leave nothing behind. (Timed forwards the call and reports it.)
#[test]
fn the_fake_clones_as_zfs_does() {
    let (src, _) = hosts();
    src.snap_r("p/a", "s1");
    let rec = Recorder::new();
    let timed = Timed {
        inner: &src,
        events: &rec,
    };
    let snap = SnapshotName::parse("p/a/v@s1").unwrap();
    timed
        .clone_snapshot(
            &snap,
            &ds("p/v-restore"),
            &[("volmode".into(), "dev".into())],
        )
        .unwrap();
    let (kind, origin, _) = src.describe("p/v-restore");
    assert_eq!(kind, zfs_core::DatasetKind::Volume);
    assert_eq!(origin.as_deref(), Some("p/a/v@s1"));
    assert_eq!(src.calls_of(&["clone"]), ["clone p/a/v@s1 p/v-restore"]);
    assert!(
        rec.spans()
            .iter()
            .any(|s| s == "clone p/a/v@s1 p/v-restore"),
        "{:?}",
        rec.spans()
    );

    let again = src.clone_snapshot(&snap, &ds("p/v-restore"), &[]);
    assert!(
        matches!(&again, Err(ZfsError::AlreadyExists { name, .. }) if name == "p/v-restore"),
        "{again:?}"
    );
    let missing = SnapshotName::parse("p/a/v@nope").unwrap();
    let e = src.clone_snapshot(&missing, &ds("p/w"), &[]);
    assert!(
        matches!(&e, Err(ZfsError::NotFound { name, .. }) if name == "p/a/v@nope"),
        "{e:?}"
    );
    let e = src.clone_snapshot(&snap, &ds("p/no/parent"), &[]);
    assert!(matches!(e, Err(ZfsError::NotFound { .. })), "{e:?}");
    let e = src.clone_snapshot(&snap, &ds("q/v"), &[]);
    assert!(matches!(e, Err(ZfsError::InvalidArgument { .. })), "{e:?}");
    assert!(!src.has("p/w") && !src.has("p/no/parent") && !src.has("q/v"));
}

#[test]
fn a_target_another_receive_writes_into_is_skipped() {
    let (src, tgt) = hosts();
    src.snap_r("p/a", "s1");
    let ex = executor(&src, &tgt);
    let r = ex.run(&tree("p/a", "b/a"), &plain()).unwrap();
    synced(&r);
    src.snap_r("p/a", "s2");
    tgt.set_receiving(&["b/a/b", "elsewhere/x"]);
    tgt.clear_calls();
    let r = ex.run(&tree("p/a", "b/a"), &plain()).unwrap();
    assert_eq!(r.exit_code, 1, "{}", r.to_json());
    for (d, o) in outcomes(&r) {
        match d.as_str() {
            "p/a/b" => assert_eq!(
                o,
                Outcome::Skipped {
                    reason: "Cannot sync now: b/a/b is already target of a zfs receive process."
                        .into()
                }
            ),
            _ => assert_eq!(o, Outcome::Synced, "{d}"),
        }
    }
    let receives = tgt.calls_of(&["receive"]);
    assert!(
        !receives.iter().any(|r| r.contains("b/a/b@")),
        "{receives:?}"
    );
    // Up to date datasets are not skipped by a receive into them.
    tgt.set_receiving(&["b/a"]);
    let r = ex.run(&tree("p/a/v", "b/a/v"), &plain()).unwrap();
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
}
