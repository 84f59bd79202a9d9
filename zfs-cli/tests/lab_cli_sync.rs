//! Lab tests (real ZFS in the lab VM): `zsync plan | sync` and the `syncoid` drop-in through the
//! real binary. Run with `cargo xtask lab test lab_cli_`.

use chrono::Duration as ChronoDuration;
use std::path::{Path, PathBuf};
use std::process::Command;
use zsync_lab::{LabError, TestPool};

mod common;
use common::{bin, now0, scratch as scratch_in, text, zsync};

fn scratch(pool: &TestPool, tag: &str) -> PathBuf {
    scratch_in(pool, "clisync", tag)
}

fn write_conf(dir: &Path, p: &str) -> PathBuf {
    let conf = dir.join("zsync.conf");
    std::fs::write(
        &conf,
        format!(
            "[{p}/src]\n\trecursive = yes\n\tfrequently = 0\n\thourly = 24\n\tdaily = 0\n\
             \tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n"
        ),
    )
    .unwrap();
    conf
}

/// The snapshot guids the streams of `source` carried, as the in-transit check read them from the
/// BEGIN records (`checked` in the JSON report); every stream must have been checked and verified.
fn carried(report: &serde_json::Value, source: &str) -> Vec<String> {
    let d = report["datasets"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["source"] == source))
        .unwrap_or_else(|| panic!("{source} in {report}"));
    let mut guids = Vec::new();
    for st in d["steps"].as_array().unwrap() {
        let checked = st["checked"].as_array().cloned().unwrap_or_default();
        assert_eq!(Some(checked.len() as u64), st["streams"].as_u64(), "{st}");
        for c in &checked {
            assert_eq!(c["verified"], true, "{c}");
            for s in c["snapshots"].as_array().unwrap() {
                guids.push(s["guid"].as_str().unwrap().to_owned());
            }
        }
    }
    guids
}

fn guids_of(pool: &TestPool, ds: &str) -> Vec<String> {
    let snaps = pool.snapshots(ds).unwrap();
    snaps.into_iter().map(|(_, g)| g).collect()
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sync_snapshot_sync_snapshot_incremental_and_plan_matches() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("clisync")?;
    let dir = scratch(&pool, "inc");
    let p = pool.name().to_string();
    pool.zfs(&["create", &format!("{p}/src")])?;
    pool.zfs(&["create", &format!("{p}/src/child")])?;
    pool.zfs(&["create", "-s", "-V", "8M", &format!("{p}/src/vol")])?;
    pool.zfs(&["create", &format!("{p}/dst")])?;
    pool.write_file("src/child/a.txt", b"first")?;
    let conf = write_conf(&dir, &p);
    let conf_s = conf.to_str().unwrap();
    let (src, dst) = (format!("{p}/src"), format!("{p}/dst/src"));
    // Targets are received unmounted (`u`): mounting the received children creates their
    // mountpoint directories inside the mounted target parent, which then counts as "modified
    // since the most recent snapshot" and refuses the next incremental without `-F` (reported to
    // zfs-sync).

    // Snapshot through zsync, then the first (full) sync.
    let t0 = now0();
    let o = zsync(&dir, Some(t0), &["snapshot", "--config", conf_s]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let plan_args = ["plan", "-r", "--no-sync-snap", "--json", &src, &dst];
    let o = zsync(&dir, None, &plan_args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let planned: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    assert_eq!(
        planned["datasets"].as_array().map(Vec::len),
        Some(3),
        "{planned}"
    );
    for d in planned["datasets"].as_array().unwrap() {
        assert_eq!(d["decision"]["steps"][0]["step"], "full", "{d}");
    }
    assert!(
        pool.snapshot_guids(&format!("{p}/dst"))?.is_empty(),
        "plan changes nothing"
    );
    let o = zsync(
        &dir,
        None,
        &["sync", "-r", "--no-sync-snap", "--json", &src, &dst],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    assert_eq!(
        report["plan"], planned,
        "`zsync plan` must match what `zsync sync` did"
    );
    for ds in ["", "/child", "/vol"] {
        assert_eq!(
            pool.snapshot_guids(&format!("{src}{ds}"))?,
            pool.snapshot_guids(&format!("{dst}{ds}"))?,
            "guids of {ds}"
        );
        // The check in transit saw every snapshot that arrived, in order.
        assert_eq!(
            carried(&report, &format!("{src}{ds}")),
            guids_of(&pool, &format!("{dst}{ds}")),
            "{ds}"
        );
    }

    // New data, a later snapshot run (an hour on: the hourly is due again), incremental sync.
    pool.write_file("src/child/a.txt", b"second")?;
    let t1 = t0 + ChronoDuration::hours(1);
    let o = zsync(&dir, Some(t1), &["snapshot", "--config", conf_s]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = zsync(
        &dir,
        None,
        &["plan", "-r", "--no-sync-snap", "--json", &src, &dst],
    );
    assert_eq!(o.status.code(), Some(0));
    let planned: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    for d in planned["datasets"].as_array().unwrap() {
        assert_eq!(d["decision"]["steps"][0]["step"], "incremental", "{d}");
    }
    let o = zsync(
        &dir,
        None,
        &[
            "sync",
            "-r",
            "--no-sync-snap",
            "--json",
            "--debug",
            &src,
            &dst,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    assert_eq!(report["plan"], planned);
    for ds in ["", "/child", "/vol"] {
        let g = pool.snapshot_guids(&format!("{dst}{ds}"))?;
        assert_eq!(pool.snapshot_guids(&format!("{src}{ds}"))?, g);
        assert_eq!(g.len(), 2, "{ds}: {g:?}");
        let newest = guids_of(&pool, &format!("{dst}{ds}")).split_off(1);
        assert_eq!(carried(&report, &format!("{src}{ds}")), newest, "{ds}");
    }
    // --debug says what each stream carried.
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("zsync: debug: {src}/child: stream verified "))
            && err.contains(&format!("incremental {src}/child@")),
        "{err}"
    );
    pool.zfs(&["mount", &dst])?;
    pool.zfs(&["mount", &format!("{dst}/child")])?;
    assert_eq!(pool.read_file("dst/src/child/a.txt")?, b"second");

    // Human output: one result line per dataset; nothing left to do afterwards.
    let o = zsync(&dir, None, &["sync", "-r", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("up to date ")).count(),
        3,
        "{out}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sync_divergence_refused_then_rollback() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("clidiv")?;
    let dir = scratch(&pool, "div");
    let p = pool.name().to_string();
    let (src, dst) = (format!("{p}/src"), format!("{p}/dst"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["snapshot", &format!("{src}@one")])?;
    let o = zsync(&dir, None, &["sync", &src, &dst]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The default sync snapshot was taken and sent.
    let sg = pool.snapshot_guids(&src)?;
    assert!(sg.keys().any(|k| k.starts_with("zsync_default_")), "{sg:?}");
    assert_eq!(sg, pool.snapshot_guids(&dst)?);

    pool.zfs(&["snapshot", &format!("{src}@two")])?;
    pool.zfs(&["snapshot", &format!("{dst}@local")])?;
    let o = zsync(&dir, None, &["sync", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(2), "divergence must be refused");
    let out = text(&o.stdout) + &text(&o.stderr);
    assert!(
        out.contains("REFUSED") && out.contains(&format!("{dst}@local")),
        "{out}"
    );
    assert!(
        pool.snapshot_guids(&dst)?.contains_key("local"),
        "nothing discarded without --rollback"
    );

    let o = zsync(
        &dir,
        None,
        &["plan", "--no-sync-snap", "--rollback", &src, &dst],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).contains(&format!("DISCARDING {dst}@local")),
        "{}",
        text(&o.stdout)
    );
    let o = zsync(
        &dir,
        None,
        &["sync", "--no-sync-snap", "--rollback", &src, &dst],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let g = pool.snapshot_guids(&dst)?;
    assert!(!g.contains_key("local") && g.contains_key("two"), "{g:?}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_symlink_replicates() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("clisyncoid")?;
    let dir = scratch(&pool, "syncoid");
    let p = pool.name().to_string();
    let (src, dst) = (format!("{p}/src"), format!("{p}/copy"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["create", &format!("{src}/kid")])?;
    pool.zfs(&["snapshot", "-r", &format!("{src}@base")])?;
    let link = dir.join("syncoid");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let o = Command::new(&link)
        .args([
            "-r",
            "--no-sync-snap",
            "--compress=none",
            "--mbuffer-size=16M",
            &src,
            &dst,
        ])
        .output()
        .expect("run syncoid symlink");
    eprintln!(
        "{:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        pool.snapshot_guids(&format!("{src}/kid"))?,
        pool.snapshot_guids(&format!("{dst}/kid"))?
    );

    // With sync snapshots, as syncoid runs by default: syncoid's names, mounted replicas (syncoid
    // mounts), two incrementals in a row (recv -F as syncoid), only this host's older sync snapshot
    // pruned: `<host>2`'s survives (syncoid's prefix match would take it).
    let host = zsync_cli::args::resolve::hostname();
    let foreign = format!("syncoid_{host}2_2026-01-01:00:00:00-GMT00:00");
    pool.zfs(&["snapshot", &format!("{src}/kid@{foreign}")])?;
    let sync_snaps = |ds: &str| -> Vec<String> {
        pool.snapshot_guids(ds)
            .unwrap_or_default()
            .into_keys()
            .filter(|n| zfs_sync::is_syncoid_snapshot(n, &host))
            .collect()
    };
    let mut seen = Vec::new();
    for round in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let o = Command::new(&link)
            .args(["-r", &src, &dst])
            .output()
            .expect("run syncoid symlink");
        let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(0), "round {round}: {out}");
        let src_sync = sync_snaps(&format!("{src}/kid"));
        assert_eq!(src_sync.len(), 1, "round {round}: {src_sync:?}");
        assert_eq!(sync_snaps(&format!("{dst}/kid")), src_sync, "round {round}");
        assert!(
            !seen.contains(&src_sync[0]),
            "round {round}: not a new sync snapshot"
        );
        seen.push(src_sync[0].clone());
        let mounted = pool.get("mounted", &format!("{dst}/kid"))?;
        assert_eq!(mounted, "yes", "syncoid mode mounts what it receives");
    }
    assert!(
        pool.snapshot_guids(&format!("{src}/kid"))?
            .contains_key(&foreign),
        "another host's sync snapshot was pruned"
    );
    // A remote endpoint that does not resolve fails naming the host.
    let o = Command::new(&link)
        .args(["root@elsewhere.invalid:tank", &dst])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("root@elsewhere.invalid: cannot reach"));
    Ok(())
}

/// On a terminal (`script` gives zsync a pty) the progress line is redrawn in place against the
/// `zfs send -nP` estimate and erased before the result line; `--no-progress` leaves no trace of it.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_sync_progress_line_on_a_terminal() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("cliprog")?;
    let dir = scratch(&pool, "prog");
    let (src, dst) = (pool.dataset("src"), pool.dataset("dst"));
    pool.zfs(&["create", &src])?;
    pool.write_file("src/big", &zsync_lab::data::pattern(6 << 20, 9))?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let on_terminal = |extra: &[&str], log: &str| -> String {
        let bin = bin().to_string_lossy().into_owned();
        let mut argv = vec![
            bin.as_str(),
            "sync",
            "--no-sync-snap",
            "--source-bwlimit=3M",
        ];
        argv.extend_from_slice(extra);
        argv.extend([src.as_str(), dst.as_str()]);
        let log = dir.join(log);
        let o = Command::new("script")
            .args(["-qfec", &zfs_core::quote::join(&argv)])
            .arg(&log)
            .env("TZ", "UTC")
            .env("ZSYNC_LOCK", dir.join("zsync.lock"))
            .env("COLUMNS", "200")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run script(1)");
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(o.status.code(), Some(0), "{out}");
        out
    };
    let out = on_terminal(&[], "first.log");
    assert!(
        out.contains(&format!("\r\x1b[K{src}@s1: ")) && out.contains(" of 6."),
        "{out:?}"
    );
    assert!(
        out.contains(&format!("\r\x1b[Ksynced {src} -> {dst} (1 step")),
        "the line is erased before the result: {out:?}"
    );
    pool.write_file("src/more", &zsync_lab::data::pattern(3 << 20, 10))?;
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    let out = on_terminal(&["--no-progress"], "second.log");
    assert!(!out.contains("\x1b[K"), "{out:?}");
    assert!(
        out.contains(&format!("synced {src} -> {dst} (1 step")),
        "{out:?}"
    );
    assert_eq!(pool.snapshot_guids(&dst)?, pool.snapshot_guids(&src)?);
    Ok(())
}
