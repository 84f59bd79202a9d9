//! Lab fault tests (real ZFS in the lab VM): the world changes under a running `zsync sync`. A
//! source snapshot destroyed between the plan and its step; the target pool or the source pool
//! exported (`zpool export -f`) mid-run. Each ends with a clear error (or a completed run), no
//! panic, no hang, and the next run (after `zpool import`) completes with the data intact.
//! No hooks in the binary: the timing comes from `--source-bwlimit` and polling.
//! Run with `cargo xtask lab test lab_fault_races`.

use std::time::{Duration, Instant};
use zsync_lab::data::pattern;
use zsync_lab::{tally, LabError, TestPool};

mod common;
mod fault_support;
use fault_support::{
    ended_cleanly, first_sync, next_sync, receive_begun, replicated, slow_sync, wait_for,
};

const LIMIT: Duration = Duration::from_secs(180);

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_source_snapshot_destroyed_before_its_step() -> Result<(), LabError> {
    let pool = TestPool::with_size("f2vanish", 256 << 20)?;
    let dir = common::scratch(&pool, "f2", "vanish");
    let (src, b) = (pool.dataset("src"), pool.dataset("src/b"));
    let (dst, dst_b) = (pool.dataset("bk/src"), pool.dataset("bk/src/b"));
    for ds in ["src", "src/b", "bk"] {
        pool.zfs(&["create", &pool.dataset(ds)])?;
    }
    pool.write_file("src/b/one", b"one")?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@s1")])?;
    first_sync(&dir, &src, &dst);
    pool.write_file("src/big", &pattern(12 << 20, 0x51))?;
    pool.write_file("src/b/two", b"two")?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@s2")])?;
    pool.write_file("src/b/three", b"three")?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@s3")])?;

    // One dataset at a time: src's slow stream first, src/b's step after it.
    let mut run = slow_sync(&dir, "run", &[], "3M", &src, &dst);
    let begun = wait_for(Duration::from_secs(60), || receive_begun(&pool, &dst, true));
    assert!(begun && run.running(), "src's receive never showed");
    // src/b@s3 goes while src is still moving: src/b's planned s1 -> s3 can no longer be sent.
    let mut destroyed_mid_run = false;
    wait_for(Duration::from_secs(30), || {
        if !run.running() {
            return true;
        }
        destroyed_mid_run = pool.zfs(&["destroy", &format!("{b}@s3")]).is_ok();
        destroyed_mid_run
    });
    let b_received_before = pool.snapshot_names(&dst_b)?;
    let ended = run.finish(LIMIT);
    if !destroyed_mid_run {
        let _ = pool.zfs(&["destroy", &format!("{b}@s3")]);
    }
    let next = next_sync(&dir, &src, &dst);

    let intact = replicated(&pool, &src, &pool, &dst)
        && replicated(&pool, &b, &pool, &dst_b)
        && pool.snapshot_names(&b)? == ["s1", "s2"]
        && pool.snapshot_names(&src)? == ["s1", "s2", "s3"];
    tally::fault(
        "source snapshot destroyed between plan and its step",
        intact,
    );
    assert!(intact, "data after the vanished snapshot");
    assert!(
        destroyed_mid_run,
        "the destroy landed after src/b's step had started ({b_received_before:?})"
    );
    assert!(ended_cleanly(&ended), "{ended:?}");
    if ended.code != Some(0) {
        // A failure names what vanished.
        let said = format!("{}{}", ended.stdout, ended.stderr);
        assert!(
            said.contains(&format!("{b}@s3")) || said.contains(&b),
            "{said}"
        );
    }
    assert_eq!(next.code, Some(0), "the next run");
    Ok(())
}

/// Which pool goes away.
#[derive(Clone, Copy, Debug)]
enum Side {
    Source,
    Target,
}

/// The children of `src` in the export tests: each gap between two of their streams is a
/// chance for `zpool export -f` (refused while a stream is open) to land.
const CHILDREN: [&str; 5] = ["a", "b", "c", "d", "e"];

/// How many runs may go by before the export lands mid-run (it can land just after the last
/// stream, when the run has nothing left to do with the pool; that run proves nothing).
const ATTEMPTS: u32 = 3;

fn export_mid_run(side: Side) -> Result<(), LabError> {
    let sp = TestPool::with_size(&format!("f2exp-s-{side:?}"), 256 << 20)?;
    let tp = TestPool::with_size(&format!("f2exp-t-{side:?}"), 256 << 20)?;
    let dir = common::scratch(&sp, "f2", "export");
    let src = sp.dataset("src");
    let dst = tp.dataset("src");
    sp.zfs(&["create", &src])?;
    for c in CHILDREN {
        sp.zfs(&["create", &format!("{src}/{c}")])?;
    }
    sp.zfs(&["snapshot", "-r", &format!("{src}@s1")])?;
    first_sync(&dir, &src, &dst);
    let gone = match side {
        Side::Source => &sp,
        Side::Target => &tp,
    };
    let mut mid_run = None;
    for attempt in 1..=ATTEMPTS {
        for c in CHILDREN {
            sp.write_file(
                &format!("src/{c}/data"),
                &pattern(3 << 20, c.as_bytes()[0] as u32 + attempt),
            )?;
        }
        sp.zfs(&["snapshot", "-r", &format!("{src}@s{}", attempt + 1)])?;
        // 15 MiB at 1 MiB/s, one dataset at a time.
        let mut run = slow_sync(&dir, &format!("run{attempt}"), &[], "1M", &src, &dst);
        let begun = wait_for(Duration::from_secs(60), || {
            CHILDREN
                .iter()
                .any(|c| receive_begun(&tp, &format!("{dst}/{c}"), true))
        });
        assert!(
            begun && run.running(),
            "no receive into {dst}'s children showed"
        );
        // `zpool export -f` until it goes through (a pool in the middle of an ioctl is busy).
        let started = Instant::now();
        let mut exported = false;
        wait_for(Duration::from_secs(60), || {
            exported = zsync_lab::zpool(&["export", "-f", gone.name()]).is_ok();
            exported || !run.running()
        });
        eprintln!(
            "attempt {attempt}: exported {}: {exported} after {:?}",
            gone.name(),
            started.elapsed()
        );
        let ended = run.finish(Duration::from_secs(120));
        if exported {
            let file = gone.file().to_string_lossy().into_owned();
            zsync_lab::zpool(&["import", "-o", "cachefile=none", "-d", &file, gone.name()])?;
        }
        if exported && ended.code != Some(0) {
            mid_run = Some(ended);
            break;
        }
        eprintln!(
            "attempt {attempt}: the export did not land while the run still needed the pool \
             ({ended:?}); again"
        );
        assert!(ended_cleanly(&ended), "{ended:?}");
    }
    let next = next_sync(&dir, &src, &dst);
    let intact = ["", "/a", "/b", "/c", "/d", "/e"]
        .iter()
        .all(|c| replicated(&sp, &format!("{src}{c}"), &tp, &format!("{dst}{c}")));
    tally::fault(
        &format!("{side:?} pool exported (zpool export -f) mid-run"),
        intact,
    );
    assert!(
        intact,
        "data after the export and the import; the run: {mid_run:?}; the next run: {next:?}"
    );
    let Some(ended) = mid_run else {
        panic!("in {ATTEMPTS} runs the pool was never exported while zsync still needed it");
    };
    assert!(ended_cleanly(&ended), "{ended:?}");
    let said = format!("{}{}", ended.stdout, ended.stderr);
    assert!(
        said.contains(&format!(
            "zsync: warning: pool {} on localhost is not imported any more",
            gone.name()
        )),
        "the run says which pool went: {said}"
    );
    assert!(
        said.contains(gone.name()),
        "the error names the pool or a dataset in it: {said}"
    );
    assert_eq!(next.code, Some(0), "the run after zpool import: {next:?}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_target_pool_exported_mid_run() -> Result<(), LabError> {
    export_mid_run(Side::Target)
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_source_pool_exported_mid_run() -> Result<(), LabError> {
    export_mid_run(Side::Source)
}
