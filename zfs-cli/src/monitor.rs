//! Nagios-style checks (`zsync monitor`, `sanoid --monitor-*`).
//!
//! Unlike sanoid, several checks can run in one call: each prints its own line and the exit code is
//! the worst status (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN).
//!
//! Pool checks cover the pools of the configured datasets (every imported pool when the config names
//! none); a configured pool that is not imported is CRIT. `health` reads `zpool list` + `zpool status`
//! through [`Backend::pool_status`] (two spawns), `capacity` only `zpool list` ([`Backend::pools`]).
//! When `zpool` itself fails the check is UNKNOWN (exit 3) with the error.

use crate::args::MonitorCheck;
use crate::config::LoadedConfig;
use crate::exit::EXIT_UNKNOWN;
use chrono::{DateTime, Local, Utc};
use zfs_core::{Backend, PoolStatus};
use zfs_policy::monitor::{DeviceHealth, PoolHealthInput};
use zsync_ops::engine::{list_state, policy_datasets};
use zsync_ops::{NoEvents, Report};

/// Runs the checks, prints one Nagios line per check, returns the worst status.
pub fn run(
    config: &LoadedConfig,
    backend: &dyn Backend,
    checks: &[MonitorCheck],
    now: DateTime<Utc>,
) -> u8 {
    let mut worst = 0u8;
    let mut report = Report::default();
    let mut listed = None;
    for check in checks {
        let code = match check {
            MonitorCheck::Snapshots => {
                let state = listed.get_or_insert_with(|| {
                    list_state(&config.config, backend, &mut report, &mut NoEvents)
                });
                if let Some(f) = report.failures.first() {
                    println!("UNKNOWN: cannot list datasets: {}: {}", f.what, f.error);
                    EXIT_UNKNOWN
                } else {
                    let resolution = config.config.resolve(&policy_datasets(state));
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
            MonitorCheck::Health => pool_check(config, backend, true),
            MonitorCheck::Capacity => pool_check(config, backend, false),
        };
        worst = worst.max(code);
    }
    worst
}

/// The pools the config is about (first components of its dataset paths), sorted, deduplicated.
pub fn configured_pools(config: &zfs_policy::Config) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = config
        .datasets
        .iter()
        .filter_map(|s| s.path.split('/').next())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    set.into_iter().collect()
}

/// Reads every pool (one `zpool list`, plus one `zpool status` when `detail`) and keeps the configured
/// ones; returns them and the configured pools that are not imported.
pub fn read_pools(
    config: &zfs_policy::Config,
    backend: &dyn Backend,
    detail: bool,
) -> Result<(Vec<PoolStatus>, Vec<String>), zfs_core::ZfsError> {
    let all = if detail {
        backend.pool_status(&[])?
    } else {
        backend.pools(&[])?
    };
    let wanted = configured_pools(config);
    if wanted.is_empty() {
        return Ok((all, Vec::new()));
    }
    let missing = wanted
        .iter()
        .filter(|w| !all.iter().any(|p| p.name.as_str() == w.as_str()))
        .cloned()
        .collect();
    let pools = all
        .into_iter()
        .filter(|p| wanted.iter().any(|w| w == p.name.as_str()))
        .collect();
    Ok((pools, missing))
}

/// zfs-core's view of a pool as zfs-policy's health input.
pub fn health_input(p: &PoolStatus) -> PoolHealthInput {
    let d = p.detail.as_ref();
    PoolHealthInput {
        pool: p.name.as_str().to_owned(),
        state: p.health.as_str().to_owned(),
        devices: d
            .map(|d| {
                d.vdevs
                    .iter()
                    .map(|v| {
                        let e = v.errors();
                        DeviceHealth {
                            name: v.name.clone(),
                            depth: v.depth,
                            state: v.state.as_str().to_owned(),
                            read: e.read,
                            write: e.write,
                            checksum: e.checksum,
                            note: v.note.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        scan_errors: d.and_then(|d| d.scan_errors),
        data_errors: d.and_then(|d| d.data_errors),
    }
}

/// `health` (with `detail`) or `capacity`: prints the Nagios line, returns the exit code.
fn pool_check(config: &LoadedConfig, backend: &dyn Backend, detail: bool) -> u8 {
    let what = if detail { "health" } else { "capacity" };
    let (pools, missing) = match read_pools(&config.config, backend, detail) {
        Ok(x) => x,
        Err(e) => {
            println!("UNKNOWN: cannot read pool {what}: {e}");
            return EXIT_UNKNOWN;
        }
    };
    let report = if detail {
        let inputs: Vec<PoolHealthInput> = pools.iter().map(health_input).collect();
        zfs_policy::monitor::check_health(&inputs)
    } else {
        let roots: Vec<zfs_policy::Dataset> = pools
            .iter()
            .map(|p| zfs_policy::Dataset::filesystem(p.name.as_str()))
            .collect();
        let resolution = config.config.resolve(&roots);
        let caps: Vec<(&str, u8)> = pools
            .iter()
            .map(|p| (p.name.as_str(), p.capacity))
            .collect();
        zfs_policy::monitor::check_capacity(&resolution.policies, &caps)
    };
    let mut code = report.status.exit_code() as u8;
    let mut parts: Vec<String> = missing
        .iter()
        .map(|m| format!("CRIT: configured pool {m} is not imported"))
        .collect();
    if !missing.is_empty() {
        code = 2;
    }
    if parts.is_empty() || !report.findings.is_empty() {
        parts.push(report.to_string());
    }
    let line = parts.join(", ");
    println!("{line}");
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::{ErrorCounts, PoolDetail, PoolHealth, PoolName, VdevStatus};

    #[test]
    fn pools_of_the_config() {
        let c = zfs_policy::Config::parse(
            "[tank/a]\n[tank]\n[backup/x/y]\n[template_t]\nhourly = 1\n",
            "x",
        )
        .unwrap();
        assert_eq!(configured_pools(&c), ["backup", "tank"]);
    }

    #[test]
    fn pool_status_becomes_health_input() {
        let vdev = |name: &str, depth, state, checksum| VdevStatus {
            name: name.into(),
            depth,
            section: None,
            state,
            counters: Some(ErrorCounts {
                read: 0,
                write: 0,
                checksum,
            }),
            note: None,
        };
        let p = PoolStatus {
            name: PoolName::parse("tank").unwrap(),
            health: PoolHealth::Degraded,
            size: 100,
            allocated: 10,
            free: 90,
            capacity: 10,
            fragmentation: None,
            detail: Some(PoolDetail {
                vdevs: vec![
                    vdev("tank", 0, PoolHealth::Degraded, 0),
                    vdev("mirror-0", 1, PoolHealth::Degraded, 0),
                    vdev("sda", 2, PoolHealth::Online, 7),
                    vdev("sdb", 2, PoolHealth::Offline, 0),
                ],
                scan_errors: Some(0),
                data_errors: Some(0),
                ..PoolDetail::default()
            }),
        };
        let input = health_input(&p);
        assert_eq!(input.state, "DEGRADED");
        assert_eq!(input.devices.len(), 4);
        assert_eq!(input.devices[2].checksum, 7);
        let r = zfs_policy::monitor::check_health(&[input]);
        assert_eq!(
            r.to_string(),
            "WARN: tank is DEGRADED: sda ONLINE with 0 read, 0 write, 7 checksum errors; sdb OFFLINE"
        );
        // Without `zpool status` detail only the pool state counts.
        let bare = PoolStatus { detail: None, ..p };
        assert!(health_input(&bare).devices.is_empty());
    }
}
