//! Replication across OpenZFS releases, in three VM boots (`cargo xtask lab xrel`): the pools are
//! files in a directory every boot mounts read-write at the same path (`ZSYNC_LAB_XREL`), and
//! `ZSYNC_XREL_STEP` says which part runs:
//!
//! 1. `old1` (2.1): pools `xrelsrc` → `xreldst` with 2.1's default features; `zsync sync` (full).
//! 2. `new` (2.3): imports them, a new snapshot, `zsync sync` continues incrementally (old → new:
//!    a target received by 2.1 keeps receiving on 2.3). Then pools `xrelsrc2` → `xreldst2` created
//!    with `compatibility=openzfs-2.1-linux`, `zsync sync` (full).
//! 3. `old2` (2.1): imports `xrelsrc2`/`xreldst2` and continues incrementally (new → old: a target
//!    received by 2.3 keeps receiving on 2.1), and does once more with the first pair (which 2.3
//!    used in between). Then every pool is destroyed.
//!
//! Each step asserts the release it runs on and that target and source hold the same snapshots
//! (guids). Without `ZSYNC_LAB_XREL` (a plain `lab test`) the test runs the three steps in one VM
//! on that VM's release, which checks the export/import/continue mechanics but no release change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zsync_lab::{LabError, Release};

mod common;
use common::{text, zsync};

type R = Result<(), Box<dyn std::error::Error>>;

const OLD: [&str; 2] = ["xrelsrc", "xreldst"];
const NEW: [&str; 2] = ["xrelsrc2", "xreldst2"];

/// Snapshot short name → guid of `ds` (that dataset only).
fn guids(ds: &str) -> BTreeMap<String, String> {
    common::ssh::snapshot_guids(ds).into_iter().collect()
}

fn file(dir: &Path, pool: &str) -> PathBuf {
    dir.join(format!("{pool}.img"))
}

/// Creates a pool on a 256 MiB sparse file in `dir`, mounted below `dir/mnt`.
fn create(dir: &Path, pool: &str, extra: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let f = file(dir, pool);
    std::fs::File::create(&f)?.set_len(256 << 20)?;
    let mnt = dir.join("mnt").join(pool);
    let (f, mnt) = (f.to_string_lossy(), mnt.to_string_lossy());
    let mut args = vec!["create", "-o", "cachefile=none", "-m", &mnt];
    args.extend(extra);
    args.extend([pool, &f]);
    zsync_lab::zpool(&args)?;
    Ok(())
}

fn import(dir: &Path, pool: &str) -> Result<(), LabError> {
    let d = dir.to_string_lossy();
    zsync_lab::zpool(&["import", "-d", &d, "-o", "cachefile=none", pool]).map(drop)
}

fn export(pool: &str) -> Result<(), LabError> {
    zsync_lab::zpool(&["export", pool]).map(drop)
}

/// Writes a new file and takes `@snap` on `<src>/data`, then `zsync sync` into `<dst>/data`; the
/// target must then hold exactly the source's snapshots.
fn snap_and_sync(dir: &Path, pair: [&str; 2], snap: &str, seed: u32) -> R {
    let [src, dst] = pair;
    let data = format!("{src}/data");
    let mnt = dir.join("mnt").join(src).join("data");
    std::fs::write(mnt.join(snap), zsync_lab::data::pattern(64 << 10, seed))?;
    zsync_lab::zfs(&["snapshot", &format!("{data}@{snap}")])?;
    let target = format!("{dst}/data");
    let o = zsync(
        dir,
        None,
        &[
            "sync",
            "--no-sync-snap",
            "--backend",
            "auto",
            &data,
            &target,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let (want, got) = (guids(&data), guids(&target));
    assert!(want.contains_key(snap), "{want:?}");
    assert_eq!(got, want, "{target} must hold the snapshots of {data}");
    Ok(())
}

/// A pair of pools with `<src>/data`, its first snapshot synced in full.
fn start_pair(dir: &Path, pair: [&str; 2], extra: &[&str]) -> R {
    create(dir, pair[0], extra)?;
    create(dir, pair[1], extra)?;
    zsync_lab::zfs(&["create", &format!("{}/data", pair[0])])?;
    snap_and_sync(dir, pair, "a", 1)
}

fn step(dir: &Path, name: &str, release: Release, cross: bool) -> R {
    eprintln!("xrel: step {name} on OpenZFS {release}");
    match name {
        "old1" => {
            assert!(
                !cross || release.is_2_1(),
                "step old1 runs on 2.1, not {release}"
            );
            start_pair(dir, OLD, &[])?;
            OLD.iter().try_for_each(|p| export(p))?;
        }
        "new" => {
            assert!(
                !cross || release.minor >= 3,
                "step new runs on 2.3+, not {release}"
            );
            OLD.iter().try_for_each(|p| import(dir, p))?;
            snap_and_sync(dir, OLD, "b", 2)?;
            OLD.iter().try_for_each(|p| export(p))?;
            start_pair(dir, NEW, &["-o", "compatibility=openzfs-2.1-linux"])?;
            NEW.iter().try_for_each(|p| export(p))?;
        }
        "old2" => {
            assert!(
                !cross || release.is_2_1(),
                "step old2 runs on 2.1, not {release}"
            );
            NEW.iter().try_for_each(|p| import(dir, p))?;
            snap_and_sync(dir, NEW, "b", 3)?;
            OLD.iter().try_for_each(|p| import(dir, p))?;
            snap_and_sync(dir, OLD, "c", 4)?;
            assert_eq!(
                guids("xreldst/data").into_keys().collect::<Vec<_>>(),
                ["a", "b", "c"]
            );
            for p in OLD.iter().chain(&NEW) {
                zsync_lab::zpool(&["destroy", "-f", p])?;
                std::fs::remove_file(file(dir, p))?;
            }
        }
        other => panic!("ZSYNC_XREL_STEP={other:?}: expected old1, new or old2"),
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab xrel (or lab test)"]
fn lab_cli_xrel_replication_across_releases() -> R {
    zsync_lab::require_lab();
    let release = zsync_lab::release()?;
    match (
        std::env::var_os("ZSYNC_LAB_XREL"),
        std::env::var("ZSYNC_XREL_STEP"),
    ) {
        (Some(dir), Ok(name)) => step(Path::new(&dir), &name, release, true),
        _ => {
            // One VM, one release: the same steps back to back.
            let dir = zsync_lab::lab_dir()?.join("xrel-local");
            std::fs::create_dir_all(&dir)?;
            for name in ["old1", "new", "old2"] {
                step(&dir, name, release, false)?;
            }
            Ok(())
        }
    }
}
