//! Property tests of the pruning planner.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use zfs_policy::config::Policy;
use zfs_policy::resolve::{DatasetPolicy, Origin, TakeMode};
use zfs_policy::{retention, DatasetKind, Grid, Protect, Recursive, Snapshot, SnapshotType};

#[derive(Debug, Clone)]
struct Case {
    counts: [u32; 6],
    grid: Option<&'static str>,
    keep_last: u32,
    snaps: Vec<(usize, i64, bool, bool)>, // type index, minutes before base, held, protected
    now_after_base_min: i64,
    berlin: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::array::uniform6(0u32..6),
        prop::option::of(prop::sample::select(vec![
            "1x1h(keep=all) | 24x1h | 14x1d",
            "3x1d(keep=2)",
            "2x1w | 1x30d",
        ])),
        0u32..4,
        prop::collection::vec(
            (
                0usize..6,
                0i64..(90 * 24 * 60),
                prop::bool::weighted(0.05),
                prop::bool::weighted(0.05),
            ),
            0..80,
        ),
        0i64..(20 * 24 * 60),
        any::<bool>(),
    )
        .prop_map(
            |(counts, grid, keep_last, snaps, now_after_base_min, berlin)| Case {
                counts,
                grid,
                keep_last,
                snaps,
                now_after_base_min,
                berlin,
            },
        )
}

fn build(c: &Case) -> (DatasetPolicy, Vec<Snapshot>, Protect, DateTime<Utc>) {
    let mut settings = Policy {
        frequently: c.counts[0],
        hourly: c.counts[1],
        daily: c.counts[2],
        weekly: c.counts[3],
        monthly: c.counts[4],
        yearly: c.counts[5],
        prune_keep_last: c.keep_last,
        ..Policy::default()
    };
    settings.prune_grid = c.grid.map(|g| Grid::parse(g).unwrap());
    let policy = DatasetPolicy {
        dataset: "tank/ds".into(),
        kind: DatasetKind::Filesystem,
        origin: Origin::Section {
            section: "tank/ds".into(),
        },
        take: TakeMode::Own,
        prune: true,
        recursive: Recursive::No,
        process_children_only: false,
        settings,
    };
    let base = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let mut protect = Protect::new();
    let mut snaps = Vec::new();
    for (i, &(t, min, held, protected)) in c.snaps.iter().enumerate() {
        let kind = SnapshotType::ALL[t];
        let name = format!("autosnap_{i:03}_{kind}");
        if protected {
            protect = protect.snapshot(name.clone(), "replication base");
        }
        snaps.push(Snapshot::new(name, base - Duration::minutes(min)).with_hold(held));
    }
    snaps.push(Snapshot::new(
        "manual-before-upgrade",
        base - Duration::days(400),
    ));
    (
        policy,
        snaps,
        protect,
        base + Duration::minutes(c.now_after_base_min),
    )
}

fn run<'a>(
    policy: &'a DatasetPolicy,
    snaps: &'a [Snapshot],
    protect: &Protect,
    now: DateTime<Utc>,
    berlin: bool,
) -> retention::PrunePlan<'a> {
    if berlin {
        retention::plan(
            policy,
            snaps,
            &now.with_timezone(&chrono_tz::Europe::Berlin),
            protect,
        )
    } else {
        retention::plan(policy, snaps, &now, protect)
    }
}

fn per_type(snaps: &[Snapshot]) -> BTreeMap<SnapshotType, Vec<&Snapshot>> {
    let mut m: BTreeMap<SnapshotType, Vec<&Snapshot>> = BTreeMap::new();
    for s in snaps {
        if let Some(t) = s.autosnap_type() {
            m.entry(t).or_default().push(s);
        }
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pruning_is_idempotent(c in case()) {
        let (policy, snaps, protect, now) = build(&c);
        let first = run(&policy, &snaps, &protect, now, c.berlin);
        let gone: HashSet<&str> = first.destroy_names().collect();
        let rest: Vec<Snapshot> = snaps.iter().filter(|s| !gone.contains(s.name())).cloned().collect();
        let second = run(&policy, &rest, &protect, now, c.berlin);
        prop_assert!(second.destroy.is_empty(), "second pass destroys {:?}", second.destroy);
        prop_assert_eq!(second.keep.len(), first.keep.len());
    }

    #[test]
    fn keeps_what_must_stay(c in case()) {
        let (policy, snaps, protect, now) = build(&c);
        let plan = run(&policy, &snaps, &protect, now, c.berlin);
        let gone: HashSet<&str> = plan.destroy_names().collect();
        // every managed snapshot is in exactly one list; unmanaged ones in neither
        prop_assert_eq!(plan.keep.len() + plan.destroy.len() + plan.unmanaged, snaps.len());
        prop_assert!(!gone.contains("manual-before-upgrade"));
        for (i, s) in snaps.iter().enumerate() {
            if s.held() || c.snaps.get(i).is_some_and(|x| x.3) {
                prop_assert!(!gone.contains(s.name()), "held/protected {} destroyed", s.name());
            }
        }
        for (kind, list) in per_type(&snaps) {
            let count = policy.settings.count(kind) as usize;
            let newest = list.iter().max_by_key(|s| (s.creation(), s.name().to_string())).unwrap();
            if count > 0 {
                prop_assert!(!gone.contains(newest.name()), "newest {} of {kind} destroyed", newest.name());
            }
            let kept = list.iter().filter(|s| !gone.contains(s.name())).count();
            prop_assert!(kept >= count.min(list.len()), "{kind}: kept {kept} < min({count}, {})", list.len());
        }
    }

    #[test]
    fn counts_only_matches_sanoid_rule(c in case()) {
        // Without grid, keep_last, holds and protection, the plan is exactly sanoid's per-type rule:
        // destroy the oldest snapshots older than the cutoff while more than N remain.
        let mut c = c;
        c.grid = None;
        c.keep_last = 0;
        for s in &mut c.snaps { s.2 = false; s.3 = false; }
        let (policy, snaps, protect, now) = build(&c);
        let plan = run(&policy, &snaps, &protect, now, c.berlin);
        let gone: HashSet<&str> = plan.destroy_names().collect();
        for (kind, mut list) in per_type(&snaps) {
            let count = policy.settings.count(kind) as usize;
            list.sort_by_key(|s| (s.creation(), s.name().to_string()));
            let cutoff = if c.berlin {
                retention::cutoff(&policy.settings, kind, count as u32, &now.with_timezone(&chrono_tz::Europe::Berlin))
            } else {
                retention::cutoff(&policy.settings, kind, count as u32, &now)
            };
            let old = list.iter().filter(|s| s.creation() < cutoff).count();
            let expected = old.min(list.len().saturating_sub(count));
            let destroyed: Vec<&str> = list.iter().map(|s| s.name()).filter(|n| gone.contains(n)).collect();
            let oldest: Vec<&str> = list.iter().take(expected).map(|s| s.name()).collect();
            prop_assert_eq!(destroyed, oldest, "{}", kind);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Scheduling and planning never panic, whatever the time (chrono's whole range) and settings.
    /// sanoid: `TYPE = 0` means none of that type. Without a grid or keep-last, every snapshot
    /// of a count-0 type older than now is destroyed unless it is held or protected (a
    /// replication base), and those are kept with that reason.
    #[test]
    fn count_zero_destroys_all_of_the_type_except_held_or_protected(c in case()) {
        let c = Case { grid: None, keep_last: 0, ..c };
        let (policy, snaps, protect, now) = build(&c);
        let plan = run(&policy, &snaps, &protect, now, c.berlin);
        for k in &plan.keep {
            if policy.settings.count(k.kind) == 0 && k.creation < now {
                prop_assert!(
                    k.reasons.held || k.reasons.protected.is_some(),
                    "{} kept with {}=0: {:?}", k.name, k.kind, k.reasons
                );
            }
        }
    }

    #[test]
    fn no_panics_at_any_time(
        secs in (DateTime::<Utc>::MIN_UTC.timestamp() + 1)..(DateTime::<Utc>::MAX_UTC.timestamp() - 1),
        counts in prop::array::uniform6(0u32..u32::MAX),
        fp in 1u32..=1440,
        mday in 1u32..=31,
        wday in 0u32..=7,
        berlin in any::<bool>(),
    ) {
        let now = DateTime::from_timestamp(secs, 0).unwrap();
        let c = Case { counts, grid: Some("1x1h(keep=all) | 24x1h"), keep_last: 1, snaps: vec![(1, 0, false, false), (2, 60, false, false)], now_after_base_min: 0, berlin };
        let (mut policy, _, protect, _) = build(&c);
        policy.settings.frequent_period = fp;
        policy.settings.monthly_mday = mday;
        policy.settings.yearly_mday = mday;
        policy.settings.weekly_wday = wday;
        let snaps = vec![
            Snapshot::new("autosnap_a_hourly", now),
            Snapshot::new("autosnap_b_daily", DateTime::<Utc>::MIN_UTC),
            Snapshot::new("autosnap_c_monthly", DateTime::<Utc>::MAX_UTC),
        ];
        let plan = run(&policy, &snaps, &protect, now, c.berlin);
        prop_assert_eq!(plan.keep.len() + plan.destroy.len(), 3);
        if berlin {
            let _ = policy.due(&snaps, &now.with_timezone(&chrono_tz::Europe::Berlin));
        } else {
            let _ = policy.due(&snaps, &now);
        }
    }
}
