//! Lab tests (real ZFS and real sshd in the lab VM): `zsync sync` and `zsync plan` over SSH through
//! the binary, as a user runs it, against `BackupHost`s (sshd in network namespaces of their own).
//! Push, pull and remote→remote, full then incremental, both data paths and every compression; hostile
//! names; restoring from the backup host; non-root remote users. Every run is checked by guid and
//! data. Run with `cargo xtask lab test lab_cli_ssh`.

use std::path::Path;
use zsync_lab::ssh::{client_files, BackupHost, Sudo, BACKUP_USER, RECEIVE_PERMS};
use zsync_lab::{data::pattern, LabError, TestPool};

mod common;
use common::ssh::{
    assert_tree, make_tree, read_file_ro, read_zvol, remote, report, snapshot_guids, write_version,
    write_zvol, zfs_get, zfs_ok,
};
use common::{scratch, text, zsync};

/// `zsync sync -r --no-sync-snap --json --small-stream 0 ARGS... SRC DST`, which must succeed;
/// its report. (`--small-stream 0`: the test's small streams take the data path and compression
/// the test names, not the SSH session's plain path for small streams.)
fn sync(dir: &Path, cfg: &Path, extra: &[&str], src: &str, dst: &str) -> serde_json::Value {
    let mut args = vec![
        "sync",
        "-r",
        "--no-sync-snap",
        "--json",
        "--small-stream",
        "0",
        "--sshconfig",
        cfg.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend([src, dst]);
    let r = report(&zsync(dir, None, &args));
    assert!(
        r["notices"].as_array().is_none_or(Vec::is_empty),
        "no fallback: {}",
        r["notices"]
    );
    r
}

/// The kinds of each dataset's first planned step (`full`, `clone`, `incremental`, ...).
fn first_steps(report: &serde_json::Value) -> Vec<String> {
    report["plan"]["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["decision"]["steps"][0]["step"]
                .as_str()
                .unwrap_or("none")
                .to_string()
        })
        .collect()
}

#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_push_pull_relay_full_then_incremental() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshl")?;
    let pa = TestPool::new("ssha")?;
    let pb = TestPool::new("sshb")?;
    let a = BackupHost::start("hosta")?;
    let b = BackupHost::start("hostb")?;
    let dir = scratch(&local, "clissh", "ppr");
    let files = client_files(&[&a, &b], &dir.join("client"))?;
    let cfg = files.config.as_path();
    let src = local.dataset("src");
    make_tree(&local, &src, "s1", 1)?;
    pa.zfs(&["create", &pa.dataset("bk")])?;
    pb.zfs(&["create", &pb.dataset("bk")])?;
    local.zfs(&["create", &local.dataset("pulled")])?;
    let on_a = pa.dataset("bk/src");
    let on_b = pb.dataset("bk/src");
    let pulled = local.dataset("pulled/src");
    let (ra, rb) = (remote(&a, "root", &on_a), remote(&b, "root", &on_b));

    // Full: push over ssh2 (default compression: zstd), pull over OpenSSH with lz4, relay A→B
    // over ssh2 with lz4.
    let r = sync(&dir, cfg, &["--ssh-transport", "ssh2"], &src, &ra);
    assert!(!first_steps(&r).contains(&"incremental".into()), "{r}");
    assert_tree(&src, &on_a, 1);
    let pull = ["--ssh-transport", "openssh", "--compress", "lz4"];
    sync(&dir, cfg, &pull, &ra, &pulled);
    assert_tree(&on_a, &pulled, 1);
    sync(
        &dir,
        cfg,
        &["--ssh-transport", "ssh2", "--compress", "lz4"],
        &ra,
        &rb,
    );
    assert_tree(&on_a, &on_b, 1);

    // New data and snapshots; incrementals the other way round.
    write_version(&local, &src, 2)?;
    local.zfs(&["snapshot", "-r", &format!("{src}@s2")])?;
    let push = ["--ssh-transport", "openssh", "--compress", "zstd"];
    let r = sync(&dir, cfg, &push, &src, &ra);
    assert_eq!(first_steps(&r), ["incremental"; 4], "{r}");
    assert_tree(&src, &on_a, 2);
    let r = sync(&dir, cfg, &["--ssh-transport", "ssh2"], &ra, &pulled);
    assert_eq!(first_steps(&r), ["incremental"; 4], "{r}");
    assert_tree(&on_a, &pulled, 2);
    // `zsync plan` across two hosts says what the relay then does.
    let plan_args = [
        "plan",
        "-r",
        "--no-sync-snap",
        "--json",
        "--sshconfig",
        cfg.to_str().unwrap(),
        &ra,
        &rb,
    ];
    let o = zsync(&dir, None, &plan_args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let planned: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    let r = sync(&dir, cfg, &push, &ra, &rb);
    assert_eq!(r["plan"], planned, "plan across hosts = what sync did");
    assert_eq!(first_steps(&r), ["incremental"; 4], "{r}");
    assert_tree(&on_a, &on_b, 2);
    Ok(())
}

/// Names with spaces, `:` and a leading `-` (datasets and snapshots) replicate over SSH intact,
/// pushed full and then incrementally (both data paths). (No space above the zvol: udev splits
/// `/dev/zvol` link names at spaces.)
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_hostile_names_replicate() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshn")?;
    let pa = TestPool::new("sshna")?;
    let host = BackupHost::start("names")?;
    let dir = scratch(&local, "clissh", "names");
    let src = local.dataset("-src:1");
    let kid = format!("{src}/-my kid:x");
    let vol = format!("{src}/:vol.1");
    local.zfs(&["create", &src])?;
    local.zfs(&["create", &kid])?;
    local.zfs(&["create", "-s", "-V", "4M", &vol])?;
    local.write_file("-src:1/-my kid:x/a file", b"one")?;
    write_zvol(&vol, &pattern(100_000, 7))?;
    local.zfs(&["snapshot", "-r", &format!("{src}@-s 1:a")])?;
    pa.zfs(&["create", &pa.dataset("bk")])?;
    let dst = pa.dataset("bk/-dst:1");
    let target = remote(&host, "root", &dst);
    let cfg = host.ssh_config_path();
    sync(&dir, cfg, &["--ssh-transport", "ssh2"], &src, &target);
    local.write_file("-src:1/-my kid:x/a file", b"two")?;
    local.zfs(&["snapshot", "-r", &format!("{src}@-s 2:b")])?;
    sync(&dir, cfg, &["--ssh-transport", "openssh"], &src, &target);
    for rel in ["", "/-my kid:x", "/:vol.1"] {
        let (s, d) = (format!("{src}{rel}"), format!("{dst}{rel}"));
        let names: Vec<String> = snapshot_guids(&d).into_iter().map(|x| x.0).collect();
        assert_eq!(names, ["-s 1:a", "-s 2:b"], "{d}");
        assert_eq!(snapshot_guids(&s), snapshot_guids(&d), "{d}");
    }
    assert_eq!(read_file_ro(&format!("{dst}/-my kid:x"), "a file"), b"two");
    assert_eq!(
        read_zvol(&format!("{dst}/:vol.1"), 100_000),
        pattern(100_000, 7)
    );
    Ok(())
}

/// The disaster-recovery path: a VM disk (zvol) backed up to the host is pulled back with
/// `zsync sync root@host:…/vm-disk pool/vm-disk`; newer local data is refused without `--rollback`
/// (the refusal names the snapshot that would be lost), and `--rollback` restores.
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_restore_pulls_back_and_refuses_to_lose_newer_data() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshr")?;
    let pa = TestPool::new("sshra")?;
    let host = BackupHost::start("restore")?;
    let dir = scratch(&local, "clissh", "restore");
    let cfg = host.ssh_config_path().to_str().unwrap().to_string();
    let disk = local.dataset("vm-disk");
    local.zfs(&["create", "-s", "-V", "4M", &disk])?;
    write_zvol(&disk, &pattern(200_000, 1))?;
    local.zfs(&["snapshot", &format!("{disk}@s1")])?;
    pa.zfs(&["create", &pa.dataset("backup")])?;
    let backed = pa.dataset("backup/vm-disk");
    let on_host = remote(&host, "root", &backed);
    // The backup (sync snapshots as a user runs it).
    let o = zsync(&dir, None, &["sync", "--sshconfig", &cfg, &disk, &on_host]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(snapshot_guids(&disk), snapshot_guids(&backed));

    // A fresh restore next to the disk.
    let fresh = local.dataset("vm-disk-restored");
    let o = zsync(&dir, None, &["sync", "--sshconfig", &cfg, &on_host, &fresh]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(snapshot_guids(&backed), snapshot_guids(&fresh));
    assert_eq!(read_zvol(&fresh, 200_000), pattern(200_000, 1));

    // The disk got newer data and a snapshot the backup lacks: pulling back over it is refused.
    write_zvol(&disk, &pattern(200_000, 2))?;
    local.zfs(&["snapshot", &format!("{disk}@newer")])?;
    let before = snapshot_guids(&disk);
    let back = [
        "sync",
        "--no-sync-snap",
        "--sshconfig",
        &cfg,
        &on_host,
        &disk,
    ];
    let o = zsync(&dir, None, &back);
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("newer"),
        "the refusal lists what would be lost: {out}"
    );
    assert!(out.contains("--rollback"), "and how to proceed: {out}");
    assert_eq!(snapshot_guids(&disk), before, "nothing changed");
    assert_eq!(read_zvol(&disk, 200_000), pattern(200_000, 2));

    let mut with_rollback = back.to_vec();
    with_rollback.insert(1, "--rollback");
    let o = zsync(&dir, None, &with_rollback);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(snapshot_guids(&backed), snapshot_guids(&disk));
    assert_eq!(read_zvol(&disk, 200_000), pattern(200_000, 1));
    Ok(())
}

/// A non-root remote user: with `sudo -n` (the default for a non-root login), and with only
/// `zfs allow` rights under `--no-privilege-elevation`; one push each, checked by guid and data.
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_non_root_user_sudo_and_zfs_allow() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshu")?;
    let pa = TestPool::new("sshua")?;
    let with_sudo = BackupHost::builder("sudo").sudo(Sudo::NoPassword).start()?;
    let allowed = BackupHost::builder("allow").sudo(Sudo::Denied).start()?;
    let dir = scratch(&local, "clissh", "users");
    let src = local.dataset("src");
    make_tree(&local, &src, "s1", 3)?;
    pa.zfs(&["create", &pa.dataset("bk")])?;

    // sudo -n: the whole tree.
    let dst = pa.dataset("bk/sudo");
    let target = remote(&with_sudo, BACKUP_USER, &dst);
    let o = zsync(
        &dir,
        None,
        &[
            "sync",
            "-r",
            "--no-sync-snap",
            "--debug",
            "--sshconfig",
            with_sudo.ssh_config_path().to_str().unwrap(),
            &src,
            &target,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("sudo -n"),
        "elevated: {}",
        text(&o.stderr)
    );
    assert_tree(&src, &dst, 3);

    // zfs allow, no sudo at all: a filesystem.
    let allowed_root = pa.dataset("bk/allowed");
    pa.zfs(&["create", &allowed_root])?;
    allowed.allow(BACKUP_USER, &allowed_root, RECEIVE_PERMS)?;
    let child = format!("{src}/child");
    let dst = format!("{allowed_root}/child");
    let target = remote(&allowed, BACKUP_USER, &dst);
    let cfg = allowed.ssh_config_path().to_str().unwrap().to_string();
    let args = [
        "sync",
        "--no-sync-snap",
        "--no-privilege-elevation",
        "--sshconfig",
        &cfg,
    ];
    let mut full = args.to_vec();
    full.extend([child.as_str(), target.as_str()]);
    let o = zsync(&dir, None, &full);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    write_version(&local, &src, 4)?;
    local.zfs(&["snapshot", &format!("{child}@s2")])?;
    let o = zsync(&dir, None, &full);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(snapshot_guids(&child), snapshot_guids(&dst));
    assert_eq!(read_file_ro(&dst, "a.bin"), pattern(150_000, 4));
    // Without elevation and without rights elsewhere the user cannot receive there: refused.
    let elsewhere = remote(&allowed, BACKUP_USER, &pa.dataset("bk/denied"));
    let mut denied = args.to_vec();
    denied.extend([child.as_str(), elsewhere.as_str()]);
    let o = zsync(&dir, None, &denied);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(!pa.exists(&pa.dataset("bk/denied")));
    Ok(())
}

/// Raw sends of an encrypted dataset with sync snapshots and `--use-hold`, pushed to the backup host
/// and pulled back, as locally: the replica stays encrypted with its key not loaded on the backup
/// host, the newest sync snapshot is held on both sides of each run and the previous one is gone.
/// (Default `--small-stream`: the pushes' small streams go plain on the ssh2 session.)
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_raw_encrypted_with_sync_snapshots_and_holds() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshe")?;
    let pa = TestPool::new("sshea")?;
    let host = BackupHost::start("enc")?;
    let dir = scratch(&local, "clissh", "enc");
    let cfg = host.ssh_config_path();
    let src = local.dataset("secret");
    local.create_encrypted("secret", &[])?;
    local.write_file("secret/f", b"top secret")?;
    local.zfs(&["snapshot", &format!("{src}@s1")])?;
    pa.zfs(&["create", &pa.dataset("bk")])?;
    let dst = pa.dataset("bk/secret");
    let target = remote(&host, "root", &dst);
    let run = |transport: &str, extra: &[&str], from: &str, to: &str| -> serde_json::Value {
        let mut args = vec![
            "sync",
            "--json",
            "--identifier",
            "lab",
            "--use-hold",
            "--sendoptions=w",
            "--sshconfig",
            cfg.to_str().unwrap(),
            "--ssh-transport",
            transport,
        ];
        args.extend_from_slice(extra);
        args.extend([from, to]);
        report(&zsync(&dir, None, &args))
    };
    let holds = |snap: &str| zfs_ok(&["holds", "-H", snap]);

    let r1 = run("ssh2", &[], &src, &target);
    let first = r1["sync_snapshot"]
        .as_str()
        .expect("a sync snapshot")
        .to_string();
    local.write_file("secret/f", b"newer secret")?;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r2 = run("openssh", &[], &src, &target);
    let second = r2["sync_snapshot"]
        .as_str()
        .expect("a sync snapshot")
        .to_string();
    assert_ne!(first, second);
    assert_eq!(snapshot_guids(&src), snapshot_guids(&dst));
    let names: Vec<String> = snapshot_guids(&dst).into_iter().map(|x| x.0).collect();
    assert_eq!(
        names,
        ["s1".to_string(), second.clone()],
        "the older sync snapshot is gone"
    );
    assert_eq!(zfs_get("encryption", &dst), "aes-256-gcm");
    assert_eq!(
        zfs_get("keystatus", &dst),
        "unavailable",
        "raw: no key on the backup"
    );
    for side in [&src, &dst] {
        assert!(
            holds(&format!("{side}@{second}")).contains("zsync_lab"),
            "{side}@{second} held"
        );
    }

    // Pulled back raw (no new sync snapshot on the backup) into a new dataset: the same
    // snapshots, and the data once the key is loaded.
    let back = local.dataset("restored");
    let r3 = run("openssh", &["--no-sync-snap"], &target, &back);
    assert_eq!(r3["exit_code"], 0, "{r3}");
    let pulled: Vec<String> = snapshot_guids(&back).into_iter().map(|x| x.0).collect();
    assert_eq!(pulled, ["s1".to_string(), second.clone()]);
    assert_eq!(snapshot_guids(&back), snapshot_guids(&dst));
    let key = local.key_file();
    zfs_ok(&[
        "load-key",
        "-L",
        &format!("file://{}", key.display()),
        &back,
    ]);
    assert_eq!(read_file_ro(&back, "f"), b"newer secret");
    Ok(())
}
