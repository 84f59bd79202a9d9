//! Pool status as [`Backend::pools`](crate::Backend::pools) and
//! [`Backend::pool_status`](crate::Backend::pool_status) return it: each pool's health and capacity
//! (`zpool list`) and, with `pool_status`, the `zpool status` detail (vdev states and error counters,
//! the last scan, permanent data errors).
//!
//! The `Cli` backend reads them with `zpool` (argv in `cli::argv::pools_args` and
//! `cli::argv::status_args`, parsers in `cli::parse::pool`; feature `backends`).

use crate::name::PoolName;
use std::fmt;

/// The state of a pool or a vdev as `zpool` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub enum PoolHealth {
    /// `ONLINE`: working normally.
    Online,
    /// `DEGRADED`: working with reduced redundancy (a mirror or raidz member is missing or failing).
    Degraded,
    /// `FAULTED`: not working (too many errors or missing devices).
    Faulted,
    /// `OFFLINE`: taken offline by the administrator.
    Offline,
    /// `UNAVAIL`: cannot be opened.
    Unavail,
    /// `REMOVED`: physically removed while in use.
    Removed,
    /// `SUSPENDED`: I/O suspended after a failure (pools only).
    Suspended,
    /// Anything else (`AVAIL`/`INUSE` spares, states of a future release).
    Other(String),
}

impl PoolHealth {
    /// From the word `zpool` prints (case-insensitive; surrounding blanks ignored).
    pub fn parse(s: &str) -> PoolHealth {
        let t = s.trim();
        match t.to_ascii_uppercase().as_str() {
            "ONLINE" => PoolHealth::Online,
            "DEGRADED" => PoolHealth::Degraded,
            "FAULTED" => PoolHealth::Faulted,
            "OFFLINE" => PoolHealth::Offline,
            "UNAVAIL" => PoolHealth::Unavail,
            "REMOVED" => PoolHealth::Removed,
            "SUSPENDED" => PoolHealth::Suspended,
            _ => PoolHealth::Other(t.to_owned()),
        }
    }

    /// The word as `zpool` prints it.
    pub fn as_str(&self) -> &str {
        match self {
            PoolHealth::Online => "ONLINE",
            PoolHealth::Degraded => "DEGRADED",
            PoolHealth::Faulted => "FAULTED",
            PoolHealth::Offline => "OFFLINE",
            PoolHealth::Unavail => "UNAVAIL",
            PoolHealth::Removed => "REMOVED",
            PoolHealth::Suspended => "SUSPENDED",
            PoolHealth::Other(s) => s,
        }
    }
}

impl fmt::Display for PoolHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PoolHealth> for String {
    fn from(h: PoolHealth) -> String {
        h.as_str().to_owned()
    }
}

/// One pool: `zpool list` figures and, from [`Backend::pool_status`](crate::Backend::pool_status), the
/// `zpool status` detail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoolStatus {
    /// Pool name.
    pub name: PoolName,
    /// Overall health.
    pub health: PoolHealth,
    /// Total size in bytes.
    pub size: u64,
    /// Allocated bytes.
    pub allocated: u64,
    /// Free bytes.
    pub free: u64,
    /// Used capacity in percent (`allocated / size`, as `zpool` rounds it).
    pub capacity: u8,
    /// Free-space fragmentation in percent; `None` when `zpool` prints `-`.
    pub fragmentation: Option<u8>,
    /// Vdev tree, scan and error lines; `None` from [`Backend::pools`](crate::Backend::pools) or when
    /// `zpool status` did not mention the pool.
    pub detail: Option<PoolDetail>,
}

/// What `zpool status` says about one pool.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct PoolDetail {
    /// The `state:` line.
    pub state: Option<PoolHealth>,
    /// The `status:` paragraph (why the pool is not healthy), joined into one line.
    pub status: Option<String>,
    /// The `action:` paragraph, joined into one line.
    pub action: Option<String>,
    /// The `scan:` paragraph (last or running scrub/resilver), joined into one line.
    pub scan: Option<String>,
    /// Errors the last completed scan reported (`... with N errors ...`).
    pub scan_errors: Option<u64>,
    /// Every device of the `config:` table, in order (the pool's root first).
    pub vdevs: Vec<VdevStatus>,
    /// The `errors:` line (`No known data errors`, `3 data errors, use '-v' for a list`, ...).
    pub errors: Option<String>,
    /// Number of permanent data errors from the `errors:` line (0 for `No known data errors`); `None`
    /// when the line is absent or says something else (e.g. the pool is suspended).
    pub data_errors: Option<u64>,
}

impl PoolDetail {
    /// Devices (not the pool root, not group rows like `mirror-0` or `logs`) that are not `ONLINE`
    /// or that have non-zero error counters.
    pub fn problem_vdevs(&self) -> impl Iterator<Item = &VdevStatus> {
        self.vdevs
            .iter()
            .filter(|v| v.depth > 0 && (v.state != PoolHealth::Online || v.errors().total() > 0))
    }
}

/// Read/write/checksum error counters of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ErrorCounts {
    /// Read errors.
    pub read: u64,
    /// Write errors.
    pub write: u64,
    /// Checksum errors.
    pub checksum: u64,
}

impl ErrorCounts {
    /// Sum of the three counters (saturating).
    pub fn total(&self) -> u64 {
        self.read
            .saturating_add(self.write)
            .saturating_add(self.checksum)
    }
}

/// One row of the `config:` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VdevStatus {
    /// Device or group name as printed (`/dev/sda`, `mirror-0`, a GUID for a missing device).
    pub name: String,
    /// Nesting level: 0 for the pool root and the `logs`/`cache`/`spares`/`special`/`dedup` headings,
    /// 1 for top-level vdevs, 2 for their members, ...
    pub depth: usize,
    /// The section the row belongs to: `None` for the pool's data vdevs, else `logs`, `cache`,
    /// `spares`, `special`, `dedup`.
    pub section: Option<String>,
    /// State; [`PoolHealth::Other`] holds spare states (`AVAIL`, `INUSE`).
    pub state: PoolHealth,
    /// Error counters; `None` for rows without them (spares, section headings).
    pub counters: Option<ErrorCounts>,
    /// Text after the counters (`was /dev/sdb`, `cannot open`, `(repairing)`, `too many errors`).
    pub note: Option<String>,
}

impl VdevStatus {
    /// The counters, zero when the row has none.
    pub fn errors(&self) -> ErrorCounts {
        self.counters.unwrap_or_default()
    }
}
