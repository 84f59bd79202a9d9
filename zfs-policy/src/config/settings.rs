//! The table of setting keys (the `settings!` macro): per key its type, sanoid's default and its value
//! parser, generating [`Settings`] (as written in one section), [`Policy`] (effective) and
//! [`SETTING_KEYS`].

use super::lexer::strip_inline_comment;
use super::values::{
    age, boolean, count, grid, int, percent, script, signed, ValueError, ValueParser,
};
use crate::grid::Grid;
use crate::types::SnapshotType;

macro_rules! settings {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $parser:expr, $inline_comments:expr; )*) => {
        /// Settings as written in one section or template: `None` where the key is absent.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Settings {
            $( $(#[$doc])* pub $field: Option<$ty>, )*
        }

        /// The effective, fully populated settings of a dataset (sanoid's defaults where nothing is set).
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct Policy {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for Policy {
            /// sanoid's built-in defaults (`sanoid.defaults.conf`).
            fn default() -> Self {
                Policy { $( $field: $default, )* }
            }
        }

        impl Settings {
            /// Writes every key that is set here over `policy`.
            pub fn apply_to(&self, policy: &mut Policy) {
                $( if let Some(v) = &self.$field { policy.$field = v.clone(); } )*
            }

            /// Writes every key that is set here over `other`.
            fn apply_onto(&self, other: &mut Settings) {
                $( if self.$field.is_some() { other.$field = self.$field.clone(); } )*
            }

            /// Whether `key` names one of these settings.
            pub fn is_key(key: &str) -> bool {
                SETTING_KEYS.contains(&key)
            }

            /// Parses `value` for `key` and stores it unless the key is already set (first value wins).
            /// `None` when the key is unknown.
            pub(super) fn set(&mut self, key: &str, value: &str) -> Option<Result<bool, ValueError>> {
                match key {
                    $( stringify!($field) => {
                        let parser: ValueParser<$ty> = $parser;
                        let value = if $inline_comments { strip_inline_comment(value) } else { value };
                        Some(parser(value).map(|v| {
                            if self.$field.is_none() { self.$field = Some(v); true } else { false }
                        }))
                    } )*
                    _ => None,
                }
            }
        }

        /// Every setting key (without the structural keys).
        pub const SETTING_KEYS: &[&str] = &[ $( stringify!($field), )* ];
    };
}

settings! {
    /// Number of `frequently` snapshots to keep (0: never take, prune all).
    frequently: u32 = 0, count, true;
    /// Number of hourly snapshots to keep.
    hourly: u32 = 48, count, true;
    /// Number of daily snapshots to keep.
    daily: u32 = 90, count, true;
    /// Number of weekly snapshots to keep.
    weekly: u32 = 0, count, true;
    /// Number of monthly snapshots to keep.
    monthly: u32 = 6, count, true;
    /// Number of yearly snapshots to keep.
    yearly: u32 = 0, count, true;
    /// Minutes between `frequently` snapshots (should divide 60).
    frequent_period: u32 = 15, int::<1, 1440>, true;
    /// Minute of the hour for hourlies.
    hourly_min: u32 = 0, int::<0, 59>, true;
    /// Hour of the day for dailies.
    daily_hour: u32 = 23, int::<0, 23>, true;
    /// Minute for dailies.
    daily_min: u32 = 59, int::<0, 59>, true;
    /// Day of the week for weeklies (0 or 7 = Sunday, 1 = Monday, ...).
    weekly_wday: u32 = 1, int::<0, 7>, true;
    /// Hour for weeklies.
    weekly_hour: u32 = 23, int::<0, 23>, true;
    /// Minute for weeklies.
    weekly_min: u32 = 30, int::<0, 59>, true;
    /// Day of the month for monthlies (past the month's end means its last day).
    monthly_mday: u32 = 1, int::<1, 31>, true;
    /// Hour for monthlies.
    monthly_hour: u32 = 0, int::<0, 23>, true;
    /// Minute for monthlies.
    monthly_min: u32 = 0, int::<0, 59>, true;
    /// Month for yearlies (1 = January).
    yearly_mon: u32 = 1, int::<1, 12>, true;
    /// Day of the month for yearlies (past the month's end means its last day).
    yearly_mday: u32 = 1, int::<1, 31>, true;
    /// Hour for yearlies.
    yearly_hour: u32 = 0, int::<0, 23>, true;
    /// Minute for yearlies.
    yearly_min: u32 = 0, int::<0, 59>, true;
    /// Take snapshots.
    autosnap: bool = true, boolean, true;
    /// Prune snapshots.
    autoprune: bool = true, boolean, true;
    /// 0: always prune; 1–100: prune only when the pool's used capacity is above this percentage.
    prune_defer: u8 = 0, percent, true;
    /// Include the dataset in snapshot monitoring.
    monitor: bool = true, boolean, true;
    /// Report warnings as text but with status OK.
    monitor_dont_warn: bool = false, boolean, true;
    /// Report criticals as text but with status OK.
    monitor_dont_crit: bool = false, boolean, true;
    /// Warn when the newest frequently snapshot is this old (seconds; 0 = off).
    frequently_warn: u64 = 0, age::<1>, true;
    /// Critical age for frequently snapshots (seconds; 0 = off).
    frequently_crit: u64 = 0, age::<1>, true;
    /// Warn age for hourlies (seconds).
    hourly_warn: u64 = 90 * 60, age::<60>, true;
    /// Critical age for hourlies (seconds).
    hourly_crit: u64 = 360 * 60, age::<60>, true;
    /// Warn age for dailies (seconds).
    daily_warn: u64 = 28 * 3600, age::<3600>, true;
    /// Critical age for dailies (seconds).
    daily_crit: u64 = 32 * 3600, age::<3600>, true;
    /// Warn age for weeklies (seconds).
    weekly_warn: u64 = 0, age::<86400>, true;
    /// Critical age for weeklies (seconds).
    weekly_crit: u64 = 0, age::<86400>, true;
    /// Warn age for monthlies (seconds).
    monthly_warn: u64 = 32 * 86400, age::<604800>, true;
    /// Critical age for monthlies (seconds).
    monthly_crit: u64 = 40 * 86400, age::<604800>, true;
    /// Warn age for yearlies (seconds).
    yearly_warn: u64 = 0, age::<2678400>, true;
    /// Critical age for yearlies (seconds).
    yearly_crit: u64 = 0, age::<2678400>, true;
    /// Pool capacity percentage that warns (0 = off); honoured in a pool's root section.
    capacity_warn: u8 = 80, percent, true;
    /// Pool capacity percentage that is critical (0 = off); honoured in a pool's root section.
    capacity_crit: u8 = 95, percent, true;
    /// Command line run (by the caller, `sh -c`) before taking snapshots.
    pre_snapshot_script: Option<String> = None, script, false;
    /// Command line run after taking snapshots.
    post_snapshot_script: Option<String> = None, script, false;
    /// Command line run before each destroy; non-zero exit skips that snapshot.
    pre_pruning_script: Option<String> = None, script, false;
    /// Command line run after each destroy.
    pruning_script: Option<String> = None, script, false;
    /// Seconds a script may run (≤ 0: no limit).
    script_timeout: i64 = 5, signed, true;
    /// Skip the snapshot when the pre-snapshot script fails.
    no_inconsistent_snapshot: bool = false, boolean, true;
    /// Run the post-snapshot script even when the pre-snapshot script failed.
    force_post_snapshot_script: bool = false, boolean, true;
    /// zsync extension: a zrepl-style grid whose buckets keep snapshots (union with the counts).
    prune_grid: Option<Grid> = None, grid, true;
    /// zsync extension: always keep the newest N autosnap snapshots of any type (0 = off).
    prune_keep_last: u32 = 0, count, true;
}

impl Settings {
    /// Parses `value` for `key` as sanoid.conf reads it and stores it (a later value replaces an
    /// earlier one): for config formats other than sanoid.conf's (zsync-ops' job file) that share
    /// its keys. `None` when the key is unknown; `Some(Err(reason))` when the value is refused.
    pub fn set_value(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        let mut one = Settings::default();
        let result = one.set(key, value)?.map_err(|e| e.reason);
        one.apply_onto(self);
        Some(result.map(|_| ()))
    }
}

impl Policy {
    /// The retention count for a type.
    pub fn count(&self, kind: SnapshotType) -> u32 {
        match kind {
            SnapshotType::Frequently => self.frequently,
            SnapshotType::Hourly => self.hourly,
            SnapshotType::Daily => self.daily,
            SnapshotType::Weekly => self.weekly,
            SnapshotType::Monthly => self.monthly,
            SnapshotType::Yearly => self.yearly,
        }
    }

    /// Monitoring thresholds `(warn, crit)` in seconds for a type (0 = off).
    pub fn monitor_ages(&self, kind: SnapshotType) -> (u64, u64) {
        match kind {
            SnapshotType::Frequently => (self.frequently_warn, self.frequently_crit),
            SnapshotType::Hourly => (self.hourly_warn, self.hourly_crit),
            SnapshotType::Daily => (self.daily_warn, self.daily_crit),
            SnapshotType::Weekly => (self.weekly_warn, self.weekly_crit),
            SnapshotType::Monthly => (self.monthly_warn, self.monthly_crit),
            SnapshotType::Yearly => (self.yearly_warn, self.yearly_crit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Recursive};

    #[test]
    fn values_and_defaults() {
        let c = Config::parse(
            "\u{feff}[version]\nversion = 2\n[tank]\n hourly = 5 # five\n daily_warn = 2d\n monthly_crit = 6\n \
             yearly_warn = 2\n frequently_crit = 1y\n pre_snapshot_script = /bin/echo a # b\n script_timeout = -1\n \
             autosnap = On\n capacity_warn = 70%\n recursive = ZFS\n hourly = 7\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.version, Some(2));
        let s = &c.datasets[0].settings;
        assert_eq!(s.hourly, Some(5));
        assert_eq!(s.daily_warn, Some(2 * 86400));
        assert_eq!(s.monthly_crit, Some(6 * 7 * 86400));
        assert_eq!(s.yearly_warn, Some(2 * 31 * 86400));
        assert_eq!(s.frequently_crit, Some(365 * 86400));
        assert_eq!(
            s.pre_snapshot_script.as_ref().unwrap().as_deref(),
            Some("/bin/echo a # b")
        );
        assert_eq!(s.script_timeout, Some(-1));
        assert_eq!(s.autosnap, Some(true));
        assert_eq!(s.capacity_warn, Some(70));
        assert_eq!(c.datasets[0].structure.recursive, Some(Recursive::Zfs));
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(
            c.warnings[0].to_string(),
            "x:14:2: warning: duplicate key 'hourly' in section [tank]; the first value is used"
        );
        let d = Policy::default();
        assert_eq!(
            (
                d.frequently,
                d.hourly,
                d.daily,
                d.weekly,
                d.monthly,
                d.yearly
            ),
            (0, 48, 90, 0, 6, 0)
        );
        assert_eq!(d.frequent_period, 15);
        assert_eq!((d.daily_hour, d.daily_min), (23, 59));
        assert_eq!((d.weekly_wday, d.weekly_hour, d.weekly_min), (1, 23, 30));
        assert_eq!((d.monthly_mday, d.monthly_hour, d.monthly_min), (1, 0, 0));
        assert_eq!(
            (d.yearly_mon, d.yearly_mday, d.yearly_hour, d.yearly_min),
            (1, 1, 0, 0)
        );
        assert!(d.autosnap && d.autoprune && d.monitor);
        assert_eq!((d.hourly_warn, d.hourly_crit), (5400, 21600));
    }
}
