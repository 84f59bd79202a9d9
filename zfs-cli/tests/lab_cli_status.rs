//! Lab tests (real ZFS in the lab VM): `zsync status`, `zsync metrics`, `zsync monitor lag` and
//! `zsync monitor health|capacity --host`, through the real binary.
//! Run with `cargo xtask lab test lab_cli_status`.
//!
//! The clock is injected (`ZSYNC_NOW`) relative to the snapshots' real `creation`, so lags are
//! exact.

use chrono::{DateTime, Utc};
use openmetrics_parser::{prometheus::parse_prometheus, PrometheusValue};
use std::path::Path;
use zsync_lab::ssh::BackupHost;
use zsync_lab::{LabError, TestPool};

mod common;
use common::{scratch, text, zsync};

type R = Result<(), LabError>;

fn at(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// `creation` of `snap`, Unix seconds.
fn creation(pool: &TestPool, snap: &str) -> Result<i64, LabError> {
    Ok(pool.get_u64("creation", snap)? as i64)
}

/// `zsync status --json` at `now` (exit code, parsed output).
fn status(dir: &Path, now: i64, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let jobs = dir.join("jobs.toml").to_string_lossy().into_owned();
    let state = dir.join("state").to_string_lossy().into_owned();
    let mut args = vec![
        "status",
        "--json",
        "--jobs-file",
        &jobs,
        "--state-dir",
        &state,
    ];
    args.extend_from_slice(extra);
    let o = zsync(dir, at(now), &args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("status JSON: {e}: {}", text(&o.stdout)));
    (o.status.code(), v)
}

/// `zsync monitor lag --job lag` at `now` with warn 1h, crit 2h: (exit code, line).
fn lag_check(dir: &Path, now: i64) -> (Option<i32>, String) {
    let jobs = dir.join("jobs.toml").to_string_lossy().into_owned();
    let o = zsync(
        dir,
        at(now),
        &[
            "monitor",
            "lag",
            "--jobs-file",
            &jobs,
            "--job",
            "lag",
            "--warn",
            "1h",
            "--crit",
            "2h",
        ],
    );
    (o.status.code(), text(&o.stdout).trim_end().to_owned())
}

fn sync(dir: &Path, src: &str, dst: &str) {
    let o = zsync(dir, None, &["sync", "--no-sync-snap", src, dst]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// Snapshots of `ds` whose name ends in `_TYPE`.
fn count(pool: &TestPool, ds: &str, kind: &str) -> Result<usize, LabError> {
    let suffix = format!("_{kind}");
    Ok(pool
        .snapshot_names(ds)?
        .iter()
        .filter(|n| n.ends_with(&suffix))
        .count())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_status_lag_grows_and_drops_monitor_lag_and_metrics() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("st-lag")?;
    let dir = scratch(&pool, "st", "lag");
    let (src, dst) = (pool.dataset("src"), pool.dataset("dst"));
    pool.zfs(&["create", &src])?;
    pool.write_file("src/a", b"first")?;
    // The daily first: the hourly (same second) is then the newest by createtxg.
    pool.zfs(&[
        "snapshot",
        &format!("{src}@autosnap_2026-01-01_00:00:00_daily"),
    ])?;
    let s1 = format!("{src}@autosnap_2026-01-01_00:00:00_hourly");
    pool.zfs(&["snapshot", &s1])?;
    // A second job whose target host refuses connections (port 1 of this machine).
    std::fs::write(
        dir.join("jobs.toml"),
        format!(
            "[[job]]\nname = \"lag\"\nsource = \"{src}\"\ntarget = \"{dst}\"\nno-sync-snap = true\n\n\
             [[job]]\nname = \"far\"\nsource = \"{src}\"\ntarget = \"root@127.0.0.1:1:{}\"\n\
             sshconfig = \"none\"\n",
            pool.dataset("far")
        ),
    )
    .unwrap();

    // Nothing replicated yet: the target does not exist, lag is CRIT.
    let c1 = creation(&pool, &s1)?;
    let (code, line) = lag_check(&dir, c1 + 60);
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.contains("does not exist") && line.contains(&dst),
        "{line}"
    );

    sync(&dir, &src, &dst);
    // status: lag = the injected now minus the newest common snapshot's creation; the
    // unreachable job says so naming its host, and the exit code is 1; no record yet.
    let (code, v) = status(&dir, c1 + 600, &[]);
    assert_eq!(code, Some(1), "{v}");
    let lag_job = &v["jobs"][0];
    assert_eq!(lag_job["name"], "lag");
    let d = &lag_job["pairs"][0]["datasets"][0];
    assert_eq!(d["lag_seconds"], 600, "{d}");
    assert_eq!(
        d["newest_common"]["name"],
        "autosnap_2026-01-01_00:00:00_hourly"
    );
    assert_eq!(d["source_counts"]["hourly"], 1);
    assert_eq!(d["target_counts"]["daily"], 1);
    assert!(v["last_run"].is_null());
    let far = &v["jobs"][1]["pairs"][0];
    assert!(
        far["error"].as_str().unwrap_or("").contains("127.0.0.1"),
        "{far}"
    );
    // Only the job that can be read: exit 0; the text says no run is recorded.
    let (code, _) = status(&dir, c1 + 600, &["lag"]);
    assert_eq!(code, Some(0));
    let jobs = dir.join("jobs.toml").to_string_lossy().into_owned();
    let state = dir.join("state");
    let state_s = state.to_string_lossy().into_owned();
    let o = zsync(
        &dir,
        at(c1 + 600),
        &[
            "status",
            "lag",
            "--jobs-file",
            &jobs,
            "--state-dir",
            &state_s,
        ],
    );
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with(&format!("no run recorded in {state_s}\n")),
        "{out}"
    );
    assert!(
        out.contains("    lag 10m (newest common autosnap_2026-01-01_00:00:00_hourly"),
        "{out}"
    );
    assert_eq!(lag_check(&dir, c1 + 600).0, Some(0));

    // New snapshots on the source, not replicated: the lag grows with the clock; WARN, then CRIT.
    pool.write_file("src/b", b"second")?;
    let s2 = format!("{src}@autosnap_2026-01-01_01:00:00_hourly");
    pool.zfs(&["snapshot", &s2])?;
    let c2 = creation(&pool, &s2)?;
    let (_, v) = status(&dir, c2 + 5400, &["lag"]);
    let d = &v["jobs"][0]["pairs"][0]["datasets"][0];
    assert_eq!(d["lag_seconds"], c2 + 5400 - c1, "{d}");
    assert_eq!(d["source_counts"]["hourly"], 2);
    assert_eq!(d["target_counts"]["hourly"], 1);
    assert_eq!(
        d["newest_by_type"]["hourly"]["name"],
        "autosnap_2026-01-01_01:00:00_hourly"
    );
    let (code, line) = lag_check(&dir, c1 + 5400);
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("WARN: job lag: ") && line.contains(&dst),
        "{line}"
    );
    let (code, line) = lag_check(&dir, c1 + 3 * 3600);
    assert_eq!(code, Some(2), "{line}");
    assert!(line.starts_with("CRIT: job lag: "), "{line}");

    // Replicated again: the lag drops to the age of the new common snapshot.
    sync(&dir, &src, &dst);
    let (_, v) = status(&dir, c2 + 120, &["lag"]);
    let d = &v["jobs"][0]["pairs"][0]["datasets"][0];
    assert_eq!(d["lag_seconds"], 120, "{d}");
    let (code, line) = lag_check(&dir, c2 + 120);
    assert_eq!(code, Some(0), "{line}");

    // A hand-written run record in the state dir shows in status.
    let record = serde_json::json!({
        "format": 1,
        "started": "2026-01-01T03:00:00Z",
        "seconds": 7.5,
        "result": "partial",
        "exit_code": 1,
        "jobs_file": jobs,
        "jobs_run": ["lag"],
        "snapshots": {"ran": false, "created": [], "destroyed": [], "failures": [], "result": "ok"},
        "jobs": [{
            "name": "lag", "result": "ok", "seconds": 2.0, "error": null,
            "datasets": [{
                "source": src, "target": dst, "outcome": "synced", "error": null,
                "bytes": 12345, "seconds": 1.25, "newest_common": null,
                "newest_common_created": null, "last_success": "2026-01-01T03:00:05Z"
            }],
            "prune": {"ran": false, "created": [], "destroyed": [], "failures": [], "result": "ok"}
        }],
        "pools": [],
        "problems": ["a warning"]
    });
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("last-run.json"),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();
    let (code, v) = status(&dir, c2 + 120, &["lag"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["last_run"]["result"], "partial");
    let d = &v["jobs"][0]["pairs"][0]["datasets"][0];
    assert_eq!(d["last_run"]["bytes"], 12345, "{d}");
    let o = zsync(
        &dir,
        at(c2 + 120),
        &[
            "status",
            "lag",
            "--jobs-file",
            &jobs,
            "--state-dir",
            &state_s,
        ],
    );
    let out = text(&o.stdout);
    assert!(
        out.starts_with("last run: 2026-01-01 03:00:00 UTC"),
        "{out}"
    );
    assert!(out.contains(", partial, 7.5 s, exit 1\n"), "{out}");
    assert!(out.contains("    last run: synced, "), "{out}");
    assert!(
        out.contains("; last success 2026-01-01 03:00:05 UTC\n"),
        "{out}"
    );

    // Metrics: the textfile parses; counts and lag match the pools.
    let o = zsync(
        &dir,
        at(c2 + 120),
        &[
            "metrics",
            "lag",
            "--jobs-file",
            &jobs,
            "--state-dir",
            &state_s,
            "--output",
            "-",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let exp = parse_prometheus(&text(&o.stdout)).expect("the textfile parses");
    let value = |name: &str, want: &[(&str, &str)]| -> f64 {
        let fam = exp.families.get(name).unwrap_or_else(|| panic!("{name}"));
        let hits: Vec<f64> = fam
            .iter_samples()
            .filter(|s| {
                let ls = s.get_labelset().unwrap();
                want.iter().all(|(k, v)| ls.get_label_value(k) == Some(*v))
            })
            .map(|s| match s.value {
                PrometheusValue::Gauge(ref g) => g.as_f64(),
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(hits.len(), 1, "{name} {want:?}");
        hits[0]
    };
    let ds = [
        ("job", "lag"),
        ("source", src.as_str()),
        ("target", dst.as_str()),
    ];
    assert_eq!(value("zsync_dataset_lag_seconds", &ds), 120.0);
    for (side, ds_name) in [("source", &src), ("target", &dst)] {
        for kind in ["hourly", "daily"] {
            let mut l = ds.to_vec();
            l.extend([("side", side), ("type", kind)]);
            assert_eq!(
                value("zsync_dataset_snapshots", &l),
                count(&pool, ds_name, kind)? as f64,
                "{side} {kind}"
            );
        }
    }
    assert_eq!(value("zsync_dataset_sent_bytes", &ds), 12345.0);
    assert_eq!(value("zsync_run_exit_code", &[]), 1.0);
    // Written atomically into the state dir by default.
    let o = zsync(
        &dir,
        at(c2 + 120),
        &[
            "metrics",
            "lag",
            "--jobs-file",
            &jobs,
            "--state-dir",
            &state_s,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let file = std::fs::read_to_string(state.join("zsync.prom")).unwrap();
    assert!(parse_prometheus(&file).is_ok(), "{file}");
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn lab_monitor_health_on_the_backup_host_names_it() -> R {
    zsync_lab::require_lab();
    let host = BackupHost::start("stmon")?;
    // Pools are kernel-global: the host's `zpool` sees this mirror.
    let mirror = TestPool::mirror("st-deg", 64 << 20)?;
    let local = TestPool::new("st-ok")?;
    let dir = scratch(&mirror, "st", "deg");
    let cfg = host.ssh_config_path().to_string_lossy().into_owned();
    let dest = format!("root@{}", host.name());
    let p = mirror.name();
    let remote = |check: &str| {
        let o = zsync(
            &dir,
            None,
            &[
                "monitor",
                check,
                "--host",
                &dest,
                "--sshconfig",
                &cfg,
                "--sshoption",
                "ConnectTimeout=5",
                "--pool",
                p,
            ],
        );
        (o.status.code(), text(&o.stdout).trim_end().to_owned())
    };
    let (code, line) = remote("health");
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line, format!("OK: {dest}: all pools ({p}) are healthy"));

    let second = mirror.files()[1].to_string_lossy().into_owned();
    mirror.zpool(&["offline", p, &second])?;
    // zsync's rule: a DEGRADED pool (a mirror with a device offline) is CRIT, on the right host.
    let (code, line) = remote("health");
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.starts_with(&format!("CRIT: {dest}: {p} is DEGRADED")) && line.contains("OFFLINE"),
        "{line}"
    );
    // At the same time, this machine's check of its own (healthy) pool is OK, line unchanged.
    std::fs::write(
        dir.join("zsync.conf"),
        format!("[{}]\n\thourly = 1\n", local.name()),
    )
    .unwrap();
    let conf = dir.join("zsync.conf").to_string_lossy().into_owned();
    let o = zsync(&dir, None, &["monitor", "health", "--config", &conf]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert_eq!(
        text(&o.stdout).trim_end(),
        format!("OK: all pools ({}) are healthy", local.name())
    );
    // Capacity on the host, and a pool it does not have: CRIT naming it.
    let (code, line) = remote("capacity");
    assert_eq!(code, Some(0), "{line}");
    assert!(line.starts_with(&format!("OK: {dest}: ")), "{line}");
    let o = zsync(
        &dir,
        None,
        &[
            "monitor",
            "health",
            "--host",
            &dest,
            "--sshconfig",
            &cfg,
            "--pool",
            "st-nosuchpool",
        ],
    );
    let line = text(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{line}");
    assert!(
        line.starts_with(&format!(
            "CRIT: {dest}: configured pool st-nosuchpool is not imported"
        )),
        "{line}"
    );
    // The host unreachable: UNKNOWN naming it.
    host.set_reachable(false)?;
    let (code, line) = remote("health");
    assert_eq!(code, Some(3), "{line}");
    assert!(line.starts_with(&format!("UNKNOWN: {dest}: ")), "{line}");
    host.set_reachable(true)?;
    mirror.zpool(&["online", p, &second])?;
    Ok(())
}
