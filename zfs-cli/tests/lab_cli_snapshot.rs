//! Lab tests (real ZFS in the lab VM): `zsync snapshot | prune | cron` and the `sanoid` drop-in,
//! through the real binary. Run with `cargo xtask lab test lab_cli`.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};
use zsync_lab::{LabError, TestPool};

mod common;
use common::{bin, now0, scratch as scratch_in, text, zsync};

fn scratch(pool: &TestPool, tag: &str) -> PathBuf {
    scratch_in(pool, "cli", tag)
}

/// (full snapshot name, createtxg) of every snapshot in the pool.
fn snapshots(pool: &TestPool) -> Result<Vec<(String, u64)>, LabError> {
    let out = pool.zfs(&[
        "list",
        "-Hp",
        "-t",
        "snapshot",
        "-o",
        "name,createtxg",
        "-r",
        pool.name(),
    ])?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect())
}

fn names(pool: &TestPool) -> Result<BTreeSet<String>, LabError> {
    Ok(snapshots(pool)?.into_iter().map(|(n, _)| n).collect())
}

/// The VM clock now, truncated to the second. Injected as ZSYNC_NOW it is never later than the
/// `creation` of the snapshots the run takes, so a repeated run at the same instant finds nothing due.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d_%H:%M:%S").to_string()
}

/// A tree with a recursive parent, an overriding child, an unconfigured child and a zvol.
fn build_tree(pool: &TestPool) -> Result<String, LabError> {
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/fs")])?;
    pool.zfs(&["create", &format!("{p}/fs/a")])?;
    pool.zfs(&["create", &format!("{p}/fs/b")])?;
    pool.zfs(&["create", &format!("{p}/other")])?;
    pool.zfs(&["create", "-s", "-V", "16M", &format!("{p}/vol")])?;
    // The child section comes BEFORE its recursive parent: zsync must not let the parent overwrite it.
    Ok(format!(
        "[{p}/fs/b]\n\
         \tuse_template = production\n\
         \thourly = 2\n\
         \tdaily = 0\n\
         [{p}/fs]\n\
         \tuse_template = production\n\
         \trecursive = yes\n\
         [{p}/vol]\n\
         \tuse_template = production\n\
         [template_production]\n\
         \tfrequently = 0\n\
         \thourly = 6\n\
         \tdaily = 3\n\
         \tweekly = 0\n\
         \tmonthly = 1\n\
         \tyearly = 0\n\
         \tautosnap = yes\n\
         \tautoprune = yes\n"
    ))
}

fn dry_run_then_real_run(backend: &str) -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new(&format!("snap{backend}"))?;
    let dir = scratch(&pool, "dry");
    let conf = dir.join("zsync.conf");
    std::fs::write(&conf, build_tree(&pool)?).unwrap();
    let conf_s = conf.to_str().unwrap();
    let now = now0();
    let p = pool.name();
    let ts = stamp(now);
    let mut expected = BTreeSet::new();
    for ds in ["fs", "fs/a", "vol"] {
        for t in ["monthly", "daily", "hourly"] {
            expected.insert(format!("{p}/{ds}@autosnap_{ts}_{t}"));
        }
    }
    // fs/b: its own section wins over the parent's (daily = 0).
    for t in ["monthly", "hourly"] {
        expected.insert(format!("{p}/fs/b@autosnap_{ts}_{t}"));
    }

    let o = zsync(
        &dir,
        Some(now),
        &[
            "--backend",
            backend,
            "snapshot",
            "--dry-run",
            "--config",
            conf_s,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let would: BTreeSet<String> = text(&o.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("would create "))
        .map(|s| s.split(' ').next().unwrap_or(s).to_string())
        .collect();
    assert_eq!(would, expected, "dry run output");
    assert!(names(&pool)?.is_empty(), "a dry run must create nothing");

    let o = zsync(
        &dir,
        Some(now),
        &[
            "--backend",
            backend,
            "snapshot",
            "--json",
            "--config",
            conf_s,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    let created: BTreeSet<String> = report["created"]
        .as_array()
        .expect("created[]")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(created, expected);
    let snaps = snapshots(&pool)?;
    let got: BTreeSet<String> = snaps.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(got, expected, "ZFS state after the real run");
    // One atomic call per type for the whole pool: each type's snapshots share one txg.
    for t in ["monthly", "daily", "hourly"] {
        let txgs: BTreeSet<u64> = snaps
            .iter()
            .filter(|(n, _)| n.ends_with(&format!("_{t}")))
            .map(|(_, txg)| *txg)
            .collect();
        assert_eq!(
            txgs.len(),
            1,
            "{t} snapshots of one pool must share a txg: {snaps:?}"
        );
    }
    // `other` is not configured and not below a recursive section.
    assert!(!got.iter().any(|n| n.starts_with(&format!("{p}/other@"))));

    // Nothing is due a second time at the same instant.
    let o = zsync(
        &dir,
        Some(now),
        &["--backend", backend, "cron", "--config", conf_s],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(names(&pool)?, expected, "second run must not duplicate");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_snapshot_dry_run_then_real_run_cli_backend() -> Result<(), LabError> {
    dry_run_then_real_run("cli")
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_snapshot_dry_run_then_real_run_lzc_backend() -> Result<(), LabError> {
    dry_run_then_real_run("lzc")
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_version_reports_backend_and_reason() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let dir = zsync_lab::lab_dir()?;
    for (choice, want) in [("cli", "cli"), ("lzc", "lzc"), ("auto", "lzc")] {
        let o = zsync(&dir, None, &["--backend", choice, "version"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(
            out.contains(&format!("backend: {want}\n")),
            "{choice}: {out}"
        );
        assert!(out.contains("why: "), "{out}");
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_prune_after_advancing_time_keeps_counts_and_holds() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("prune")?;
    let dir = scratch(&pool, "prune");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/data")])?;
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!(
            "[{p}/data]\n\thourly = 2\n\tdaily = 0\n\tmonthly = 0\n\tfrequently = 0\n\
             \tweekly = 0\n\tyearly = 0\n"
        ),
    )
    .unwrap();
    let conf_s = conf.to_str().unwrap();
    // The injected clock runs ahead of the VM clock (creation times stay real): each run is an hour
    // later, so an hourly is due every run and the older ones age out of `hourly = 2`.
    let base = now0() + ChronoDuration::hours(3);
    let hourly = |k: i64| {
        format!(
            "{p}/data@autosnap_{}_hourly",
            stamp(base + ChronoDuration::hours(k))
        )
    };
    for k in 0..5 {
        let now = base + ChronoDuration::hours(k);
        let o = zsync(&dir, Some(now), &["cron", "--config", conf_s]);
        assert_eq!(o.status.code(), Some(0), "run {k}: {}", text(&o.stderr));
        if k == 0 {
            // Hold the first one: it must survive every prune.
            pool.zfs(&["hold", "keepme", &hourly(0)])?;
        }
    }
    let got = names(&pool)?;
    let want: BTreeSet<String> = [hourly(0), hourly(3), hourly(4)].into_iter().collect();
    assert_eq!(
        got, want,
        "hourly = 2 keeps the newest two; the held one stays"
    );

    // A dry-run prune after the hold is released lists exactly what a real prune destroys.
    pool.zfs(&["release", "keepme", &hourly(0)])?;
    let now = base + ChronoDuration::hours(5);
    let o = zsync(&dir, Some(now), &["prune", "--dry-run", "--config", conf_s]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains(&format!("would destroy {}", hourly(0))),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(names(&pool)?, want, "dry run destroys nothing");
    let o = zsync(&dir, Some(now), &["prune", "--config", conf_s]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains(&format!("destroyed {}", hourly(0))));
    let want: BTreeSet<String> = [hourly(3), hourly(4)].into_iter().collect();
    assert_eq!(names(&pool)?, want);
    Ok(())
}

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
    }
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_hooks_get_sanoid_env_and_timeouts_kill() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("hooks")?;
    let dir = scratch(&pool, "hooks");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/good")])?;
    pool.zfs(&["create", &format!("{p}/slow")])?;
    let d = dir.display();
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!(
            "[{p}/good]\n\
             \tuse_template = t\n\
             \tpre_snapshot_script = echo \"$SANOID_SCRIPT $SANOID_TARGETS $SANOID_SNAPNAMES $SANOID_TYPES\" > {d}/good.pre\n\
             \tpost_snapshot_script = echo \"$SANOID_SCRIPT $SANOID_TARGETS $SANOID_PRE_FAILURE\" > {d}/good.post\n\
             [{p}/slow]\n\
             \tuse_template = t\n\
             \tscript_timeout = 2\n\
             \tno_inconsistent_snapshot = yes\n\
             \tpre_snapshot_script = sleep 600 & echo $! > {d}/slow.pid; wait\n\
             [template_t]\n\
             \thourly = 1\n\tdaily = 0\n\tmonthly = 0\n"
        ),
    )
    .unwrap();
    let now = now0();
    let o = zsync(
        &dir,
        Some(now),
        &["snapshot", "--config", conf.to_str().unwrap()],
    );
    // The slow hook timed out: partial success, exit 1.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("timed out"), "{}", text(&o.stderr));
    let snap = format!("autosnap_{}_hourly", stamp(now));
    let pre = std::fs::read_to_string(dir.join("good.pre")).expect("pre hook ran");
    assert_eq!(pre.trim(), format!("pre {p}/good {snap} hourly"));
    let post = std::fs::read_to_string(dir.join("good.post")).expect("post hook ran");
    assert_eq!(post.trim(), format!("post {p}/good 0"));
    let got = names(&pool)?;
    assert!(got.contains(&format!("{p}/good@{snap}")), "{got:?}");
    assert!(
        !got.iter().any(|n| n.starts_with(&format!("{p}/slow@"))),
        "no_inconsistent_snapshot: the timed-out dataset gets no snapshot: {got:?}"
    );
    let pid: i32 = std::fs::read_to_string(dir.join("slow.pid"))
        .expect("slow hook wrote its child's pid")
        .trim()
        .parse()
        .expect("pid");
    let mut gone = false;
    for _ in 0..100 {
        if !alive(pid) {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(gone, "the timed-out hook's child {pid} must be killed");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_concurrent_cron_runs_do_not_duplicate() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("conc")?;
    let dir = scratch(&pool, "conc");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/a")])?;
    pool.zfs(&["create", &format!("{p}/a/b")])?;
    let conf = dir.join("zsync.conf");
    // A slow pre hook widens the window in which the two runs overlap.
    std::fs::write(
        &conf,
        format!(
            "[{p}/a]\n\trecursive = yes\n\thourly = 3\n\tdaily = 2\n\tmonthly = 0\n\
             \tpre_snapshot_script = sleep 2\n\tscript_timeout = 30\n"
        ),
    )
    .unwrap();
    let now = now0();
    let spawn = || {
        Command::new(bin())
            .args([
                "cron",
                "--lock-wait",
                "120",
                "--config",
                conf.to_str().unwrap(),
            ])
            .env("TZ", "UTC")
            .env("ZSYNC_NOW", now.timestamp().to_string())
            .env("ZSYNC_LOCK", dir.join("zsync.lock"))
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    for o in [&a, &b] {
        eprintln!(
            "{:?}\n{}{}",
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let created = |o: &Output| {
        text(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("created "))
            .count()
    };
    assert_eq!(
        created(&a) + created(&b),
        4,
        "exactly one run creates the 4 snapshots"
    );
    assert!(created(&a) == 0 || created(&b) == 0);
    let got = names(&pool)?;
    assert_eq!(got.len(), 4, "{got:?}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_bad_config_exits_2_and_changes_nothing() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("badconf")?;
    let dir = scratch(&pool, "bad");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/x")])?;
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!("[{p}/x]\n\thourly = 5\n\tmonthly_mday = 32\n"),
    )
    .unwrap();
    let o = zsync(&dir, None, &["cron", "--config", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:3:", conf.display())), "{err}");
    assert!(names(&pool)?.is_empty());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sanoid_symlink_takes_and_monitors() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("sanoid")?;
    let dir = scratch(&pool, "sanoid");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/d")])?;
    std::fs::write(
        dir.join("sanoid.conf"),
        format!("[{p}/d]\n\tuse_template = prod\n[template_prod]\n\thourly = 4\n\tdaily = 2\n\tmonthly = 0\n"),
    )
    .unwrap();
    let link = dir.join("sanoid");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(&link)
            .args(args)
            .env("TZ", "UTC")
            .env("ZSYNC_LOCK", dir.join("zsync.lock"))
            .output()
            .expect("run sanoid symlink");
        eprintln!(
            "$ sanoid {}\n{:?}\n{}{}",
            args.join(" "),
            o.status.code(),
            text(&o.stdout),
            text(&o.stderr)
        );
        o
    };
    let cfgdir = format!("--configdir={}", dir.display());
    // Before any snapshot, monitoring is CRITICAL.
    let o = run(&[&cfgdir, "--monitor-snapshots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).starts_with("CRIT"), "{}", text(&o.stdout));
    // --readonly changes nothing.
    let o = run(&[&cfgdir, "--take-snapshots", "--readonly"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(names(&pool)?.is_empty());
    // No action flag: --cron --verbose.
    let o = run(&[&cfgdir]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let got = names(&pool)?;
    assert_eq!(got.len(), 2, "{got:?}");
    let o = run(&[
        &cfgdir,
        "--monitor-snapshots",
        "--cache-dir=/nonexistent",
        "--force-update",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with("OK"), "{}", text(&o.stdout));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_recursive_zfs_takes_one_recursive_snapshot() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("reczfs")?;
    let dir = scratch(&pool, "reczfs");
    let p = pool.name();
    for ds in ["z", "z/a", "z/a/deep", "z/b"] {
        pool.zfs(&["create", &format!("{p}/{ds}")])?;
    }
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!(
            "[{p}/z]\n\trecursive = zfs\n\tfrequently = 0\n\thourly = 2\n\tdaily = 0\n\
             \tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n"
        ),
    )
    .unwrap();
    let t0 = now0();
    let o = zsync(
        &dir,
        Some(t0),
        &["snapshot", "--config", conf.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let snaps = snapshots(&pool)?;
    assert_eq!(
        snaps.len(),
        4,
        "the recursive snapshot covers every descendant: {snaps:?}"
    );
    let txgs: BTreeSet<u64> = snaps.iter().map(|(_, t)| *t).collect();
    assert_eq!(txgs.len(), 1, "one atomic recursive snapshot: {snaps:?}");
    // Children are pruned individually with the inherited counts: three runs an hour apart,
    // hourly = 2 leaves two per dataset.
    for k in 1..=3 {
        let now = t0 + ChronoDuration::hours(k) + ChronoDuration::hours(2);
        let o = zsync(
            &dir,
            Some(now),
            &["cron", "--config", conf.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let snaps = snapshots(&pool)?;
    for ds in ["z", "z/a", "z/a/deep", "z/b"] {
        let n = snaps
            .iter()
            .filter(|(name, _)| name.starts_with(&format!("{p}/{ds}@")))
            .count();
        assert_eq!(n, 2, "{ds}: {snaps:?}");
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_force_post_and_pruning_hooks() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("prunehooks")?;
    let dir = scratch(&pool, "prunehooks");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/d")])?;
    let t0 = now0();
    let h = |k: i64| format!("autosnap_{}_hourly", stamp(t0 + ChronoDuration::hours(k)));
    let d = dir.display();
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!(
            "[{p}/d]\n\tfrequently = 0\n\thourly = 1\n\tdaily = 0\n\tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n\
             \tpre_snapshot_script = exit 1\n\
             \tforce_post_snapshot_script = yes\n\
             \tpost_snapshot_script = echo \"$SANOID_PRE_FAILURE\" >> {d}/post.log\n\
             \tpre_pruning_script = test \"$SANOID_SNAPNAME\" != \"{veto}\"\n\
             \tpruning_script = echo \"$SANOID_SCRIPT $SANOID_TARGET $SANOID_SNAPNAME $SANOID_TYPES\" >> {d}/prune.log\n",
            veto = h(0)
        ),
    )
    .unwrap();
    for k in [0, 3, 4] {
        let o = zsync(
            &dir,
            Some(t0 + ChronoDuration::hours(k)),
            &["cron", "--config", conf.to_str().unwrap()],
        );
        // The failing pre script makes every run partial (exit 1); the snapshot is still taken
        // because no_inconsistent_snapshot is off.
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    }
    let post = std::fs::read_to_string(dir.join("post.log")).expect("post hook ran");
    assert_eq!(
        post, "1\n1\n1\n",
        "force_post_snapshot_script runs with SANOID_PRE_FAILURE=1"
    );
    // h0 is vetoed by pre_pruning_script every time; h3 is destroyed at the third run.
    let want: BTreeSet<String> = [h(0), h(4)].iter().map(|s| format!("{p}/d@{s}")).collect();
    assert_eq!(names(&pool)?, want);
    let log = std::fs::read_to_string(dir.join("prune.log")).expect("pruning hook ran");
    assert_eq!(log, format!("prune {p}/d {} hourly\n", h(3)));
    Ok(())
}
