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
    let refer = pool.zfs(&[
        "get",
        "-Hp",
        "-o",
        "value",
        "referenced",
        &format!("{data}@one"),
    ])?;
    let refer: u64 = refer
        .trim()
        .parse()
        .map_err(|_| LabError::Invalid(refer.clone()))?;
    assert!(refer > 0, "snapshot referenced {refer} bytes");
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
