//! Lab tests (real ZFS and real sshd in the lab VM): `zsync sync` over SSH when the connection or
//! the host is bad. A cut mid-transfer fails with exit 2 naming the host and the next run resumes
//! from the receive token; unknown/changed host keys, a wrong client key, an unreachable host, a
//! host without `zfs` and a sudo that wants a password each fail with one line naming the host,
//! exit 2, before anything changes on either side (no sync snapshot on the source).
//! Run with `cargo xtask lab test lab_cli_ssh`.

use std::path::Path;
use std::time::{Duration, Instant};
use zsync_lab::ssh::{BackupHost, Sudo, BACKUP_USER};
use zsync_lab::{data::pattern, LabError, TestPool};

mod common;
use common::ssh::{one_line_failure, read_file_ro, remote, snapshot_guids, state, zfs_get};
use common::{scratch, text, zsync, zsync_cmd};

/// Flags reaching `host` without a config file: its port, `key` and `known_hosts`.
fn direct(host: &BackupHost, key: &Path, known_hosts: &Path) -> Vec<String> {
    vec![
        "--sshconfig".into(),
        "none".into(),
        "--sshport".into(),
        host.port().to_string(),
        "--sshkey".into(),
        key.display().to_string(),
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        "ConnectTimeout=3".into(),
    ]
}

/// What goes wrong on the backup host mid-transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The SSH connection is cut (its sshd processes killed).
    Cut,
    /// The remote `zfs receive` is killed (SIGKILL); the connection stays.
    ReceiveKilled,
}

#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_fail_cut_mid_transfer_then_resume() -> Result<(), LabError> {
    mid_transfer(Fault::Cut)
}

/// The backup host's `zfs receive` killed mid-transfer: the dataset fails naming the host, exit 2,
/// and the next run resumes from the token.
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_fail_remote_receive_killed_then_resume() -> Result<(), LabError> {
    mid_transfer(Fault::ReceiveKilled)
}

fn mid_transfer(fault: Fault) -> Result<(), LabError> {
    zsync_lab::require_lab();
    let (tag, host_name) = match fault {
        Fault::Cut => ("c", "cut"),
        Fault::ReceiveKilled => ("k", "rkill"),
    };
    let local = TestPool::new(&format!("ssh{tag}"))?;
    let pa = TestPool::new(&format!("ssh{tag}a"))?;
    let host = BackupHost::start(host_name)?;
    let dir = scratch(&local, "clissh", "cut");
    let src = local.dataset("src");
    local.zfs(&["create", &src])?;
    const LEN: usize = 6 << 20;
    local.write_file("src/big.bin", &pattern(LEN, 5))?;
    local.zfs(&["snapshot", &format!("{src}@s1")])?;
    pa.zfs(&["create", &pa.dataset("bk")])?;
    let dst = pa.dataset("bk/src");
    let target = remote(&host, "root", &dst);
    let cfg = host.ssh_config_path().to_str().unwrap().to_string();
    // 1 MiB/s: the stream takes ~6 s; cut the connection once the receive runs.
    let args = [
        "sync",
        "--no-sync-snap",
        "--compress",
        "none",
        "--ssh-transport",
        "ssh2",
        "--target-bwlimit",
        "1M",
        "--sshconfig",
        &cfg,
        &src,
        &target,
    ];
    let child = zsync_cmd(&dir, None, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run zsync");
    // The receive is the `zfs` session process that lasts: the listing, `zfs version` and the
    // busy check's `ps` before it end within moments.
    let deadline = Instant::now() + Duration::from_secs(60);
    let zfs_pids = || -> Vec<u32> {
        let p = host.session_processes();
        p.into_iter()
            .filter(|(_, c)| c == "zfs")
            .map(|(pid, _)| pid)
            .collect()
    };
    let receive = loop {
        assert!(Instant::now() < deadline, "the receive never started");
        let before = zfs_pids();
        std::thread::sleep(Duration::from_millis(700));
        if let Some(p) = zfs_pids().into_iter().find(|p| before.contains(p)) {
            break p;
        }
    };
    std::thread::sleep(Duration::from_millis(2000));
    match fault {
        Fault::Cut => assert!(host.kill_sessions() > 0, "sessions killed"),
        Fault::ReceiveKilled => {
            // SAFETY: kill(2) of the backup host's `zfs receive` (same pid namespace as the test).
            let killed = unsafe { libc::kill(receive as i32, libc::SIGKILL) };
            assert_eq!(killed, 0, "kill the remote zfs receive {receive}");
        }
    }
    let o = child.wait_with_output().expect("zsync ends");
    eprintln!(
        "cut run: {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // The dataset's result line (stdout) names the host and the lost connection.
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 1, "one line: {out}");
    assert!(
        failed[0].contains(&format!("root@{}", host.name())),
        "names the host: {out}"
    );
    match fault {
        Fault::Cut => assert!(
            failed[0].contains("connection"),
            "says the connection was lost: {out}"
        ),
        Fault::ReceiveKilled => assert!(failed[0].contains(&dst), "names the target: {out}"),
    }
    // The partial receive left a resume token on the target.
    let deadline = Instant::now() + Duration::from_secs(30);
    let token = loop {
        let t = zfs_get("receive_resume_token", &dst);
        if t != "-" || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_ne!(token, "-", "a resume token after the cut");

    // The next run resumes from the token: it sends less than the whole stream.
    let again = [
        "sync",
        "--no-sync-snap",
        "--json",
        "--sshconfig",
        &cfg,
        &src,
        &target,
    ];
    let o = zsync(&dir, None, &again);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    let step = &r["datasets"][0]["steps"][0];
    let resumed =
        step["step"]["step"] == "resume" && step["bytes"].as_u64().is_some_and(|b| b < LEN as u64);
    eprintln!("resumed from the token, moving less than the whole stream: {resumed}");
    let intact = snapshot_guids(&src) == snapshot_guids(&dst)
        && zfs_get("receive_resume_token", &dst) == "-"
        && read_file_ro(&dst, "big.bin") == pattern(LEN, 5);
    let what = match fault {
        Fault::Cut => "SSH connection cut mid-transfer, then resumed",
        Fault::ReceiveKilled => "the backup host's zfs receive killed (SIGKILL), then resumed",
    };
    zsync_lab::tally::fault(what, intact);
    assert_eq!(step["step"]["step"], "resume", "{r}");
    assert!(
        step["bytes"].as_u64().unwrap() < LEN as u64,
        "resumed, not restarted: {r}"
    );
    assert_eq!(snapshot_guids(&src), snapshot_guids(&dst));
    assert_eq!(zfs_get("receive_resume_token", &dst), "-");
    assert_eq!(read_file_ro(&dst, "big.bin"), pattern(LEN, 5));
    Ok(())
}

/// Each bad host or client setup: exit 2, one line naming the host, both pools unchanged.
#[test]
#[ignore = "lab: needs real ZFS and sshd, run by cargo xtask lab test"]
fn lab_cli_ssh_fail_bad_hosts_change_nothing() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let local = TestPool::new("sshf")?;
    let pa = TestPool::new("sshfa")?;
    let host = BackupHost::start("bad")?;
    let no_zfs = BackupHost::builder("nozfs").without_zfs().start()?;
    let password = BackupHost::builder("password")
        .sudo(Sudo::Password)
        .start()?;
    let dir = scratch(&local, "clissh", "bad");
    let src = local.dataset("src");
    local.zfs(&["create", &src])?;
    local.write_file("src/f", b"data")?;
    local.zfs(&["snapshot", &format!("{src}@s1")])?;
    pa.zfs(&["create", &pa.dataset("bk")])?;
    let dst = pa.dataset("bk/src");
    // A first sync, so that later runs would be incremental (and take a sync snapshot first).
    let ok = direct(&host, host.client_key(), host.known_hosts());
    let mut args: Vec<String> = vec!["sync".into()];
    args.extend(ok.iter().cloned());
    args.extend([src.clone(), remote_addr(&host, "root", &dst)]);
    let o = zsync(&dir, None, &refs(&args));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    local.write_file("src/f", b"newer")?;

    let addr = host.address().to_string();
    let unknown = host.unknown_host_known_hosts()?;
    let changed = host.changed_host_known_hosts()?;
    let wrong = host.wrong_client_key()?;
    let cases: Vec<(&str, Vec<String>, String, &str)> = vec![
        (
            "unknown host key",
            direct(&host, host.client_key(), &unknown),
            remote_addr(&host, "root", &dst),
            host.host_fingerprint(),
        ),
        (
            "changed host key",
            direct(&host, host.client_key(), &changed),
            remote_addr(&host, "root", &dst),
            "changed",
        ),
        (
            "wrong client key",
            direct(&host, &wrong, host.known_hosts()),
            remote_addr(&host, "root", &dst),
            "auth",
        ),
        (
            "missing zfs",
            direct(&no_zfs, no_zfs.client_key(), no_zfs.known_hosts()),
            remote_addr(&no_zfs, "root", &dst),
            "zfs",
        ),
        (
            "sudo wants a password",
            direct(&password, password.client_key(), password.known_hosts()),
            remote_addr(&password, BACKUP_USER, &dst),
            "password",
        ),
    ];
    for (what, flags, target, says) in &cases {
        eprintln!("case: {what}");
        let before = state(&[&local, &pa]);
        let host_addr = target
            .split_once(':')
            .unwrap()
            .0
            .rsplit('@')
            .next()
            .unwrap()
            .to_string();
        // Push (local source: no sync snapshot may be taken) and pull (nothing received locally).
        for (s, t) in [
            (src.clone(), target.clone()),
            (target.clone(), local.dataset("pulled")),
        ] {
            let mut args: Vec<String> = vec!["sync".into()];
            args.extend(flags.iter().cloned());
            args.extend([s, t]);
            let o = zsync(&dir, None, &refs(&args));
            one_line_failure(&o, &host_addr, says);
            assert_eq!(state(&[&local, &pa]), before, "{what}: nothing changed");
        }
    }

    // Unreachable: the link is down; ConnectTimeout=3 bounds the wait.
    host.set_reachable(false)?;
    let before = state(&[&local, &pa]);
    let t = Instant::now();
    let o = zsync(&dir, None, &refs(&args));
    one_line_failure(&o, &addr, "");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "gave up in time: {:?}",
        t.elapsed()
    );
    assert_eq!(
        state(&[&local, &pa]),
        before,
        "unreachable: nothing changed"
    );
    host.set_reachable(true)?;
    let o = zsync(&dir, None, &refs(&args));
    assert_eq!(
        o.status.code(),
        Some(0),
        "reachable again: {}",
        text(&o.stderr)
    );
    assert_eq!(snapshot_guids(&src), snapshot_guids(&dst));
    Ok(())
}

/// `user@ADDRESS:ds` (no config file alias).
fn remote_addr(host: &BackupHost, user: &str, ds: &str) -> String {
    format!("{user}@{}:{ds}", host.address())
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
