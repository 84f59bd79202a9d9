//! Target-side retention of a job: sanoid.conf's retention keys, checked by zfs-policy.

use zfs_policy::config::{Section, Settings, Structure};
use zfs_policy::{Config, Policy, Recursive};

/// The sanoid.conf keys a job's `[job.retention]` table accepts.
pub const RETENTION_KEYS: &[&str] = &[
    "frequently",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "yearly",
    "prune_grid",
    "prune_keep_last",
    "prune_defer",
];

/// How many snapshots of each type to keep on a job's target, as sanoid.conf's keys say; the
/// keys not given keep sanoid's defaults. Whoever prunes with it must never destroy the newest
/// snapshot source and target have in common (the next incremental's base).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retention {
    /// The keys as given.
    pub settings: Settings,
}

impl Retention {
    /// Sets one key from its text as sanoid.conf would read it; the error says why it is refused
    /// (an unknown key or a bad value).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        if !RETENTION_KEYS.contains(&key) {
            return Err(format!(
                "unknown retention key '{key}' (known: {})",
                RETENTION_KEYS.join(", ")
            ));
        }
        match self.settings.set_value(key, value) {
            Some(Ok(())) => Ok(()),
            Some(Err(reason)) => Err(format!("bad value '{value}' for '{key}': {reason}")),
            None => Err(format!("unknown retention key '{key}'")),
        }
    }

    /// A config that prunes each of `datasets` (one section each, not recursive) by these rules
    /// and takes no snapshots: what a job's target is pruned with. `label` names it in messages
    /// (`jobs.toml: job 'vms' retention`).
    pub fn config(&self, datasets: &[&str], label: &str) -> Config {
        let mut settings = self.settings.clone();
        for (key, value) in [("autosnap", "no"), ("autoprune", "yes")] {
            // Both keys are sanoid's and their values valid; `set_value` cannot refuse them.
            let _ = settings.set_value(key, value);
        }
        Config {
            label: label.to_string(),
            datasets: datasets
                .iter()
                .map(|ds| Section {
                    name: ds.to_string(),
                    line: 0,
                    path: ds.to_string(),
                    use_template: Vec::new(),
                    structure: Structure {
                        recursive: Some(Recursive::No),
                        ..Structure::default()
                    },
                    settings: settings.clone(),
                })
                .collect(),
            templates: Default::default(),
            version: None,
            warnings: Vec::new(),
        }
    }

    /// The effective policy: sanoid's defaults with these keys over them.
    pub fn policy(&self) -> Policy {
        let mut p = Policy::default();
        self.settings.apply_to(&mut p);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_zfs_policy() {
        let mut r = Retention::default();
        r.set("daily", "30").unwrap();
        r.set("prune_grid", "24x1h | 14x1d").unwrap();
        let p = r.policy();
        assert_eq!((p.daily, p.hourly), (30, Policy::default().hourly));
        assert!(p.prune_grid.is_some());
        assert!(r
            .set("daily", "many")
            .unwrap_err()
            .starts_with("bad value 'many' for 'daily': "));
        let c = r.config(&["backup/vms", "backup/vms/disk0"], "jobs.toml: job 'vms'");
        let res = c.resolve(&[
            zfs_policy::Dataset::filesystem("backup/vms"),
            zfs_policy::Dataset::filesystem("backup/vms/disk0"),
            zfs_policy::Dataset::filesystem("backup/vms/other"),
        ]);
        assert_eq!(res.policies.len(), 2);
        for d in &res.policies {
            assert!(d.prune && !d.settings.autosnap, "{d:?}");
            assert_eq!(d.settings.daily, 30);
        }
        assert!(r
            .set("autosnap", "yes")
            .unwrap_err()
            .starts_with("unknown retention key 'autosnap'"));
    }
}
