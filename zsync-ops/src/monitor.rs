//! Monitor checks (`zsync monitor`, sanoid's `--monitor-*`): snapshot freshness, pool health and
//! pool capacity, returned as values. The verdicts come from zfs-policy's pure checks; this module
//! reads their input through zfs-core and adds what zfs-policy cannot see (configured datasets and
//! pools that do not exist). Rendering the Nagios line and the exit code is the caller's.
//!
//! Unlike sanoid, several checks can run in one call ([`Monitor::check`] per check; the listing
//! the snapshot check needs is read once).
//!
//! Pool checks cover the pools of the configured datasets (every imported pool when the config names
//! none); a configured pool that is not imported is CRIT. `health` reads `zpool list` + `zpool status`
//! through [`Backend::pool_status`] (two spawns), `capacity` only `zpool list` ([`Backend::pools`]).
//! When `zpool` itself fails the check is UNKNOWN with the error.

use crate::engine::{list_state, policy_datasets, State};
use crate::events::NoEvents;
use crate::report::{Failure, Report};
use chrono::{DateTime, Local, Utc};
use zfs_core::{Backend, PoolStatus, ZfsError};
use zfs_policy::monitor::{DeviceHealth, MonitorReport, PoolHealthInput};
use zfs_policy::Config;

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The newest snapshot of each monitored type is fresh enough.
    Snapshots,
    /// Pools are ONLINE without errors.
    Health,
    /// Pool capacity is below `capacity_warn` / `capacity_crit`.
    Capacity,
}

impl Check {
    /// The check's name (`snapshots`, `health`, `capacity`).
    pub fn name(self) -> &'static str {
        match self {
            Check::Snapshots => "snapshots",
            Check::Health => "health",
            Check::Capacity => "capacity",
        }
    }
}

/// A Nagios state, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckState {
    /// All good.
    Ok,
    /// Warning.
    Warn,
    /// Critical.
    Crit,
    /// The check could not read its input.
    Unknown,
}

/// Why a check could not read its input (its state is [`CheckState::Unknown`]).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// Listing a configured dataset tree failed.
    #[error("cannot list datasets: {what}: {error}")]
    List {
        /// What was listed (`list tank`).
        what: String,
        /// The error.
        error: String,
    },
    /// `zpool list` (or `zpool status`) failed.
    #[error("cannot read pool {}: {source}", .check.name())]
    Pools {
        /// The check that read the pools.
        check: Check,
        /// zfs-core's error.
        source: ZfsError,
    },
}

/// What a check that could read its input found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// zfs-policy's verdict on what exists.
    pub report: MonitorReport,
    /// Configured datasets (snapshot check) or pools (pool checks) that do not exist; each is CRIT.
    pub missing: Vec<String>,
}

/// The result of one check.
#[derive(Debug)]
pub struct CheckReport {
    /// Which check.
    pub check: Check,
    /// What it found, or why it could not look.
    pub outcome: Result<Checked, MonitorError>,
}

impl CheckReport {
    /// UNKNOWN when the check could not look; CRIT when something configured does not exist;
    /// else zfs-policy's status.
    pub fn state(&self) -> CheckState {
        match &self.outcome {
            Err(_) => CheckState::Unknown,
            Ok(c) if !c.missing.is_empty() => CheckState::Crit,
            Ok(c) => match c.report.status {
                zfs_policy::monitor::Level::Ok => CheckState::Ok,
                zfs_policy::monitor::Level::Warn => CheckState::Warn,
                zfs_policy::monitor::Level::Crit => CheckState::Crit,
            },
        }
    }
}

/// Runs checks against one config and backend at one time; the listing is read once.
pub struct Monitor<'a> {
    config: &'a Config,
    backend: &'a dyn Backend,
    now: DateTime<Utc>,
    listing: Option<(State, Vec<Failure>)>,
    degraded: zfs_policy::monitor::Level,
}

impl<'a> Monitor<'a> {
    /// Checks for `config`'s datasets and pools, as of `now`.
    pub fn new(config: &'a Config, backend: &'a dyn Backend, now: DateTime<Utc>) -> Monitor<'a> {
        Monitor {
            config,
            backend,
            now,
            listing: None,
            degraded: zfs_policy::monitor::Level::Warn,
        }
    }

    /// A `DEGRADED` pool is CRIT (zsync's own `monitor health`); without this WARN, as sanoid's
    /// `--monitor-health` says.
    pub fn degraded_is_critical(mut self) -> Self {
        self.degraded = zfs_policy::monitor::Level::Crit;
        self
    }

    /// Runs one check.
    pub fn check(&mut self, check: Check) -> CheckReport {
        let outcome = match check {
            Check::Snapshots => self.snapshots(),
            Check::Health => pool_check(self.config, self.backend, check, true, self.degraded),
            Check::Capacity => pool_check(self.config, self.backend, check, false, self.degraded),
        };
        CheckReport { check, outcome }
    }

    fn snapshots(&mut self) -> Result<Checked, MonitorError> {
        let (config, backend) = (self.config, self.backend);
        let (state, failures) = self.listing.get_or_insert_with(|| {
            let mut report = Report::default();
            let state = list_state(config, backend, &mut report, &mut NoEvents);
            (state, report.failures)
        });
        if let Some(f) = failures.first() {
            return Err(MonitorError::List {
                what: f.what.clone(),
                error: f.error.clone(),
            });
        }
        let resolution = config.resolve(&policy_datasets(state));
        let report = zfs_policy::monitor::check_snapshots(
            &resolution.policies,
            |ds| state.get(ds).map(|s| s.snapshots.as_slice()).unwrap_or(&[]),
            &self.now.with_timezone(&Local),
        );
        Ok(Checked {
            report,
            missing: resolution.missing,
        })
    }
}

/// Runs `checks` in order (the listing is read once).
pub fn run(
    config: &Config,
    backend: &dyn Backend,
    checks: &[Check],
    now: DateTime<Utc>,
) -> Vec<CheckReport> {
    let mut m = Monitor::new(config, backend, now);
    checks.iter().map(|c| m.check(*c)).collect()
}

/// The pools the config is about (first components of its dataset paths), sorted, deduplicated.
pub fn configured_pools(config: &Config) -> Vec<String> {
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
    config: &Config,
    backend: &dyn Backend,
    detail: bool,
) -> Result<(Vec<PoolStatus>, Vec<String>), ZfsError> {
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

/// `health` (with `detail`) or `capacity`: zfs-policy's verdict on the configured pools.
fn pool_check(
    config: &Config,
    backend: &dyn Backend,
    check: Check,
    detail: bool,
    degraded: zfs_policy::monitor::Level,
) -> Result<Checked, MonitorError> {
    let (pools, missing) = read_pools(config, backend, detail)
        .map_err(|source| MonitorError::Pools { check, source })?;
    let report = if detail {
        let inputs: Vec<PoolHealthInput> = pools.iter().map(health_input).collect();
        zfs_policy::monitor::check_health_with(&inputs, degraded)
    } else {
        let roots: Vec<zfs_policy::Dataset> = pools
            .iter()
            .map(|p| zfs_policy::Dataset::filesystem(p.name.as_str()))
            .collect();
        let resolution = config.resolve(&roots);
        let caps: Vec<(&str, u8)> = pools
            .iter()
            .map(|p| (p.name.as_str(), p.capacity))
            .collect();
        zfs_policy::monitor::check_capacity(&resolution.policies, &caps)
    };
    Ok(Checked { report, missing })
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

    #[test]
    fn state_is_unknown_then_missing_then_the_verdict() {
        let checked = |status, missing: &[&str]| CheckReport {
            check: Check::Snapshots,
            outcome: Ok(Checked {
                report: MonitorReport {
                    status,
                    ..MonitorReport::default()
                },
                missing: missing.iter().map(|m| m.to_string()).collect(),
            }),
        };
        use zfs_policy::monitor::Level;
        assert_eq!(checked(Level::Ok, &[]).state(), CheckState::Ok);
        assert_eq!(checked(Level::Warn, &[]).state(), CheckState::Warn);
        assert_eq!(checked(Level::Crit, &[]).state(), CheckState::Crit);
        assert_eq!(checked(Level::Ok, &["tank/gone"]).state(), CheckState::Crit);
        let unknown = CheckReport {
            check: Check::Health,
            outcome: Err(MonitorError::List {
                what: "list tank".into(),
                error: "no pools".into(),
            }),
        };
        assert_eq!(unknown.state(), CheckState::Unknown);
        assert!(CheckState::Unknown > CheckState::Crit && CheckState::Warn > CheckState::Ok);
    }
}
