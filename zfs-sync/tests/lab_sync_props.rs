//! Lab tests of `--preserve-properties` / `--preserve-recordsize` on real pools (local → local). Results are
//! read back with the real `zfs` CLI.
//!
//! Run: `cargo xtask lab test lab_sync_props`.

use zfs_core::cli::Cli;
use zfs_sync::{Executor, RecvOptions, SyncOptions, TreeSpec};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

mod common;
use common::{all_synced, ds};

type R = Result<(), Box<dyn std::error::Error>>;

fn opts() -> SyncOptions {
    common::opts("props")
}

/// `value source` of a property, as `zfs get -H` prints them.
fn prop(pool: &TestPool, name: &str, ds: &str) -> String {
    pool.zfs(&["get", "-Hp", "-o", "value,source", name, ds])
        .unwrap_or_else(|e| panic!("zfs get {name} {ds}: {e}"))
        .trim()
        .replace('\t', " ")
}

/// Local properties (system and user) arrive as local values on every receive, later source changes
/// arrive with the next run, unsettable ones (volsize) are left out, the user's `-o` wins, and
/// `preserve_recordsize` alone sets only `recordsize`.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_preserve_properties_and_recordsize() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("sync-props")?;
    let p = |d: &str| pool.dataset(d);
    pool.zfs(&[
        "create",
        "-o",
        "compression=lz4",
        "-o",
        "atime=off",
        "-o",
        "user:note=alpha beta",
        &p("src"),
    ])?;
    pool.zfs(&["create", "-o", "recordsize=16K", &p("src/child")])?;
    // An encryption root: sent raw; its key properties are not copied, its other local ones are.
    pool.create_encrypted("src/secret", &["-o", "compression=zle"])?;
    pool.zfs(&[
        "create",
        "-s",
        "-V",
        "4M",
        "-o",
        "compression=off",
        &p("src/vol"),
    ])?;
    // A thick zvol (refreservation set locally) and a dataset mounted elsewhere: neither the booking
    // nor the mountpoint is copied.
    pool.zfs(&["create", "-V", "4M", &p("src/thick")])?;
    let elsewhere = format!("{}/elsewhere", pool.mountpoint().display());
    pool.zfs(&[
        "create",
        "-o",
        &format!("mountpoint={elsewhere}"),
        &p("src/mnt"),
    ])?;
    pool.zfs(&["create", &p("backup")])?;
    pool.write_file("src/child/f", &pattern(40_000, 1))?;
    pool.zfs(&["snapshot", "-r", &format!("{}@a", p("src"))])?;

    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::recursive(ds(&p("src")), ds(&p("backup/full")));
    let mut o = opts();
    o.preserve_properties = true;
    let r = ex.run(&spec, &o)?;
    all_synced(&r);
    assert_eq!(prop(&pool, "compression", &p("backup/full")), "lz4 local");
    assert_eq!(prop(&pool, "atime", &p("backup/full")), "off local");
    assert_eq!(
        prop(&pool, "user:note", &p("backup/full")),
        "alpha beta local"
    );
    assert_eq!(
        prop(&pool, "recordsize", &p("backup/full/child")),
        "16384 local"
    );
    // Inherited on the source, inherited on the target too.
    assert_eq!(
        prop(&pool, "compression", &p("backup/full/child")),
        format!("lz4 inherited from {}", p("backup/full"))
    );
    assert_eq!(
        prop(&pool, "compression", &p("backup/full/vol")),
        "off local"
    );
    assert_ne!(prop(&pool, "refreservation", &p("src/thick")), "0 default");
    assert_eq!(
        prop(&pool, "refreservation", &p("backup/full/thick")),
        "0 default"
    );
    assert_eq!(
        prop(&pool, "mountpoint", &p("src/mnt")),
        format!("{elsewhere} local")
    );
    assert!(!prop(&pool, "mountpoint", &p("backup/full/mnt")).ends_with(" local"));
    assert_eq!(
        prop(&pool, "compression", &p("backup/full/secret")),
        "zle local"
    );
    assert_eq!(
        prop(&pool, "keystatus", &p("backup/full/secret")),
        "unavailable -"
    );

    // Changes on the source arrive with the next incremental.
    pool.zfs(&["set", "user:note=gamma", "atime=on", &p("src")])?;
    pool.zfs(&["snapshot", "-r", &format!("{}@b", p("src"))])?;
    let r = ex.run(&spec, &o)?;
    all_synced(&r);
    assert_eq!(prop(&pool, "user:note", &p("backup/full")), "gamma local");
    assert_eq!(prop(&pool, "atime", &p("backup/full")), "on local");

    // The user's own -o wins over the preserved value.
    let spec2 = TreeSpec::recursive(ds(&p("src")), ds(&p("backup/own")));
    let mut o2 = o.clone();
    o2.recv = RecvOptions {
        props: vec![("compression".into(), "zle".into())],
        ..RecvOptions::default()
    };
    let r = ex.run(&spec2, &o2)?;
    all_synced(&r);
    assert_eq!(prop(&pool, "compression", &p("backup/own")), "zle local");
    assert_eq!(prop(&pool, "user:note", &p("backup/own")), "gamma local");

    // recordsize only: the default 128K becomes local on the target, the child keeps 16K, nothing else
    // is copied.
    let spec3 = TreeSpec::recursive(ds(&p("src")), ds(&p("backup/rs")));
    let mut o3 = opts();
    o3.preserve_recordsize = true;
    let r = ex.run(&spec3, &o3)?;
    all_synced(&r);
    assert_eq!(prop(&pool, "recordsize", &p("backup/rs")), "131072 local");
    assert_eq!(
        prop(&pool, "recordsize", &p("backup/rs/child")),
        "16384 local"
    );
    assert_ne!(prop(&pool, "compression", &p("backup/rs")), "lz4 local");
    assert_eq!(prop(&pool, "user:note", &p("backup/rs")), "- -");
    Ok(())
}
