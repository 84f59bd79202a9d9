//! Health and capacity of the pools of one host as run-record entries ([`PoolRecord`]): what `zsync
//! run` records for every host it touched and the metrics export. The verdicts are the monitor's
//! ([`crate::monitor::health_input`], zfs-policy's `check_health_with` — a DEGRADED pool is CRIT,
//! as in `zsync monitor health` — and `check_capacity` with sanoid's default limits, 80 % / 95 %);
//! one `zpool list` + `zpool status` per host ([`Backend::pool_status`]).

use crate::monitor::health_input;
use crate::state::PoolRecord;
use zfs_core::{Backend, PoolStatus};
use zfs_policy::monitor::{check_capacity, check_health_with, Level, MonitorReport};

/// The record of each pool in `pools` (every imported pool when empty) on `host`: health, capacity
/// and the monitor's verdict (`ok`, `warn`, `crit`, `unknown`). A named pool that is not imported
/// is `crit`; when `zpool` itself fails each named pool (or one `*` entry) is `unknown` with the
/// error.
pub fn inspect(host: &str, backend: &dyn Backend, pools: &[String]) -> Vec<PoolRecord> {
    match backend.pool_status(&[]) {
        Ok(all) => records(host, &all, pools),
        Err(e) => {
            let names: Vec<String> = if pools.is_empty() {
                vec!["*".to_owned()]
            } else {
                pools.to_vec()
            };
            names
                .into_iter()
                .map(|pool| PoolRecord {
                    host: host.to_owned(),
                    pool,
                    health: "UNKNOWN".to_owned(),
                    capacity_percent: None,
                    state: "unknown".to_owned(),
                    message: format!("cannot read pools on {host}: {e}"),
                })
                .collect()
        }
    }
}

/// The records of `wanted` (every pool of `all` when empty) from what `zpool` reported (pure).
pub fn records(host: &str, all: &[PoolStatus], wanted: &[String]) -> Vec<PoolRecord> {
    let names: Vec<String> = if wanted.is_empty() {
        all.iter().map(|p| p.name.as_str().to_owned()).collect()
    } else {
        wanted.to_vec()
    };
    names
        .into_iter()
        .map(|name| match all.iter().find(|p| p.name.as_str() == name) {
            None => PoolRecord {
                host: host.to_owned(),
                message: format!("pool {name} is not imported"),
                pool: name,
                health: "UNKNOWN".to_owned(),
                capacity_percent: None,
                state: "crit".to_owned(),
            },
            Some(p) => {
                // zsync's rule: a pool without its redundancy is CRIT.
                let verdict = check_health_with(&[health_input(p)], Level::Crit)
                    .merge(check_capacity(&[], &[(p.name.as_str(), p.capacity)]));
                PoolRecord {
                    host: host.to_owned(),
                    pool: name,
                    health: p.health.as_str().to_owned(),
                    capacity_percent: Some(p.capacity),
                    state: level_name(verdict.status).to_owned(),
                    message: findings(&verdict),
                }
            }
        })
        .collect()
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Crit => "crit",
    }
}

/// The findings of a verdict, `; `-joined; empty when all is well.
fn findings(r: &MonitorReport) -> String {
    let parts: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::{PoolHealth, PoolName};

    fn pool(name: &str, health: PoolHealth, capacity: u8) -> PoolStatus {
        PoolStatus {
            name: PoolName::parse(name).unwrap(),
            health,
            size: 100,
            allocated: capacity as u64,
            free: 100 - capacity as u64,
            capacity,
            fragmentation: None,
            detail: None,
        }
    }

    #[test]
    fn verdicts_missing_pools_and_defaults() {
        let all = [
            pool("tank", PoolHealth::Online, 10),
            pool("full", PoolHealth::Online, 96),
            pool("sick", PoolHealth::Degraded, 85),
        ];
        let r = records("backup", &all, &[]);
        let states: Vec<(&str, &str)> = r
            .iter()
            .map(|p| (p.pool.as_str(), p.state.as_str()))
            .collect();
        // zsync's rule: a DEGRADED pool is CRIT (sanoid's would be WARN).
        assert_eq!(states, [("tank", "ok"), ("full", "crit"), ("sick", "crit")]);
        assert_eq!(r[0].message, "");
        assert_eq!(r[1].message, "full capacity is 96% (should be < 95%)");
        assert!(
            r[2].message.contains("sick is DEGRADED"),
            "{}",
            r[2].message
        );
        assert!(r[2].message.contains("85%"), "{}", r[2].message);
        assert_eq!(
            (r[2].health.as_str(), r[2].capacity_percent),
            ("DEGRADED", Some(85))
        );
        let r = records("backup", &all, &["gone".to_owned(), "tank".to_owned()]);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].state.as_str(), r[0].message.as_str()),
            ("crit", "pool gone is not imported")
        );
        assert!(r.iter().all(|p| p.host == "backup"));
    }
}
