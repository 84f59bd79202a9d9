//! Retention: which autosnap snapshots to keep and which to destroy, and why.
//!
//! # Rules (a snapshot is kept when **any** rule keeps it — a union of keeps)
//!
//! 1. **Counts** (sanoid's semantics, always active). Per type with count `N` and period `P`
//!    (`frequent_period` minutes, 1 hour, 1 day, 7 days, 1 calendar month, 1 calendar year), walk that
//!    type's snapshots oldest first; one is *not* kept when it was created before `now − N×P` **and** more
//!    than `N` of its type remain. So `daily = 30` means "keep at least 30 dailies, and every daily younger
//!    than 30 days". A count of 0 keeps none of that type. Days, weeks, months and years are counted on the
//!    local calendar of the time zone of `now` (sanoid uses 31-day months and 365.25-day years).
//! 2. **Grid** (`prune_grid`, zsync extension): see [`crate::grid`]; applies to all autosnap snapshots of
//!    the dataset, whatever their type.
//! 3. **Keep last** (`prune_keep_last = N`, zsync extension): the newest N autosnap snapshots.
//!
//! # Never destroyed
//!
//! * a snapshot with a user hold ([`Snapshot::with_hold`]);
//! * a snapshot named in [`Protect`] (e.g. the last common base of a replication);
//! * the newest snapshot of a type whose count is above 0.
//!
//! Snapshots whose names are not sanoid autosnap names are never touched (counted as `unmanaged`).
//! Nothing is destroyed when `autoprune = no`, with `process_children_only`, or when `prune_defer` is set
//! and the pool capacity (an input) is at or below it or unknown.
//!
//! The plan is deterministic, and applying it is idempotent: planning again at the same `now` after
//! destroying what it lists destroys nothing more.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Duration, Months, TimeZone, Utc};

use crate::config::Policy;
use crate::grid::{GridVerdict, Interval};
use crate::resolve::DatasetPolicy;
use crate::schedule::local_instant;
use crate::types::{Snapshot, SnapshotType};

/// Inputs that protect snapshots from pruning, per dataset, plus the pool capacity for `prune_defer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protect {
    names: HashMap<String, String>,
    /// Used capacity of the dataset's pool in percent, when known.
    pub pool_capacity: Option<u8>,
}

impl Protect {
    /// Nothing protected, capacity unknown.
    pub fn new() -> Self {
        Protect::default()
    }

    /// Protects snapshot `name` (short name) and records why, e.g. "last common base with backup:tank".
    pub fn snapshot(mut self, name: impl Into<String>, why: impl Into<String>) -> Self {
        let mut name: String = name.into();
        if let Some(at) = name.find('@') {
            name.drain(..=at);
        }
        self.names.insert(name, why.into());
        self
    }

    /// Sets the pool's used capacity in percent.
    pub fn capacity(mut self, percent: u8) -> Self {
        self.pool_capacity = Some(percent);
        self
    }

    fn why(&self, name: &str) -> Option<&String> {
        self.names.get(name)
    }
}

/// Why the count rule keeps a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "why", rename_all = "snake_case"))]
pub enum CountKeep {
    /// Created at or after the cutoff (younger than `count` periods).
    Recent {
        /// Type.
        kind: SnapshotType,
        /// Configured count.
        count: u32,
        /// Snapshots created before this instant are old.
        cutoff: DateTime<Utc>,
    },
    /// Old, but no more than `count` of its type would remain.
    MinimumCount {
        /// Type.
        kind: SnapshotType,
        /// Configured count.
        count: u32,
    },
}

/// Why the grid keeps a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "why", rename_all = "snake_case"))]
pub enum GridKeep {
    /// The youngest autosnap snapshot, which anchors the grid.
    Anchor,
    /// The oldest snapshot(s) of a bucket.
    Bucket {
        /// The interval, e.g. `24x1h`.
        interval: Interval,
        /// Bucket index within the interval (0 = youngest).
        bucket: u32,
    },
}

/// Every rule that keeps a snapshot (a snapshot is destroyed only when none does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeepReasons {
    /// The count rule (sanoid semantics).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub count: Option<CountKeep>,
    /// The newest snapshot of a type whose count is above 0.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_false"))]
    pub newest_of_type: bool,
    /// The grid (`prune_grid`).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub grid: Option<GridKeep>,
    /// `prune_keep_last = N`: among the newest N.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub keep_last: Option<u32>,
    /// Has a user hold.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "is_false"))]
    pub held: bool,
    /// Protected by the caller, with the caller's reason.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub protected: Option<String>,
}

#[cfg(feature = "serde")]
fn is_false(b: &bool) -> bool {
    !*b
}

impl KeepReasons {
    /// Whether no rule keeps the snapshot.
    pub fn is_empty(&self) -> bool {
        self.count.is_none()
            && !self.newest_of_type
            && self.grid.is_none()
            && self.keep_last.is_none()
            && !self.held
            && self.protected.is_none()
    }
}

impl fmt::Display for KeepReasons {
    /// The reasons joined with `; `, e.g. `hourly=24: created after the cutoff …; newest hourly`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut part = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| -> fmt::Result {
            f.write_str(sep)?;
            sep = "; ";
            f.write_fmt(args)
        };
        match self.count {
            Some(CountKeep::Recent {
                kind,
                count,
                cutoff,
            }) => part(
                f,
                format_args!(
                    "{kind}={count}: created after the cutoff {}",
                    cutoff.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            )?,
            Some(CountKeep::MinimumCount { kind, count }) => {
                part(f, format_args!("{kind}={count}: keeps at least {count}"))?
            }
            None => {}
        }
        if self.newest_of_type {
            part(f, format_args!("newest of its type"))?;
        }
        match self.grid {
            Some(GridKeep::Anchor) => part(f, format_args!("grid anchor (youngest)"))?,
            Some(GridKeep::Bucket { interval, bucket }) => {
                part(f, format_args!("grid {interval} bucket {bucket}"))?
            }
            None => {}
        }
        if let Some(n) = self.keep_last {
            part(f, format_args!("prune_keep_last={n}"))?;
        }
        if self.held {
            part(f, format_args!("held"))?;
        }
        if let Some(why) = &self.protected {
            part(f, format_args!("protected: {why}"))?;
        }
        Ok(())
    }
}

/// Why a snapshot is destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "rule", rename_all = "snake_case"))]
pub enum DestroyReason {
    /// Created before the cutoff while more than `count` of its type remain.
    Expired {
        /// Type.
        kind: SnapshotType,
        /// Configured count.
        count: u32,
        /// The cutoff instant.
        cutoff: DateTime<Utc>,
    },
    /// The type's count is 0.
    TypeDisabled {
        /// Type.
        kind: SnapshotType,
    },
}

impl fmt::Display for DestroyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestroyReason::Expired {
                kind,
                count,
                cutoff,
            } => write!(
                f,
                "{kind}={count}: created before {} and more than {count} remain",
                cutoff.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            DestroyReason::TypeDisabled { kind } => write!(f, "{kind}=0"),
        }
    }
}

/// Why nothing at all is pruned for a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "reason", rename_all = "snake_case"))]
pub enum Skip {
    /// `autoprune = no` or `process_children_only`.
    PruningOff,
    /// `prune_defer` is set and the pool capacity is at or below it (or unknown).
    Deferred {
        /// `prune_defer`.
        prune_defer: u8,
        /// The capacity passed in.
        capacity: Option<u8>,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::PruningOff => write!(f, "pruning is off"),
            Skip::Deferred {
                prune_defer,
                capacity: Some(c),
            } => {
                write!(
                    f,
                    "deferred: pool capacity {c}% <= prune_defer {prune_defer}%"
                )
            }
            Skip::Deferred {
                prune_defer,
                capacity: None,
            } => {
                write!(
                    f,
                    "deferred: prune_defer {prune_defer}% and the pool capacity is unknown"
                )
            }
        }
    }
}

/// A snapshot the plan keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Kept<'a> {
    /// Position of the snapshot in the input slice.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub index: usize,
    /// Short snapshot name.
    pub name: &'a str,
    /// `creation`.
    pub creation: DateTime<Utc>,
    /// Its type.
    pub kind: SnapshotType,
    /// Every rule that keeps it (empty only when the whole dataset is skipped).
    pub reasons: KeepReasons,
}

/// A snapshot the plan destroys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Destroyed<'a> {
    /// Position of the snapshot in the input slice.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub index: usize,
    /// Short snapshot name.
    pub name: &'a str,
    /// `creation`.
    pub creation: DateTime<Utc>,
    /// Its type.
    pub kind: SnapshotType,
    /// Why.
    pub reason: DestroyReason,
}

/// The prune plan of one dataset, borrowing names from the inputs. Both lists are sorted oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PrunePlan<'a> {
    /// The dataset.
    pub dataset: &'a str,
    /// Autosnap snapshots that stay.
    pub keep: Vec<Kept<'a>>,
    /// Autosnap snapshots to destroy.
    pub destroy: Vec<Destroyed<'a>>,
    /// Set when the dataset is not pruned at all.
    pub skipped: Option<Skip>,
    /// Number of snapshots that are not autosnap snapshots (never touched).
    pub unmanaged: usize,
}

impl<'a> PrunePlan<'a> {
    /// Names to destroy, oldest first.
    pub fn destroy_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.destroy.iter().map(|d| d.name)
    }
}

impl fmt::Display for PrunePlan<'_> {
    /// One line per snapshot: `destroy tank@autosnap_… (reason)` / `keep tank@autosnap_… (reasons)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(skip) = &self.skipped {
            writeln!(f, "skip {}: {skip}", self.dataset)?;
        }
        for d in &self.destroy {
            writeln!(f, "destroy {}@{} ({})", self.dataset, d.name, d.reason)?;
        }
        for k in &self.keep {
            writeln!(f, "keep {}@{} ({})", self.dataset, k.name, k.reasons)?;
        }
        Ok(())
    }
}

/// The instant before which a snapshot of `kind` counts as older than `count` periods.
pub fn cutoff<Tz: TimeZone>(
    policy: &Policy,
    kind: SnapshotType,
    count: u32,
    now: &DateTime<Tz>,
) -> DateTime<Utc> {
    let now_utc = now.with_timezone(&Utc);
    let n = i64::from(count);
    let absolute = |d: Option<Duration>| {
        d.and_then(|d| now_utc.checked_sub_signed(d))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    let local = now.naive_local();
    let calendar = |t: Option<chrono::NaiveDateTime>| {
        t.and_then(|t| local_instant(&now.timezone(), t))
            .map_or(DateTime::<Utc>::MIN_UTC, |x| x.min(now_utc))
    };
    match kind {
        SnapshotType::Frequently => {
            absolute(Duration::try_minutes(n * i64::from(policy.frequent_period)))
        }
        SnapshotType::Hourly => absolute(Duration::try_hours(n)),
        SnapshotType::Daily => calendar(local.checked_sub_signed(Duration::days(n))),
        SnapshotType::Weekly => calendar(local.checked_sub_signed(Duration::weeks(n))),
        SnapshotType::Monthly => calendar(local.checked_sub_months(Months::new(count))),
        SnapshotType::Yearly => calendar(
            count
                .checked_mul(12)
                .and_then(|m| local.checked_sub_months(Months::new(m))),
        ),
    }
}

/// Plans pruning for one dataset. `snapshots` are all snapshots of the dataset (any order; non-autosnap
/// ones are ignored), `now` is the current time in the local time zone.
pub fn plan<'a, Tz: TimeZone>(
    policy: &'a DatasetPolicy,
    snapshots: &'a [Snapshot],
    now: &DateTime<Tz>,
    protect: &Protect,
) -> PrunePlan<'a> {
    let skipped = if !policy.prune {
        Some(Skip::PruningOff)
    } else if policy.settings.prune_defer > 0
        && protect
            .pool_capacity
            .is_none_or(|c| c <= policy.settings.prune_defer)
    {
        Some(Skip::Deferred {
            prune_defer: policy.settings.prune_defer,
            capacity: protect.pool_capacity,
        })
    } else {
        None
    };
    let mut p = plan_settings(&policy.settings, snapshots, now, protect, skipped.is_some());
    p.dataset = &policy.dataset;
    p.skipped = skipped;
    p
}

/// Plans pruning with bare settings (empty dataset name; `keep_all` keeps everything, reasons empty).
pub fn plan_settings<'a, Tz: TimeZone>(
    settings: &Policy,
    snapshots: &'a [Snapshot],
    now: &DateTime<Tz>,
    protect: &Protect,
    keep_all: bool,
) -> PrunePlan<'a> {
    // Managed snapshots, oldest first (ties broken by name for determinism).
    let mut managed: Vec<(usize, SnapshotType)> = snapshots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.autosnap_type().map(|t| (i, t)))
        .collect();
    let unmanaged = snapshots.len() - managed.len();
    managed.sort_unstable_by(|a, b| {
        let (sa, sb) = (&snapshots[a.0], &snapshots[b.0]);
        sa.creation_secs()
            .cmp(&sb.creation_secs())
            .then_with(|| sa.creation().cmp(&sb.creation()))
            .then_with(|| sa.name().cmp(sb.name()))
    });
    let mut reasons = vec![KeepReasons::default(); managed.len()];
    let mut destroy: Vec<Option<DestroyReason>> = vec![None; managed.len()];

    if !keep_all {
        // Rule 1: counts. Walking all managed snapshots oldest first visits each type oldest first.
        let mut remaining = [0usize; 6];
        let mut newest = [None; 6];
        for (pos, (_, kind)) in managed.iter().enumerate() {
            remaining[kind.index()] += 1;
            newest[kind.index()] = Some(pos);
        }
        let mut cutoffs = [DateTime::<Utc>::MIN_UTC; 6];
        for kind in SnapshotType::ALL {
            if remaining[kind.index()] > 0 {
                cutoffs[kind.index()] = cutoff(settings, kind, settings.count(kind), now);
            }
        }
        for (pos, &(idx, kind)) in managed.iter().enumerate() {
            let count = settings.count(kind);
            let cut = cutoffs[kind.index()];
            let old = snapshots[idx].creation() < cut;
            let left = &mut remaining[kind.index()];
            if old && *left > count as usize {
                destroy[pos] = Some(if count == 0 {
                    DestroyReason::TypeDisabled { kind }
                } else {
                    DestroyReason::Expired {
                        kind,
                        count,
                        cutoff: cut,
                    }
                });
                *left -= 1;
            } else if old {
                reasons[pos].count = Some(CountKeep::MinimumCount { kind, count });
            } else {
                reasons[pos].count = Some(CountKeep::Recent {
                    kind,
                    count,
                    cutoff: cut,
                });
            }
        }
        for kind in SnapshotType::ALL {
            if let (true, Some(pos)) = (settings.count(kind) > 0, newest[kind.index()]) {
                reasons[pos].newest_of_type = true;
            }
        }
        // Rule 2: grid.
        if let Some(grid) = &settings.prune_grid {
            let secs: Vec<i64> = managed
                .iter()
                .map(|(i, _)| snapshots[*i].creation_secs())
                .collect();
            grid.fit_sorted(&secs, |pos, verdict| match verdict {
                GridVerdict::Anchor => reasons[pos].grid = Some(GridKeep::Anchor),
                GridVerdict::Bucket { interval, bucket } => {
                    reasons[pos].grid = Some(GridKeep::Bucket {
                        interval: grid.intervals[interval],
                        bucket,
                    })
                }
                GridVerdict::Surplus | GridVerdict::Outside => {}
            });
        }
        // Rule 3: keep last N.
        let n = settings.prune_keep_last as usize;
        let start = managed.len().saturating_sub(n);
        for r in reasons.iter_mut().skip(start) {
            r.keep_last = Some(settings.prune_keep_last);
        }
    }

    let mut plan = PrunePlan {
        dataset: "",
        keep: Vec::with_capacity(managed.len()),
        destroy: Vec::new(),
        skipped: None,
        unmanaged,
    };
    let check_protected = !protect.names.is_empty();
    for (pos, &(idx, kind)) in managed.iter().enumerate() {
        let s = &snapshots[idx];
        let mut why = std::mem::take(&mut reasons[pos]);
        why.held = s.held();
        if check_protected {
            why.protected = protect.why(s.name()).cloned();
        }
        match destroy[pos] {
            Some(reason) if why.is_empty() && !keep_all => plan.destroy.push(Destroyed {
                index: idx,
                name: s.name(),
                creation: s.creation(),
                kind,
                reason,
            }),
            _ => plan.keep.push(Kept {
                index: idx,
                name: s.name(),
                creation: s.creation(),
                kind,
                reasons: why,
            }),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::types::Dataset;

    fn utc(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap()
    }

    fn hourlies(end: DateTime<Utc>, n: i64) -> Vec<Snapshot> {
        (0..n)
            .map(|k| {
                let t = end - Duration::hours(k);
                Snapshot::new(crate::naming::snapshot_name(&t, SnapshotType::Hourly), t)
            })
            .collect()
    }

    fn policy(text: &str) -> DatasetPolicy {
        Config::parse(text, "t")
            .unwrap()
            .resolve(&[Dataset::filesystem("tank")])
            .policies
            .remove(0)
    }

    #[test]
    fn sanoid_semantics_count_and_age() {
        let p = policy("[tank]\nhourly = 24\ndaily = 0\nmonthly = 0\n");
        let now = utc(2026, 5, 2, 12);
        let snaps = hourlies(now, 30);
        let plan = plan(&p, &snaps, &now, &Protect::new());
        // cutoff = now - 24h; ages 25..29h are older and 30 > 24: destroy 5 (ages 25..29), keep 25.
        assert_eq!(plan.destroy.len(), 5);
        assert_eq!(plan.keep.len(), 25);
        assert!(plan
            .destroy
            .iter()
            .all(|d| d.creation < now - Duration::hours(24)));
        // never below the count even when all are old.
        let later = now + Duration::days(10);
        let plan2 = super::plan(&p, &snaps, &later, &Protect::new());
        assert_eq!(plan2.keep.len(), 24);
        let newest = plan2.keep.iter().filter(|k| k.reasons.newest_of_type);
        assert_eq!(newest.map(|k| k.creation).collect::<Vec<_>>(), vec![now]);
    }

    #[test]
    fn holds_protection_grid_keep_last_and_skips() {
        let now = utc(2026, 5, 2, 12);
        let mut snaps = hourlies(now, 10);
        snaps.push(Snapshot::new("manual", now - Duration::days(100)));
        snaps[9] = snaps[9].clone().with_hold(true);
        let p = policy(
            "[tank]\nhourly = 2\ndaily = 0\nmonthly = 0\nprune_keep_last = 3\nprune_grid = 1x4h\n",
        );
        let protect =
            Protect::new().snapshot(format!("tank@{}", snaps[8].name()), "last common base");
        let plan = plan(&p, &snaps, &now, &protect);
        assert_eq!(plan.unmanaged, 1);
        let kept: Vec<&str> = plan.keep.iter().map(|k| k.name).collect();
        // held (9h), protected (8h), grid bucket 0 oldest (3h, within [0,4h)), keep_last (0..2h), recent (0..2h)
        assert_eq!(kept.len(), 6, "{plan}");
        assert!(
            kept.contains(&snaps[9].name())
                && kept.contains(&snaps[8].name())
                && kept.contains(&snaps[3].name())
        );
        assert_eq!(plan.destroy.len(), 4);
        let text = plan.to_string();
        assert!(
            text.contains("held")
                && text.contains("protected: last common base")
                && text.contains("grid 1x4h bucket 0")
        );

        let off = policy("[tank]\nautoprune = no\nhourly = 1\n");
        let plan = super::plan(&off, &snaps, &now, &Protect::new());
        assert_eq!(
            (plan.destroy.len(), plan.skipped),
            (0, Some(Skip::PruningOff))
        );
        let defer = policy("[tank]\nprune_defer = 80\nhourly = 1\n");
        assert!(
            super::plan(&defer, &snaps, &now, &Protect::new().capacity(50))
                .destroy
                .is_empty()
        );
        assert!(super::plan(&defer, &snaps, &now, &Protect::new())
            .destroy
            .is_empty());
        assert!(
            !super::plan(&defer, &snaps, &now, &Protect::new().capacity(81))
                .destroy
                .is_empty()
        );
    }

    #[test]
    fn count_zero_prunes_the_type() {
        let now = utc(2026, 5, 2, 12);
        let p = policy("[tank]\nhourly = 0\n");
        let snaps = hourlies(now - Duration::hours(1), 3);
        let plan = plan(&p, &snaps, &now, &Protect::new());
        assert_eq!(plan.destroy.len(), 3);
        assert_eq!(
            plan.destroy[0].reason,
            DestroyReason::TypeDisabled {
                kind: SnapshotType::Hourly
            }
        );
    }

    #[test]
    fn calendar_cutoffs() {
        use chrono_tz::Europe::Berlin;
        let p = Policy::default();
        let now = Utc
            .with_ymd_and_hms(2026, 3, 31, 10, 0, 0)
            .unwrap()
            .with_timezone(&Berlin); // 12:00 CEST
                                     // one month before 31 March is 28 Feb (clamped), 12:00 CET = 11:00 UTC
        assert_eq!(
            cutoff(&p, SnapshotType::Monthly, 1, &now),
            utc(2026, 2, 28, 11)
        );
        // one day before, across the spring-forward night: 30 March 12:00 CEST = 10:00 UTC
        assert_eq!(
            cutoff(&p, SnapshotType::Daily, 1, &now),
            utc(2026, 3, 30, 10)
        );
        assert_eq!(
            cutoff(&p, SnapshotType::Hourly, 2, &now),
            utc(2026, 3, 31, 8)
        );
        assert_eq!(
            cutoff(&p, SnapshotType::Yearly, 1, &now),
            utc(2025, 3, 31, 10)
        );
        assert_eq!(
            cutoff(&p, SnapshotType::Frequently, 4, &now),
            utc(2026, 3, 31, 9)
        );
    }
}
