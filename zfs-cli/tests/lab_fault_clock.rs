//! Lab fault test (real ZFS in the lab VM): the system clock jumps between `zsync cron` runs —
//! back an hour, forward a day, forward again, back to the present — and schedule and prune stay
//! sane: no second snapshot for a period that already has one, nothing "from the future"
//! pruned, nothing destroyed before its count allows, and what a forward jump makes due taken once.
//!
//! The clock is the VM's real one (`date -s`), not `ZSYNC_NOW`: snapshots' `creation` comes from
//! the kernel's clock, so only a real jump moves both the names zsync gives and the times it
//! reads back, as an NTP step or a wrong RTC would. This binary has this one test, and the lab
//! runs test binaries one after another, so no other test sees the jumps; the clock is put back
//! (plus the time that passed) when the test ends, even when it fails.
//! Run with `cargo xtask lab test lab_fault_clock`.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;
use zsync_lab::{tally, LabError, TestPool};

mod common;

/// Puts the clock back to where it was plus the time that passed, on drop.
struct ClockGuard {
    wall: DateTime<Utc>,
    mono: Instant,
}

impl ClockGuard {
    fn new() -> ClockGuard {
        ClockGuard {
            wall: Utc::now(),
            mono: Instant::now(),
        }
    }

    /// The true time now (the wall clock at the start plus the monotonic time since).
    fn real_now(&self) -> DateTime<Utc> {
        self.wall + ChronoDuration::from_std(self.mono.elapsed()).unwrap_or_default()
    }
}

impl Drop for ClockGuard {
    fn drop(&mut self) {
        set_clock(self.real_now());
    }
}

/// `date -s @SECS`.
fn set_clock(t: DateTime<Utc>) {
    let st = Command::new("date")
        .args(["-u", "-s", &format!("@{}", t.timestamp())])
        .output()
        .expect("date -s");
    assert!(
        st.status.success(),
        "date -s: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    eprintln!("clock set to {t}");
}

/// Short names of the autosnap snapshots of `ds`.
fn autosnaps(pool: &TestPool, ds: &str) -> Result<BTreeSet<String>, LabError> {
    Ok(pool
        .snapshot_names(ds)?
        .into_iter()
        .filter(|s| s.starts_with("autosnap_"))
        .collect())
}

fn of_kind<'a>(set: &'a BTreeSet<String>, kind: &str) -> Vec<&'a String> {
    set.iter()
        .filter(|s| s.ends_with(&format!("_{kind}")))
        .collect()
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_clock_jumps_between_cron_runs() -> Result<(), LabError> {
    let pool = TestPool::new("f2clock")?;
    let dir = common::scratch(&pool, "f2", "clock");
    let ds = pool.dataset("data");
    pool.zfs(&["create", &ds])?;
    pool.write_file("data/file", b"payload")?;
    let conf = dir.join("sanoid.conf");
    std::fs::write(
        &conf,
        format!(
            "[{ds}]\n\tfrequently = 0\n\thourly = 3\n\tdaily = 2\n\tweekly = 0\n\tmonthly = 0\n\
             \tyearly = 0\n\tautosnap = yes\n\tautoprune = yes\n"
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let cron = |label: &str| {
        let o = common::zsync(&dir, None, &["cron", "--config", &conf]);
        assert_eq!(o.status.code(), Some(0), "cron {label}");
    };
    let clock = ClockGuard::new();
    // Start at hh:30, so an hour back is the previous hourly slot, and a day forward the next
    // daily one.
    let t0 = clock.real_now();
    let t0 =
        t0 - ChronoDuration::seconds(t0.timestamp().rem_euclid(3600)) + ChronoDuration::minutes(30);
    let mut ok = true;
    let mut note = |cond: bool, what: &str| {
        if !cond {
            eprintln!("NOT SANE: {what}");
        }
        ok &= cond;
    };

    set_clock(t0);
    cron("at T");
    let at_t = autosnaps(&pool, &ds)?;
    note(
        of_kind(&at_t, "hourly").len() == 1 && of_kind(&at_t, "daily").len() == 1,
        "T: one hourly, one daily",
    );

    // Back an hour: that hour's slot is older than the newest hourly: nothing due, nothing pruned.
    set_clock(t0 - ChronoDuration::hours(1));
    cron("at T-1h");
    cron("at T-1h, again");
    note(
        autosnaps(&pool, &ds)? == at_t,
        "T-1h: nothing taken, nothing destroyed",
    );

    // Forward a day: one hourly and one daily due; the counts (3, 2) keep everything so far.
    set_clock(t0 + ChronoDuration::days(1));
    cron("at T+1d");
    cron("at T+1d, again");
    let day1 = autosnaps(&pool, &ds)?;
    note(at_t.is_subset(&day1), "T+1d: nothing of T destroyed");
    note(
        of_kind(&day1, "hourly").len() == 2 && of_kind(&day1, "daily").len() == 2,
        "T+1d: two of each",
    );

    // Forward one more day: now there are three dailies for a count of 2: the oldest goes (by
    // the count); three hourlies for a count of 3: all stay.
    set_clock(t0 + ChronoDuration::days(2) + ChronoDuration::hours(1));
    cron("at T+2d1h");
    let day2 = autosnaps(&pool, &ds)?;
    let dailies = of_kind(&day2, "daily");
    note(dailies.len() == 2, "T+2d1h: daily count 2 kept");
    note(
        !dailies.contains(&of_kind(&at_t, "daily")[0]),
        "T+2d1h: the oldest daily pruned",
    );
    note(
        of_kind(&day2, "hourly").len() == 3,
        "T+2d1h: hourly count 3 kept",
    );

    // Back to the present: everything is "from the future": nothing taken, nothing pruned.
    set_clock(clock.real_now());
    cron("back at the present");
    note(
        autosnaps(&pool, &ds)? == day2,
        "present: the future snapshots kept, none added",
    );
    drop(clock);

    let intact = ok && pool.read_file("data/file")? == b"payload";
    tally::fault(
        "clock jumps between zsync cron runs (-1 h, +1 d, +2 d, back)",
        intact,
    );
    assert!(intact, "schedule and prune across the clock jumps");
    Ok(())
}
