//! Nagios lines and exit codes for the monitor checks (`zsync monitor`, `sanoid --monitor-*`);
//! the checks themselves are zsync-ops' [`zsync_ops::monitor`].
//!
//! Each check prints its own line and the exit code is the worst status (0 OK, 1 WARN, 2 CRIT,
//! 3 UNKNOWN).

use crate::args::MonitorCheck;
use crate::config::LoadedConfig;
use crate::exit::AsExitCode;
use chrono::{DateTime, Utc};
use zfs_core::Backend;
use zsync_ops::monitor::{Check, CheckReport, Monitor};

/// Runs the checks, prints one Nagios line per check, returns the worst status.
pub fn run(
    config: &LoadedConfig,
    backend: &dyn Backend,
    checks: &[MonitorCheck],
    now: DateTime<Utc>,
) -> u8 {
    let mut monitor = Monitor::new(&config.config, backend, now);
    let mut worst = 0u8;
    for check in checks {
        let report = monitor.check(check_of(*check));
        outln!("{}", nagios_line(&report));
        worst = worst.max(report.exit_code());
    }
    worst
}

/// The library's name for a `monitor` argument.
fn check_of(c: MonitorCheck) -> Check {
    match c {
        MonitorCheck::Snapshots => Check::Snapshots,
        MonitorCheck::Health => Check::Health,
        MonitorCheck::Capacity => Check::Capacity,
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
