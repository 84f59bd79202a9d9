//! Target-side retention of a job: sanoid.conf's retention keys, checked by zfs-policy.

use zfs_policy::config::Settings;
use zfs_policy::Policy;

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
        assert!(r
            .set("autosnap", "yes")
            .unwrap_err()
            .starts_with("unknown retention key 'autosnap'"));
    }
}
