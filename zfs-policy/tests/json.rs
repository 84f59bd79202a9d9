//! The plan and the resolution serialize to JSON for `--json`.
#![cfg(feature = "serde")]

use chrono::{Duration, TimeZone, Utc};
use zfs_policy::{retention, Config, Dataset, Protect, Snapshot, SnapshotType};

#[test]
fn plan_and_policy_serialize() {
    let config = Config::parse(
        "[tank]\nhourly = 1\ndaily = 0\nmonthly = 0\nprune_grid = 2x1h\n",
        "x",
    )
    .unwrap();
    let r = config.resolve(&[Dataset::filesystem("tank")]);
    let now = Utc.with_ymd_and_hms(2026, 5, 2, 12, 0, 0).unwrap();
    let snaps: Vec<Snapshot> = (0..4)
        .map(|h| {
            let t = now - Duration::hours(h);
            Snapshot::new(zfs_policy::snapshot_name(&t, SnapshotType::Hourly), t)
        })
        .collect();
    let protect = Protect::new().snapshot(snaps[3].name(), "last common base");
    let plan = retention::plan(&r.policies[0], &snaps, &now, &protect);
    let v = serde_json::to_value(&plan).unwrap();
    assert_eq!(v["dataset"], "tank");
    assert_eq!(v["destroy"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["destroy"][0]["name"],
        "autosnap_2026-05-02_10:00:00_hourly"
    );
    assert_eq!(v["destroy"][0]["reason"]["rule"], "expired");
    assert_eq!(v["keep"][0]["reasons"]["protected"], "last common base");
    // kept: 3 h old (protected), 1 h old (recent, grid bucket 1), now (recent, grid anchor, newest)
    assert_eq!(v["keep"].as_array().unwrap().len(), 3);
    assert_eq!(v["keep"][1]["reasons"]["grid"]["why"], "bucket");
    assert_eq!(v["keep"][1]["reasons"]["grid"]["bucket"], 1);
    assert_eq!(v["keep"][2]["reasons"]["grid"]["why"], "anchor");
    assert_eq!(v["keep"][2]["reasons"]["newest_of_type"], true);
    assert!(v["keep"][1]["reasons"].get("newest_of_type").is_none());
    let p = serde_json::to_value(&r.policies[0]).unwrap();
    assert_eq!(p["take"]["mode"], "own");
    assert_eq!(p["settings"]["hourly"], 1);
    assert_eq!(p["settings"]["prune_grid"]["intervals"][0]["count"], 2);
}
