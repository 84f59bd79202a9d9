//! Lab tests of the executor on real pools (local → local, Cli backend). Every result is read back with the
//! real `zfs` CLI: GUIDs, snapshot lists, file data, holds, origins.
//!
//! Run: `cargo xtask lab test lab_sync`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use zfs_core::cli::Cli;
use zfs_core::{Backend, DatasetName, VersionName};
use zfs_sync::{
    is_sync_snapshot, AbortReason, Conflict, Executor, Outcome, RecvOptions, Report, Step,
    SyncOptions, TreeSpec,
};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

mod common;
use common::{assert_same_guids, replica_pool as setup};

type R = Result<(), Box<dyn std::error::Error>>;

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}

/// Options of most tests here: replicas are mounted (`no_mount: false`, under the `readonly=on` parent
/// from `setup`) so the tests can read the received files back.
fn opts(sync_snapshot: bool) -> SyncOptions {
    SyncOptions {
        identifier: "lab".into(),
        sync_snapshot,
        jobs: 2,
        recv: RecvOptions {
            no_mount: false,
            ..RecvOptions::default()
        },
        ..Default::default()
    }
}

fn outcome<'r>(r: &'r Report, source: &str) -> &'r Outcome {
    &r.datasets
        .iter()
        .find(|d| d.source.as_str() == source)
        .unwrap_or_else(|| panic!("{source} not in report: {}", r.to_json()))
        .outcome
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_tree_full_then_incremental_and_sync_snapshots() -> R {
    zsync_lab::require_lab();
    tree_scenario(&Cli::local(), "sync-tree")
}

/// The same with the libzfs_core backend (atomic multi-snapshot, lzc send/receive threads).
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_lzc_tree_full_then_incremental_and_sync_snapshots() -> R {
    zsync_lab::require_lab();
    let (be, why) = zfs_core::open(zfs_core::BackendChoice::Lzc)?;
    assert_eq!(be.name(), "lzc", "{why}");
    tree_scenario(be.as_ref(), "sync-tree-lzc")
}

fn tree_scenario(be: &dyn Backend, tag: &str) -> R {
    let pool = setup(tag)?;
    let p = pool.name().to_string();
    for d in ["src/tree", "src/tree/a", "src/tree/a/b"] {
        pool.zfs(&["create", &pool.dataset(d)])?;
    }
    pool.zfs(&["create", "-s", "-V", "4M", &pool.dataset("src/tree/vol")])?;
    pool.write_file("src/tree/a/one.bin", &pattern(100_000, 1))?;
    pool.write_file("src/tree/a/b/two.bin", &pattern(50_000, 2))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s1")])?;
    // A foreign job's sync snapshot: must survive this job's cleanup.
    pool.zfs(&[
        "snapshot",
        &format!("{p}/src/tree@zsync_other_20260101T000000Z"),
    ])?;

    let ex = Executor::new(be, be);
    let spec = TreeSpec::recursive(
        ds(&pool.dataset("src/tree")),
        ds(&pool.dataset("backup/dst")),
    );

    // The plan changes nothing, and the executor then does exactly what it said.
    let planned = ex.plan(&spec, &opts(false))?;
    assert!(pool
        .snapshots(&pool.dataset("backup/dst"))
        .unwrap_or_default()
        .is_empty());
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(r.plan, planned, "plan differs from what ran");
    for d in &r.datasets {
        let planned_steps = planned.get(&d.source).unwrap().decision.steps();
        let ran: Vec<&Step> = d.steps.iter().map(|s| &s.step).collect();
        assert_eq!(
            ran,
            planned_steps.iter().collect::<Vec<_>>(),
            "{}",
            d.source
        );
        assert_eq!(d.outcome, Outcome::Synced, "{}", d.source);
    }
    for (s, t) in [
        ("src/tree", "backup/dst"),
        ("src/tree/a", "backup/dst/a"),
        ("src/tree/a/b", "backup/dst/a/b"),
        ("src/tree/vol", "backup/dst/vol"),
    ] {
        assert_same_guids(&pool, &pool.dataset(s), &pool.dataset(t), &["s1"]);
    }
    assert_eq!(pool.get("type", &pool.dataset("backup/dst/vol"))?, "volume");
    assert_eq!(pool.read_file("backup/dst/a/one.bin")?, pattern(100_000, 1));
    assert_eq!(
        pool.read_file("backup/dst/a/b/two.bin")?,
        pattern(50_000, 2)
    );

    // Incremental with intermediates.
    pool.write_file("src/tree/a/one.bin", &pattern(100_000, 3))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s2")])?;
    pool.write_file("src/tree/a/b/two.bin", &pattern(60_000, 4))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s3")])?;
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(
        pool.snapshot_names(&pool.dataset("backup/dst/a/b"))?,
        vec!["s1", "s2", "s3"]
    );
    assert_same_guids(
        &pool,
        &pool.dataset("src/tree/a/b"),
        &pool.dataset("backup/dst/a/b"),
        &["s2", "s3"],
    );
    assert_eq!(pool.read_file("backup/dst/a/one.bin")?, pattern(100_000, 3));
    assert_eq!(
        pool.read_file("backup/dst/a/b/two.bin")?,
        pattern(60_000, 4)
    );
    assert!(r.datasets.iter().all(|d| d.bytes > 0));
    // Every dataset got both intermediates with the source's GUIDs: in one `-I` stream received into the
    // dataset (Cli), or one in-process `-i` per snapshot (libzfs_core on both ends).
    for (s, t) in [
        ("src/tree", "backup/dst"),
        ("src/tree/a", "backup/dst/a"),
        ("src/tree/vol", "backup/dst/vol"),
    ] {
        assert_same_guids(&pool, &pool.dataset(s), &pool.dataset(t), &["s2", "s3"]);
    }
    let want_streams = if be.name() == "lzc" { 2 } else { 1 };
    for d in &r.datasets {
        let inc: Vec<u32> = d
            .steps
            .iter()
            .filter(|s| matches!(s.step, Step::Incremental { .. }))
            .map(|s| s.streams)
            .collect();
        assert_eq!(inc, vec![want_streams], "{}: {}", d.source, r.to_json());
    }

    // Up to date now.
    let r = ex.run(&spec, &opts(false))?;
    assert!(
        r.datasets.iter().all(|d| d.outcome == Outcome::UpToDate),
        "{}",
        r.to_json()
    );

    // Sync snapshots with holds: the second run replaces the first on both sides and moves the hold.
    let mut o = opts(true);
    o.use_hold = true;
    o.create_bookmark = true;
    let r1 = ex.run(&spec, &o)?;
    assert_eq!(r1.exit_code, 0, "{}", r1.to_json());
    let first = r1.sync_snapshot.clone().unwrap();
    assert!(is_sync_snapshot(&first, "lab"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r2 = ex.run(&spec, &o)?;
    assert_eq!(r2.exit_code, 0, "{}", r2.to_json());
    let second = r2.sync_snapshot.clone().unwrap();
    assert_ne!(first, second);
    for (s, t) in [
        ("src/tree/a", "backup/dst/a"),
        ("src/tree/vol", "backup/dst/vol"),
    ] {
        let (s, t) = (pool.dataset(s), pool.dataset(t));
        assert!(
            !pool.snapshot_names(&s)?.contains(&first),
            "{s} still has {first}"
        );
        assert!(
            !pool.snapshot_names(&t)?.contains(&first),
            "{t} still has {first}"
        );
        assert_same_guids(&pool, &s, &t, &[&second]);
        for side in [&s, &t] {
            let holds = pool.zfs(&["holds", "-H", &format!("{side}@{second}")])?;
            assert!(
                holds.contains("zsync_lab"),
                "no hold on {side}@{second}: {holds}"
            );
        }
        // Bookmark of the replicated sync snapshot on the source.
        let bms = pool.zfs(&["list", "-H", "-t", "bookmark", "-o", "name", "-d", "1", &s])?;
        assert!(bms.contains(&format!("#{second}")), "{bms}");
        // Only the newest job bookmark stays.
        assert!(!bms.contains(&format!("#{first}")), "{bms}");
    }
    // The foreign job's sync snapshot survived.
    assert!(pool
        .snapshot_guids(&pool.dataset("src/tree"))?
        .contains_key("zsync_other_20260101T000000Z"));
    Ok(())
}

/// Default options into a plain (writable, mounted) target parent: children are received unmounted, so
/// nothing modifies the replica between runs and incrementals keep working without `-F` or `readonly`.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_default_options_into_mounted_tree() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("sync-mnt")?;
    for d in ["src", "src/a", "src/a/b", "src/c", "backup"] {
        pool.zfs(&["create", &pool.dataset(d)])?;
    }
    pool.write_file("src/a/f", b"one")?;
    let (be, why) = zfs_core::open(zfs_core::BackendChoice::Auto)?;
    let ex = Executor::new(be.as_ref(), be.as_ref());
    let spec = TreeSpec::recursive(ds(&pool.dataset("src")), ds(&pool.dataset("backup/src")));
    let o = SyncOptions {
        identifier: "mnt".into(),
        ..SyncOptions::default()
    };
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{} ({why}): {}", be.name(), r.to_json());
    // The target parent stays mounted (it was created by hand); nothing below it got mounted.
    assert_eq!(pool.get("mounted", &pool.dataset("backup"))?, "yes");
    assert_eq!(pool.get("mounted", &pool.dataset("backup/src/a"))?, "no");
    for round in 1..=2 {
        // Sync snapshot names have one-second resolution.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        pool.write_file("src/a/f", format!("round {round}").as_bytes())?;
        pool.write_file("src/a/b/g", format!("round {round}").as_bytes())?;
        let r = ex.run(&spec, &o)?;
        assert_eq!(r.exit_code, 0, "round {round}: {}", r.to_json());
        assert!(
            r.datasets.iter().all(|d| d.outcome == Outcome::Synced),
            "round {round}: {}",
            r.to_json()
        );
    }
    let sync = pool.snapshots(&pool.dataset("src/a/b"))?;
    let last = &sync.last().expect("sync snapshots").0;
    for (s, t) in [
        ("src", "backup/src"),
        ("src/a/b", "backup/src/a/b"),
        ("src/c", "backup/src/c"),
    ] {
        assert_same_guids(&pool, &pool.dataset(s), &pool.dataset(t), &[last]);
    }
    pool.zfs(&["mount", &pool.dataset("backup/src")])?;
    pool.zfs(&["mount", &pool.dataset("backup/src/a")])?;
    assert_eq!(pool.read_file("backup/src/a/f")?, b"round 2");
    Ok(())
}

/// `create_bookmark` without sync snapshots: one job bookmark per dataset (the newest replicated
/// snapshot), this job's older one destroyed, other bookmarks untouched, and the bookmark is a working base.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_job_bookmarks_keep_only_the_newest() -> R {
    zsync_lab::require_lab();
    let pool = setup("sync-jbm")?;
    let (s, t) = (pool.dataset("src/d"), pool.dataset("backup/dst"));
    pool.zfs(&["create", &s])?;
    pool.write_file("src/d/f", b"s1")?;
    pool.zfs(&["snapshot", &format!("{s}@s1")])?;
    let foreign = [
        "zsync_bm2_20260101T000000Z",
        "zsync_bm_x_20260101T000000Z",
        "mine",
    ];
    for b in foreign {
        pool.zfs(&["bookmark", &format!("{s}@s1"), &format!("{s}#{b}")])?;
    }
    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::single(ds(&s), ds(&t));
    let mut o = opts(false);
    o.identifier = "bm".into();
    o.create_bookmark = true;
    let job_bms = || -> Vec<String> {
        pool.zfs(&["list", "-H", "-t", "bookmark", "-o", "name", "-d", "1", &s])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('#').map(|(_, b)| b.to_string()))
            .filter(|b| is_sync_snapshot(b, "bm"))
            .collect()
    };
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    let first = job_bms();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        pool.guid(&format!("{s}#{}", first[0]))?,
        pool.guid(&format!("{s}@s1"))?
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    pool.write_file("src/d/f", b"s2")?;
    pool.zfs(&["snapshot", &format!("{s}@s2")])?;
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    let second = job_bms();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);
    assert_eq!(
        pool.guid(&format!("{s}#{}", second[0]))?,
        pool.guid(&format!("{s}@s2"))?
    );
    for b in foreign {
        assert!(
            pool.zfs(&["list", "-H", "-t", "bookmark", &format!("{s}#{b}")])
                .is_ok(),
            "{b} was destroyed"
        );
    }
    // The base snapshot goes; the job bookmark carries the next run.
    pool.zfs(&["destroy", &format!("{s}@s2")])?;
    pool.write_file("src/d/f", b"s3")?;
    pool.zfs(&["snapshot", &format!("{s}@s3")])?;
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_same_guids(&pool, &s, &t, &["s3"]);
    assert_eq!(pool.read_file("backup/dst/f")?, b"s3");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_no_stream_and_bookmark_base() -> R {
    zsync_lab::require_lab();
    let pool = setup("sync-bm")?;
    let (s, t) = (pool.dataset("src/d"), pool.dataset("backup/dst"));
    pool.zfs(&["create", &s])?;
    pool.write_file("src/d/f", &pattern(10_000, 1))?;
    pool.zfs(&["snapshot", &format!("{s}@s1")])?;
    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::single(ds(&s), ds(&t));
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());

    for n in ["s2", "s3", "s4"] {
        pool.write_file("src/d/f", n.as_bytes())?;
        pool.zfs(&["snapshot", &format!("{s}@{n}")])?;
    }
    let mut o = opts(false);
    o.plan.intermediates = false;
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(pool.snapshot_names(&t)?, vec!["s1", "s4"]);
    assert_same_guids(&pool, &s, &t, &["s1", "s4"]);
    assert_eq!(pool.read_file("backup/dst/f")?, b"s4");

    // Bookmark s4, destroy the snapshot: the next sync starts from the bookmark.
    pool.zfs(&["bookmark", &format!("{s}@s4"), &format!("{s}#s4")])?;
    pool.zfs(&["destroy", &format!("{s}@s4")])?;
    pool.write_file("src/d/f", b"s5")?;
    pool.zfs(&["snapshot", &format!("{s}@s5")])?;
    let planned = ex.plan(&spec, &opts(false))?;
    let steps = planned.datasets[0].decision.steps();
    let Step::Incremental { from, .. } = &steps[0] else {
        panic!("{}", planned.to_json())
    };
    assert!(
        matches!(from.name, VersionName::Bookmark(_)),
        "{}",
        planned.to_json()
    );
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_same_guids(&pool, &s, &t, &["s5"]);
    assert_eq!(pool.read_file("backup/dst/f")?, b"s5");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_divergence_and_no_common_base() -> R {
    zsync_lab::require_lab();
    let pool = setup("sync-div")?;
    let (s, t) = (pool.dataset("src/d"), pool.dataset("backup/dst"));
    pool.zfs(&["create", &s])?;
    pool.zfs(&["snapshot", &format!("{s}@s1")])?;
    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::single(ds(&s), ds(&t));
    assert_eq!(ex.run(&spec, &opts(false))?.exit_code, 0);

    // A snapshot taken on the target: refused, listing it; nothing changed.
    pool.zfs(&["snapshot", &format!("{t}@local")])?;
    pool.write_file("src/d/f", b"new")?;
    pool.zfs(&["snapshot", &format!("{s}@s2")])?;
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 2, "{}", r.to_json());
    let Outcome::Refused {
        conflict: Conflict::Diverged {
            target_only_newer, ..
        },
    } = outcome(&r, &s)
    else {
        panic!("{}", r.to_json())
    };
    assert_eq!(target_only_newer[0].name.as_str(), format!("{t}@local"));
    assert_eq!(pool.snapshot_names(&t)?, vec!["s1", "local"]);
    // Refused with a sync snapshot: the unused sync snapshot does not stay behind on the source.
    let r = ex.run(&spec, &opts(true))?;
    assert_eq!(r.exit_code, 2, "{}", r.to_json());
    let left: Vec<String> = pool
        .snapshot_names(&s)?
        .into_iter()
        .filter(|n| is_sync_snapshot(n, "lab"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // With rollback: synced, the local snapshot is gone.
    let mut o = opts(false);
    o.plan.rollback = true;
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(pool.snapshot_names(&t)?, vec!["s1", "s2"]);
    assert_same_guids(&pool, &s, &t, &["s1", "s2"]);

    // A write on a writable replica: refused with a hint; force_receive discards it.
    pool.zfs(&["set", "readonly=off", &t])?;
    pool.write_file("backup/dst/written-on-target", b"x")?;
    pool.zfs(&["snapshot", &format!("{s}@s3")])?;
    let r = ex.run(&spec, &opts(false))?;
    let Outcome::Failed { error } = outcome(&r, &s) else {
        panic!("{}", r.to_json())
    };
    assert!(error.contains("readonly=on"), "{error}");
    let mut o = opts(false);
    o.force_receive = true;
    let r = ex.run(&spec, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_same_guids(&pool, &s, &t, &["s3"]);
    assert!(pool.read_file("backup/dst/written-on-target").is_err());

    // No common base: refused; force_delete recreates.
    let (s2, t2) = (pool.dataset("src/e"), pool.dataset("other"));
    pool.zfs(&["create", &s2])?;
    pool.zfs(&["snapshot", &format!("{s2}@y")])?;
    pool.zfs(&["create", &t2])?;
    pool.zfs(&["snapshot", &format!("{t2}@x")])?;
    let spec2 = TreeSpec::single(ds(&s2), ds(&t2));
    let r = ex.run(&spec2, &opts(false))?;
    assert_eq!(r.exit_code, 2, "{}", r.to_json());
    let Outcome::Refused {
        conflict: Conflict::NoCommonBase {
            target_snapshots, ..
        },
    } = outcome(&r, &s2)
    else {
        panic!("{}", r.to_json())
    };
    assert_eq!(target_snapshots[0].name.as_str(), format!("{t2}@x"));
    assert_eq!(pool.snapshot_names(&t2)?, vec!["x"]);
    let mut o = opts(false);
    o.plan.force_delete = true;
    let r = ex.run(&spec2, &o)?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(pool.snapshot_names(&t2)?, vec!["y"]);
    assert_same_guids(&pool, &s2, &t2, &["y"]);
    Ok(())
}

/// Leaves a partial resumable receive of `from..to` (or a full stream of `to`) in `target`.
fn partial_receive(from: Option<&str>, to: &str, target: &str, keep: usize) -> R {
    let mut args = vec!["send".to_string()];
    if let Some(f) = from {
        args.push("-i".into());
        args.push(f.into());
    }
    args.push(to.into());
    let mut send = Command::new("zfs")
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stream = Vec::new();
    send.stdout.take().unwrap().read_to_end(&mut stream)?;
    send.wait()?;
    assert!(
        stream.len() > keep * 2,
        "stream only {} bytes",
        stream.len()
    );
    let mut recv = Command::new("zfs")
        .args(["receive", "-s", target])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let _ = recv.stdin.take().unwrap().write_all(&stream[..keep]);
    let st = recv.wait()?;
    assert!(!st.success(), "truncated receive succeeded");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_resume_and_stale_token() -> R {
    zsync_lab::require_lab();
    resume_scenario(&Cli::local(), "sync-resume")
}

/// The same with the libzfs_core backend (`lzc_send_resume` with the token's object/offset).
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_lzc_resume_and_stale_token() -> R {
    zsync_lab::require_lab();
    let (be, why) = zfs_core::open(zfs_core::BackendChoice::Lzc)?;
    assert_eq!(be.name(), "lzc", "{why}");
    resume_scenario(be.as_ref(), "sync-resume-lzc")
}

fn resume_scenario(be: &dyn Backend, tag: &str) -> R {
    let pool = setup(tag)?;
    let (s, t) = (pool.dataset("src/d"), pool.dataset("backup/dst"));
    pool.zfs(&["create", &s])?;
    pool.zfs(&["snapshot", &format!("{s}@s1")])?;
    let ex = Executor::new(be, be);
    let spec = TreeSpec::single(ds(&s), ds(&t));
    assert_eq!(ex.run(&spec, &opts(false))?.exit_code, 0);

    // Interrupted incremental s1 -> s2: the next run resumes it, then continues to s3.
    let data2 = pattern(3 << 20, 9);
    pool.write_file("src/d/big", &data2)?;
    pool.zfs(&["snapshot", &format!("{s}@s2")])?;
    partial_receive(Some(&format!("{s}@s1")), &format!("{s}@s2"), &t, 1 << 20)?;
    assert_ne!(pool.get("receive_resume_token", &t)?, "-");
    pool.write_file("src/d/small", b"three")?;
    pool.zfs(&["snapshot", &format!("{s}@s3")])?;
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert!(
        matches!(r.datasets[0].steps[0].step, Step::Resume { .. }),
        "{}",
        r.to_json()
    );
    assert_eq!(pool.get("receive_resume_token", &t)?, "-");
    assert_same_guids(&pool, &s, &t, &["s2", "s3"]);
    assert_eq!(pool.read_file("backup/dst/big")?, data2);

    // Interrupted s3 -> s4, then s4 destroyed on the source: the token is aborted, sync goes on from s3.
    pool.write_file("src/d/big", &pattern(3 << 20, 10))?;
    pool.zfs(&["snapshot", &format!("{s}@s4")])?;
    partial_receive(Some(&format!("{s}@s3")), &format!("{s}@s4"), &t, 1 << 20)?;
    assert_ne!(pool.get("receive_resume_token", &t)?, "-");
    pool.zfs(&["destroy", &format!("{s}@s4")])?;
    pool.write_file("src/d/small", b"five")?;
    pool.zfs(&["snapshot", &format!("{s}@s5")])?;
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert!(
        matches!(
            r.datasets[0].steps[0].step,
            Step::AbortResume {
                reason: AbortReason::Stale,
                ..
            }
        ),
        "{}",
        r.to_json()
    );
    assert_eq!(pool.get("receive_resume_token", &t)?, "-");
    assert_eq!(pool.snapshot_names(&t)?, vec!["s1", "s2", "s3", "s5"]);
    assert_same_guids(&pool, &s, &t, &["s5"]);
    assert_eq!(pool.read_file("backup/dst/small")?, b"five");
    assert_eq!(pool.read_file("backup/dst/big")?, pattern(3 << 20, 10));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_clone_incremental_from_origin() -> R {
    zsync_lab::require_lab();
    let pool = setup("sync-clone")?;
    let p = pool.name().to_string();
    pool.zfs(&["create", &pool.dataset("src/t")])?;
    pool.zfs(&["create", &pool.dataset("src/t/base")])?;
    pool.write_file("src/t/base/big", &pattern(2 << 20, 5))?;
    pool.zfs(&["snapshot", &format!("{p}/src/t/base@s1")])?;
    pool.zfs(&[
        "clone",
        &format!("{p}/src/t/base@s1"),
        &pool.dataset("src/t/aclone"),
    ])?;
    pool.write_file("src/t/aclone/own", b"clone data")?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/t@s2")])?;

    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::recursive(ds(&pool.dataset("src/t")), ds(&pool.dataset("backup/dst")));
    let r = ex.run(&spec, &opts(false))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    let clone = r
        .datasets
        .iter()
        .find(|d| d.source.as_str().ends_with("/aclone"))
        .unwrap();
    assert!(
        matches!(clone.steps[0].step, Step::Clone { .. }),
        "{}",
        r.to_json()
    );
    // The clone stream is small: the origin's 2 MiB were not sent again.
    assert!(
        clone.steps[0].bytes < 1 << 20,
        "clone stream {} bytes",
        clone.steps[0].bytes
    );
    let order: Vec<&str> = r.plan.datasets.iter().map(|d| d.source.as_str()).collect();
    let pos = |n: &str| order.iter().position(|x| x.ends_with(n)).unwrap();
    assert!(pos("/base") < pos("/aclone"));
    assert_eq!(
        pool.get("origin", &pool.dataset("backup/dst/aclone"))?,
        format!("{p}/backup/dst/base@s1")
    );
    assert_same_guids(
        &pool,
        &pool.dataset("src/t/aclone"),
        &pool.dataset("backup/dst/aclone"),
        &["s2"],
    );
    assert_eq!(pool.read_file("backup/dst/aclone/own")?, b"clone data");
    assert_eq!(
        pool.read_file("backup/dst/aclone/big")?,
        pattern(2 << 20, 5)
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_encrypted_raw_and_excludes() -> R {
    zsync_lab::require_lab();
    let pool = setup("sync-enc")?;
    let p = pool.name().to_string();
    pool.zfs(&["create", &pool.dataset("src/t")])?;
    pool.create_encrypted("src/t/secret", &[])?;
    pool.write_file("src/t/secret/f", b"top secret")?;
    pool.zfs(&["create", &pool.dataset("src/t/scratch")])?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/t@s1")])?;

    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let mut spec = TreeSpec::recursive(ds(&pool.dataset("src/t")), ds(&pool.dataset("backup/dst")));
    spec.exclude_datasets = vec![zfs_sync::Pattern::new("/scratch$")?];
    let r = ex.run(&spec, &opts(true))?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    let sec = r
        .plan
        .datasets
        .iter()
        .find(|d| d.source.as_str().ends_with("/secret"))
        .unwrap();
    assert!(sec.raw && sec.encrypted);
    // Raw receive: encrypted on the target, key not loaded there.
    assert_eq!(
        pool.get("encryption", &pool.dataset("backup/dst/secret"))?,
        "aes-256-gcm"
    );
    assert_eq!(
        pool.get("keystatus", &pool.dataset("backup/dst/secret"))?,
        "unavailable"
    );
    let sync = r.sync_snapshot.unwrap();
    assert_same_guids(
        &pool,
        &pool.dataset("src/t/secret"),
        &pool.dataset("backup/dst/secret"),
        &["s1", &sync],
    );
    // The excluded dataset got neither a sync snapshot nor a replica.
    assert!(!pool
        .snapshot_names(&pool.dataset("src/t/scratch"))?
        .contains(&sync));
    assert!(pool
        .zfs(&["list", &pool.dataset("backup/dst/scratch")])
        .is_err());
    Ok(())
}
