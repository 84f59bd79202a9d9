//! How a job names its sync snapshots, holds and job bookmarks (zsync's and syncoid's patterns), and
//! exact matching of those names by identifier. Pure: no I/O.

use crate::error::SyncError;

/// Prefix of sync snapshot names and hold tags.
pub const SYNC_PREFIX: &str = "zsync_";

/// Whether `short` is a sync snapshot of exactly this identifier: `zsync_<identifier>_<YYYYMMDDTHHMMSSZ>`.
pub fn is_sync_snapshot(short: &str, identifier: &str) -> bool {
    let Some(rest) = short
        .strip_prefix(SYNC_PREFIX)
        .and_then(|r| r.strip_prefix(identifier))
        .and_then(|r| r.strip_prefix('_'))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
}

/// The sync snapshot name for `identifier` at `now` (UTC).
pub fn sync_snapshot_name(identifier: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{SYNC_PREFIX}{identifier}_{}", now.format("%Y%m%dT%H%M%SZ"))
}

/// Prefix of syncoid's sync snapshot names and hold tags.
pub const SYNCOID_PREFIX: &str = "syncoid_";

/// How a job names its sync snapshots, holds and bookmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncNaming {
    /// `zsync_<identifier>_<YYYYMMDDTHHMMSSZ>` (UTC), holds `zsync_<identifier>`.
    #[default]
    Zsync,
    /// syncoid's (2.1/2.3): `syncoid_<identifier>_<YYYY-MM-DD:HH:MM:SS>-GMT<offset>` in local time, the
    /// offset written `hh:mm` with a `-` only when negative (`+` is not allowed in snapshot names); holds
    /// `syncoid_<identifier>`. In syncoid mode the identifier is `[id_]hostname`, as syncoid builds it.
    /// Matching is exact (the rest after the identifier must be a timestamp; syncoid's own `_` between
    /// date and time and its offset-less older form are recognised too), so host `nas` never matches
    /// `nas2`'s snapshots.
    Syncoid,
}

impl SyncNaming {
    /// The sync snapshot name for `identifier` at `now`.
    pub fn snapshot_name(self, identifier: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            SyncNaming::Zsync => sync_snapshot_name(identifier, now),
            SyncNaming::Syncoid => {
                let local = now.with_timezone(&chrono::Local).fixed_offset();
                syncoid_snapshot_name(identifier, local)
            }
        }
    }

    /// Whether `short` is a sync snapshot (or job bookmark) of exactly this identifier.
    pub fn matches(self, short: &str, identifier: &str) -> bool {
        match self {
            SyncNaming::Zsync => is_sync_snapshot(short, identifier),
            SyncNaming::Syncoid => is_syncoid_snapshot(short, identifier),
        }
    }

    /// The hold tag of this job.
    pub fn hold_tag(self, identifier: &str) -> String {
        match self {
            SyncNaming::Zsync => format!("{SYNC_PREFIX}{identifier}"),
            SyncNaming::Syncoid => format!("{SYNCOID_PREFIX}{identifier}"),
        }
    }
}

/// syncoid's sync snapshot name at `now` (local time with its offset).
pub fn syncoid_snapshot_name(
    identifier: &str,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> String {
    let off = now.offset().local_minus_utc();
    let sign = if off < 0 { "-" } else { "" };
    let (h, m) = (off.abs() / 3600, off.abs() % 3600 / 60);
    format!(
        "{SYNCOID_PREFIX}{identifier}_{}-GMT{sign}{h:02}:{m:02}",
        now.format("%Y-%m-%d:%H:%M:%S")
    )
}

/// Whether `short` is a syncoid sync snapshot of exactly `identifier` (`[id_]host`).
pub fn is_syncoid_snapshot(short: &str, identifier: &str) -> bool {
    let Some(rest) = short
        .strip_prefix(SYNCOID_PREFIX)
        .and_then(|r| r.strip_prefix(identifier))
        .and_then(|r| r.strip_prefix('_'))
    else {
        return false;
    };
    let b = rest.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    // YYYY-MM-DD[:_]HH:MM:SS
    if b.len() < 19
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || !matches!(b[10], b':' | b'_')
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let tz = &rest[19..];
    if tz.is_empty() {
        return true; // syncoid before 2.1
    }
    let Some(off) = tz
        .strip_prefix("-GMT")
        .map(|o| o.strip_prefix('-').unwrap_or(o))
    else {
        return false;
    };
    let o = off.as_bytes();
    o.len() == 5
        && o[2] == b':'
        && o[..2].iter().all(u8::is_ascii_digit)
        && o[3..].iter().all(u8::is_ascii_digit)
}

/// The longest identifier: with the dataset, `@`, the prefix and the timestamp a sync snapshot's
/// name must stay within ZFS's 255 bytes.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// Checks a job identifier: letters, digits and `_ - . :` only, not empty, at most
/// [`MAX_IDENTIFIER_LEN`] bytes (the executor checks it before a run; [`SyncError::Identifier`]
/// otherwise).
pub fn check_identifier(id: &str) -> Result<(), SyncError> {
    if id.len() > MAX_IDENTIFIER_LEN {
        let head: String = id.chars().take(32).collect();
        return Err(SyncError::Identifier(format!(
            "{head}... ({} bytes; at most {MAX_IDENTIFIER_LEN})",
            id.len()
        )));
    }
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(SyncError::Identifier(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sync_snapshot_names_match_exactly_by_identifier() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 15, 4, 5)
            .unwrap();
        let n = sync_snapshot_name("nas", t);
        assert_eq!(n, "zsync_nas_20261127T150405Z");
        assert!(is_sync_snapshot(&n, "nas"));
        // syncoid's prefix match would take these; exact matching does not.
        assert!(!is_sync_snapshot(&sync_snapshot_name("nas2", t), "nas"));
        assert!(!is_sync_snapshot(&sync_snapshot_name("nas_b", t), "nas"));
        assert!(!is_sync_snapshot("zsync_nas_20261127T150405Z_extra", "nas"));
        assert!(!is_sync_snapshot("zsync_nas_2026112XT150405Z", "nas"));
        assert!(!is_sync_snapshot("autosnap_2026", "nas"));
    }

    #[test]
    fn syncoid_names_match_syncoid_and_only_this_host() {
        let t = chrono::FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 27, 16, 4, 5)
            .unwrap();
        let n = syncoid_snapshot_name("nas", t);
        assert_eq!(n, "syncoid_nas_2026-11-27:16:04:05-GMT01:00");
        let west = chrono::FixedOffset::west_opt(5 * 3600 + 1800)
            .unwrap()
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .unwrap();
        assert_eq!(
            syncoid_snapshot_name("job_nas", west),
            "syncoid_job_nas_2026-01-02:03:04:05-GMT-05:30"
        );
        let s = SyncNaming::Syncoid;
        assert!(s.matches(&n, "nas"));
        assert!(s.matches("syncoid_nas_2026-11-27_16:04:05-GMT-01:00", "nas"));
        assert!(s.matches("syncoid_nas_2026-11-27:16:04:05", "nas"));
        assert!(!s.matches("syncoid_nas2_2026-11-27:16:04:05-GMT01:00", "nas"));
        assert!(!s.matches("syncoid_nas_b_2026-11-27:16:04:05-GMT01:00", "nas"));
        assert!(!s.matches("syncoid_nas_2026-11-27:16:04:05-GMT01:00x", "nas"));
        assert!(!s.matches(&sync_snapshot_name("nas", chrono::Utc::now()), "nas"));
        assert_eq!(s.hold_tag("nas"), "syncoid_nas");
        assert_eq!(SyncNaming::Zsync.hold_tag("nas"), "zsync_nas");
        // Whatever the local zone, the generated name matches its own pattern.
        assert!(s.matches(&s.snapshot_name("x_h", chrono::Utc::now()), "x_h"));
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(check_identifier("job-1.a:b_c").is_ok());
        for bad in ["", "a b", "a/b", "a@b", "a#b"] {
            assert!(check_identifier(bad).is_err(), "{bad:?}");
        }
        assert!(check_identifier(&"x".repeat(MAX_IDENTIFIER_LEN)).is_ok());
        let long = check_identifier(&"x".repeat(65536))
            .unwrap_err()
            .to_string();
        assert!(
            long.contains("65536 bytes; at most 128") && long.len() < 200,
            "{long}"
        );
    }
}
