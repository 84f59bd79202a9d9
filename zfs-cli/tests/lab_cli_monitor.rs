//! Lab tests (real ZFS in the lab VM): pool health and capacity monitoring (`zsync monitor health
//! capacity`, `sanoid --monitor-health/--monitor-capacity`) and `prune_defer`, through the real binary.
//! Run with `cargo xtask lab test lab_cli_monitor`.
//!
//! Each config names only its own test pool, so pools of tests running in parallel are not checked.

use chrono::Duration as ChronoDuration;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use zsync_lab::data::pattern;
use zsync_lab::{LabError, TestPool};

mod common;
use common::{now0, scratch as scratch_in, text, zsync};

const POOL_SIZE: u64 = 64 << 20;

fn scratch(pool: &TestPool, tag: &str) -> PathBuf {
    scratch_in(pool, "mon", tag)
}

/// Writes `conf` as both `zsync.conf` and `sanoid.conf` in `dir`; returns the zsync.conf path.
fn config(dir: &Path, conf: &str) -> String {
    std::fs::write(dir.join("zsync.conf"), conf).unwrap();
    std::fs::write(dir.join("sanoid.conf"), conf).unwrap();
    dir.join("zsync.conf").to_string_lossy().into_owned()
}

/// Runs `zsync monitor CHECK --config CONF`; returns (exit code, stdout line).
fn monitor(dir: &Path, check: &str) -> (Option<i32>, String) {
    let conf = dir.join("zsync.conf").to_string_lossy().into_owned();
    let o = zsync(dir, None, &["monitor", check, "--config", &conf]);
    (o.status.code(), text(&o.stdout).trim_end().to_owned())
}

/// Runs `zsync sanoid --configdir DIR --monitor-CHECK` (sanoid's own line format); returns (exit
/// code, stdout without its newline: sanoid's health line keeps a trailing blank).
fn sanoid_monitor(dir: &Path, check: &str) -> (Option<i32>, String) {
    let cfgdir = format!("--configdir={}", dir.display());
    let flag = format!("--monitor-{check}");
    let s = zsync(dir, None, &["sanoid", &cfgdir, &flag]);
    let out = text(&s.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    (s.status.code(), out.trim_end_matches('\n').to_owned())
}

/// sanoid's `{Size:… Free:… Cap:…}` for `pool`, from `zpool list` (human-readable).
fn size_free_cap(pool: &TestPool) -> Result<String, LabError> {
    let out = pool.zpool(&["list", "-H", "-o", "size,free,cap", pool.name()])?;
    let f: Vec<&str> = out.trim().split('\t').collect();
    Ok(format!("{{Size:{} Free:{} Cap:{}}}", f[0], f[1], f[2]))
}

/// Runs `sanoid --monitor-health` and checks its line against `want(figures)`. Free space can move
/// by a txg while the line is made, so the figures read just before or just after it both match.
fn sanoid_health(
    pool: &TestPool,
    dir: &Path,
    code: i32,
    want: impl Fn(&str) -> String,
) -> Result<(), LabError> {
    pool.zpool(&["sync", pool.name()])?;
    let before = size_free_cap(pool)?;
    let (got, line) = sanoid_monitor(dir, "health");
    let after = size_free_cap(pool)?;
    assert_eq!(got, Some(code), "{line}");
    assert!(
        line == want(&before) || line == want(&after),
        "{line}\nwanted: {}",
        want(&after)
    );
    Ok(())
}

fn capacity(pool: &TestPool) -> Result<u8, LabError> {
    let out = pool.zpool(&["list", "-Hp", "-o", "capacity", pool.name()])?;
    Ok(out.trim().trim_end_matches('%').parse().expect("capacity"))
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_monitor_health_ok_then_degraded_mirror() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::mirror("mon-deg", POOL_SIZE)?;
    let dir = scratch(&pool, "deg");
    let p = pool.name();
    config(&dir, &format!("[{p}]\n\thourly = 1\n"));
    let (code, line) = monitor(&dir, "health");
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(line, format!("OK: all pools ({p}) are healthy"));
    sanoid_health(&pool, &dir, 0, |figures| {
        format!("OK ZPOOL {p} : ONLINE {figures} ")
    })?;

    let second = pool.files()[1].to_string_lossy().into_owned();
    pool.zpool(&["offline", p, &second])?;
    // zsync's own check: a mirror without its redundancy is CRIT; sanoid's wording stays WARNING.
    let (code, line) = monitor(&dir, "health");
    assert_eq!(code, Some(2), "{line}");
    assert_eq!(line, format!("CRIT: {p} is DEGRADED: {second} OFFLINE"));
    sanoid_health(&pool, &dir, 1, |figures| {
        format!("*** WARNING *** WARNING ZPOOL {p} : DEGRADED {figures} <mirror-0:DEGRADED> {second}:OFFLINE ")
    })?;

    // A configured pool that is not imported is CRIT.
    config(&dir, &format!("[{p}]\n[zsyncnosuchpool/x]\n"));
    let (code, line) = monitor(&dir, "health");
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.starts_with("CRIT: configured pool zsyncnosuchpool is not imported, CRIT: "),
        "{line}"
    );
    let (code, line) = sanoid_monitor(&dir, "health");
    assert_eq!(code, Some(2), "{line}");
    assert_eq!(
        line,
        "CRITICAL ZPOOL {zsyncnosuchpool} does not exist and/or is not responding!"
    );
    Ok(())
}

/// Overwrites the middle of a vdev file (past the front labels, before the back ones).
fn corrupt(path: &Path) {
    let len = std::fs::metadata(path).expect("vdev file").len();
    let (start, end) = (4 << 20, len - (2 << 20));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open vdev file");
    f.seek(SeekFrom::Start(start)).unwrap();
    f.write_all(&pattern((end - start) as usize, 5)).unwrap();
    f.sync_all().unwrap();
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_monitor_health_checksum_errors_after_scrub() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let mirror = TestPool::mirror("mon-ck", POOL_SIZE)?;
    let single = TestPool::with_size("mon-ck1", POOL_SIZE)?;
    for pool in [&mirror, &single] {
        pool.write_file("junk", &pattern(10 << 20, 3))?;
        pool.zpool(&["sync", pool.name()])?;
    }
    corrupt(mirror.files()[1]);
    corrupt(single.file());
    mirror.zpool(&["scrub", "-w", mirror.name()])?;
    single.zpool(&["scrub", "-w", single.name()])?;

    // Mirror: the scrub repaired everything; the damaged side has checksum errors: WARN.
    let dir = scratch(&mirror, "ck");
    let m = mirror.name();
    config(&dir, &format!("[{m}]\n"));
    let (code, line) = monitor(&dir, "health");
    assert_eq!(code, Some(1), "{line}");
    let second = mirror.files()[1].to_string_lossy().into_owned();
    assert!(
        line.starts_with(&format!(
            "WARN: {m} is ONLINE: {second} ONLINE with 0 read, 0 write, "
        )) && line.ends_with(" checksum errors"),
        "{line}"
    );
    sanoid_health(&mirror, &dir, 1, |figures| {
        format!("*** WARNING *** WARNING ZPOOL {m} : ONLINE {figures} ({second}:cksum errors) ")
    })?;

    // Single vdev: the damage is permanent: CRIT, with the scrub's error count.
    let dir = scratch(&single, "ck1");
    let s = single.name();
    config(&dir, &format!("[{s}]\n"));
    let (code, line) = monitor(&dir, "health");
    assert_eq!(code, Some(2), "{line}");
    assert!(
        line.starts_with(&format!("CRIT: {s} is ONLINE: ")),
        "{line}"
    );
    assert!(line.contains("last scrub/resilver found "), "{line}");
    assert!(line.ends_with(" permanent data errors"), "{line}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_monitor_capacity_thresholds() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("mon-cap", POOL_SIZE)?;
    let dir = scratch(&pool, "cap");
    let p = pool.name();
    // A 64 MiB file pool has 48 MiB of space and keeps half of it as slop: 12 MiB is about 25%.
    pool.write_file("junk", &pattern(12 << 20, 9))?;
    pool.zpool(&["sync", p])?;
    let cap = capacity(&pool)?;
    assert!((15..45).contains(&cap), "capacity {cap}%");

    // Defaults (80 / 95): OK.
    config(&dir, &format!("[{p}]\n"));
    let (code, line) = monitor(&dir, "capacity");
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(
        line,
        format!("OK: all pools ({p}) are below their capacity limits")
    );
    assert_eq!(
        sanoid_monitor(&dir, "capacity"),
        (Some(0), format!("OK ZPOOL {p} : {cap}%"))
    );

    let warn = cap - 5;
    config(
        &dir,
        &format!(
            "[{p}]\n\tcapacity_warn = {warn}\n\tcapacity_crit = {}\n",
            cap + 20
        ),
    );
    let (code, line) = monitor(&dir, "capacity");
    assert_eq!(code, Some(1), "{line}");
    assert_eq!(
        line,
        format!("WARN: {p} capacity is {cap}% (should be < {warn}%)")
    );
    assert_eq!(
        sanoid_monitor(&dir, "capacity"),
        (
            Some(1),
            format!("*** WARNING *** WARNING ZPOOL {p} : {cap}%")
        )
    );

    let crit = cap - 1;
    config(
        &dir,
        &format!("[{p}]\n\tcapacity_warn = {warn}\n\tcapacity_crit = {crit}\n"),
    );
    let (code, line) = monitor(&dir, "capacity");
    assert_eq!(code, Some(2), "{line}");
    assert_eq!(
        line,
        format!("CRIT: {p} capacity is {cap}% (should be < {crit}%)")
    );
    assert_eq!(
        sanoid_monitor(&dir, "capacity"),
        (
            Some(2),
            format!("*** CRITICAL *** CRITICAL ZPOOL {p} : {cap}%")
        )
    );
    Ok(())
}

fn report(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("JSON report: {e}: {}", text(&o.stdout));
    })
}

fn hourlies(pool: &TestPool, ds: &str) -> Result<Vec<String>, LabError> {
    let out = pool.zfs(&[
        "list", "-H", "-t", "snapshot", "-o", "name", "-s", "name", ds,
    ])?;
    Ok(out
        .lines()
        .filter(|l| l.ends_with("_hourly"))
        .map(str::to_owned)
        .collect())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_prune_defer_waits_for_pool_capacity() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("mon-defer", POOL_SIZE)?;
    let dir = scratch(&pool, "defer");
    let p = pool.name();
    let ds = format!("{p}/data");
    pool.zfs(&["create", &ds])?;
    let conf = config(
        &dir,
        &format!("[{ds}]\n\thourly = 1\n\tdaily = 0\n\tmonthly = 0\n\tprune_defer = 10\n"),
    );
    // The injected clock runs ahead one hour per run (creation times stay real), so each run takes an
    // hourly and the older ones are prunable: prune_defer alone keeps them.
    let base = now0() + ChronoDuration::hours(3);
    for k in 0..3 {
        let o = zsync(
            &dir,
            Some(base + ChronoDuration::hours(k)),
            &["cron", "--json", "--config", &conf],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let r = report(&o);
        assert_eq!(r["destroyed"].as_array().map(Vec::len), Some(0), "{r}");
    }
    let cap = capacity(&pool)?;
    assert!(cap <= 10, "empty pool at {cap}%");
    let o = zsync(
        &dir,
        Some(base + ChronoDuration::hours(3)),
        &["prune", "--json", "--config", &conf],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report(&o);
    let skipped = r["skipped"].to_string();
    assert!(
        skipped.contains(&format!(
            "deferred: pool capacity {cap}% <= prune_defer 10%"
        )),
        "{r}"
    );
    assert!(skipped.contains(&ds), "{r}");
    assert_eq!(hourlies(&pool, &ds)?.len(), 3);

    // Fill the pool past prune_defer: the next prune destroys all but the newest hourly.
    pool.write_file("data/junk", &pattern(12 << 20, 11))?;
    pool.zpool(&["sync", p])?;
    let cap = capacity(&pool)?;
    assert!(cap > 10, "filled pool at {cap}%");
    let before = hourlies(&pool, &ds)?;
    let o = zsync(
        &dir,
        Some(base + ChronoDuration::hours(3)),
        &["prune", "--json", "--config", &conf],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report(&o);
    assert_eq!(r["destroyed"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(hourlies(&pool, &ds)?, vec![before[2].clone()]);
    Ok(())
}
