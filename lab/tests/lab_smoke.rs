//! First real lab test: the helpers and the real ZFS CLI work in the lab VM.

use zsync_lab::{LabError, TestPool};

fn lines(s: &str) -> Vec<&str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn dataset_data_and_snapshot() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("smoke")?;
    let data = pool.dataset("data");
    pool.zfs(&["create", &data])?;
    pool.write_file("data/hello.txt", b"hello lab\n")?;
    pool.zfs(&["snapshot", &format!("{data}@one")])?;

    let names = pool.zfs(&["list", "-H", "-o", "name", "-t", "all", "-r", pool.name()])?;
    assert_eq!(
        lines(&names),
        [pool.name().to_string(), data.clone(), format!("{data}@one")]
    );
    assert_eq!(pool.read_file("data/hello.txt")?, b"hello lab\n");
    // The snapshot holds the file: referenced bytes are non-zero.
    let refer = pool.get_u64("referenced", &format!("{data}@one"))?;
    assert!(refer > 0, "snapshot referenced {refer} bytes");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn property_and_listing_helpers() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("helpers", 64 << 20)?;
    let data = pool.dataset("d -x");
    pool.zfs(&["create", &data])?;
    pool.write_file("d -x/f", &zsync_lab::data::pattern(50_000, 1))?;
    for s in ["b", "a", ":c.1"] {
        pool.zfs(&["snapshot", &format!("{data}@{s}")])?;
    }
    pool.zfs(&["snapshot", &pool.dataset("d -x@other")])?;
    pool.zfs(&["destroy", &pool.dataset("d -x@other")])?;
    // Oldest first (createtxg), not by name; guids as `zfs get` prints them.
    assert_eq!(pool.snapshot_names(&data)?, ["b", "a", ":c.1"]);
    let guids = pool.snapshot_guids(&data)?;
    assert_eq!(guids.len(), 3);
    for (short, guid) in &guids {
        let full = format!("{data}@{short}");
        assert_eq!(&pool.guid(&full)?, guid, "{full}");
        assert!(pool.get_u64("guid", &full)? > 0);
    }
    assert_ne!(guids["a"], guids["b"]);
    // Children's snapshots are not listed; a missing dataset is an error.
    pool.zfs(&["create", &format!("{data}/kid")])?;
    pool.zfs(&["snapshot", &format!("{data}/kid@k")])?;
    assert_eq!(pool.snapshots(&data)?.len(), 3);
    assert!(pool.snapshots(&pool.dataset("missing")).is_err());
    // exists, holds, get of a string and of a non-number.
    assert!(pool.exists(&format!("{data}@a")) && !pool.exists(&format!("{data}@zz")));
    let a = format!("{data}@a");
    assert!(pool.holds(&a)?.is_empty());
    pool.zfs(&["hold", "keep me", &a])?;
    pool.zfs(&["hold", "t2", &a])?;
    assert_eq!(
        pool.holds(&a)?.into_iter().collect::<Vec<_>>(),
        ["keep me", "t2"]
    );
    pool.zfs(&["release", "keep me", &a])?;
    pool.zfs(&["release", "t2", &a])?;
    assert_eq!(pool.get("type", &a)?, "snapshot");
    assert!(matches!(
        pool.get_u64("type", &a),
        Err(LabError::Unexpected(m)) if m.contains("snapshot")
    ));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn pools_are_unique_and_destroyed_on_drop() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let a = TestPool::with_size("same", 64 << 20)?;
    let b = TestPool::with_size("same", 64 << 20)?;
    assert_ne!(a.name(), b.name());
    let (a_name, a_file) = (a.name().to_string(), a.file().to_path_buf());
    assert!(a_file.is_file());
    drop(a);
    let pools = zsync_lab::zpool(&["list", "-H", "-o", "name"])?;
    assert!(
        !lines(&pools).contains(&a_name.as_str()),
        "{a_name} still listed: {pools}"
    );
    assert!(lines(&pools).contains(&b.name()));
    assert!(!a_file.exists(), "{} not removed", a_file.display());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_errors_carry_stderr() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("err", 64 << 20)?;
    let missing = pool.dataset("no/such/parent/child");
    match pool.zfs(&["create", &missing]) {
        Err(LabError::Command {
            command, stderr, ..
        }) => {
            assert!(command.contains(&missing), "{command}");
            assert!(stderr.contains("does not exist"), "{stderr}");
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    Ok(())
}
