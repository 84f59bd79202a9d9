//! sanoid mode's `--monitor-snapshots`, `--monitor-health` and `--monitor-capacity`: the checks of
//! [`zsync_ops::monitor`], printed in sanoid's own Nagios line formats (check_mk/Nagios parsers
//! read them), with sanoid's exit codes (0 OK, 1 WARNING, 2 CRITICAL; 3 when `zpool`/`zfs` fails).
//! `zsync monitor` keeps zsync's format ([`crate::monitor`]).
//!
//! - snapshots: `CRIT: tank has no hourly snapshots at all!`, `WARN: tank newest daily snapshot is
//!   1d 2h 0m 0s old (should be < 1d 4h 0m 0s)`, sorted case-insensitively and joined with `, `;
//!   else `OK: all monitored datasets (a, b) have fresh snapshots`.
//! - health: per pool `OK ZPOOL tank : ONLINE {Size:9.50G Free:9.00G Cap:5%} ` (the device part
//!   after the braces as sanoid's at its level 2: bad devices, error counters), joined with `, `
//!   and prefixed `*** WARNING *** ` / `*** CRITICAL *** ` by the worst pool.
//! - capacity: per pool `OK ZPOOL tank : 5%`, same joining and prefix.
//! - a configured pool that is not imported: `CRITICAL ZPOOL {pool} does not exist and/or is not
//!   responding!`, exit 2 (sanoid stops at the first such pool).

use crate::config::LoadedConfig;
use crate::monitor::nagios_line;
use chrono::{DateTime, Utc};
use zfs_core::{Backend, PoolHealth, PoolStatus};
use zfs_policy::monitor::{sanoid_display_age, Level, MonitorReport};
use zsync_ops::monitor::{read_pools, Check, Monitor};

use crate::args::MonitorCheck;

/// Runs one check and prints sanoid's line; returns the exit code.
pub fn run(
    config: &LoadedConfig,
    backend: &dyn Backend,
    check: MonitorCheck,
    now: DateTime<Utc>,
) -> u8 {
    let (line, code) = match check {
        MonitorCheck::Snapshots => {
            let r = Monitor::new(&config.config, backend, now).check(Check::Snapshots);
            match &r.outcome {
                Ok(c) => snapshots_line(&c.report, &c.missing),
                Err(_) => (nagios_line(&r), 3),
            }
        }
        MonitorCheck::Health => match read_pools(&config.config, backend, true) {
            Ok((pools, missing)) => health_line(&pools, &missing),
            Err(e) => (format!("UNKNOWN: cannot read pool health: {e}"), 3),
        },
        MonitorCheck::Capacity => match read_pools(&config.config, backend, false) {
            Ok((pools, missing)) => {
                let roots: Vec<zfs_policy::Dataset> = pools
                    .iter()
                    .map(|p| zfs_policy::Dataset::filesystem(p.name.as_str()))
                    .collect();
                let resolution = config.config.resolve(&roots);
                let caps: Vec<(&str, u8)> = pools
                    .iter()
                    .map(|p| (p.name.as_str(), p.capacity))
                    .collect();
                let report = zfs_policy::monitor::check_capacity(&resolution.policies, &caps);
                capacity_line(&caps, &report, &missing)
            }
            Err(e) => (format!("UNKNOWN: cannot read pool capacity: {e}"), 3),
        },
        // sanoid has no lag check; its flags never ask for one.
        MonitorCheck::Lag => ("UNKNOWN: sanoid mode has no lag check".to_owned(), 3),
    };
    outln!("{line}");
    code
}

fn code_of(l: Level) -> u8 {
    match l {
        Level::Ok => 0,
        Level::Warn => 1,
        Level::Crit => 2,
    }
}

/// sanoid's `--monitor-snapshots` line and exit code. `missing`: configured datasets that do not
/// exist (CRIT, zsync's wording).
pub fn snapshots_line(report: &MonitorReport, missing: &[String]) -> (String, u8) {
    let mut msgs: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let sev = if f.severity == Level::Crit {
                "CRIT"
            } else {
                "WARN"
            };
            let kind = f.kind.map(|k| k.to_string()).unwrap_or_default();
            match f.age {
                Some((age, limit)) => format!(
                    "{sev}: {} newest {kind} snapshot is {} old (should be < {})",
                    f.dataset,
                    sanoid_display_age(age),
                    sanoid_display_age(limit)
                ),
                None => format!("{sev}: {}", f.message),
            }
        })
        .collect();
    msgs.extend(
        missing
            .iter()
            .map(|m| format!("CRIT: configured dataset {m} does not exist")),
    );
    msgs.sort_by_key(|m| m.to_lowercase());
    let code = if missing.is_empty() {
        code_of(report.status)
    } else {
        2
    };
    if msgs.is_empty() {
        let mut paths = report.checked.clone();
        paths.sort_by_key(|p| p.to_lowercase());
        return (
            format!(
                "OK: all monitored datasets ({}) have fresh snapshots",
                paths.join(", ")
            ),
            code,
        );
    }
    (msgs.join(", "), code)
}

fn not_responding(pool: &str) -> (String, u8) {
    (
        format!("CRITICAL ZPOOL {{{pool}}} does not exist and/or is not responding!"),
        2,
    )
}

fn state_word(code: u8) -> &'static str {
    match code {
        0 => "OK",
        1 => "WARNING",
        _ => "CRITICAL",
    }
}

fn joined(parts: Vec<(String, u8)>) -> (String, u8) {
    let worst = parts.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let prefix = match worst {
        0 => "",
        1 => "*** WARNING *** ",
        _ => "*** CRITICAL *** ",
    };
    let lines: Vec<String> = parts.into_iter().map(|(l, _)| l).collect();
    (format!("{prefix}{}", lines.join(", ")), worst)
}

/// One pool's part of sanoid's health line and its code.
pub fn pool_health_part(p: &PoolStatus) -> (String, u8) {
    let mut code: u8 = match p.health {
        PoolHealth::Online => 0,
        PoolHealth::Degraded => 1,
        _ => 2,
    };
    let mut devices = String::new();
    let vdevs = p.detail.as_ref().map(|d| d.vdevs.as_slice()).unwrap_or(&[]);
    // Section headings and the pool root are depth 0; spares (no counters) are skipped, as
    // sanoid's parser does.
    for v in vdevs.iter().filter(|v| v.depth > 0) {
        let Some(c) = v.counters else { continue };
        let sta = v.state.as_str();
        if code == 0 && v.state == PoolHealth::Unavail {
            code = 1;
        }
        if code == 0 || sta == "ONLINE" || sta == "AVAIL" {
            let mut errs = Vec::new();
            if c.read != 0 {
                errs.push("read");
            }
            if c.write != 0 {
                errs.push("write");
            }
            if c.checksum != 0 {
                errs.push("cksum");
            }
            if !errs.is_empty() {
                devices.push_str(&format!("({}:{} errors) ", v.name, errs.join(", ")));
                if code == 0 {
                    code = 1;
                }
            }
            continue;
        }
        match v.depth {
            1 => devices.push_str(&format!("<{}:{sta}> ", v.name)),
            3 => devices.push_str(&format!("({}:{sta}) ", v.name)),
            _ => devices.push_str(&format!("{}:{sta} ", v.name)),
        }
    }
    (
        format!(
            "{} ZPOOL {} : {} {{Size:{} Free:{} Cap:{}%}} {devices}",
            state_word(code),
            p.name.as_str(),
            p.health,
            nicenum(p.size),
            nicenum(p.free),
            p.capacity
        ),
        code,
    )
}

/// sanoid's `--monitor-health` line and exit code.
pub fn health_line(pools: &[PoolStatus], missing: &[String]) -> (String, u8) {
    if let Some(m) = missing.iter().min() {
        return not_responding(m);
    }
    let mut pools: Vec<&PoolStatus> = pools.iter().collect();
    pools.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    joined(pools.into_iter().map(pool_health_part).collect())
}

/// sanoid's `--monitor-capacity` line and exit code; `report` is zfs-policy's capacity verdict
/// (its findings say which pools are over which limit).
pub fn capacity_line(
    caps: &[(&str, u8)],
    report: &MonitorReport,
    missing: &[String],
) -> (String, u8) {
    if let Some(m) = missing.iter().min() {
        return not_responding(m);
    }
    let mut caps = caps.to_vec();
    caps.sort();
    joined(
        caps.into_iter()
            .map(|(pool, cap)| {
                let code = report
                    .findings
                    .iter()
                    .filter(|f| f.dataset == pool)
                    .map(|f| code_of(f.severity))
                    .max()
                    .unwrap_or(0);
                (format!("{} ZPOOL {pool} : {cap}%", state_word(code)), code)
            })
            .collect(),
    )
}

/// A byte count as `zpool list` prints it (OpenZFS `zfs_nicenum`): powers of 1024 with `K M G T P
/// E`, an exact multiple without decimals, else the most decimals (2, 1, 0) that fit 5 characters.
pub fn nicenum(n: u64) -> String {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut index = 0;
    let mut m = n;
    while m >= 1024 && index < 6 {
        m /= 1024;
        index += 1;
    }
    let base = 1u128 << (10 * index);
    if index == 0 || u128::from(n) % base == 0 {
        return format!("{m}{}", UNITS[index]);
    }
    let val = n as f64 / base as f64;
    let mut s = String::new();
    for decimals in (0..=2).rev() {
        s = format!("{val:.decimals$}{}", UNITS[index]);
        if s.len() <= 5 {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::{ErrorCounts, PoolDetail, PoolName, VdevStatus};
    use zfs_policy::monitor::Finding;
    use zfs_policy::SnapshotType;

    #[test]
    fn nicenum_matches_zpool() {
        assert_eq!(nicenum(512), "512");
        assert_eq!(nicenum(1024), "1K");
        assert_eq!(nicenum(48 << 20), "48M");
        assert_eq!(nicenum(10239), "10.0K");
        assert_eq!(nicenum(1_500_000_000), "1.40G");
        assert_eq!(nicenum(20_401_094_656), "19G");
        assert_eq!(nicenum(20_401_094_656 + 300_000_000), "19.3G");
        assert_eq!(nicenum(200 * (1 << 30) + (1 << 29)), "200G");
    }

    fn vdev(name: &str, depth: usize, state: PoolHealth, ck: u64) -> VdevStatus {
        VdevStatus {
            name: name.into(),
            depth,
            section: None,
            state,
            counters: Some(ErrorCounts {
                read: 0,
                write: 0,
                checksum: ck,
            }),
            note: None,
        }
    }

    fn pool(name: &str, health: PoolHealth, vdevs: Vec<VdevStatus>) -> PoolStatus {
        PoolStatus {
            name: PoolName::parse(name).unwrap(),
            health,
            size: 48 << 20,
            allocated: 12 << 20,
            free: 36 << 20,
            capacity: 25,
            fragmentation: None,
            detail: Some(PoolDetail {
                vdevs,
                ..PoolDetail::default()
            }),
        }
    }

    #[test]
    fn health_lines_as_sanoid() {
        let ok = pool(
            "tank",
            PoolHealth::Online,
            vec![
                vdev("tank", 0, PoolHealth::Online, 0),
                vdev("sda", 1, PoolHealth::Online, 0),
            ],
        );
        assert_eq!(
            health_line(std::slice::from_ref(&ok), &[]),
            (
                "OK ZPOOL tank : ONLINE {Size:48M Free:36M Cap:25%} ".to_string(),
                0
            )
        );
        let deg = pool(
            "back",
            PoolHealth::Degraded,
            vec![
                vdev("back", 0, PoolHealth::Degraded, 0),
                vdev("mirror-0", 1, PoolHealth::Degraded, 0),
                vdev("/f/a", 2, PoolHealth::Online, 0),
                vdev("/f/b", 2, PoolHealth::Offline, 0),
            ],
        );
        assert_eq!(
            health_line(&[ok.clone(), deg], &[]),
            (
                "*** WARNING *** WARNING ZPOOL back : DEGRADED {Size:48M Free:36M Cap:25%} \
                 <mirror-0:DEGRADED> /f/b:OFFLINE , OK ZPOOL tank : ONLINE {Size:48M Free:36M Cap:25%} "
                    .to_string(),
                1
            )
        );
        let ck = pool(
            "ck",
            PoolHealth::Online,
            vec![
                vdev("ck", 0, PoolHealth::Online, 0),
                vdev("sdb", 1, PoolHealth::Online, 7),
            ],
        );
        assert_eq!(
            health_line(&[ck], &[]).0,
            "*** WARNING *** WARNING ZPOOL ck : ONLINE {Size:48M Free:36M Cap:25%} (sdb:cksum errors) "
        );
        assert_eq!(
            health_line(&[ok], &["gone".into()]),
            (
                "CRITICAL ZPOOL {gone} does not exist and/or is not responding!".to_string(),
                2
            )
        );
    }

    #[test]
    fn capacity_lines_as_sanoid() {
        let report = MonitorReport {
            status: Level::Warn,
            findings: vec![Finding {
                dataset: "tank".into(),
                kind: None,
                severity: Level::Warn,
                status: Level::Warn,
                message: "tank capacity is 83% (should be < 80%)".into(),
                age: None,
            }],
            ..MonitorReport::default()
        };
        assert_eq!(
            capacity_line(&[("tank", 83), ("back", 5)], &report, &[]),
            (
                "*** WARNING *** OK ZPOOL back : 5%, WARNING ZPOOL tank : 83%".to_string(),
                1
            )
        );
        assert_eq!(
            capacity_line(&[("back", 5)], &MonitorReport::default(), &[]),
            ("OK ZPOOL back : 5%".to_string(), 0)
        );
    }

    #[test]
    fn snapshot_lines_as_sanoid() {
        let f = |ds: &str, kind, sev, age| Finding {
            dataset: ds.into(),
            kind: Some(kind),
            severity: sev,
            status: sev,
            message: format!("{ds} has no {kind} snapshots at all!"),
            age,
        };
        let report = MonitorReport {
            status: Level::Crit,
            findings: vec![
                f("tank/b", SnapshotType::Hourly, Level::Crit, None),
                f(
                    "Tank/a",
                    SnapshotType::Daily,
                    Level::Warn,
                    Some((93_600, 86_400 + 3600 * 4)),
                ),
            ],
            checked: vec!["tank/b".into(), "Tank/a".into()],
            ..MonitorReport::default()
        };
        assert_eq!(
            snapshots_line(&report, &[]),
            (
                "CRIT: tank/b has no hourly snapshots at all!, WARN: Tank/a newest daily snapshot \
                 is 1d 2h 0m 0s old (should be < 1d 4h 0m 0s)"
                    .to_string(),
                2
            )
        );
        let ok = MonitorReport {
            checked: vec!["tank/b".into(), "Tank/a".into()],
            ..MonitorReport::default()
        };
        assert_eq!(
            snapshots_line(&ok, &[]),
            (
                "OK: all monitored datasets (Tank/a, tank/b) have fresh snapshots".to_string(),
                0
            )
        );
    }
}
