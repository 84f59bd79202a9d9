//! Lab tests of what depends on the OpenZFS release the VM runs: the host root (2.3) and the 2.1
//! root (`cargo xtask lab test --root zfs21 lab_release`). Each test reads the release and asserts
//! that release's behaviour; none skips.
//!
//! Run: `cargo xtask lab test lab_release` (and with `--root zfs21`).

use std::process::Command;
use zfs_core::backend::Backend;
use zfs_core::cli::Cli;
use zfs_core::lzc::Lzc;
use zfs_core::{DatasetName, PoolHealth, PoolName};
use zsync_lab::{LabError, TestPool};

type R = Result<(), Box<dyn std::error::Error>>;

/// `zfs version`'s kernel module line without its prefix: `2.1.11-1`.
fn kmod_version() -> Result<String, LabError> {
    let out = zsync_lab::zfs(&["version"])?;
    out.lines()
        .find_map(|l| l.trim().strip_prefix("zfs-kmod-"))
        .map(str::to_string)
        .ok_or_else(|| LabError::Unexpected(format!("no zfs-kmod- line in {out:?}")))
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn release_version_names_the_module_and_the_lzc_fallbacks() -> R {
    zsync_lab::require_lab();
    let release = zsync_lab::release()?;
    assert_eq!(release.major, 2, "{release}");
    assert!(release.minor >= 1, "zsync supports OpenZFS 2.1+: {release}");
    let kmod = kmod_version()?;
    let out = Command::new(zsync_lab::zsync_bin()?)
        .args(["--backend", "lzc", "version"])
        .env("LC_ALL", "C")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("backend: lzc\n"), "{text}");
    assert!(
        text.contains(&format!("zfs: {kmod} (kernel module)\n")),
        "{release}: {text}"
    );
    // Every libzfs_core call zsync binds exists on 2.1 and 2.3 and behaves the same in these lab
    // tests (lab_lzc passes on both), so neither release has a CLI fallback.
    assert!(
        release.is_2_1() || release.minor >= 3,
        "untested release {release}"
    );
    assert!(
        text.contains("lzc fallbacks: none "),
        "{release} should have no lzc fallbacks: {text}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn release_pool_and_dataset_listings_parse() -> R {
    zsync_lab::require_lab();
    let release = zsync_lab::release()?;
    let pool = TestPool::new("rel")?;
    let data = pool.dataset("data");
    pool.zfs(&["create", &data])?;
    pool.write_file("data/f", &zsync_lab::data::pattern(4096, 7))?;
    pool.zfs(&["snapshot", &format!("{data}@one")])?;
    let name = PoolName::parse(pool.name())?;
    for be in [
        Box::new(Cli::local()) as Box<dyn Backend>,
        Box::new(Lzc::new(Box::new(Cli::local()))?),
    ] {
        let pools = be.pool_status(std::slice::from_ref(&name))?;
        assert_eq!(pools.len(), 1, "{release} {}", be.name());
        let p = &pools[0];
        assert_eq!(p.health, PoolHealth::Online, "{release}: {p:?}");
        assert!(
            p.size > 0 && p.free > 0 && p.allocated > 0,
            "{release}: {p:?}"
        );
        let detail = p.detail.as_ref().expect("zpool status detail");
        assert!(!detail.vdevs.is_empty(), "{release}: {detail:?}");
        let listing = be.list(&DatasetName::parse(pool.name())?, &Default::default())?;
        let ds = listing
            .get(&DatasetName::parse(&data)?)
            .unwrap_or_else(|| panic!("{release} {}: {data} not listed: {listing:?}", be.name()));
        let guids: Vec<u64> = ds.snapshots().map(|v| v.guid).collect();
        let want: u64 = pool.guid(&format!("{data}@one"))?.parse()?;
        assert_eq!(guids, [want], "{release} {}: {ds:?}", be.name());
    }
    Ok(())
}
