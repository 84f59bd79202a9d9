//! Which snapshot types are due, with real calendar arithmetic in the caller's time zone.
//!
//! For each type with a count above 0, the **latest scheduled slot** at or before `now` is computed from
//! the slot keys (`hourly_min`, `daily_hour`/`daily_min`, `weekly_wday`/…, `monthly_mday`/…,
//! `yearly_mon`/…, and `frequent_period`) on the local wall clock of the time zone of `now`. A type is due
//! when there is no autosnap snapshot of that type or the newest one (by `creation`) is older than that
//! slot. A run that missed several slots therefore takes one snapshot now (no backfill).
//!
//! Calendar rules:
//!
//! * `monthly_mday` / `yearly_mday` past the end of the month mean the month's last day (31 → 30 April,
//!   28/29 February).
//! * `frequently` slots are `hh:00, hh:fp, hh:2fp, …` within each hour (sanoid's rule; with a period that
//!   does not divide 60 the last gap of the hour is shorter). A period above 60 minutes counts from local
//!   midnight instead.
//! * **DST fall-back** (a local hour occurs twice): `frequently` and `hourly` slots exist in both
//!   occurrences, so every real hour gets its hourly; names of the second occurrence carry the `dst`
//!   marker (see [`crate::naming`]) and never collide. Daily and longer slots use the **first** occurrence
//!   only, so no second daily is taken.
//! * **Spring-forward** (local times are skipped): a daily or longer slot whose local time does not exist
//!   moves to the next valid instant (the end of the gap), so no daily is skipped. A `frequently` or
//!   `hourly` slot inside the gap is read with the offset in force before the gap (02:30 in a
//!   02:00→03:00 gap is 03:30 after it), which keeps these slots one period apart in real time: with a
//!   one-hour gap they coincide with real slots after the gap (no extra snapshot), with a 30-minute gap
//!   (Australia/Lord_Howe) the shortened hour still gets its hourly.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};

use crate::config::Policy;
use crate::resolve::DatasetPolicy;
use crate::types::{Snapshot, SnapshotType};

/// The schedule state of one type for one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TypeStatus {
    /// The type.
    pub kind: SnapshotType,
    /// The latest scheduled slot at or before `now`.
    pub slot: DateTime<Utc>,
    /// Creation of the newest autosnap snapshot of this type, if any.
    pub newest: Option<DateTime<Utc>>,
    /// Whether a snapshot of this type should be taken now.
    pub due: bool,
}

/// The schedule state of every type whose count is above 0, in sanoid's taking order (yearly first).
pub fn status<Tz: TimeZone>(
    policy: &Policy,
    snapshots: &[Snapshot],
    now: &DateTime<Tz>,
) -> Vec<TypeStatus> {
    let newest = newest_by_type(snapshots);
    SnapshotType::TAKE_ORDER
        .iter()
        .filter(|t| policy.count(**t) > 0)
        .map(|&kind| {
            let slot = latest_slot(policy, kind, now);
            let newest = newest[kind.index()];
            TypeStatus {
                kind,
                slot,
                newest,
                due: newest.is_none_or(|n| n < slot),
            }
        })
        .collect()
}

/// The types due now for `policy` (ignoring how the dataset takes snapshots), yearly first.
pub fn due<Tz: TimeZone>(
    policy: &Policy,
    snapshots: &[Snapshot],
    now: &DateTime<Tz>,
) -> Vec<SnapshotType> {
    status(policy, snapshots, now)
        .into_iter()
        .filter(|s| s.due)
        .map(|s| s.kind)
        .collect()
}

impl DatasetPolicy {
    /// The types this dataset should snapshot now: empty unless it takes its own snapshots
    /// ([`crate::TakeMode::Own`] or [`crate::TakeMode::Recursive`]).
    pub fn due<Tz: TimeZone>(
        &self,
        snapshots: &[Snapshot],
        now: &DateTime<Tz>,
    ) -> Vec<SnapshotType> {
        if self.takes_snapshots() {
            due(&self.settings, snapshots, now)
        } else {
            Vec::new()
        }
    }
}

/// Creation time of the newest autosnap snapshot per type (indexed by [`SnapshotType::index`]).
pub fn newest_by_type(snapshots: &[Snapshot]) -> [Option<DateTime<Utc>>; 6] {
    let mut newest: [Option<&Snapshot>; 6] = [None; 6];
    for s in snapshots {
        if let Some(t) = s.autosnap_type() {
            let slot = &mut newest[t.index()];
            let newer = match slot {
                None => true,
                Some(n) => (s.creation_secs(), s.creation()) > (n.creation_secs(), n.creation()),
            };
            if newer {
                *slot = Some(s);
            }
        }
    }
    newest.map(|s| s.map(Snapshot::creation))
}

fn at(date: NaiveDate, hour: u32, min: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(hour.min(23), min.min(59), 0).unwrap_or(NaiveTime::MIN))
}

fn last_day(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

fn clamped_date(year: i32, month: u32, mday: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, mday.clamp(1, last_day(year, month)))
}

fn add(t: NaiveDateTime, d: Duration) -> NaiveDateTime {
    t.checked_add_signed(d).unwrap_or(t)
}

fn month_index(t: NaiveDateTime) -> i64 {
    i64::from(t.year()) * 12 + i64::from(t.month0())
}

fn monthly_slot(p: &Policy, index: i64) -> Option<NaiveDateTime> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = index.rem_euclid(12) as u32 + 1;
    Some(at(
        clamped_date(year, month, p.monthly_mday)?,
        p.monthly_hour,
        p.monthly_min,
    ))
}

fn yearly_slot(p: &Policy, year: i32) -> Option<NaiveDateTime> {
    Some(at(
        clamped_date(year, p.yearly_mon, p.yearly_mday)?,
        p.yearly_hour,
        p.yearly_min,
    ))
}

/// The latest naive local slot at or before `local`.
fn slot_at_or_before(p: &Policy, kind: SnapshotType, local: NaiveDateTime) -> NaiveDateTime {
    let local = local.with_nanosecond(0).unwrap_or(local);
    match kind {
        SnapshotType::Frequently => {
            let fp = i64::from(p.frequent_period.max(1));
            let (cycle_start, into) = if fp <= 60 {
                (at(local.date(), local.hour(), 0), i64::from(local.minute()))
            } else {
                (
                    at(local.date(), 0, 0),
                    i64::from(local.hour() * 60 + local.minute()),
                )
            };
            add(cycle_start, Duration::minutes(into / fp * fp))
        }
        SnapshotType::Hourly => {
            let s = at(local.date(), local.hour(), p.hourly_min);
            if s > local {
                add(s, Duration::hours(-1))
            } else {
                s
            }
        }
        SnapshotType::Daily => {
            let s = at(local.date(), p.daily_hour, p.daily_min);
            if s > local {
                add(s, Duration::days(-1))
            } else {
                s
            }
        }
        SnapshotType::Weekly => {
            let target = i64::from(p.weekly_wday % 7);
            let today = i64::from(local.weekday().num_days_from_sunday());
            let back = (today - target).rem_euclid(7);
            let s = add(
                at(local.date(), p.weekly_hour, p.weekly_min),
                Duration::days(-back),
            );
            if s > local {
                add(s, Duration::days(-7))
            } else {
                s
            }
        }
        SnapshotType::Monthly => {
            let idx = month_index(local);
            match monthly_slot(p, idx) {
                Some(s) if s <= local => s,
                _ => monthly_slot(p, idx - 1).unwrap_or(local),
            }
        }
        SnapshotType::Yearly => match yearly_slot(p, local.year()) {
            Some(s) if s <= local => s,
            _ => yearly_slot(p, local.year() - 1).unwrap_or(local),
        },
    }
}

/// The naive slot before (`dir < 0`) or after (`dir > 0`) slot `s`.
fn step(p: &Policy, kind: SnapshotType, s: NaiveDateTime, dir: i64) -> NaiveDateTime {
    match kind {
        SnapshotType::Frequently => {
            let fp = i64::from(p.frequent_period.max(1));
            let cycle = if fp <= 60 { 60 } else { 1440 };
            let into = if fp <= 60 {
                i64::from(s.minute())
            } else {
                i64::from(s.hour() * 60 + s.minute())
            };
            let cycle_start = add(s, Duration::minutes(-into));
            if dir > 0 {
                if into + fp < cycle {
                    add(s, Duration::minutes(fp))
                } else {
                    add(cycle_start, Duration::minutes(cycle))
                }
            } else if into >= fp {
                add(s, Duration::minutes(-fp))
            } else {
                add(
                    cycle_start,
                    Duration::minutes((cycle - 1) / fp * fp - cycle),
                )
            }
        }
        SnapshotType::Hourly => add(s, Duration::hours(dir.signum())),
        SnapshotType::Daily => add(s, Duration::days(dir.signum())),
        SnapshotType::Weekly => add(s, Duration::days(7 * dir.signum())),
        SnapshotType::Monthly => monthly_slot(p, month_index(s) + dir.signum()).unwrap_or(s),
        SnapshotType::Yearly => yearly_slot(p, s.year() + dir.signum() as i32).unwrap_or(s),
    }
}

/// The first instant at or after the naive local time `t` (the end of a DST gap when `t` is in one).
pub(crate) fn next_valid_instant<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = t;
    // Gaps are normally one hour; a whole skipped day (Samoa 2011) is the known worst case.
    for _ in 0..(3 * 24 * 60) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(x) => return Some(x.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
            LocalResult::None => {
                probe = probe.checked_add_signed(Duration::minutes(1))?;
                probe = probe.with_second(0)?;
            }
        }
    }
    None
}

/// A nonexistent local time read with the UTC offset in force just before the gap (02:30 in a
/// 02:00→03:00 gap becomes 03:30 after it). Sub-daily slots use this so that they stay one period
/// apart in real time: with a one-hour gap the shifted slot coincides with a real later slot, with a
/// 30-minute gap (Lord Howe) the hour that loses half its length still gets its slot.
fn shifted_instant<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = t;
    for _ in 0..(3 * 24 * 60) {
        probe = probe.checked_sub_signed(Duration::minutes(1))?;
        let before = match tz.from_local_datetime(&probe) {
            LocalResult::Single(x) => x,
            LocalResult::Ambiguous(_, later) => later,
            LocalResult::None => continue,
        };
        let offset = i64::from(before.offset().fix().local_minus_utc());
        let utc = t.checked_sub_signed(Duration::seconds(offset))?;
        return Some(Utc.from_utc_datetime(&utc));
    }
    None
}

/// The instant of a local wall-clock time: the earliest for an ambiguous time, the end of the gap for a
/// nonexistent one. `None` only for times past chrono's range.
pub(crate) fn local_instant<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    next_valid_instant(tz, t)
}

/// Instants of a naive slot under the type's DST rule.
fn instants<Tz: TimeZone>(
    tz: &Tz,
    kind: SnapshotType,
    t: NaiveDateTime,
    out: &mut Vec<DateTime<Utc>>,
) {
    let sub_daily = matches!(kind, SnapshotType::Frequently | SnapshotType::Hourly);
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) => out.push(x.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => {
            out.push(a.with_timezone(&Utc));
            if sub_daily {
                out.push(b.with_timezone(&Utc));
            }
        }
        LocalResult::None => {
            if sub_daily {
                out.extend(shifted_instant(tz, t));
            } else {
                out.extend(next_valid_instant(tz, t));
            }
        }
    }
}

/// The latest scheduled slot of `kind` at or before `now`, as an instant.
pub fn latest_slot<Tz: TimeZone>(
    policy: &Policy,
    kind: SnapshotType,
    now: &DateTime<Tz>,
) -> DateTime<Utc> {
    let tz = now.timezone();
    let now_utc = now.with_timezone(&Utc);
    let s = slot_at_or_before(policy, kind, now.naive_local());
    let mut candidates = Vec::with_capacity(8);
    let mut c = step(policy, kind, s, 1);
    let mut best: Option<DateTime<Utc>> = None;
    // The next slot (its instant can precede `now` across a fall-back), the slot, and a few earlier ones
    // (in case the slot falls into a gap).
    for i in 0..6 {
        candidates.clear();
        instants(&tz, kind, c, &mut candidates);
        for x in candidates.iter().copied().filter(|x| *x <= now_utc) {
            best = Some(best.map_or(x, |b| b.max(x)));
        }
        if best.is_some() && i >= 2 {
            break;
        }
        c = step(policy, kind, c, -1);
    }
    best.unwrap_or(now_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn default_slots() {
        let p = Policy::default();
        let now = utc(2026, 3, 4, 12, 34); // a Wednesday
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &now),
            utc(2026, 3, 4, 12, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &now),
            utc(2026, 3, 3, 23, 59)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Weekly, &now),
            utc(2026, 3, 2, 23, 30)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &now),
            utc(2026, 3, 1, 0, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Yearly, &now),
            utc(2026, 1, 1, 0, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Frequently, &now),
            utc(2026, 3, 4, 12, 30)
        );
        let p45 = Policy {
            frequent_period: 45,
            ..Policy::default()
        };
        assert_eq!(
            latest_slot(&p45, SnapshotType::Frequently, &utc(2026, 3, 4, 12, 10)),
            utc(2026, 3, 4, 12, 0)
        );
        assert_eq!(
            latest_slot(&p45, SnapshotType::Frequently, &utc(2026, 3, 4, 12, 50)),
            utc(2026, 3, 4, 12, 45)
        );
        let p90 = Policy {
            frequent_period: 90,
            ..Policy::default()
        };
        assert_eq!(
            latest_slot(&p90, SnapshotType::Frequently, &utc(2026, 3, 4, 2, 0)),
            utc(2026, 3, 4, 1, 30)
        );
        // exactly on a slot
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &utc(2026, 3, 4, 12, 0)),
            utc(2026, 3, 4, 12, 0)
        );
    }

    #[test]
    fn mday_31_means_last_day() {
        let p = Policy {
            monthly_mday: 31,
            monthly_hour: 12,
            ..Policy::default()
        };
        // April has 30 days.
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &utc(2026, 4, 30, 13, 0)),
            utc(2026, 4, 30, 12, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &utc(2026, 4, 30, 11, 0)),
            utc(2026, 3, 31, 12, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &utc(2026, 5, 2, 0, 0)),
            utc(2026, 4, 30, 12, 0)
        );
        // February, leap and non-leap.
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &utc(2026, 3, 1, 0, 0)),
            utc(2026, 2, 28, 12, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Monthly, &utc(2028, 3, 1, 0, 0)),
            utc(2028, 2, 29, 12, 0)
        );
        let y = Policy {
            yearly_mon: 2,
            yearly_mday: 30,
            ..Policy::default()
        };
        assert_eq!(
            latest_slot(&y, SnapshotType::Yearly, &utc(2027, 1, 1, 0, 0)),
            utc(2026, 2, 28, 0, 0)
        );
        assert_eq!(
            latest_slot(&y, SnapshotType::Yearly, &utc(2028, 6, 1, 0, 0)),
            utc(2028, 2, 29, 0, 0)
        );
    }

    #[test]
    fn berlin_spring_forward_keeps_the_daily() {
        // 2026-03-29: 02:00 CET -> 03:00 CEST (01:00 UTC). A daily at 02:30 does not exist that day.
        let p = Policy {
            daily_hour: 2,
            daily_min: 30,
            monthly: 0,
            ..Policy::default()
        };
        let now = utc(2026, 3, 29, 1, 10).with_timezone(&Berlin); // 03:10 CEST
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &now),
            utc(2026, 3, 29, 1, 0)
        );
        let yesterday = Snapshot::new(
            "autosnap_2026-03-28_02:30:00_daily",
            utc(2026, 3, 28, 1, 30),
        );
        assert_eq!(
            due(&p, std::slice::from_ref(&yesterday), &now),
            vec![SnapshotType::Daily, SnapshotType::Hourly]
        );
        let taken = Snapshot::new("autosnap_2026-03-29_03:00:00_daily", utc(2026, 3, 29, 1, 0));
        assert!(!due(&p, &[yesterday, taken], &now).contains(&SnapshotType::Daily));
        // hourly: 01:00 CET is followed directly by 03:00 CEST.
        let h = Policy::default();
        let at_0330 = utc(2026, 3, 29, 1, 30).with_timezone(&Berlin);
        assert_eq!(
            latest_slot(&h, SnapshotType::Hourly, &at_0330),
            utc(2026, 3, 29, 1, 0)
        );
        let at_0159 = utc(2026, 3, 29, 0, 59).with_timezone(&Berlin); // 01:59 CET
        assert_eq!(
            latest_slot(&h, SnapshotType::Hourly, &at_0159),
            utc(2026, 3, 29, 0, 0)
        );
    }

    #[test]
    fn berlin_fall_back_one_daily_two_hourlies() {
        // 2026-10-25: 03:00 CEST -> 02:00 CET (01:00 UTC); local 02:xx happens twice.
        let p = Policy {
            daily_hour: 2,
            daily_min: 15,
            monthly: 0,
            ..Policy::default()
        };
        let first = utc(2026, 10, 25, 0, 20).with_timezone(&Berlin); // 02:20 CEST
        let second = utc(2026, 10, 25, 1, 20).with_timezone(&Berlin); // 02:20 CET
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &first),
            utc(2026, 10, 25, 0, 15)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &second),
            utc(2026, 10, 25, 0, 15)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &first),
            utc(2026, 10, 25, 0, 0)
        );
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &second),
            utc(2026, 10, 25, 1, 0)
        );
        let taken = [
            Snapshot::new(
                crate::naming::snapshot_name(&first, SnapshotType::Daily),
                first.with_timezone(&Utc),
            ),
            Snapshot::new(
                crate::naming::snapshot_name(&first, SnapshotType::Hourly),
                first.with_timezone(&Utc),
            ),
        ];
        let again = due(&p, &taken, &second);
        assert_eq!(again, vec![SnapshotType::Hourly]);
        let names = crate::naming::snapshot_names(&second, &again);
        assert_eq!(
            names,
            vec!["autosnap_2026-10-25_02:20:00dst_hourly".to_string()]
        );
        assert_ne!(names[0], taken[1].name());
        // a daily slot in the repeated hour when the first occurrence was missed: taken in the second.
        let late = utc(2026, 10, 25, 1, 5).with_timezone(&Berlin); // 02:05 CET, slot 02:15 CEST passed
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &late),
            utc(2026, 10, 25, 0, 15)
        );
    }

    #[test]
    fn lord_howe_half_hour_gap_keeps_the_hourly() {
        // 2026-10-04 02:00 +10:30 -> 02:30 +11:00 (15:30 UTC on Oct 3). Local 02:00 does not exist; the
        // hourly slot is read with the old offset, i.e. at the end of the gap.
        let p = Policy::default();
        let now = utc(2026, 10, 3, 15, 40).with_timezone(&chrono_tz::Australia::Lord_Howe); // 02:40
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &now),
            utc(2026, 10, 3, 15, 30)
        );
        let before = utc(2026, 10, 3, 15, 20).with_timezone(&chrono_tz::Australia::Lord_Howe); // 01:50
        assert_eq!(
            latest_slot(&p, SnapshotType::Hourly, &before),
            utc(2026, 10, 3, 14, 30)
        );
    }

    #[test]
    fn new_york_both_directions() {
        // 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
        let p = Policy {
            daily_hour: 2,
            daily_min: 0,
            ..Policy::default()
        };
        let spring = utc(2026, 3, 8, 7, 30).with_timezone(&New_York); // 03:30 EDT
        assert_eq!(
            latest_slot(&p, SnapshotType::Daily, &spring),
            utc(2026, 3, 8, 7, 0)
        );
        let p1 = Policy {
            daily_hour: 1,
            daily_min: 30,
            ..Policy::default()
        };
        let first = utc(2026, 11, 1, 5, 40).with_timezone(&New_York); // 01:40 EDT
        let second = utc(2026, 11, 1, 6, 40).with_timezone(&New_York); // 01:40 EST
        assert_eq!(
            latest_slot(&p1, SnapshotType::Daily, &first),
            utc(2026, 11, 1, 5, 30)
        );
        assert_eq!(
            latest_slot(&p1, SnapshotType::Daily, &second),
            utc(2026, 11, 1, 5, 30)
        );
        assert_eq!(
            latest_slot(&p1, SnapshotType::Hourly, &second),
            utc(2026, 11, 1, 6, 0)
        );
        let fp = Policy {
            frequently: 4,
            ..Policy::default()
        };
        assert_eq!(
            latest_slot(&fp, SnapshotType::Frequently, &second),
            utc(2026, 11, 1, 6, 30)
        );
    }

    #[test]
    fn missed_slots_give_one_snapshot_now() {
        let p = Policy {
            frequently: 0,
            hourly: 24,
            daily: 0,
            monthly: 0,
            ..Policy::default()
        };
        let old = Snapshot::new("autosnap_2026-01-01_00:00:00_hourly", utc(2026, 1, 1, 0, 0));
        let now = utc(2026, 1, 3, 5, 7);
        assert_eq!(due(&p, &[old], &now), vec![SnapshotType::Hourly]);
        let st = status(&p, &[], &now);
        assert_eq!(st.len(), 1);
        assert!(st[0].due && st[0].newest.is_none());
        let none = Policy { hourly: 0, ..p };
        assert!(due(&none, &[], &now).is_empty());
    }
}
