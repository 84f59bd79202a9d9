//! Nagios lines and exit codes for the monitor checks (`zsync monitor`, `sanoid --monitor-*`);
//! the checks themselves are zsync-ops' [`zsync_ops::monitor`].
//!
//! Each check prints its own line and the exit code is the worst status (0 OK, 1 WARN, 2 CRIT,
//! 3 UNKNOWN).
//!
//! `lag` measures the jobs' pairs (as `zsync status` does) and judges the age of each dataset's
//! newest common snapshot; `health` and `capacity` with `--host` run on that host's pools
//! through its SSH connection, and the line names the host.

use crate::args::{BackendArg, MonitorArgs, MonitorCheck};
use crate::config::LoadedConfig;
use crate::exit::{AsExitCode, Fail};
use crate::status::JobView;
use chrono::{DateTime, Utc};
use std::time::Duration;
use zfs_core::Backend;
use zfs_policy::monitor::display_age;
use zsync_ops::monitor::{Check, CheckReport, CheckState, Monitor};

/// `zsync monitor`: the config is read only when a check needs it (`snapshots`, and the pool
/// checks on this machine); `--host` opens that host for the pool checks.
pub fn run_command(choice: BackendArg, m: &MonitorArgs) -> Result<u8, Fail> {
    let now = crate::discover::now(m.now.as_deref())?;
    m.lag.check()?;
    let pool_checks: Vec<MonitorCheck> = m
        .checks
        .iter()
        .copied()
        .filter(|c| matches!(c, MonitorCheck::Health | MonitorCheck::Capacity))
        .collect();
    if m.remote.host.is_some() && m.checks.contains(&MonitorCheck::Snapshots) {
        return Err(Fail::failure(
            "monitor: --host applies to health and capacity; check snapshots on their host",
        ));
    }
    let mut worst = 0u8;
    let mut local_checks: Vec<MonitorCheck> = Vec::new();
    for c in &m.checks {
        match c {
            MonitorCheck::Lag => {}
            MonitorCheck::Health | MonitorCheck::Capacity if m.remote.host.is_some() => {}
            other => local_checks.push(*other),
        }
    }
    if !local_checks.is_empty() {
        let cfg = crate::config::load_config(
            m.config.as_deref(),
            &crate::discover::default_candidates(),
        )?;
        let (be, _) = crate::backend::open(choice)?;
        worst = worst.max(run(&cfg, be.as_ref(), &local_checks, now));
    }
    if let Some(host) = &m.remote.host {
        if !pool_checks.is_empty() {
            worst = worst.max(remote_pools(choice, m, host, &pool_checks, now)?);
        }
    }
    if m.checks.contains(&MonitorCheck::Lag) {
        let views =
            crate::status::measure_jobs(choice, m.lag.jobs_file.as_deref(), &m.lag.job, now)?;
        let (line, state) = lag_line(&views, m.lag.warn, m.lag.crit);
        outln!("{line}");
        worst = worst.max(state.exit_code());
    }
    Ok(worst)
}

/// The pool checks on `host` (`[user@]host[:port]`): its pools named with `--pool` (all imported
/// ones without), limits from `--config` when given.
fn remote_pools(
    choice: BackendArg,
    m: &MonitorArgs,
    host: &str,
    checks: &[MonitorCheck],
    now: DateTime<Utc>,
) -> Result<u8, Fail> {
    let endpoint = zfs_core::Endpoint::parse(&format!("{host}:zsync-monitor"))
        .ok()
        .filter(|e| e.remote.is_some())
        .ok_or_else(|| {
            Fail::failure(format!("monitor: --host {host:?}: not [user@]host[:port]"))
        })?;
    let mut text = String::new();
    for p in &m.remote.pool {
        zfs_core::PoolName::parse(p)
            .map_err(|e| Fail::failure(format!("monitor: --pool {p:?}: {}", e.rule)))?;
        text.push_str(&format!("[{p}]\n"));
    }
    let config = match (&m.config, m.remote.pool.is_empty()) {
        (Some(path), true) => crate::config::load_config(Some(path), &[])?.config,
        _ => zfs_policy::Config::parse(&text, "--pool")
            .map_err(|e| Fail::failure(format!("monitor: {e}")))?,
    };
    let ssh = m.remote.ssh.options()?;
    let label = endpoint
        .remote
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let opened = match crate::backend::open_endpoint(choice, &endpoint, &ssh) {
        Ok(o) => o,
        Err(e) => {
            for _ in checks {
                outln!("UNKNOWN: {label}: {e:#}");
            }
            return Ok(CheckState::Unknown.exit_code());
        }
    };
    let mut monitor = Monitor::new(&config, opened.backend.as_ref(), now).degraded_is_critical();
    let mut worst = 0u8;
    for check in checks {
        let Some(check) = check_of(*check) else {
            continue;
        };
        let report = monitor.check(check);
        outln!("{}", with_host(&nagios_line(&report), &label));
        worst = worst.max(report.exit_code());
    }
    Ok(worst)
}

/// `STATE: host: rest` from `STATE: rest` (each part of a multi-part line keeps its own state;
/// the host is named once, after the first).
pub fn with_host(line: &str, host: &str) -> String {
    match line.split_once(": ") {
        Some((state, rest)) => format!("{state}: {host}: {rest}"),
        None => format!("{host}: {line}"),
    }
}

/// The `lag` line and its state: UNKNOWN naming the host of a pair that could not be read, CRIT
/// for a dataset without a common snapshot or older than `crit`, WARN older than `warn`; the
/// parts worst first, or an OK summary with the largest lag.
pub fn lag_line(views: &[JobView], warn: Duration, crit: Duration) -> (String, CheckState) {
    let mut parts: Vec<(CheckState, String)> = Vec::new();
    let mut count = 0usize;
    let mut max: Option<(i64, String)> = None;
    for j in views {
        for p in &j.pairs {
            if let Some(e) = &p.error {
                parts.push((CheckState::Unknown, format!("job {}: {e}", j.name)));
                continue;
            }
            for d in &p.datasets {
                count += 1;
                let Some(lag) = d.lag_seconds else {
                    let why = if d.target_exists {
                        "has no snapshot in common with"
                    } else {
                        "does not exist, nothing replicated from"
                    };
                    parts.push((
                        CheckState::Crit,
                        format!("job {}: {} {why} {}", j.name, d.target, d.source),
                    ));
                    continue;
                };
                let secs = lag.max(0) as u64;
                if max.as_ref().is_none_or(|(m, _)| lag > *m) {
                    max = Some((lag, d.target.clone()));
                }
                let (state, limit) = if secs >= crit.as_secs() {
                    (CheckState::Crit, crit)
                } else if secs >= warn.as_secs() {
                    (CheckState::Warn, warn)
                } else {
                    continue;
                };
                parts.push((
                    state,
                    format!(
                        "job {}: {} lags {} (should be < {})",
                        j.name,
                        d.target,
                        display_age(secs),
                        display_age(limit.as_secs())
                    ),
                ));
            }
        }
    }
    if parts.is_empty() {
        let names: Vec<&str> = views.iter().map(|j| j.name.as_str()).collect();
        let most = max.map_or(String::new(), |(l, t)| {
            format!(", largest {} ({t})", display_age(l.max(0) as u64))
        });
        return (
            format!(
                "OK: {count} datasets of jobs ({}) lag less than {}{most}",
                names.join(", "),
                display_age(warn.as_secs())
            ),
            CheckState::Ok,
        );
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let state = parts[0].0;
    let text: Vec<String> = parts
        .into_iter()
        .map(|(s, t)| format!("{}: {t}", state_name(s)))
        .collect();
    (text.join(", "), state)
}

fn state_name(s: CheckState) -> &'static str {
    match s {
        CheckState::Ok => "OK",
        CheckState::Warn => "WARN",
        CheckState::Crit => "CRIT",
        CheckState::Unknown => "UNKNOWN",
    }
}

/// Runs the checks, prints one Nagios line per check, returns the worst status.
pub fn run(
    config: &LoadedConfig,
    backend: &dyn Backend,
    checks: &[MonitorCheck],
    now: DateTime<Utc>,
) -> u8 {
    let mut monitor = Monitor::new(&config.config, backend, now).degraded_is_critical();
    let mut worst = 0u8;
    for check in checks {
        let Some(check) = check_of(*check) else {
            continue;
        };
        let report = monitor.check(check);
        outln!("{}", nagios_line(&report));
        worst = worst.max(report.exit_code());
    }
    worst
}

/// The library's name for a `monitor` argument (`lag` is no check of the config's datasets:
/// [`run_command`] runs it apart).
fn check_of(c: MonitorCheck) -> Option<Check> {
    match c {
        MonitorCheck::Snapshots => Some(Check::Snapshots),
        MonitorCheck::Health => Some(Check::Health),
        MonitorCheck::Capacity => Some(Check::Capacity),
        MonitorCheck::Lag => None,
    }
}

/// One check's line: zfs-policy's verdict plus a CRIT part per configured dataset (after the
/// verdict) or pool (before it) that does not exist; `UNKNOWN: ...` when the check could not look.
pub fn nagios_line(r: &CheckReport) -> String {
    let c = match &r.outcome {
        Ok(c) => c,
        Err(e) => return format!("UNKNOWN: {e}"),
    };
    match r.check {
        Check::Snapshots => {
            let mut line = c.report.to_string();
            for m in &c.missing {
                line.push_str(&format!(", CRIT: configured dataset {m} does not exist"));
            }
            line
        }
        Check::Health | Check::Capacity => {
            let mut parts: Vec<String> = c
                .missing
                .iter()
                .map(|m| format!("CRIT: configured pool {m} is not imported"))
                .collect();
            if parts.is_empty() || !c.report.findings.is_empty() {
                parts.push(c.report.to_string());
            }
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_policy::monitor::{Finding, Level, MonitorReport};
    use zsync_ops::monitor::{Checked, MonitorError};

    fn ok_report(summary: &str) -> MonitorReport {
        MonitorReport {
            summary: vec![summary.to_string()],
            ..MonitorReport::default()
        }
    }

    fn checked(check: Check, report: MonitorReport, missing: &[&str]) -> CheckReport {
        CheckReport {
            check,
            outcome: Ok(Checked {
                report,
                missing: missing.iter().map(|m| m.to_string()).collect(),
            }),
        }
    }

    #[test]
    fn lines_and_exit_codes() {
        let r = checked(
            Check::Health,
            ok_report("all pools (tank) are healthy"),
            &[],
        );
        assert_eq!(nagios_line(&r), "OK: all pools (tank) are healthy");
        assert_eq!(r.exit_code(), 0);
        // A pool that is not imported comes first; an all-OK verdict is then left out.
        let r = checked(Check::Capacity, ok_report("fine"), &["backup"]);
        assert_eq!(
            nagios_line(&r),
            "CRIT: configured pool backup is not imported"
        );
        assert_eq!(r.exit_code(), 2);
        let warn = MonitorReport {
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
        let r = checked(Check::Capacity, warn.clone(), &["backup"]);
        assert_eq!(
            nagios_line(&r),
            "CRIT: configured pool backup is not imported, WARN: tank capacity is 83% (should be < 80%)"
        );
        let r = checked(Check::Capacity, warn.clone(), &[]);
        assert_eq!(r.exit_code(), 1);
        // A missing dataset is appended to the snapshot verdict.
        let r = checked(Check::Snapshots, warn, &["tank/gone"]);
        assert_eq!(
            nagios_line(&r),
            "WARN: tank capacity is 83% (should be < 80%), CRIT: configured dataset tank/gone does not exist"
        );
        assert_eq!(r.exit_code(), 2);
        let r = CheckReport {
            check: Check::Snapshots,
            outcome: Err(MonitorError::List {
                what: "list tank".into(),
                error: "permission denied".into(),
            }),
        };
        assert_eq!(
            nagios_line(&r),
            "UNKNOWN: cannot list datasets: list tank: permission denied"
        );
        assert_eq!(r.exit_code(), 3);
    }
}

#[cfg(test)]
mod lag_tests {
    use super::*;
    use crate::status::PairView;
    use zsync_ops::replica::{ReplicaState, SnapshotRef};

    fn ds(target: &str, lag: Option<i64>, exists: bool) -> ReplicaState {
        ReplicaState {
            source_host: "localhost".into(),
            source: "tank/a".into(),
            target_host: "localhost".into(),
            target: target.into(),
            target_exists: exists,
            volume: false,
            newest_common: lag.map(|_| SnapshotRef {
                name: "s".into(),
                created: DateTime::from_timestamp(0, 0).unwrap(),
            }),
            lag_seconds: lag,
            newest_by_type: Default::default(),
            source_counts: Default::default(),
            target_counts: Default::default(),
            holds: vec![],
            bookmarks: vec![],
            partial_receive: None,
        }
    }

    fn job(name: &str, datasets: Vec<ReplicaState>, error: Option<&str>) -> JobView {
        JobView {
            name: name.into(),
            pairs: vec![PairView {
                source: "tank/a".into(),
                target: "backup/a".into(),
                error: error.map(str::to_owned),
                datasets,
            }],
        }
    }

    #[test]
    fn lag_states_and_lines() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        let ok = [job(
            "a",
            vec![ds("b/x", Some(3600), true), ds("b/y", Some(7200), true)],
            None,
        )];
        let (line, st) = lag_line(&ok, h(26), h(50));
        assert_eq!(st, CheckState::Ok);
        assert_eq!(
            line,
            "OK: 2 datasets of jobs (a) lag less than 1d 2h, largest 2h (b/y)"
        );
        let warn = [job("a", vec![ds("b/x", Some(27 * 3600), true)], None)];
        let (line, st) = lag_line(&warn, h(26), h(50));
        assert_eq!(st, CheckState::Warn);
        assert_eq!(line, "WARN: job a: b/x lags 1d 3h (should be < 1d 2h)");
        let crit = [
            job(
                "a",
                vec![ds("b/x", Some(27 * 3600), true), ds("b/z", None, true)],
                None,
            ),
            job("c", vec![ds("b/w", None, false)], None),
        ];
        let (line, st) = lag_line(&crit, h(26), h(50));
        assert_eq!(st, CheckState::Crit);
        assert_eq!(
            line,
            "CRIT: job a: b/z has no snapshot in common with tank/a, CRIT: job c: b/w does not \
             exist, nothing replicated from tank/a, WARN: job a: b/x lags 1d 3h (should be < 1d 2h)"
        );
        let unknown = [job("far", vec![], Some("target nas2: cannot connect"))];
        let (line, st) = lag_line(&unknown, h(26), h(50));
        assert_eq!(st, CheckState::Unknown);
        assert_eq!(line, "UNKNOWN: job far: target nas2: cannot connect");
        assert_eq!(
            with_host("WARN: tank is DEGRADED: sdb OFFLINE", "backup"),
            "WARN: backup: tank is DEGRADED: sdb OFFLINE"
        );
    }
}
