//! `zsync verify` on real pools: a replicated filesystem (the target unmounted, so read through a
//! temporary read-only clone) and a replicated zvol are equal; two snapshots whose data differ
//! name the first difference; over SSH the backup host hashes its side with its own zsync, and a
//! host without zsync is one line naming it. Nothing is left behind (no clone, no mount).

mod common;

use common::{bin, scratch, text, zsync};
use std::io::Write;
use std::time::Duration;
use zsync_lab::ssh::BackupHost;
use zsync_lab::{data, LabError, TestPool};

type R = Result<(), LabError>;

const BIG: usize = (5 << 20) / 2; // 2.5 MiB: three chunks

/// A filesystem `rel` with a file > 1 MiB, a small file with its own owner and mode, a symlink
/// and an empty directory, snapshotted `@s1`; returns the dataset.
fn filesystem(pool: &TestPool, rel: &str) -> Result<String, LabError> {
    let fs = pool.dataset(rel);
    pool.zfs(&["create", &fs])?;
    let mp = std::path::PathBuf::from(pool.get("mountpoint", &fs)?);
    std::fs::write(mp.join("big.bin"), data::pattern(BIG, 3)).unwrap();
    std::fs::write(mp.join("small.txt"), b"small\n").unwrap();
    std::os::unix::fs::chown(mp.join("small.txt"), Some(1000), Some(100)).unwrap();
    std::fs::set_permissions(
        mp.join("small.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("small.txt", mp.join("link")).unwrap();
    std::fs::create_dir(mp.join("empty")).unwrap();
    pool.zfs(&["snapshot", &format!("{fs}@s1")])?;
    Ok(fs)
}

/// A volume `rel` holding 3 MiB of data, snapshotted `@s1`.
fn volume(pool: &TestPool, rel: &str) -> Result<String, LabError> {
    let vol = pool.dataset(rel);
    pool.zfs(&["create", "-V", "8M", "-o", "volblocksize=16k", &vol])?;
    let name = zfs_core::DatasetName::parse(&vol).unwrap();
    let dev =
        zfs_core::zvol::wait_for_device(&zfs_core::LocalRunner, &name, Duration::from_secs(30))
            .unwrap()
            .expect("the volume's device");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev.link)
        .unwrap();
    f.write_all(&data::pattern(3 << 20, 9)).unwrap();
    f.sync_all().unwrap();
    pool.zfs(&["snapshot", &format!("{vol}@s1")])?;
    Ok(vol)
}

/// No temporary clone in any of `pools`, and nothing of verify's mounted.
fn nothing_left(pools: &[&TestPool]) {
    for p in pools {
        let all = p
            .zfs(&["list", "-H", "-o", "name", "-t", "all", "-r", p.name()])
            .unwrap();
        assert!(!all.contains("zsync-verify"), "a clone is left: {all}");
    }
    // (Of these pools: the other tests run at the same time.)
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let left: Vec<&str> = mounts
        .lines()
        .filter(|l| l.contains("zsync-verify") && pools.iter().any(|p| l.contains(p.name())))
        .collect();
    assert!(left.is_empty(), "a mount is left: {left:?}");
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("JSON: {e}: {}", text(&o.stdout)))
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_verify_replicas_equal_and_a_difference_named() -> R {
    zsync_lab::require_lab();
    let src = TestPool::new("verify-src")?;
    let dst = TestPool::new("verify-dst")?;
    let dir = scratch(&src, "verify", "local");
    let fs = filesystem(&src, "fs")?;
    let vol = volume(&src, "vol")?;
    let (fs_b, vol_b) = (dst.dataset("fs"), dst.dataset("vol"));
    for (a, b) in [(&fs, &fs_b), (&vol, &vol_b)] {
        let o = zsync(&dir, None, &["sync", "--no-sync-snap", a, b]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    // The replica is received unmounted: verify reads it through a temporary clone.
    assert_eq!(dst.get("mounted", &fs_b)?, "no");

    let o = zsync(
        &dir,
        None,
        &["verify", &format!("{fs}@s1"), &format!("{fs_b}@s1")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("equal: "), "{out}");
    assert!(
        out.contains(&format!("({} entries, {} bytes", 5, BIG + 6)),
        "{out}"
    );
    nothing_left(&[&src, &dst]);

    // A zvol (both sides through temporary clones and their devices), as JSON.
    let o = zsync(
        &dir,
        None,
        &[
            "verify",
            "--json",
            &format!("{vol}@s1"),
            &format!("{vol_b}@s1"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = json(&o);
    assert_eq!(v["equal"], true);
    assert_eq!(v["source"]["content"], "volume");
    assert_eq!(v["target"]["bytes"], 8 << 20);
    assert!(v["difference"].is_null());
    nothing_left(&[&src, &dst]);

    // One byte changed at 1.5 MiB in the source's next snapshot: the chunk at 1 MiB differs.
    let mp = std::path::PathBuf::from(src.get("mountpoint", &fs)?);
    let mut bytes = data::pattern(BIG, 3);
    bytes[3 << 19] ^= 0xff;
    std::fs::write(mp.join("big.bin"), &bytes).unwrap();
    src.zfs(&["snapshot", &format!("{fs}@s2")])?;
    let (s2, b1) = (format!("{fs}@s2"), format!("{fs_b}@s1"));
    let o = zsync(&dir, None, &["verify", &s2, &b1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("different: "), "{out}");
    assert!(
        out.contains(
            "big.bin: content differs in the 1048576-byte chunk starting at byte offset 1048576"
        ),
        "{out}"
    );
    let o = zsync(&dir, None, &["verify", "--json", &s2, &b1]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["equal"], false);
    assert_eq!(v["difference"]["what"], "content");
    assert_eq!(v["difference"]["path"], "big.bin");
    assert_eq!(v["difference"]["offset"], 1 << 20);
    // A filesystem against a volume: not comparable, named.
    let o = zsync(&dir, None, &["verify", &s2, &format!("{vol_b}@s1")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("not comparable"));
    nothing_left(&[&src, &dst]);

    // Errors: one line naming the host and the snapshot, exit 2, nothing created.
    let o = zsync(&dir, None, &["verify", &format!("{fs}@nope"), &b1]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("localhost") && err.contains(&format!("{fs}@nope")),
        "{err}"
    );
    nothing_left(&[&src, &dst]);

    // An encrypted dataset: readable with its key loaded; without it, exit 2 naming it.
    src.create_encrypted("enc", &[])?;
    let enc = src.dataset("enc");
    src.write_file("enc/secret.txt", b"secret")?;
    src.zfs(&["snapshot", &format!("{enc}@s1")])?;
    let es = format!("{enc}@s1");
    let o = zsync(&dir, None, &["verify", &es, &es]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    src.zfs(&["unmount", &enc])?;
    src.zfs(&["unload-key", &enc])?;
    let o = zsync(&dir, None, &["verify", &es, &es]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("localhost") && err.contains(&es) && err.contains("key is not loaded"),
        "{err}"
    );
    nothing_left(&[&src, &dst]);
    Ok(())
}

/// Runs `zsync ARGS` (a verify making two temporary clones in `pool`), sends it SIGINT (as Ctrl-C,
/// to zsync alone) once both clones exist, and checks it says it was interrupted (exit 2) and that
/// the clones are gone within 30 s (a remote side stops when the verify's connection ends).
fn interrupt_once_cloned(dir: &std::path::Path, pool: &TestPool, args: &[&str]) {
    let mut child = common::zsync_cmd(dir, None, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let clones = || {
        pool.zfs(&["list", "-H", "-o", "name", "-r", pool.name()])
            .unwrap_or_default()
            .matches("zsync-verify")
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while clones() < 2 {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no temporary clones within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while clones() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    nothing_left(&[pool]);
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_verify_interrupted_destroys_its_clones() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("verify-int")?;
    let dir = scratch(&pool, "verify", "int");
    // A large sparse volume: hashing it takes long enough to interrupt.
    let vol = pool.dataset("big");
    pool.zfs(&["create", "-s", "-V", "2G", &vol])?;
    pool.zfs(&["snapshot", &format!("{vol}@s1")])?;
    let snap = format!("{vol}@s1");
    interrupt_once_cloned(&dir, &pool, &["verify", &snap, &snap]);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_verify_over_ssh_runs_zsync_on_the_backup_host() -> R {
    zsync_lab::require_lab();
    let host = BackupHost::start("verify")?;
    // Pools are kernel-global: the host's sessions see this one.
    let pool = TestPool::new("verify-ssh")?;
    let dir = scratch(&pool, "verify", "ssh");
    let fs = filesystem(&pool, "fs")?;
    let vol = volume(&pool, "vol")?;
    let (fs_b, vol_b) = (pool.dataset("bk-fs"), pool.dataset("bk-vol"));
    for (a, b) in [(&fs, &fs_b), (&vol, &vol_b)] {
        let o = zsync(&dir, None, &["sync", "--no-sync-snap", a, b]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let cfg = host.ssh_config_path().to_string_lossy().into_owned();
    let zsync_there = bin().to_string_lossy().into_owned();
    let remote = |ds: &str| format!("root@{}:{ds}@s1", host.name());
    for (a, b) in [(&fs, &fs_b), (&vol, &vol_b)] {
        let o = zsync(
            &dir,
            None,
            &[
                "verify",
                "--json",
                "--sshconfig",
                &cfg,
                "--remote-zsync",
                &zsync_there,
                &format!("{a}@s1"),
                &remote(b),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v = json(&o);
        assert_eq!(v["equal"], true);
        assert_eq!(v["source"]["host"], "localhost");
        assert!(
            v["target"]["host"].as_str().unwrap().contains(host.name()),
            "{v}"
        );
    }
    nothing_left(&[&pool]);
    let procs = host.session_processes();
    assert!(
        !procs.iter().any(|(_, c)| c.contains("verify-manifest")),
        "{procs:?}"
    );

    // Interrupted while both hosts hash a large volume: both clones go (the backup host's when
    // its zsync sees the connection end).
    let big = pool.dataset("big");
    pool.zfs(&["create", "-s", "-V", "2G", &big])?;
    pool.zfs(&["snapshot", &format!("{big}@s1")])?;
    interrupt_once_cloned(
        &dir,
        &pool,
        &[
            "verify",
            "--sshconfig",
            &cfg,
            "--remote-zsync",
            &zsync_there,
            &format!("{big}@s1"),
            &remote(&big),
        ],
    );

    // A host without zsync: exit 2, one line naming the host and what is missing.
    let o = zsync(
        &dir,
        None,
        &[
            "verify",
            "--sshconfig",
            &cfg,
            "--remote-zsync",
            "/nonexistent/zsync",
            &format!("{fs}@s1"),
            &remote(&fs_b),
        ],
    );
    common::ssh::one_line_failure(&o, host.name(), "verify needs zsync on that host");
    nothing_left(&[&pool]);
    Ok(())
}
