//! Monitoring (pure): snapshot freshness, pool health and pool capacity, like sanoid's
//! `--monitor-snapshots`, `--monitor-health` and `--monitor-capacity`, returned as a structured report
//! with a Nagios-style one-line rendering.
//!
//! Health checks ([`check_health`], one finding per unhealthy pool): a `DEGRADED` pool, a device that
//! is not `ONLINE` (`OFFLINE`, `UNAVAIL`, `FAULTED`, `REMOVED`, ...), non-zero read/write/checksum
//! counters, or errors found by the last scrub/resilver are WARN, as in sanoid; a pool that is
//! `FAULTED`, `UNAVAIL`, `SUSPENDED` or in any other state is CRIT. Unlike sanoid, permanent data errors
//! (`errors: N data errors`: files or metadata that could not be repaired) are CRIT as well. The message
//! names the pool, its state and each affected device with its state, counters and note.
//!
//! Snapshot checks: for each monitored dataset (`monitor = yes`, not `process_children_only`) and each
//! type with a count above 0 and a non-zero `<type>_warn` or `<type>_crit`:
//! no autosnap snapshot of the type is CRIT; otherwise the age of the newest (now − `creation`) at or
//! above `<type>_crit` is CRIT, at or above `<type>_warn` is WARN. `monitor_dont_warn` /
//! `monitor_dont_crit` keep the message but report it as OK. Unlike sanoid, one call can run both checks
//! and the caller decides how to combine them ([`MonitorReport::merge`]).

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};

use crate::config::Policy;
use crate::resolve::DatasetPolicy;
use crate::schedule::newest_by_type;
use crate::types::{Snapshot, SnapshotType};

/// A Nagios status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "UPPERCASE"))]
pub enum Level {
    /// All good.
    #[default]
    Ok,
    /// Warning.
    Warn,
    /// Critical.
    Crit,
}

impl Level {
    /// Nagios exit code: 0, 1, 2.
    pub fn exit_code(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Crit => "CRIT",
        })
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// Dataset (or pool, for capacity).
    pub dataset: String,
    /// Snapshot type, for snapshot checks.
    pub kind: Option<SnapshotType>,
    /// The severity of the problem itself.
    pub severity: Level,
    /// The status it counts as (`Ok` when suppressed by `monitor_dont_warn`/`monitor_dont_crit`).
    pub status: Level,
    /// Human-readable message, e.g. `tank newest hourly snapshot is 2h 5m old (should be < 1h 30m)`.
    pub message: String,
    /// For a stale snapshot: `(age, limit)` in seconds (`None` for other findings, and for a type
    /// with no snapshot at all), so a caller can word it its own way (sanoid mode).
    pub age: Option<(u64, u64)>,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MonitorReport {
    /// Worst status.
    pub status: Level,
    /// Problems (also suppressed ones), worst first.
    pub findings: Vec<Finding>,
    /// What was checked (datasets or pools).
    pub checked: Vec<String>,
    /// What an all-OK result says, one entry per check.
    pub summary: Vec<String>,
}

impl MonitorReport {
    fn finish(mut self) -> Self {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.dataset.cmp(&b.dataset))
        });
        self.status = self
            .findings
            .iter()
            .map(|f| f.status)
            .max()
            .unwrap_or(Level::Ok);
        self
    }

    /// Combines two reports (e.g. snapshots and capacity).
    pub fn merge(mut self, other: MonitorReport) -> Self {
        self.findings.extend(other.findings);
        self.checked.extend(other.checked);
        self.summary.extend(other.summary);
        self.finish()
    }
}

impl fmt::Display for MonitorReport {
    /// `OK: all monitored datasets (a, b) have fresh snapshots`, or the findings, worst first, each
    /// prefixed with its severity and joined with `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return write!(f, "OK: {}", self.summary.join("; "));
        }
        let parts: Vec<String> = self
            .findings
            .iter()
            .map(|x| format!("{}: {}", x.severity, x.message))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Formats seconds like sanoid: `1d 2h 3m 4s` (zero parts omitted, `0s` for zero).
pub fn display_age(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    let s: Vec<String> = parts
        .iter()
        .filter(|(v, _)| *v > 0)
        .map(|(v, u)| format!("{v}{u}"))
        .collect();
    if s.is_empty() {
        "0s".to_string()
    } else {
        s.join(" ")
    }
}

/// Formats seconds as sanoid's monitor does: `1d 0h 0m 5s`, `5m 0s`, `7s` (every part from the
/// largest non-zero one down to seconds).
pub fn sanoid_display_age(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m {s}s")
    } else if h > 0 {
        format!("{h}h {m}m {s}s")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

fn finding(
    p: &Policy,
    dataset: &str,
    kind: Option<SnapshotType>,
    severity: Level,
    message: String,
) -> Finding {
    let suppressed = match severity {
        Level::Warn => p.monitor_dont_warn,
        Level::Crit => p.monitor_dont_crit,
        Level::Ok => false,
    };
    Finding {
        dataset: dataset.to_string(),
        kind,
        severity,
        status: if suppressed { Level::Ok } else { severity },
        message,
        age: None,
    }
}

/// Checks snapshot freshness. `snapshots_of` returns the snapshots of a dataset (empty when none).
pub fn check_snapshots<'s, Tz: TimeZone>(
    policies: &[DatasetPolicy],
    mut snapshots_of: impl FnMut(&str) -> &'s [Snapshot],
    now: &DateTime<Tz>,
) -> MonitorReport {
    let now = now.with_timezone(&Utc);
    let mut report = MonitorReport::default();
    for policy in policies {
        let p = &policy.settings;
        if !p.monitor || policy.process_children_only {
            continue;
        }
        report.checked.push(policy.dataset.clone());
        let newest = newest_by_type(snapshots_of(&policy.dataset));
        for kind in SnapshotType::TAKE_ORDER {
            let (warn, crit) = p.monitor_ages(kind);
            if p.count(kind) == 0 || (warn == 0 && crit == 0) {
                continue;
            }
            let ds = &policy.dataset;
            let Some(newest) = newest[kind.index()] else {
                let msg = format!("{ds} has no {kind} snapshots at all!");
                report
                    .findings
                    .push(finding(p, ds, Some(kind), Level::Crit, msg));
                continue;
            };
            let age = u64::try_from((now - newest).num_seconds()).unwrap_or(0);
            let (severity, limit) = if crit > 0 && age >= crit {
                (Level::Crit, crit)
            } else if warn > 0 && age >= warn {
                (Level::Warn, warn)
            } else {
                continue;
            };
            let msg = format!(
                "{ds} newest {kind} snapshot is {} old (should be < {})",
                display_age(age),
                display_age(limit)
            );
            let mut f = finding(p, ds, Some(kind), severity, msg);
            f.age = Some((age, limit));
            report.findings.push(f);
        }
    }
    report.summary.push(format!(
        "all monitored datasets ({}) have fresh snapshots",
        report.checked.join(", ")
    ));
    report.finish()
}

/// Checks pool capacities (`pools`: pool name and used capacity in percent). The limits come from the
/// pool's root dataset policy (`[tank]`), else sanoid's defaults (80 / 95); 0 switches a limit off.
pub fn check_capacity(policies: &[DatasetPolicy], pools: &[(&str, u8)]) -> MonitorReport {
    let defaults = Policy::default();
    let mut report = MonitorReport::default();
    for &(pool, capacity) in pools {
        let p = policies
            .iter()
            .find(|x| x.dataset == pool)
            .map_or(&defaults, |x| &x.settings);
        report.checked.push(pool.to_string());
        let (severity, limit) = if p.capacity_crit > 0 && capacity >= p.capacity_crit {
            (Level::Crit, p.capacity_crit)
        } else if p.capacity_warn > 0 && capacity >= p.capacity_warn {
            (Level::Warn, p.capacity_warn)
        } else {
            continue;
        };
        let msg = format!("{pool} capacity is {capacity}% (should be < {limit}%)");
        report.findings.push(finding(p, pool, None, severity, msg));
    }
    report.summary.push(format!(
        "all pools ({}) are below their capacity limits",
        report.checked.join(", ")
    ));
    report.finish()
}

/// One device row of a pool's vdev tree (input to [`check_health`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceHealth {
    /// Device or group name (`/dev/sdb`, `mirror-0`, a GUID for a missing device).
    pub name: String,
    /// Nesting level: 0 pool root or section heading, 1 top-level vdev, 2 its members, ...
    pub depth: usize,
    /// State word (`ONLINE`, `OFFLINE`, ...; spares `AVAIL`/`INUSE`; empty for headings).
    pub state: String,
    /// Read errors.
    pub read: u64,
    /// Write errors.
    pub write: u64,
    /// Checksum errors.
    pub checksum: u64,
    /// Text after the counters (`was /dev/sdb`, `too many errors`).
    pub note: Option<String>,
}

/// What is known about one pool's health (input to [`check_health`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolHealthInput {
    /// Pool name.
    pub pool: String,
    /// Overall state (`ONLINE`, `DEGRADED`, ...).
    pub state: String,
    /// The vdev tree in `zpool status` order (pool root first); empty when unknown.
    pub devices: Vec<DeviceHealth>,
    /// Errors reported by the last completed scrub or resilver.
    pub scan_errors: Option<u64>,
    /// Permanent data errors (`errors: N data errors`).
    pub data_errors: Option<u64>,
}

fn state_level(state: &str, degraded: Level) -> Level {
    match state {
        "ONLINE" => Level::Ok,
        "DEGRADED" => degraded,
        _ => Level::Crit,
    }
}

/// Device states that are not a problem: healthy, or spares waiting or in use.
fn device_ok(state: &str) -> bool {
    matches!(state, "ONLINE" | "AVAIL" | "INUSE" | "")
}

/// Checks pool health: one finding per pool with a problem, naming the pool, its state and each
/// affected device (see the module docs for the levels; a `DEGRADED` pool is WARN, as in sanoid).
pub fn check_health(pools: &[PoolHealthInput]) -> MonitorReport {
    check_health_with(pools, Level::Warn)
}

/// [`check_health`] with the level of a `DEGRADED` pool given: zsync's own checks use
/// [`Level::Crit`] (a pool without its redundancy is one failure from losing the backup).
pub fn check_health_with(pools: &[PoolHealthInput], degraded: Level) -> MonitorReport {
    let mut report = MonitorReport::default();
    for p in pools {
        report.checked.push(p.pool.clone());
        let mut severity = state_level(&p.state, degraded);
        let mut parts: Vec<String> = Vec::new();
        for (i, d) in p.devices.iter().enumerate() {
            if d.depth == 0 {
                continue; // the pool root (its state is `p.state`) and section headings
            }
            let leaf = !matches!(p.devices.get(i + 1), Some(n) if n.depth > d.depth);
            let errors = d.read.saturating_add(d.write).saturating_add(d.checksum);
            // A DEGRADED group (mirror-0) only echoes its members: report the members.
            let bad_state = !device_ok(&d.state) && (leaf || d.state != "DEGRADED");
            if !bad_state && errors == 0 {
                continue;
            }
            severity = severity.max(Level::Warn);
            let mut s = format!("{} {}", d.name, d.state);
            if errors > 0 {
                s.push_str(&format!(
                    " with {} read, {} write, {} checksum errors",
                    d.read, d.write, d.checksum
                ));
            }
            if let Some(n) = &d.note {
                s.push_str(&format!(" ({n})"));
            }
            parts.push(s);
        }
        if let Some(n) = p.scan_errors.filter(|&n| n > 0) {
            severity = severity.max(Level::Warn);
            parts.push(format!("last scrub/resilver found {n} errors"));
        }
        if let Some(n) = p.data_errors.filter(|&n| n > 0) {
            severity = Level::Crit;
            parts.push(format!("{n} permanent data errors"));
        }
        if severity == Level::Ok {
            continue;
        }
        let mut message = format!("{} is {}", p.pool, p.state);
        if !parts.is_empty() {
            message.push_str(": ");
            message.push_str(&parts.join("; "));
        }
        report.findings.push(Finding {
            dataset: p.pool.clone(),
            kind: None,
            severity,
            status: severity,
            message,
            age: None,
        });
    }
    report.summary.push(format!(
        "all pools ({}) are healthy",
        report.checked.join(", ")
    ));
    report.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanoid_ages_keep_every_smaller_part() {
        assert_eq!(sanoid_display_age(0), "0s");
        assert_eq!(sanoid_display_age(7), "7s");
        assert_eq!(sanoid_display_age(300), "5m 0s");
        assert_eq!(sanoid_display_age(5400), "1h 30m 0s");
        assert_eq!(sanoid_display_age(86_405), "1d 0h 0m 5s");
    }
    use crate::config::Config;
    use crate::types::Dataset;
    use chrono::Duration;

    #[test]
    fn freshness_levels_and_suppression() {
        let c = Config::parse(
            "[tank]\nhourly = 24\ndaily = 7\nmonthly = 0\n[tank/b]\nhourly = 1\ndaily = 0\nmonthly = 0\nmonitor_dont_warn = yes\n[tank/c]\nmonitor = no\n",
            "x",
        )
        .unwrap();
        let r = c.resolve(&[
            Dataset::filesystem("tank"),
            Dataset::filesystem("tank/b"),
            Dataset::filesystem("tank/c"),
        ]);
        let now = Utc.with_ymd_and_hms(2026, 5, 2, 12, 0, 0).unwrap();
        let tank = [Snapshot::new(
            "autosnap_x_hourly",
            now - Duration::minutes(125),
        )];
        let b = [Snapshot::new(
            "autosnap_x_hourly",
            now - Duration::minutes(100),
        )];
        let none: Vec<Snapshot> = Vec::new();
        let report = check_snapshots(
            &r.policies,
            |ds| match ds {
                "tank" => &tank[..],
                "tank/b" => &b[..],
                _ => &none[..],
            },
            &now,
        );
        assert_eq!(
            report.checked,
            vec!["tank".to_string(), "tank/b".to_string()]
        );
        assert_eq!(report.status, Level::Crit);
        assert_eq!(report.status.exit_code(), 2);
        assert_eq!(
            report.to_string(),
            "CRIT: tank has no daily snapshots at all!, WARN: tank newest hourly snapshot is 2h 5m old (should be < 1h 30m), \
             WARN: tank/b newest hourly snapshot is 1h 40m old (should be < 1h 30m)"
        );
        assert_eq!(report.findings[2].status, Level::Ok);
        let fresh = [Snapshot::new("autosnap_x_hourly", now)];
        let ok = check_snapshots(&r.policies[1..2], |_| &fresh[..], &now);
        assert_eq!(ok.status, Level::Ok);
        assert_eq!(
            ok.to_string(),
            "OK: all monitored datasets (tank/b) have fresh snapshots"
        );
        assert_eq!(display_age(0), "0s");
        assert_eq!(display_age(90061), "1d 1h 1m 1s");
    }

    #[test]
    fn capacity_uses_root_section() {
        let c = Config::parse("[tank]\ncapacity_warn = 50\ncapacity_crit = 0\n", "x").unwrap();
        let r = c.resolve(&[Dataset::filesystem("tank")]);
        let rep = check_capacity(&r.policies, &[("tank", 99), ("other", 96), ("third", 10)]);
        assert_eq!(rep.status, Level::Crit);
        assert_eq!(rep.to_string(), "CRIT: other capacity is 96% (should be < 95%), WARN: tank capacity is 99% (should be < 50%)");
        let merged = rep.merge(MonitorReport::default());
        assert_eq!(merged.findings.len(), 2);
        let ok = check_capacity(&r.policies, &[("tank", 10)]).merge(check_snapshots(
            &[],
            |_| &[],
            &Utc::now(),
        ));
        assert_eq!(ok.to_string(), "OK: all pools (tank) are below their capacity limits; all monitored datasets () have fresh snapshots");
    }

    fn dev(name: &str, depth: usize, state: &str, errs: (u64, u64, u64)) -> DeviceHealth {
        DeviceHealth {
            name: name.into(),
            depth,
            state: state.into(),
            read: errs.0,
            write: errs.1,
            checksum: errs.2,
            note: None,
        }
    }

    #[test]
    fn health_levels_and_messages() {
        let ok = PoolHealthInput {
            pool: "tank".into(),
            state: "ONLINE".into(),
            devices: vec![
                dev("tank", 0, "ONLINE", (0, 0, 0)),
                dev("mirror-0", 1, "ONLINE", (0, 0, 0)),
                dev("sda", 2, "ONLINE", (0, 0, 0)),
                dev("spares", 0, "", (0, 0, 0)),
                dev("sdz", 1, "AVAIL", (0, 0, 0)),
            ],
            scan_errors: Some(0),
            data_errors: Some(0),
        };
        let r = check_health(std::slice::from_ref(&ok));
        assert_eq!(r.status, Level::Ok);
        assert_eq!(r.to_string(), "OK: all pools (tank) are healthy");

        let mut degraded = ok.clone();
        degraded.pool = "deg".into();
        degraded.state = "DEGRADED".into();
        degraded.devices[1].state = "DEGRADED".into();
        degraded
            .devices
            .insert(3, dev("sdb", 2, "OFFLINE", (0, 0, 0)));
        let mut unavail = degraded.clone();
        unavail.pool = "una".into();
        unavail.devices[3] = DeviceHealth {
            note: Some("was /dev/sdb".into()),
            ..dev("12345", 2, "UNAVAIL", (0, 0, 0))
        };
        let mut cksum = ok.clone();
        cksum.pool = "ck".into();
        cksum.devices[2].checksum = 152;
        let mut scan = ok.clone();
        scan.pool = "scan".into();
        scan.scan_errors = Some(3);
        let r = check_health(&[degraded.clone(), unavail, cksum, scan]);
        assert_eq!(r.status, Level::Warn);
        assert_eq!(r.status.exit_code(), 1);
        assert_eq!(
            r.to_string(),
            "WARN: ck is ONLINE: sda ONLINE with 0 read, 0 write, 152 checksum errors, \
             WARN: deg is DEGRADED: sdb OFFLINE, \
             WARN: scan is ONLINE: last scrub/resilver found 3 errors, \
             WARN: una is DEGRADED: 12345 UNAVAIL (was /dev/sdb)"
        );

        let mut data = ok.clone();
        data.devices[2].checksum = 402;
        data.data_errors = Some(120);
        let r = check_health(&[data]);
        assert_eq!(r.status, Level::Crit);
        assert!(
            r.to_string().ends_with("; 120 permanent data errors"),
            "{r}"
        );

        // A faulted group is reported itself; a faulted or suspended pool is CRIT.
        let mut faulted = degraded;
        faulted.state = "FAULTED".into();
        faulted.devices[1].state = "FAULTED".into();
        faulted.devices.truncate(2);
        let r = check_health(&[faulted]);
        assert_eq!(r.status, Level::Crit);
        assert_eq!(r.to_string(), "CRIT: deg is FAULTED: mirror-0 FAULTED");
        let bare = PoolHealthInput {
            pool: "s".into(),
            state: "SUSPENDED".into(),
            ..PoolHealthInput::default()
        };
        assert_eq!(check_health(&[bare]).to_string(), "CRIT: s is SUSPENDED");
    }

    #[test]
    fn degraded_is_crit_when_asked() {
        let p = PoolHealthInput {
            pool: "deg".into(),
            state: "DEGRADED".into(),
            ..PoolHealthInput::default()
        };
        assert_eq!(check_health(std::slice::from_ref(&p)).status, Level::Warn);
        let r = check_health_with(std::slice::from_ref(&p), Level::Crit);
        assert_eq!(r.status, Level::Crit);
        assert_eq!(r.to_string(), "CRIT: deg is DEGRADED");
    }
}
