//! Snapshot names: `autosnap_YYYY-MM-DD_HH:MM:SS_<type>`, sanoid-compatible.
//!
//! * The timestamp is the **local** wall-clock time of the run in the time zone of the `now` you pass; one
//!   timestamp is shared by every type taken in the run. Pass a `DateTime<Utc>` to get UTC names (what
//!   sanoid's docs recommend with `TZ=UTC`); nothing else changes.
//! * **DST fall-back**: during the repeated hour the same wall-clock time occurs twice. A run in the *second*
//!   occurrence (the later instant of an ambiguous local time) gets the marker `dst` right after the time,
//!   `autosnap_2026-10-25_02:30:00dst_hourly`, exactly the spelling sanoid uses when it retries after a
//!   collision. zsync decides this deterministically from the time zone instead of retrying, so two runs in
//!   the repeated hour never produce the same name, and sanoid still recognises the names.
//! * **Recognition** follows sanoid: a name that starts with `autosnap` and ends in `ly`; the type is the
//!   part after the last `_`. Names with other suffixes (`_weirdly`) are not managed. Ages always come from
//!   the `creation` property, never from the name.

use chrono::{DateTime, LocalResult, TimeZone};

use crate::snapshot_type::SnapshotType;

/// Prefix of every managed snapshot name.
pub const PREFIX: &str = "autosnap";

/// Marker appended to the time of a run in the second occurrence of a repeated (DST fall-back) hour.
pub const DST_MARKER: &str = "dst";

/// A recognised autosnap name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedName<'a> {
    /// The snapshot type (the last `_…ly` component).
    pub kind: SnapshotType,
    /// Everything between `autosnap_` and `_<type>` (normally `YYYY-MM-DD_HH:MM:SS`, maybe with `dst`).
    pub stamp: &'a str,
}

/// Recognises a sanoid autosnap name (short name, without `dataset@`). `None` when not managed.
pub fn parse(name: &str) -> Option<ParsedName<'_>> {
    if !name.starts_with(PREFIX) || !name.ends_with("ly") {
        return None;
    }
    let underscore = name.rfind('_')?;
    let kind: SnapshotType = name[underscore + 1..].parse().ok()?;
    let stamp = name
        .get(PREFIX.len()..underscore)
        .map(|s| s.strip_prefix('_').unwrap_or(s))
        .unwrap_or("");
    Some(ParsedName { kind, stamp })
}

/// The shared timestamp part for a run at `now`: `YYYY-MM-DD_HH:MM:SS`, plus `dst` in the second
/// occurrence of a repeated local hour.
pub fn timestamp<Tz: TimeZone>(now: &DateTime<Tz>) -> String {
    let local = now.naive_local();
    let mut stamp = local.format("%Y-%m-%d_%H:%M:%S").to_string();
    if let LocalResult::Ambiguous(_, later) = now.timezone().from_local_datetime(&local) {
        if later.naive_utc() == now.naive_utc() {
            stamp.push_str(DST_MARKER);
        }
    }
    stamp
}

/// The snapshot name for one type of a run at `now`.
pub fn snapshot_name<Tz: TimeZone>(now: &DateTime<Tz>, kind: SnapshotType) -> String {
    format!("{PREFIX}_{}_{}", timestamp(now), kind)
}

/// The snapshot names for all `types` of a run at `now` (one shared timestamp), in the given order.
pub fn snapshot_names<Tz: TimeZone>(now: &DateTime<Tz>, types: &[SnapshotType]) -> Vec<String> {
    let stamp = timestamp(now);
    types
        .iter()
        .map(|t| format!("{PREFIX}_{stamp}_{t}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use chrono_tz::Europe::Berlin;

    #[test]
    fn recognises_sanoid_names() {
        let p = parse("autosnap_2026-01-02_03:04:05_hourly").unwrap();
        assert_eq!(p.kind, SnapshotType::Hourly);
        assert_eq!(p.stamp, "2026-01-02_03:04:05");
        let p = parse("autosnap_2026-10-25_02:00:00dst_frequently").unwrap();
        assert_eq!(p.kind, SnapshotType::Frequently);
        assert_eq!(p.stamp, "2026-10-25_02:00:00dst");
        assert_eq!(parse("autosnap_hourly").unwrap().stamp, "");
        assert!(parse("autosnap_2026-01-02_03:04:05_weirdly").is_none());
        assert!(parse("syncoid_host_2026-01-02:03:04:05-GMT00:00").is_none());
        assert!(parse("manual_daily").is_none());
        assert!(parse("autosnap_2026-01-02_03:04:05_hourly.x").is_none());
    }

    #[test]
    fn formats_local_time_with_dst_marker_on_second_pass() {
        // 2026-10-25: Berlin falls back from 03:00 CEST to 02:00 CET.
        let first = Utc
            .with_ymd_and_hms(2026, 10, 25, 0, 30, 0)
            .unwrap()
            .with_timezone(&Berlin);
        let second = Utc
            .with_ymd_and_hms(2026, 10, 25, 1, 30, 0)
            .unwrap()
            .with_timezone(&Berlin);
        assert_eq!(
            snapshot_name(&first, SnapshotType::Hourly),
            "autosnap_2026-10-25_02:30:00_hourly"
        );
        assert_eq!(
            snapshot_name(&second, SnapshotType::Hourly),
            "autosnap_2026-10-25_02:30:00dst_hourly"
        );
        assert_eq!(
            snapshot_names(&second, &[SnapshotType::Daily, SnapshotType::Hourly]),
            vec![
                "autosnap_2026-10-25_02:30:00dst_daily".to_string(),
                "autosnap_2026-10-25_02:30:00dst_hourly".to_string()
            ]
        );
        for n in snapshot_names(&second, &SnapshotType::ALL) {
            assert!(parse(&n).is_some(), "{n}");
        }
        let utc = Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap();
        assert_eq!(
            snapshot_name(&utc, SnapshotType::Daily),
            "autosnap_2026-10-25_01:30:00_daily"
        );
    }
}
