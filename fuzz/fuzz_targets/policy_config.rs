//! The sanoid.conf parser of zfs-policy must never panic: any bytes parse or give a located error.
//! Configs that parse are also resolved, scheduled and pruned once, which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_policy::chrono::{self, TimeZone, Utc};
use zfs_policy::{retention, Config, Dataset, Protect, Snapshot, SnapshotType};

fuzz_target!(|data: &[u8]| {
    let config = match Config::parse_bytes(data, "fuzz.conf") {
        Ok(c) => c,
        Err(e) => {
            // The message is one line with a position inside the input.
            let msg = e.to_string();
            assert!(!msg.contains('\n'));
            assert!(e.line >= 1 && e.column >= 1);
            return;
        }
    };
    let mut datasets = Vec::new();
    for s in &config.datasets {
        datasets.push(Dataset::filesystem(s.path.clone()));
        datasets.push(Dataset::volume(format!("{}/child", s.path)));
    }
    let resolution = config.resolve(&datasets);
    let now = Utc
        .with_ymd_and_hms(2026, 10, 25, 1, 30, 0)
        .single()
        .expect("valid time");
    let snaps: Vec<Snapshot> = (0..50i64)
        .map(|k| {
            let t = now - chrono::Duration::hours(k * 7);
            let kind = SnapshotType::ALL[(k % 6) as usize];
            Snapshot::new(zfs_policy::snapshot_name(&t, kind), t)
        })
        .collect();
    for policy in &resolution.policies {
        let due = policy.due(&snaps, &now);
        let _ = zfs_policy::snapshot_names(&now, &due);
        let plan = retention::plan(policy, &snaps, &now, &Protect::new().capacity(90));
        assert_eq!(
            plan.keep.len() + plan.destroy.len() + plan.unmanaged,
            snaps.len()
        );
    }
});
