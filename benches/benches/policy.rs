//! zfs-policy speed: a full year of hourly runs (schedule + name + take + prune) over one dataset
//! (target < 1 s), and deciding due types and prune plans for 100 datasets × 1,000 snapshots
//! (target < 10 ms).

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use zfs_policy::{retention, Config, Dataset, DatasetPolicy, Protect, Snapshot, SnapshotType};

const CONF: &str = "\
[tank]
    recursive = yes
    frequently = 4
    hourly = 48
    daily = 30
    weekly = 8
    monthly = 12
    yearly = 2
    prune_grid = 1x1h(keep=all) | 24x1h | 14x1d | 12x30d
";

fn policies(n: usize) -> Vec<DatasetPolicy> {
    let config = Config::parse(CONF, "bench.conf").expect("bench config parses");
    let mut datasets = vec![Dataset::filesystem("tank")];
    datasets.extend((1..n).map(|i| Dataset::filesystem(format!("tank/ds{i:03}"))));
    config.resolve(&datasets).policies
}

fn simulate_year(policy: &DatasetPolicy, start: DateTime<Utc>) -> usize {
    let mut snapshots: Vec<Snapshot> = Vec::new();
    let protect = Protect::new();
    let mut gone: Vec<usize> = Vec::new();
    for k in 0..8760 {
        let now = (start + Duration::hours(k)).with_timezone(&Berlin);
        let due = policy.due(&snapshots, &now);
        for name in zfs_policy::snapshot_names(&now, &due) {
            snapshots.push(Snapshot::new(name, now.with_timezone(&Utc)));
        }
        let plan = retention::plan(policy, &snapshots, &now, &protect);
        if !plan.destroy.is_empty() {
            gone.clear();
            gone.extend(plan.destroy.iter().map(|d| d.index));
            gone.sort_unstable();
            let mut i = 0;
            snapshots.retain(|_| {
                i += 1;
                gone.binary_search(&(i - 1)).is_err()
            });
        }
    }
    snapshots.len()
}

/// 1,000 snapshots: one per hour going back ~42 days, types spread like a real sanoid pool.
fn snapshots(now: DateTime<Utc>) -> Vec<Snapshot> {
    (0..1000i64)
        .map(|k| {
            let t = now - Duration::hours(k) - Duration::seconds(30);
            let kind = match k % 24 {
                0 => SnapshotType::Daily,
                1 if k % (24 * 7) == 1 => SnapshotType::Weekly,
                2 if k % (24 * 30) == 2 => SnapshotType::Monthly,
                3..=6 => SnapshotType::Frequently,
                _ => SnapshotType::Hourly,
            };
            Snapshot::new(zfs_policy::snapshot_name(&t, kind), t)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let one = policies(1).remove(0);
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 30)
        .single()
        .expect("valid start");
    let mut g = c.benchmark_group("policy");
    g.sample_size(10);
    g.bench_function("year_of_hourly_runs_1_dataset", |b| {
        b.iter(|| simulate_year(black_box(&one), start))
    });

    let many = policies(100);
    let now = Utc
        .with_ymd_and_hms(2026, 6, 1, 12, 0, 30)
        .single()
        .expect("valid now");
    let snaps: Vec<Vec<Snapshot>> = many.iter().map(|_| snapshots(now)).collect();
    let now_local = now.with_timezone(&Berlin);
    g.bench_function("decide_100_datasets_x_1000_snapshots", |b| {
        b.iter(|| {
            let protect = Protect::new();
            let mut destroy = 0;
            let mut due = 0;
            for (policy, snaps) in many.iter().zip(&snaps) {
                due += policy.due(snaps, &now_local).len();
                destroy += retention::plan(policy, snaps, &now_local, &protect)
                    .destroy
                    .len();
            }
            black_box((due, destroy))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
