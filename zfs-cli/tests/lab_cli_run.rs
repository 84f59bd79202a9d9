//! Lab tests (real ZFS in the lab VM): `zsync run` over a job file — snapshots by sanoid.conf,
//! two jobs, a failing dataset the others survive, `on_failure`, target retention that keeps the
//! newest common snapshot, the run record, and the run lock. Run with
//! `cargo xtask lab test lab_cli_run`.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::path::{Path, PathBuf};
use std::process::Output;
use zsync_lab::{LabError, TestPool};

mod common;
use common::{now0, scratch, text, zsync_cmd};

/// `zsync run` with the test's job file, sanoid.conf, state dir and locks in `dir`.
fn run(dir: &Path, now: DateTime<Utc>, extra: &[&str]) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    let o = zsync_cmd(dir, Some(now), &args)
        .env("ZSYNC_JOBS", dir.join("jobs.toml"))
        .env("ZSYNC_CONFIG", dir.join("sanoid.conf"))
        .env("ZSYNC_STATE_DIR", dir.join("state"))
        .env("ZSYNC_RUN_LOCK", dir.join("run.lock"))
        .output()
        .expect("run zsync");
    eprintln!(
        "$ zsync {}\n-> {:?}\n{}{}",
        args.join(" "),
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

fn record(dir: &Path) -> serde_json::Value {
    let path = dir.join("state/last-run.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The dataset records of `job` in a run record.
fn datasets<'a>(rec: &'a serde_json::Value, job: &str) -> Vec<&'a serde_json::Value> {
    rec["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == job)
        .unwrap_or_else(|| panic!("job {job} in {rec}"))["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn outcome_of<'a>(rec: &'a serde_json::Value, job: &str, target: &str) -> &'a str {
    datasets(rec, job)
        .into_iter()
        .find(|d| d["target"] == target)
        .unwrap_or_else(|| panic!("{target} in {rec}"))["outcome"]
        .as_str()
        .unwrap()
}

fn setup(pool: &TestPool, dir: &Path) -> Result<(), LabError> {
    let p = pool.name();
    for ds in ["vms", "vms/a", "vms/b", "home", "backup"] {
        pool.zfs(&["create", &format!("{p}/{ds}")])?;
    }
    pool.zfs(&["create", "-s", "-V", "4M", &format!("{p}/vms/vol")])?;
    pool.write_file("vms/a/disk", b"disk a")?;
    pool.write_file("home/notes", b"notes")?;
    std::fs::write(
        dir.join("sanoid.conf"),
        format!(
            "[template_t]\n\tfrequently = 0\n\thourly = 48\n\tdaily = 7\n\tweekly = 0\n\
             \tmonthly = 0\n\tyearly = 0\n\tautosnap = yes\n\tautoprune = yes\n\n\
             [{p}/vms]\n\tuse_template = t\n\trecursive = yes\n\n\
             [{p}/home]\n\tuse_template = t\n"
        ),
    )
    .unwrap();
    let notify = |name: &str| {
        format!(
            "[\"sh\", \"-c\", \"cat > {d}/{name}.json; env | grep ^ZSYNC_ | sort > {d}/{name}.env\"]",
            d = dir.display()
        )
    };
    std::fs::write(
        dir.join("jobs.toml"),
        format!(
            "on_failure = {file_wide}\n\n\
             [[job]]\nname = \"vms\"\nsource = \"{p}/vms\"\ntarget = \"{p}/backup/vms\"\n\
             recursive = true\nno-sync-snap = true\non_failure = {vms}\n\n\
             [[job]]\nname = \"home\"\nsource = [\"{p}/home\"]\ntarget = \"{p}/backup/home\"\n\
             no-sync-snap = true\n\n\
             [job.retention]\nhourly = 0\ndaily = 0\n",
            file_wide = notify("file-wide"),
            vms = notify("vms"),
        ),
    )
    .unwrap();
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_run_two_jobs_a_failing_dataset_and_on_failure() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("clirun")?;
    let dir: PathBuf = scratch(&pool, "clirun", "jobs");
    let p = pool.name().to_string();
    setup(&pool, &dir)?;

    // First run: snapshots taken, both jobs replicate in full, nothing fails.
    let t0 = now0();
    let o = run(&dir, t0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.lines().any(|l| l.starts_with("zsync run: ok in ")),
        "{out}"
    );
    let rec = record(&dir);
    assert_eq!(rec["result"], "ok");
    assert_eq!(rec["exit_code"], 0);
    assert_eq!(rec["jobs_run"], serde_json::json!(["vms", "home"]));
    assert!(!rec["snapshots"]["created"].as_array().unwrap().is_empty());
    for t in ["vms", "vms/a", "vms/b", "vms/vol"] {
        let target = format!("{p}/backup/{t}");
        assert_eq!(outcome_of(&rec, "vms", &target), "synced", "{rec}");
        let src = pool.snapshot_guids(&format!("{p}/{t}"))?;
        assert_eq!(pool.snapshot_guids(&target)?, src, "{target}");
    }
    assert_eq!(
        outcome_of(&rec, "home", &format!("{p}/backup/home")),
        "synced"
    );
    assert!(!dir.join("vms.json").exists() && !dir.join("file-wide.json").exists());
    let last_success = datasets(&rec, "home")[0]["last_success"].clone();
    assert!(last_success.is_string(), "{rec}");
    // The newest common snapshot is recorded; the pool involved was checked; metrics written.
    assert!(
        datasets(&rec, "home")[0]["newest_common"].is_string(),
        "{rec}"
    );
    let pools = rec["pools"].as_array().unwrap();
    let ours = pools
        .iter()
        .find(|x| x["pool"] == p.as_str())
        .unwrap_or_else(|| panic!("{rec}"));
    assert_eq!(
        (ours["host"].as_str(), ours["state"].as_str()),
        (Some("localhost"), Some("ok"))
    );
    let prom = std::fs::read_to_string(dir.join("state/zsync.prom")).unwrap();
    assert!(prom.contains("zsync_dataset_lag_seconds{"), "{prom}");
    assert!(prom.contains("zsync_run_exit_code 0"), "{prom}");

    // The restore drill of a job: each dataset's newest common snapshot cloned on the target,
    // verified against the source, the clone destroyed.
    let o = zsync_cmd(&dir, None, &["drill", "vms", "--json"])
        .env("ZSYNC_JOBS", dir.join("jobs.toml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let drill: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let drilled = drill["datasets"].as_array().unwrap();
    assert_eq!(drilled.len(), 4, "{drill}");
    for d in drilled {
        assert_eq!(d["verdict"]["equal"], true, "{d}");
        assert!(
            d["restored"]["dataset"]
                .as_str()
                .unwrap()
                .contains("-zsync-drill-"),
            "{d}"
        );
    }
    let vol = drilled
        .iter()
        .find(|d| d["target"].as_str().unwrap().contains("backup/vms/vol@"))
        .unwrap();
    assert!(
        vol["restored"]["device"]
            .as_str()
            .unwrap()
            .starts_with("/dev/zvol/"),
        "{vol}"
    );
    let left = pool.zfs(&["list", "-H", "-o", "name", "-r", &p])?;
    assert!(
        !left.contains("zsync-drill") && !left.contains("zsync-verify"),
        "{left}"
    );

    // vms/b's backup diverges (a snapshot only the target has): the next run refuses it, the
    // other datasets replicate, the job's on_failure receives the record and the facts.
    pool.zfs(&["snapshot", &format!("{p}/backup/vms/b@local-change")])?;
    pool.write_file("vms/a/disk", b"disk a, changed")?;
    let t1 = t0 + ChronoDuration::hours(1);
    let o = run(&dir, t1, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let rec = record(&dir);
    assert_eq!(rec["result"], "failed");
    assert_eq!(
        outcome_of(&rec, "vms", &format!("{p}/backup/vms/b")),
        "refused"
    );
    assert_eq!(
        outcome_of(&rec, "vms", &format!("{p}/backup/vms/a")),
        "synced"
    );
    assert_eq!(
        outcome_of(&rec, "home", &format!("{p}/backup/home")),
        "synced"
    );
    assert_eq!(
        pool.snapshot_guids(&format!("{p}/backup/vms/a"))?,
        pool.snapshot_guids(&format!("{p}/vms/a"))?
    );
    assert!(
        pool.exists(&format!("{p}/backup/vms/b@local-change")),
        "never destroyed"
    );
    let jobs = rec["jobs"].as_array().unwrap();
    assert_eq!(
        (jobs[0]["result"].as_str(), jobs[1]["result"].as_str()),
        (Some("failed"), Some("ok"))
    );
    let problems = rec["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|l| l.as_str().unwrap().contains(&format!("{p}/backup/vms/b"))),
        "{rec}"
    );

    let told: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("vms.json")).unwrap()).unwrap();
    assert_eq!(told["result"], "failed");
    assert_eq!(
        outcome_of(&told, "vms", &format!("{p}/backup/vms/b")),
        "refused"
    );
    let env = std::fs::read_to_string(dir.join("vms.env")).unwrap();
    for line in [
        "ZSYNC_JOB=vms".to_string(),
        "ZSYNC_RESULT=failed".to_string(),
        "ZSYNC_EXIT_CODE=2".to_string(),
        "ZSYNC_FAILED_JOBS=vms".to_string(),
        format!("ZSYNC_FAILED_DATASETS={p}/vms/b -> {p}/backup/vms/b"),
        format!("ZSYNC_RECORD={}", dir.join("state/last-run.json").display()),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in\n{env}");
    }
    // The job had its own command, and nothing else failed: the file-wide one stays silent.
    assert!(!dir.join("file-wide.json").exists());
    // The dataset that failed keeps the time of its last success; the others moved on.
    let b = datasets(&rec, "vms")
        .into_iter()
        .find(|d| d["target"] == format!("{p}/backup/vms/b"))
        .unwrap();
    assert!(b["last_success"].is_string(), "{b}");
    assert_ne!(datasets(&rec, "home")[0]["last_success"], last_success);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_run_target_retention_keeps_the_newest_common_and_the_lock_serialises(
) -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("clirunret")?;
    let dir: PathBuf = scratch(&pool, "clirun", "ret");
    let p = pool.name().to_string();
    setup(&pool, &dir)?;
    let t0 = now0();
    for h in 0..3 {
        let o = run(&dir, t0 + ChronoDuration::hours(h), &["home", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        // --json: the record itself on stdout.
        let rec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(rec["jobs_run"], serde_json::json!(["home"]));
    }
    // The source keeps its hourlies by sanoid.conf; the target's retention (hourly = 0,
    // daily = 0) would destroy every one, but the newest both share is kept.
    let src = pool.snapshot_names(&format!("{p}/home"))?;
    assert!(src.len() >= 3, "{src:?}");
    let kept = pool.snapshot_guids(&format!("{p}/backup/home"))?;
    let newest = src.last().unwrap();
    assert_eq!(kept.keys().collect::<Vec<_>>(), vec![newest], "{kept:?}");
    let rec = record(&dir);
    assert!(
        !rec["jobs"][0]["prune"]["destroyed"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{rec}"
    );

    // A second run while one holds the lock: exit 75 after the wait, nothing changed.
    let lock = dir.join("run.lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = pool.snapshot_names(&format!("{p}/home"));
    let o = run(&dir, t0 + ChronoDuration::hours(5), &["--lock-wait", "1"]);
    let _ = holder.kill();
    let _ = holder.wait();
    let before = before?;
    assert_eq!(o.status.code(), Some(75), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("run.lock"), "{}", text(&o.stderr));
    assert_eq!(pool.snapshot_names(&format!("{p}/home"))?, before);

    // Bad input: an unknown job is named, exit 2, nothing created.
    let o = run(&dir, t0 + ChronoDuration::hours(6), &["nosuchjob"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no job named 'nosuchjob' (jobs: vms, home)"));
    assert_eq!(pool.snapshot_names(&format!("{p}/home"))?, before);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_run_over_ssh_prunes_the_backup_checks_its_pools_and_drills() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("clirunssh")?;
    let bk = TestPool::new("clirunbk")?;
    let host = zsync_lab::ssh::BackupHost::start("runbk")?;
    let dir: PathBuf = scratch(&local, "clirun", "ssh");
    let files = zsync_lab::ssh::client_files(&[&host], &dir.join("client"))?;
    let p = local.name().to_string();
    let b = bk.name().to_string();
    for ds in ["vms", "vms/a"] {
        local.zfs(&["create", &format!("{p}/{ds}")])?;
    }
    local.zfs(&["create", "-s", "-V", "4M", &format!("{p}/vms/vol")])?;
    local.write_file("vms/a/disk", b"disk a")?;
    bk.zfs(&["create", &format!("{b}/backup")])?;
    std::fs::write(
        dir.join("sanoid.conf"),
        format!(
            "[{p}/vms]\n\trecursive = yes\n\tfrequently = 0\n\thourly = 48\n\tdaily = 7\n\
             \tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("jobs.toml"),
        format!(
            "[[job]]\nname = \"vms\"\nsource = \"{p}/vms\"\n\
             target = \"root@{host}:{b}/backup/vms\"\nrecursive = true\nno-sync-snap = true\n\
             sshconfig = \"{cfg}\"\n\n[job.retention]\nhourly = 0\ndaily = 0\n",
            host = host.name(),
            cfg = files.config.display(),
        ),
    )
    .unwrap();
    let t0 = now0();
    for h in 0..2 {
        let o = run(&dir, t0 + ChronoDuration::hours(h), &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let rec = record(&dir);
    let remote_target = format!("root@{}:{b}/backup/vms/a", host.name());
    assert_eq!(outcome_of(&rec, "vms", &remote_target), "synced", "{rec}");
    // Pruned on the backup host by the job's retention, down to the newest common snapshot.
    for ds in ["", "/a", "/vol"] {
        let src = local.snapshot_names(&format!("{p}/vms{ds}"))?;
        let kept = bk.snapshot_names(&format!("{b}/backup/vms{ds}"))?;
        assert_eq!(kept, vec![src.last().unwrap().clone()], "{ds}");
    }
    // Both hosts' pools were checked, each under its own host.
    let pools = rec["pools"].as_array().unwrap();
    let on = |host_is_local: bool, pool: &str| {
        pools.iter().any(|x| {
            x["pool"] == pool && (x["host"] == "localhost") == host_is_local && x["state"] == "ok"
        })
    };
    assert!(on(true, &p) && on(false, &b), "{rec}");

    // The drill over SSH: the backup host runs zsync for its side.
    let there = common::bin().display().to_string();
    let o = zsync_cmd(&dir, None, &["drill", "vms", "--remote-zsync", &there])
        .env("ZSYNC_JOBS", dir.join("jobs.toml"))
        .output()
        .unwrap();
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        3,
        "{out}"
    );
    assert!(
        out.contains("3 of 3 datasets restored and verified equal"),
        "{out}"
    );
    let left = bk.zfs(&["list", "-H", "-o", "name", "-r", &b])?;
    assert!(
        !left.contains("zsync-drill") && !left.contains("zsync-verify"),
        "{left}"
    );
    Ok(())
}
