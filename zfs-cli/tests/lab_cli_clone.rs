//! `zsync clone` on real pools: a filesystem clone whose files read back, a volume clone whose
//! device (`/dev/zvol/...`, made by udev) holds the snapshot's bytes, refusals that create nothing,
//! and the same on a backup host over SSH (as root through its ssh_config alias, and as a non-root
//! user with `sudo -n`).

mod common;

use common::{scratch, text, zsync};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;
use zsync_lab::ssh::{BackupHost, BACKUP_USER};
use zsync_lab::{data, LabError, TestPool};

type R = Result<(), LabError>;

const VOL_BYTES: usize = 4 << 20;

/// The device of a volume on this machine, once udev made it (zfs-core's wait, 30 s).
fn device(vol: &str) -> String {
    let name = zfs_core::DatasetName::parse(vol).unwrap();
    zfs_core::zvol::wait_for_device(&zfs_core::LocalRunner, &name, Duration::from_secs(30))
        .unwrap()
        .unwrap_or_else(|| panic!("no device for {vol}: does udev run in the VM?"))
        .link
}

/// The first `len` bytes of a device.
fn read_dev(path: &str, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"))
        .read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("read {path}: {e}"));
    buf
}

/// A volume `rel` of the pool holding `data::pattern(VOL_BYTES, seed)`, snapshotted as `@snap`,
/// then overwritten (so a clone shows the snapshot's bytes, not the volume's): returns the volume.
fn volume_with_snapshot(pool: &TestPool, rel: &str, seed: u32) -> Result<String, LabError> {
    let vol = pool.dataset(rel);
    pool.zfs(&["create", "-V", "8M", "-o", "volblocksize=16k", &vol])?;
    let dev = device(&vol);
    let mut f = std::fs::OpenOptions::new().write(true).open(&dev).unwrap();
    f.write_all(&data::pattern(VOL_BYTES, seed)).unwrap();
    f.sync_all().unwrap();
    drop(f);
    pool.zfs(&["snapshot", &format!("{vol}@snap")])?;
    let mut f = std::fs::OpenOptions::new().write(true).open(&dev).unwrap();
    f.write_all(&data::pattern(VOL_BYTES, seed + 1)).unwrap();
    f.sync_all().unwrap();
    Ok(vol)
}

fn datasets(pool: &TestPool) -> Result<String, LabError> {
    pool.zfs(&[
        "list",
        "-H",
        "-o",
        "name,origin",
        "-t",
        "all",
        "-r",
        pool.name(),
    ])
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_clone_local_filesystem_and_zvol() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("clone-local")?;
    let dir = scratch(&pool, "clone", "local");

    // A filesystem: the clone is mounted and has the snapshot's files.
    let fs = pool.dataset("fs");
    pool.zfs(&["create", &fs])?;
    pool.write_file("fs/hello.txt", b"hello from the snapshot")?;
    pool.zfs(&["snapshot", &format!("{fs}@snap")])?;
    pool.write_file("fs/hello.txt", b"changed after")?;
    let fs_clone = pool.dataset("fs-restore");
    let o = zsync(
        &dir,
        None,
        &[
            "clone",
            &format!("{fs}@snap"),
            &fs_clone,
            "-p",
            "zsync:why=test",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), format!("{fs_clone}\n"));
    assert_eq!(pool.get("origin", &fs_clone)?, format!("{fs}@snap"));
    assert_eq!(pool.get("zsync:why", &fs_clone)?, "test");
    let mnt = pool.get("mountpoint", &fs_clone)?;
    assert_eq!(
        std::fs::read(Path::new(&mnt).join("hello.txt")).unwrap(),
        b"hello from the snapshot"
    );

    // A volume: the printed device holds the snapshot's bytes.
    let vol = volume_with_snapshot(&pool, "vol", 7)?;
    let vol_clone = pool.dataset("vol-restore");
    let o = zsync(&dir, None, &["clone", &format!("{vol}@snap"), &vol_clone]);
    assert_eq!(o.status.code(), Some(0));
    let dev = format!("/dev/zvol/{vol_clone}");
    assert_eq!(text(&o.stdout), format!("{vol_clone}\n{dev}\n"));
    assert!(
        read_dev(&dev, VOL_BYTES) == data::pattern(VOL_BYTES, 7),
        "clone bytes differ"
    );
    assert_eq!(pool.get("origin", &vol_clone)?, format!("{vol}@snap"));

    // --json, through the libzfs_core backend (lzc_clone for a volume without properties).
    let lzc_clone = pool.dataset("vol-lzc");
    let o = zsync(
        &dir,
        None,
        &[
            "--backend",
            "lzc",
            "clone",
            "--json",
            &format!("{vol}@snap"),
            &lzc_clone,
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dataset"], lzc_clone.as_str());
    assert_eq!(v["kind"], "volume");
    assert_eq!(v["host"], "localhost");
    assert_eq!(v["origin"], format!("{vol}@snap"));
    let dev = v["device"].as_str().unwrap().to_owned();
    assert_eq!(dev, format!("/dev/zvol/{lzc_clone}"));
    assert!(
        read_dev(&dev, VOL_BYTES) == data::pattern(VOL_BYTES, 7),
        "lzc clone differs"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_clone_refusals_leave_nothing_behind() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("clone-refuse")?;
    let dir = scratch(&pool, "clone", "refuse");
    let fs = pool.dataset("fs");
    pool.zfs(&["create", &fs])?;
    pool.zfs(&["snapshot", &format!("{fs}@snap")])?;
    let taken = pool.dataset("taken");
    pool.zfs(&["create", &taken])?;
    let before = datasets(&pool)?;
    let snap = format!("{fs}@snap");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![snap.clone(), taken.clone()],
            format!("{taken} already exists"),
        ),
        (
            vec![format!("{fs}@nope"), pool.dataset("c")],
            format!("snapshot {fs}@nope does not exist"),
        ),
        (vec![fs.clone(), pool.dataset("c")], "no @snapshot".into()),
        (
            vec![snap.clone(), pool.dataset("bad%name")],
            "bad%name".into(),
        ),
        (
            vec![snap.clone(), "otherpool/c".into()],
            "not in the pool".into(),
        ),
        (
            vec![snap.clone(), pool.dataset("no/parent")],
            pool.dataset("no/parent"),
        ),
        (
            vec![
                snap.clone(),
                pool.dataset("c"),
                "-p".into(),
                "Bogus=1".into(),
            ],
            "Bogus".into(),
        ),
    ];
    for (args, says) in cases {
        let mut argv = vec!["clone"];
        argv.extend(args.iter().map(String::as_str));
        let o = zsync(&dir, None, &argv);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{argv:?}: one line: {err}");
        assert!(err.contains(&says), "{argv:?}: {err} lacks {says:?}");
        assert!(o.stdout.is_empty(), "{argv:?}");
        assert_eq!(datasets(&pool)?, before, "{argv:?} changed the pool");
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn lab_cli_clone_on_the_backup_host_gives_a_readable_zvol() -> R {
    zsync_lab::require_lab();
    let host = BackupHost::start("clone")?;
    // Pools are kernel-global: the host sees this one, and its sshd's sessions clone in it.
    let pool = TestPool::new("clone-ssh")?;
    let dir = scratch(&pool, "clone", "ssh");
    let vol = volume_with_snapshot(&pool, "vm-100-disk-0", 11)?;
    let snap = format!("{vol}@snap");
    let want = data::pattern(VOL_BYTES, 11);
    let before = datasets(&pool)?;

    // As root, through the host's ssh_config alias.
    let cfg = host.ssh_config_path().to_string_lossy().into_owned();
    let restore = pool.dataset("vm-100-restore");
    let src = format!("root@{}:{snap}", host.name());
    let o = zsync(&dir, None, &["clone", "--sshconfig", &cfg, &src, &restore]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dev = format!("/dev/zvol/{restore}");
    assert_eq!(text(&o.stdout), format!("{restore}\n{dev}\n"));
    // The host's mount namespace shares /dev with the VM: read it there and here.
    let want_file = dir.join("want.bin");
    std::fs::write(&want_file, &want).unwrap();
    let there = host.run(&[
        "cmp",
        "-n",
        &VOL_BYTES.to_string(),
        &dev,
        &want_file.to_string_lossy(),
    ])?;
    assert!(there.is_empty(), "{there}");
    assert!(
        read_dev(&dev, VOL_BYTES) == want,
        "the clone on the host differs"
    );
    let made = host.run(&["zfs", "get", "-H", "-o", "value", "origin", &restore])?;
    assert_eq!(made.trim(), snap);

    // Refused on the host: it exists now (exit 2, one line naming it and the host).
    let o = zsync(&dir, None, &["clone", "--sshconfig", &cfg, &src, &restore]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&restore) && err.contains("already exists"),
        "{err}"
    );

    // As the non-root user with `sudo -n zfs`, everything on the command line, `host:NEWDS`.
    let key = host.client_key().to_string_lossy().into_owned();
    let known = format!(
        "UserKnownHostsFile={}",
        host.known_hosts().to_string_lossy()
    );
    let user_restore = pool.dataset("vm-100-user");
    let dest = host.destination(BACKUP_USER);
    let o = zsync(
        &dir,
        None,
        &[
            "clone",
            "--sshconfig",
            "none",
            "--sshkey",
            &key,
            "-o",
            &known,
            "--json",
            &format!("{dest}:{snap}"),
            &format!("{}:{user_restore}", host.address()),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dev = format!("/dev/zvol/{user_restore}");
    assert_eq!(v["device"], dev.as_str());
    assert_eq!(v["kind"], "volume");
    assert!(
        read_dev(&dev, VOL_BYTES) == want,
        "the user's clone differs"
    );

    // The snapshot missing on the host: refused, nothing new.
    let o = zsync(
        &dir,
        None,
        &[
            "clone",
            "--sshconfig",
            &cfg,
            &format!("root@{}:{vol}@gone", host.name()),
            &pool.dataset("never"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(&format!("{vol}@gone")));
    let after = datasets(&pool)?;
    assert!(!after.contains(&pool.dataset("never")), "{after}");
    assert_eq!(
        after.lines().count(),
        before.lines().count() + 2,
        "{before}\n->\n{after}"
    );
    Ok(())
}
