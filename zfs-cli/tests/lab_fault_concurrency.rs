//! Lab fault tests (real ZFS in the lab VM): runs at the same time. Two `zsync sync` into one
//! target (and into a child of a target a recursive run holds) never interleave: the per-target
//! lock makes the second wait `--lock-wait`, then skip with exit 75; a receive that is not
//! zsync's is reported as busy; four `zsync cron` and two `zsync sync` started at once take one
//! snapshot per due period and every process exits 0 or 75.
//! Run with `cargo xtask lab test lab_fault_concurrency`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use zsync_lab::data::pattern;
use zsync_lab::{tally, LabError, TestPool};

mod common;
mod fault_support;
use fault_support::{
    ended_cleanly, first_sync, receive_begun, replicated, slow_sync, spawn, wait_for,
};

const LIMIT: Duration = Duration::from_secs(180);

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_second_sync_into_a_busy_target_waits_or_skips() -> Result<(), LabError> {
    let pool = TestPool::with_size("f2lock", 256 << 20)?;
    let dir = common::scratch(&pool, "f2", "lock");
    let (src, child) = (pool.dataset("src"), pool.dataset("src/child"));
    let (dst, dst_child) = (pool.dataset("bk/src"), pool.dataset("bk/src/child"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["create", &child])?;
    pool.zfs(&["create", &pool.dataset("bk")])?;
    pool.write_file("src/child/small", b"child")?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@s1")])?;
    first_sync(&dir, &src, &dst);
    pool.write_file("src/big", &pattern(12 << 20, 0xf2))?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@s2")])?;

    // The target locks of this test's runs, where the test can see them.
    let locks = dir.join("targets");
    let locks_s = locks.to_str().unwrap().to_string();
    let env = [("ZSYNC_TARGET_LOCK_DIR", locks_s.as_str())];
    let a_lock = locks.join(zsync_ops::target_lock::lock_name(None, &dst));
    // A: a slow recursive sync into bk/src (s1 -> s2: 12 MiB at 1 MiB/s).
    let mut a = slow_sync(&dir, "a", &env, "1M", &src, &dst);
    let a_pid = a.child.id();
    // A holds the target's lock (its pid in the lock file) and its receive is under way.
    let held = wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string(&a_lock).is_ok_and(|t| t.starts_with(&format!("pid {a_pid}:")))
    });
    let begun = wait_for(Duration::from_secs(60), || receive_begun(&pool, &dst, true));
    eprintln!(
        "A holds {}: {held}; receive begun: {begun}; token {:?}; %recv used {:?}",
        a_lock.display(),
        pool.get("receive_resume_token", &dst),
        pool.get("used", &format!("{dst}/%recv"))
    );
    assert!(
        held && begun && a.running(),
        "A's receive into {dst} never showed"
    );

    // B: the same target, no wait: skipped at once, exit 75, naming the target and A.
    let b = spawn(
        &dir,
        "b",
        &env,
        &["sync", "--no-sync-snap", "--lock-wait=0", &src, &dst],
    )
    .finish(LIMIT);
    // C: a child of the tree A receives (A holds bk/src): skipped too, naming bk/src.
    let c = spawn(
        &dir,
        "c",
        &env,
        &[
            "sync",
            "--no-sync-snap",
            "--lock-wait=0",
            &child,
            &dst_child,
        ],
    )
    .finish(LIMIT);
    // D: the same target with a long wait: runs after A (and finds it up to date).
    let d = spawn(
        &dir,
        "d",
        &env,
        &[
            "sync",
            "--no-sync-snap",
            "--lock-wait=120",
            "--json",
            &src,
            &dst,
        ],
    );
    let a = a.finish(LIMIT);
    let d = d.finish(LIMIT);

    let intact = replicated(&pool, &src, &pool, &dst)
        && replicated(&pool, &child, &pool, &dst_child)
        && pool.snapshot_names(&src)? == ["s1", "s2"];
    tally::fault(
        "second zsync sync into a target a recursive sync is receiving into",
        intact,
    );
    assert!(intact, "data after the concurrent syncs");
    assert_eq!(a.code, Some(0), "A");
    assert_eq!(b.code, Some(75), "B must be skipped as locked");
    assert!(
        b.stderr.contains(&format!(
            "zsync: skipped {dst}: another zsync is receiving into it (pid {a_pid}: "
        )),
        "B's line: {}",
        b.stderr
    );
    assert_eq!(
        c.code,
        Some(75),
        "C (a child of A's tree) must be skipped as locked"
    );
    assert!(
        c.stderr.contains(&format!(
            "zsync: skipped {dst_child}: another zsync is receiving into {dst} (pid {a_pid}: "
        )),
        "C's line: {}",
        c.stderr
    );
    assert_eq!(d.code, Some(0), "D waited for A, then ran");
    let report: serde_json::Value = serde_json::from_str(&d.stdout).expect("D's JSON report");
    assert_eq!(
        report["datasets"][0]["outcome"]["outcome"], "up_to_date",
        "{report}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_receive_not_ours_running_into_the_target_is_busy() -> Result<(), LabError> {
    let pool = TestPool::with_size("f2foreign", 256 << 20)?;
    let dir = common::scratch(&pool, "f2", "foreign");
    let (src, dst) = (pool.dataset("src"), pool.dataset("bk/src"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["create", &pool.dataset("bk")])?;
    pool.write_file("src/small", b"one")?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    first_sync(&dir, &src, &dst);
    pool.write_file("src/big", &pattern(12 << 20, 0xf3))?;
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;

    // Someone else's `zfs send -i s1 s2 | zfs receive` into the target, slowed to ~3 MiB/s.
    let mut send = Command::new("zfs")
        .args(["send", "-i", &format!("{src}@s1"), &format!("{src}@s2")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("zfs send");
    let mut recv = Command::new("zfs")
        .args(["receive", "-u", &dst])
        .stdin(Stdio::piped())
        .spawn()
        .expect("zfs receive");
    let (mut from, mut to) = (send.stdout.take().unwrap(), recv.stdin.take().unwrap());
    let pumped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (counter, go) = (pumped.clone(), release.clone());
    // The first MiB, then the receive stalls (still running, its process alive) until the test
    // releases it: it is certainly under way for the whole zsync run below.
    let pump = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            while counter.load(std::sync::atomic::Ordering::SeqCst) >= 1 << 20
                && !go.load(std::sync::atomic::Ordering::SeqCst)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    });
    let begun = wait_for(Duration::from_secs(60), || {
        pumped.load(std::sync::atomic::Ordering::SeqCst) >= 1 << 20
    });
    assert!(begun, "the foreign receive into {dst} never started");
    // With the timing trace: one line per backend call and its duration, to see where a run
    // that meets the receive waits.
    let trace = [("ZSYNC_LOG", "zsync::trace=trace")];
    let busy = spawn(
        &dir,
        "busy",
        &trace,
        &["sync", "--no-sync-snap", &src, &dst],
    )
    .finish(LIMIT);
    let pump_done = pump.is_finished();
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    pump.join().unwrap();
    assert!(
        send.wait().unwrap().success() && recv.wait().unwrap().success(),
        "foreign transfer"
    );
    let after = spawn(&dir, "after", &[], &["sync", "--no-sync-snap", &src, &dst]).finish(LIMIT);

    let intact = replicated(&pool, &src, &pool, &dst);
    tally::fault(
        "zsync sync while a zfs receive not started by zsync writes into the target",
        intact,
    );
    assert!(intact, "data after the foreign receive");
    assert!(ended_cleanly(&busy));
    // The receive is running for the whole zsync run: the target is skipped as busy (exit 1,
    // syncoid's words), nothing received into it by zsync.
    let said = format!("{}{}", busy.stdout, busy.stderr);
    eprintln!("pump done when the run ended: {pump_done}");
    assert_eq!(busy.code, Some(1), "busy target: skipped (partial)");
    assert!(
        said.contains("is already target of a zfs receive process"),
        "{said}"
    );
    assert_eq!(after.code, Some(0), "the next run");
    Ok(())
}

/// `zfs list -t snapshot` of the pool: dataset -> snapshot short names.
fn snapshots_by_dataset(pool: &TestPool) -> Result<BTreeMap<String, Vec<String>>, LabError> {
    let out = pool.zfs(&[
        "list",
        "-H",
        "-o",
        "name",
        "-t",
        "snapshot",
        "-r",
        pool.name(),
    ])?;
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in out.lines() {
        if let Some((ds, s)) = l.split_once('@') {
            m.entry(ds.to_string()).or_default().push(s.to_string());
        }
    }
    Ok(m)
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_four_crons_and_two_syncs_at_once() -> Result<(), LabError> {
    let pool = TestPool::with_size("f2storm", 256 << 20)?;
    let dir = common::scratch(&pool, "f2", "storm");
    let (src, dst) = (pool.dataset("src"), pool.dataset("bk/src"));
    for ds in ["src", "src/a", "src/b", "bk"] {
        pool.zfs(&["create", &pool.dataset(ds)])?;
    }
    pool.write_file("src/a/data", &pattern(4 << 20, 0xa))?;
    pool.write_file("src/b/data", &pattern(2 << 20, 0xb))?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@base")])?;
    first_sync(&dir, &src, &dst);
    let conf = dir.join("sanoid.conf");
    std::fs::write(
        &conf,
        format!(
            "[{src}]\n\tuse_template = t\n\trecursive = yes\n\
             [template_t]\n\tfrequently = 0\n\thourly = 4\n\tdaily = 2\n\tweekly = 0\n\
             \tmonthly = 0\n\tyearly = 0\n\tautosnap = yes\n\tautoprune = yes\n"
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let before_src = snapshots_by_dataset(&pool)?;

    let mut runs = Vec::new();
    for i in 0..4 {
        runs.push(spawn(
            &dir,
            &format!("cron{i}"),
            &[],
            &["cron", "--config", &conf],
        ));
    }
    for i in 0..2 {
        runs.push(spawn(
            &dir,
            &format!("sync{i}"),
            &[],
            &["sync", "-r", "--source-bwlimit=4M", &src, &dst],
        ));
    }
    let ended: Vec<_> = runs.into_iter().map(|r| r.finish(LIMIT)).collect();
    // One more sync brings the target up to what the source has now.
    let last = common::zsync(&dir, None, &["sync", "-r", "--no-sync-snap", &src, &dst]);

    let snaps = snapshots_by_dataset(&pool)?;
    let mut one_per_period = true;
    for ds in ["src", "src/a", "src/b"] {
        let names = &snaps[&pool.dataset(ds)];
        for kind in ["hourly", "daily"] {
            let n = names
                .iter()
                .filter(|s| s.starts_with("autosnap_") && s.ends_with(kind))
                .count();
            if n != 1 {
                eprintln!("{ds}: {n} {kind} snapshots: {names:?}");
                one_per_period = false;
            }
        }
        // Nothing that was there before the storm is gone.
        for s in &before_src[&pool.dataset(ds)] {
            one_per_period &= names.contains(s);
        }
    }
    let intact = one_per_period
        && ["", "/a", "/b"]
            .iter()
            .all(|c| replicated(&pool, &format!("{src}{c}"), &pool, &format!("{dst}{c}")));
    tally::fault(
        "4 zsync cron + 2 zsync sync started at once on one tree",
        intact,
    );
    assert!(
        intact,
        "one snapshot per due period, target replicates the source"
    );
    for e in &ended {
        assert!(ended_cleanly(e), "{e:?}");
        assert!(
            matches!(e.code, Some(0 | 75)),
            "exit 0 or 75 (locked): {e:?}"
        );
    }
    assert!(ended[..4].iter().any(|e| e.code == Some(0)), "one cron ran");
    assert!(ended[4..].iter().any(|e| e.code == Some(0)), "one sync ran");
    assert_eq!(last.status.code(), Some(0), "the sync after the storm");
    Ok(())
}
