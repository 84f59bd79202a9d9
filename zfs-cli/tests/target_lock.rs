//! Host test (no ZFS needed: the lock is taken before any host is reached): a `zsync sync` or
//! syncoid-mode run into a target another run holds waits `--lock-wait`, then exits 75 with one
//! line naming the target and the holder.

use std::process::Command;
use std::time::Duration;
use zsync_ops::target_lock::TargetLock;

fn run(dir: &std::path::Path, argv0_syncoid: bool, args: &[&str]) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_zsync");
    let mut cmd = Command::new(bin);
    if argv0_syncoid {
        use std::os::unix::process::CommandExt;
        cmd.arg0("syncoid");
    }
    let o = cmd
        .args(args)
        .env("ZSYNC_TARGET_LOCK_DIR", dir)
        .env_remove("ZSYNC_LOCK_WAIT")
        .output()
        .expect("run zsync");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_held_target_is_skipped_with_exit_75_naming_it() {
    let dir = std::env::temp_dir().join(format!("zsync-tl-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let held = TargetLock::acquire(&dir, None, "tank/bk/a", Duration::ZERO).unwrap();
    let me = std::process::id();

    let (code, err) = run(
        &dir,
        false,
        &["sync", "--lock-wait=0.2", "tank/a", "tank/bk/a"],
    );
    assert_eq!(code, Some(75), "{err}");
    assert!(
        err.starts_with(&format!(
            "zsync: skipped tank/bk/a: another zsync is receiving into it (pid {me}: "
        )),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("(gave up after 0.2 s); try again later or raise --lock-wait"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A child of the held target, in syncoid mode.
    let (code, err) = run(&dir, true, &["--lock-wait=0", "tank/a/b", "tank/bk/a/b"]);
    assert_eq!(code, Some(75), "{err}");
    assert!(
        err.starts_with(
            "syncoid: skipped tank/bk/a/b: another zsync is receiving into tank/bk/a (pid "
        ),
        "{err}"
    );

    // Garbage waits are refused before anything is locked.
    let (code, err) = run(
        &dir,
        false,
        &["sync", "--lock-wait=-1", "tank/a", "tank/bk/a"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--lock-wait") && err.contains("must be >= 0 seconds"),
        "{err}"
    );
    drop(held);
    let _ = std::fs::remove_dir_all(&dir);
}
