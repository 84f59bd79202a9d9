//! Lab: dataset and snapshot names at the validity edges work end to end on real pools — a space,
//! a leading `-`, every punctuation ZFS allows, a snapshot name that makes the full name exactly
//! 255 bytes, a snapshot name with a leading `-` and a space — through `zsync sync -r`, `zsync
//! plan` and `zsync snapshot` (a sanoid.conf section naming such a dataset). The invalid ones are
//! refused on the host (tests/hostile_names.rs). Run with `cargo xtask lab test lab_names_edges`.

use zsync_lab::{tally, LabError, TestPool};

mod common;
use common::{now0, scratch, text, zsync};

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_names_at_the_edges_work_end_to_end() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("names")?;
    let dir = scratch(&pool, "names", "edges");
    let (src, dst) = (pool.dataset("s"), pool.dataset("d"));
    // `dst` is created by the first receive (an existing unrelated target is refused).
    pool.zfs(&["create", &src])?;
    // `src` and `dst` have the same length, so a 255-byte name on one side is 255 on the other.
    let fixed = format!("{src}/").len() + "@s1".len();
    let long = "L".repeat(255 - fixed);
    let children = ["a b", "-x", "a:b.c_d-e", "Upper.Case", long.as_str()];
    for c in children {
        pool.zfs(&["create", &format!("{src}/{c}")])?;
        let mp = pool.get("mountpoint", &format!("{src}/{c}"))?;
        std::fs::write(std::path::Path::new(&mp).join("f"), c.as_bytes()).expect("write");
    }
    pool.zfs(&["snapshot", "-r", &format!("{src}@s1")])?;
    let longest = format!("{src}/{long}@s1");
    assert_eq!(longest.len(), 255, "{longest}");
    for c in &children[..4] {
        pool.zfs(&["snapshot", &format!("{src}/{c}@-s p")])?;
    }

    let o = zsync(&dir, None, &["sync", "-r", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut all_ok = true;
    for c in children {
        let s = pool.snapshot_guids(&format!("{src}/{c}"))?;
        let d = pool.snapshot_guids(&format!("{dst}/{c}"))?;
        // Same snapshot GUIDs on both sides: the same data, by ZFS's own identity (the target is
        // left unmounted, and mounting it to read would modify it).
        let ok = s == d && !s.is_empty();
        let what = if c.len() > 40 {
            "a 255-byte snapshot name"
        } else {
            c
        };
        tally::hostile(&format!("valid name {what:?} replicated end to end"), ok);
        all_ok &= ok;
        assert!(ok, "{c}: source {s:?} target {d:?}");
    }
    assert!(all_ok);

    // Up to date: the plan has nothing to send.
    let o = zsync(
        &dir,
        None,
        &["plan", "-r", "--no-sync-snap", "--json", &src, &dst],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    // A sanoid.conf section naming the dataset with a space: snapshots are taken there, and an
    // incremental sync carries them.
    let conf = dir.join("sanoid.conf");
    std::fs::write(
        &conf,
        format!(
            "[{src}/a b]\n\tfrequently = 0\n\thourly = 2\n\tdaily = 1\n\tmonthly = 0\n\tyearly = 0\n\
             \tautosnap = yes\n\tautoprune = yes\n"
        ),
    )
    .expect("conf");
    let o = zsync(
        &dir,
        Some(now0()),
        &["snapshot", "--config", conf.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let taken = pool.snapshot_names(&format!("{src}/a b"))?;
    assert!(
        taken.iter().any(|n| n.starts_with("autosnap_")),
        "{taken:?}"
    );
    let o = zsync(&dir, None, &["sync", "-r", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let ok = pool.snapshot_guids(&format!("{src}/a b"))?
        == pool.snapshot_guids(&format!("{dst}/a b"))?;
    tally::hostile(
        "sanoid.conf section with a space: snapshot, then replicated",
        ok,
    );
    assert!(ok);
    Ok(())
}
