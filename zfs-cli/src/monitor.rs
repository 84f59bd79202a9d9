//! Nagios-style checks (`zsync monitor`, `sanoid --monitor-*`).
//!
//! Unlike sanoid, several checks can run in one call: each prints its own line and the exit code is
//! the worst status (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN).
//!
//! Pool health and capacity need `zpool` data that zfs-core does not offer yet (no pool-status call
//! in its Backend); those checks report UNKNOWN until it does.

use crate::app::LoadedConfig;
use crate::args::MonitorCheck;
use crate::output::{Output, Report, Verbosity};
use crate::snap;
use chrono::{DateTime, Local, Utc};
use zfs_core::Backend;

/// Nagios UNKNOWN.
pub const EXIT_UNKNOWN: u8 = 3;

/// Runs the checks, prints one Nagios line per check, returns the worst status.
pub fn run(
    config: &LoadedConfig,
    backend: &dyn Backend,
    checks: &[MonitorCheck],
    now: DateTime<Utc>,
) -> u8 {
    let mut worst = 0u8;
    let mut report = Report::default();
    let mut out = Output::new(Verbosity::Quiet, false);
    let mut listed = None;
    for check in checks {
        let code = match check {
            MonitorCheck::Snapshots => {
                let state = listed.get_or_insert_with(|| {
                    snap::list_state(&config.config, backend, &mut report, &mut out)
                });
                if let Some(f) = report.failures.first() {
                    println!("UNKNOWN: cannot list datasets: {}: {}", f.what, f.error);
                    EXIT_UNKNOWN
                } else {
                    let datasets: Vec<zfs_policy::Dataset> = state
                        .iter()
                        .map(|(name, s)| zfs_policy::Dataset {
                            name: name.clone(),
                            kind: s.kind,
                        })
                        .collect();
                    let resolution = config.config.resolve(&datasets);
                    let r = zfs_policy::monitor::check_snapshots(
                        &resolution.policies,
                        |ds| state.get(ds).map(|s| s.snapshots.as_slice()).unwrap_or(&[]),
                        &now.with_timezone(&Local),
                    );
                    let mut line = r.to_string();
                    for m in &resolution.missing {
                        line.push_str(&format!(", CRIT: configured dataset {m} does not exist"));
                    }
                    println!("{line}");
                    let code = r.status.exit_code() as u8;
                    if resolution.missing.is_empty() {
                        code
                    } else {
                        2
                    }
                }
            }
            MonitorCheck::Health => {
                println!(
                    "UNKNOWN: pool health is not available (zfs-core has no zpool status call yet)"
                );
                EXIT_UNKNOWN
            }
            MonitorCheck::Capacity => {
                println!(
                    "UNKNOWN: pool capacity is not available (zfs-core has no zpool list call yet)"
                );
                EXIT_UNKNOWN
            }
        };
        worst = worst.max(code);
    }
    worst
}
