//! A simulated year of hourly runs: schedule, take, prune, with an injected clock.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use zfs_policy::{retention, Config, Dataset, DatasetPolicy, Protect, Snapshot, SnapshotType};

struct Outcome {
    taken: BTreeMap<SnapshotType, usize>,
    left: BTreeMap<SnapshotType, usize>,
    names: HashSet<String>,
}

fn simulate(policy: &DatasetPolicy, tz: Tz, start: DateTime<Utc>, runs: i64) -> Outcome {
    let mut snapshots: Vec<Snapshot> = Vec::new();
    let mut taken = BTreeMap::new();
    let mut names = HashSet::new();
    for k in 0..runs {
        let now = (start + Duration::hours(k)).with_timezone(&tz);
        let due = policy.due(&snapshots, &now);
        for name in zfs_policy::snapshot_names(&now, &due) {
            assert!(names.insert(name.clone()), "duplicate name {name} at {now}");
            snapshots.push(Snapshot::new(name, now.with_timezone(&Utc)));
        }
        for t in due {
            *taken.entry(t).or_insert(0) += 1;
        }
        let plan = retention::plan(policy, &snapshots, &now, &Protect::new());
        let mut gone: Vec<usize> = plan.destroy.iter().map(|d| d.index).collect();
        gone.sort_unstable();
        let mut i = 0;
        snapshots.retain(|_| {
            i += 1;
            gone.binary_search(&(i - 1)).is_err()
        });
    }
    let mut left = BTreeMap::new();
    for s in &snapshots {
        *left.entry(s.autosnap_type().unwrap()).or_insert(0) += 1;
    }
    Outcome { taken, left, names }
}

fn policy(text: &str) -> DatasetPolicy {
    Config::parse(text, "sim.conf")
        .unwrap()
        .resolve(&[Dataset::filesystem("tank")])
        .policies
        .remove(0)
}

const CONF: &str = "[tank]\nhourly = 24\ndaily = 7\nweekly = 4\nmonthly = 3\nyearly = 1\n";

#[test]
fn a_year_of_hourly_runs_in_berlin_yields_exact_counts() {
    use SnapshotType::*;
    let p = policy(CONF);
    // Runs at hh:00:30 UTC from 2026-01-01 00:00:30 UTC (01:00:30 CET) for 8760 hours; the last run is
    // 2026-12-31 23:00:30 UTC = 2027-01-01 00:00:30 CET. The year includes both DST changes.
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30).unwrap();
    let out = simulate(&p, chrono_tz::Europe::Berlin, start, 8760);

    // Taken: an hourly every run (every real hour, including the repeated one in October); a daily on
    // the first run and then at 00:00:30 every day (slot 23:59); a weekly on the first run and every
    // Tuesday 00:00:30 (slot Monday 23:30; 2026 has 52 Tuesdays); a monthly on the first run and on the
    // 1st of every later month up to 2027-01-01; a yearly on the first run and on 2027-01-01.
    assert_eq!(out.taken[&Hourly], 8760);
    assert_eq!(out.taken[&Daily], 1 + 365);
    assert_eq!(out.taken[&Weekly], 1 + 52);
    assert_eq!(out.taken[&Monthly], 1 + 12);
    assert_eq!(out.taken[&Yearly], 2);
    assert_eq!(out.names.len(), 8760 + 366 + 53 + 13 + 2);

    // Left after the last prune (sanoid semantics: keep everything not older than N periods, at least N):
    // hourly: ages 0..=24 h (the one exactly 24 h old is not older than the cutoff) -> 25;
    // daily: 2026-12-25 .. 2027-01-01 at 00:00:30 local, the cutoff is exactly 2026-12-25 00:00:30 -> 8;
    // weekly: Tuesdays Dec 8, 15, 22, 29 (cutoff Dec 4) -> 4;
    // monthly: Oct 1 (exactly at the cutoff), Nov 1, Dec 1, Jan 1 -> 4;
    // yearly: the first run (01:00:30 on 2026-01-01, younger than the cutoff 00:00:30) and 2027-01-01 -> 2.
    let expected: BTreeMap<SnapshotType, usize> = [
        (Hourly, 25),
        (Daily, 8),
        (Weekly, 4),
        (Monthly, 4),
        (Yearly, 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(out.left, expected);
}

#[test]
fn a_year_in_new_york_with_frequent_snapshots_has_unique_names_and_one_daily_per_day() {
    use SnapshotType::*;
    let p = policy("[tank]\nfrequently = 4\nfrequent_period = 30\nhourly = 3\ndaily = 2\nmonthly = 0\ndaily_hour = 1\ndaily_min = 30\n");
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 5, 0, 30).unwrap();
    let out = simulate(&p, chrono_tz::America::New_York, start, 8760);
    // Hourly runs only ever see one new frequently slot per run.
    assert_eq!(out.taken[&Frequently], 8760);
    assert_eq!(out.taken[&Hourly], 8760);
    // 365 local days; the daily slot 01:30 is inside the repeated hour on 2026-11-01 and still only one
    // daily is taken that day. The first run (00:00:30 EST on Jan 1) takes one for Dec 31.
    assert_eq!(out.taken[&Daily], 1 + 365);
    let dailies_on_nov_1 = out
        .names
        .iter()
        .filter(|n| n.starts_with("autosnap_2026-11-01") && n.ends_with("_daily"))
        .count();
    assert_eq!(dailies_on_nov_1, 1);
    assert!(out.names.iter().any(|n| n.contains("dst_hourly")));
    // End: 2026-12-31 04:00:30 UTC = 23:00:30 EST on Dec 30. Left: frequently: ages 0, 1 h, 2 h are within
    // 4×30 min, and the 3 h old one stays because at least 4 are kept -> 4; hourly: ages 0..=3 h -> 4;
    // daily: Dec 29 and Dec 30 at 02:00:30 (Dec 28 is older than the cutoff and 3 > 2) -> 2.
    assert_eq!(out.left[&Frequently], 4);
    assert_eq!(out.left[&Hourly], 4);
    assert_eq!(out.left[&Daily], 2);
}

mod random_zones {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// 75 days of hourly runs (at a random minute) in zones with 1 h and 30 min DST shifts: names never
        /// collide, no local day gets two dailies, and every type keeps at least min(count, taken).
        #[test]
        fn hourly_runs_in_any_zone(
            zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]),
            start_day in 0i64..365,
            minute in 0i64..60,
            hourly in 1u32..30,
            daily in 1u32..10,
            weekly in 0u32..4,
            daily_hour in 0u32..24,
        ) {
            let tz: Tz = zone.parse().unwrap();
            let text = format!(
                "[tank]\nfrequently = 2\nhourly = {hourly}\ndaily = {daily}\nweekly = {weekly}\nmonthly = 1\ndaily_hour = {daily_hour}\ndaily_min = 0\n"
            );
            let p = policy(&text);
            let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(start_day) + Duration::minutes(minute);
            let out = simulate(&p, tz, start, 75 * 24);
            // The first run catches up the previous day's missed slot, so its local date may get a
            // second daily when that day's own slot follows; every other local date gets at most one.
            let first_day = start.with_timezone(&tz).format("%Y-%m-%d").to_string();
            let mut days = HashSet::new();
            for n in out.names.iter().filter(|n| n.ends_with("_daily") && n[9..19] != first_day) {
                prop_assert!(days.insert(n[9..19].to_string()), "two dailies on {}", &n[9..19]);
            }
            for (kind, taken) in &out.taken {
                let left = out.left.get(kind).copied().unwrap_or(0);
                prop_assert!(left >= (p.settings.count(*kind) as usize).min(*taken), "{kind}: left {left}, taken {taken}");
            }
            // Every run takes an hourly, except in Lord Howe's 30-minute fall-back: the local hour
            // 01:00-02:00 then lasts 90 minutes and has one hourly slot, so one run finds nothing due.
            let hourlies = out.taken[&SnapshotType::Hourly];
            if zone == "Australia/Lord_Howe" {
                prop_assert!(hourlies + 1 >= 75 * 24 && hourlies <= 75 * 24, "{hourlies}");
            } else {
                prop_assert_eq!(hourlies, 75 * 24);
            }
        }
    }
}
