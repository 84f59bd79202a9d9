//! Lab tests (real ZFS in the lab VM): the sanoid personality behaves as sanoid where a user who
//! swaps the binaries would notice (issue 14). Run with `cargo xtask lab test lab_cli_sanoid_compat`.

use chrono::Duration as ChronoDuration;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use zsync_lab::{LabError, TestPool};

mod common;
use common::{now0, scratch, text, zsync};

/// Writes `conf` as `DIR/sanoid.conf`; returns `--configdir=DIR`.
fn sanoid_conf(dir: &Path, conf: &str) -> String {
    std::fs::write(dir.join("sanoid.conf"), conf).unwrap();
    format!("--configdir={}", dir.display())
}

fn snapshot_names(pool: &TestPool, ds: &str) -> Result<Vec<String>, LabError> {
    pool.snapshot_names(ds)
}

/// `yearly = 0` destroys every yearly (sanoid's rule), also the newest; a held one stays and the
/// run says why on stderr.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sanoid_count_zero_destroys_all_but_held() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("cnt0")?;
    let dir = scratch(&pool, "sanoid", "cnt0");
    let p = pool.name();
    let ds = format!("{p}/d");
    pool.zfs(&["create", &ds])?;
    let y = |year: u32| format!("{ds}@autosnap_{year}-01-01_00:00:00_yearly");
    for year in [2023, 2024, 2025] {
        pool.zfs(&["snapshot", &y(year)])?;
    }
    // The oldest is held (as `syncoid --use-hold` holds a replication base).
    pool.zfs(&["hold", "syncoid_test", &y(2023)])?;
    let cfg = sanoid_conf(
        &dir,
        &format!(
            "[{ds}]\n\tfrequently = 0\n\thourly = 0\n\tdaily = 0\n\tweekly = 0\n\tmonthly = 0\n\
             \tyearly = 0\n\tautosnap = no\n\tautoprune = yes\n"
        ),
    );
    let now = now0() + ChronoDuration::hours(1);
    let o = zsync(&dir, Some(now), &["sanoid", &cfg, "--prune-snapshots"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let left = snapshot_names(&pool, &ds)?;
    assert_eq!(
        left,
        vec![y(2023).split('@').nth(1).unwrap().to_string()],
        "yearly = 0 leaves only the held yearly"
    );
    let err = text(&o.stderr);
    assert!(
        err.contains(&y(2023)) && err.contains("yearly = 0") && err.contains("held"),
        "the kept held yearly is said: {err}"
    );
    pool.zfs(&["release", "syncoid_test", &y(2023)])?;
    Ok(())
}

/// `zsync ... | head -1` (stdout closed early) in a real sanoid-mode run: no panic (exit 101),
/// and the run finishes: every due snapshot is taken.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sanoid_closed_stdout_finishes_the_run() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("epipe")?;
    let dir = scratch(&pool, "sanoid", "epipe");
    let p = pool.name();
    let mut conf = String::new();
    for k in 0..12 {
        let ds = format!("{p}/d{k}");
        pool.zfs(&["create", &ds])?;
        conf.push_str(&format!(
            "[{ds}]\n\tfrequently = 0\n\thourly = 2\n\tdaily = 2\n\tweekly = 0\n\tmonthly = 2\n\
             \tyearly = 0\n"
        ));
    }
    let cfg = sanoid_conf(&dir, &conf);
    let bin: PathBuf = common::bin();
    // stdout is a pipe whose reader is gone before the run writes anything.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o: Output = Command::new(&bin)
        .args(["sanoid", &cfg, "--cron", "--verbose"])
        .env("TZ", "UTC")
        .env("ZSYNC_LOCK", dir.join("zsync.lock"))
        .env_remove("ZSYNC_NOW")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run zsync");
    let err = text(&o.stderr);
    eprintln!("-> {:?}\n{err}", o.status.code());
    assert_ne!(o.status.code(), Some(101), "panicked: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "{err}");
    for k in 0..12 {
        let n = snapshot_names(&pool, &format!("{p}/d{k}"))?;
        assert_eq!(n.len(), 3, "d{k}: hourly, daily, monthly taken: {n:?}");
    }
    Ok(())
}

/// `syncoid -r ... | head -0` and `zsync sync -r ... | head -0`: with stdout's reader gone before the
/// run prints anything, a recursive sync neither panics nor stops half-way: exit 0 and every dataset
/// replicated.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sync_closed_stdout_finishes_the_run() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("epipes")?;
    let dir = scratch(&pool, "sync", "epipe");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/src")])?;
    for k in 0..6 {
        pool.zfs(&["create", &format!("{p}/src/d{k}")])?;
    }
    pool.zfs(&["snapshot", "-r", &format!("{p}/src@s1")])?;
    let bin: PathBuf = common::bin();
    for (personality, target) in [("syncoid", "bk-syncoid"), ("sync", "bk-zsync")] {
        let dst = format!("{p}/{target}");
        let src = format!("{p}/src");
        let args: Vec<&str> = match personality {
            "syncoid" => vec!["syncoid", "-r", "--debug", &src, &dst],
            _ => vec!["sync", "-r", "--debug", &src, &dst],
        };
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let o: Output = Command::new(&bin)
            .args(&args)
            .env("ZSYNC_LOCK", dir.join("zsync.lock"))
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .expect("run zsync");
        let err = text(&o.stderr);
        assert_ne!(o.status.code(), Some(101), "{personality} panicked: {err}");
        assert!(!err.contains("panicked"), "{personality}: {err}");
        assert_eq!(o.status.code(), Some(0), "{personality}: {err}");
        for k in 0..6 {
            let n = snapshot_names(&pool, &format!("{dst}/d{k}"))?;
            assert!(
                n.contains(&"s1".to_string()),
                "{personality}: {dst}/d{k}: {n:?}"
            );
        }
    }
    Ok(())
}

/// sanoid mode prints nothing at normal verbosity (a MAILTO crontab stays quiet), and sanoid's
/// lines under --verbose.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sanoid_verbosity_and_wording() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("sverb")?;
    let dir = scratch(&pool, "sanoid", "sverb");
    let p = pool.name();
    let ds = format!("{p}/d");
    pool.zfs(&["create", &ds])?;
    let cfg = sanoid_conf(
        &dir,
        &format!(
            "[{ds}]\n\tfrequently = 0\n\thourly = 1\n\tdaily = 0\n\tweekly = 0\n\tmonthly = 0\n\
             \tyearly = 0\n"
        ),
    );
    let t0 = now0() + ChronoDuration::hours(1);
    let o = zsync(&dir, Some(t0), &["sanoid", &cfg, "--cron"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "", "sanoid --cron is silent");
    assert_eq!(text(&o.stderr), "");
    let first = snapshot_names(&pool, &ds)?;
    assert_eq!(first.len(), 1, "{first:?}");
    // Three hours later: a new hourly is taken and the old one pruned (hourly = 1).
    let t1 = t0 + ChronoDuration::hours(3);
    let o = zsync(&dir, Some(t1), &["sanoid", &cfg, "--cron", "--verbose"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let now_snaps = snapshot_names(&pool, &ds)?;
    assert_eq!(now_snaps.len(), 1, "{now_snaps:?}");
    let want = [
        "INFO: taking snapshots...".to_string(),
        format!("taking snapshot {ds}@{}", now_snaps[0]),
        "INFO: pruning snapshots...".to_string(),
        format!("INFO: pruning {ds}@{} ... ", first[0]),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, want, "{out}");
    Ok(())
}

/// `zsync config show` over real ZFS expands a recursive section over the children ZFS lists;
/// `sanoid --debug` prints the same dump and takes nothing.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_config_show_expands_recursive_children() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("cshow")?;
    let dir = scratch(&pool, "sanoid", "cshow");
    let p = pool.name();
    pool.zfs(&["create", &format!("{p}/a")])?;
    pool.zfs(&["create", &format!("{p}/a/b")])?;
    let cfg = sanoid_conf(
        &dir,
        &format!("[{p}/a]\n\tuse_template = t\n\trecursive = yes\n[template_t]\n\thourly = 7\n"),
    );
    let conf = dir.join("sanoid.conf");
    let o = zsync(
        &dir,
        None,
        &["config", "show", "-c", conf.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let t = text(&o.stdout);
    assert!(!t.contains("ZFS not listed"), "{t}");
    let child = t
        .split(&format!("\n[{p}/a/b]\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no [{p}/a/b] block: {t}"));
    assert!(child.contains(&format!("inherited from [{p}/a]")), "{t}");
    assert!(child.contains("\thourly = 7\n"), "{t}");
    let o = zsync(&dir, None, &["sanoid", &cfg, "--debug"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(&format!("\n[{p}/a/b]\n")));
    assert!(
        snapshot_names(&pool, &format!("{p}/a"))?.is_empty(),
        "--debug alone takes nothing"
    );
    Ok(())
}

/// Snapshot scripts run in sanoid's order, one dataset after the other: pre a → snapshot a →
/// post a → pre b → ...; at its post script a dataset's snapshot exists, at its pre script not.
/// A dataset without scripts is still taken (in the pool's atomic batch).
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sanoid_snapshot_scripts_run_per_dataset() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("scripts")?;
    let dir = scratch(&pool, "sanoid", "scripts");
    let p = pool.name();
    for d in ["a", "b", "plain"] {
        pool.zfs(&["create", &format!("{p}/{d}")])?;
    }
    let log = dir.join("order.log");
    let l = log.display();
    // Each script logs its kind, its dataset and whether the snapshot exists yet.
    let script = |kind: &str| {
        format!(
            "echo {kind} $SANOID_TARGET $(zfs list -H -o name \"$SANOID_TARGET@$SANOID_SNAPNAME\" \
             >/dev/null 2>&1 && echo has || echo none) >> {l}"
        )
    };
    let mut conf = String::new();
    for d in ["a", "b"] {
        conf.push_str(&format!(
            "[{p}/{d}]\n\tuse_template = t\n\tpre_snapshot_script = {}\n\tpost_snapshot_script = {}\n",
            script("pre"),
            script("post")
        ));
    }
    conf.push_str(&format!(
        "[{p}/plain]\n\tuse_template = t\n[template_t]\n\tfrequently = 0\n\thourly = 1\n\
         \tdaily = 0\n\tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n"
    ));
    let cfg = sanoid_conf(&dir, &conf);
    let o = zsync(&dir, None, &["sanoid", &cfg, "--take-snapshots"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let got = std::fs::read_to_string(&log).expect("scripts ran");
    let want = format!("pre {p}/a none\npost {p}/a has\npre {p}/b none\npost {p}/b has\n");
    assert_eq!(got, want);
    for d in ["a", "b", "plain"] {
        assert_eq!(snapshot_names(&pool, &format!("{p}/{d}"))?.len(), 1, "{d}");
    }
    Ok(())
}
