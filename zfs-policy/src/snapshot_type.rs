//! [`SnapshotType`]: sanoid's six snapshot types (periods), their names and order.

use std::fmt;
use std::str::FromStr;

/// One of sanoid's six snapshot types (also called periods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum SnapshotType {
    /// Every `frequent_period` minutes.
    Frequently,
    /// Once an hour.
    Hourly,
    /// Once a day.
    Daily,
    /// Once a week.
    Weekly,
    /// Once a month.
    Monthly,
    /// Once a year.
    Yearly,
}

impl SnapshotType {
    /// All types, shortest period first.
    pub const ALL: [SnapshotType; 6] = [
        SnapshotType::Frequently,
        SnapshotType::Hourly,
        SnapshotType::Daily,
        SnapshotType::Weekly,
        SnapshotType::Monthly,
        SnapshotType::Yearly,
    ];

    /// The order in which sanoid takes snapshots in one run (longest period first).
    pub const TAKE_ORDER: [SnapshotType; 6] = [
        SnapshotType::Yearly,
        SnapshotType::Monthly,
        SnapshotType::Weekly,
        SnapshotType::Daily,
        SnapshotType::Hourly,
        SnapshotType::Frequently,
    ];

    /// The lowercase name used in snapshot names and config keys (`hourly`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            SnapshotType::Frequently => "frequently",
            SnapshotType::Hourly => "hourly",
            SnapshotType::Daily => "daily",
            SnapshotType::Weekly => "weekly",
            SnapshotType::Monthly => "monthly",
            SnapshotType::Yearly => "yearly",
        }
    }

    /// Index into arrays ordered like [`SnapshotType::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SnapshotType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for [`SnapshotType::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown snapshot type '{0}' (expected frequently, hourly, daily, weekly, monthly or yearly)"
)]
pub struct UnknownSnapshotType(pub String);

impl FromStr for SnapshotType {
    type Err = UnknownSnapshotType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "frequently" => Ok(SnapshotType::Frequently),
            "hourly" => Ok(SnapshotType::Hourly),
            "daily" => Ok(SnapshotType::Daily),
            "weekly" => Ok(SnapshotType::Weekly),
            "monthly" => Ok(SnapshotType::Monthly),
            "yearly" => Ok(SnapshotType::Yearly),
            other => Err(UnknownSnapshotType(other.to_string())),
        }
    }
}
