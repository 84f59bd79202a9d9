//! The SSH backup hosts of `zsync_lab::ssh` with the real OpenSSH client: keys, users, sudo
//! policies, `zfs allow`, cut connections, bad client setups, parallel hosts and teardown.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zsync_lab::ssh::{client_files, BackupHost, Sudo, BACKUP_USER, RECEIVE_PERMS};
use zsync_lab::{LabError, TestPool};

/// What a finished client did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Ran {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `argv` + `remote`, killed after `limit`.
fn run(argv: &[String], remote: &[&str], limit: Duration) -> Ran {
    let start = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .args(remote)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh starts");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{argv:?} {remote:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Ran {
        code: status.code(),
        stdout,
        stderr,
        took: start.elapsed(),
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn ssh(host: &BackupHost, user: &str, remote: &[&str]) -> Ran {
    run(&host.ssh_command(user), remote, LIMIT)
}

fn must(host: &BackupHost, user: &str, remote: &[&str]) -> String {
    let ran = ssh(host, user, remote);
    assert!(
        ran.ok(),
        "ssh {user}@{} {remote:?}: {ran:?}\nsshd log:\n{}",
        host.address(),
        std::fs::read_to_string(host.sshd_log()).unwrap_or_default()
    );
    ran.stdout
}

fn netns_list() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(out.status.success(), "ip netns list: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn root_and_the_backup_user_log_in_with_keys() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let clock = Instant::now();
    let host = BackupHost::start("keys")?;
    let started = clock.elapsed();
    let version = must(&host, "root", &["zfs", "version"]);
    eprintln!(
        "backup host started in {started:?}, first ssh command took {:?}",
        clock.elapsed() - started
    );
    assert!(version.starts_with("zfs-"), "{version}");
    assert_eq!(host.port(), 22);
    assert!(
        host.address().to_string().starts_with("10.251."),
        "{}",
        host.address()
    );
    assert!(host.host_fingerprint().starts_with("SHA256:"));
    assert!(host
        .known_hosts_line()
        .starts_with(&format!("{} ssh-ed25519 ", host.address())));

    assert_eq!(must(&host, "root", &["id", "-un"]).trim(), "root");
    assert_eq!(must(&host, BACKUP_USER, &["id", "-un"]).trim(), BACKUP_USER);
    // Passwordless sudo for zfs and zpool only.
    must(&host, BACKUP_USER, &["sudo", "-n", "zfs", "list"]);
    must(&host, BACKUP_USER, &["sudo", "-n", "zpool", "list"]);
    let other = ssh(&host, BACKUP_USER, &["sudo", "-n", "id"]);
    assert!(!other.ok(), "{other:?}");
    // The session is in the host's network namespace, and it sees its own user database only.
    assert!(must(&host, "root", &["ip", "-brief", "addr"]).contains(&host.address().to_string()));
    let vm_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert!(!vm_passwd.contains(BACKUP_USER), "the VM's passwd changed");
    assert!(host.run(&["id", BACKUP_USER])?.contains("4713"));

    // The ssh_config alias and a hashed known_hosts work as well.
    let cfg = host.ssh_config_path().to_string_lossy().into_owned();
    let alias = format!("root@{}", host.name());
    let ran = run(&["ssh".into(), "-F".into(), cfg, alias], &["true"], LIMIT);
    assert!(ran.ok(), "{ran:?}");
    let hashed = host.hashed_known_hosts()?;
    let text = std::fs::read_to_string(&hashed).unwrap();
    assert!(
        text.starts_with("|1|") && !text.contains(&host.address().to_string()),
        "{text}"
    );
    let ran = run(
        &host.ssh_command_with("root", host.client_key(), &hashed),
        &["true"],
        LIMIT,
    );
    assert!(ran.ok(), "{ran:?}");
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn sudo_wanting_a_password_fails_fast() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let wants = BackupHost::builder("sudo-pw")
        .sudo(Sudo::Password)
        .start()?;
    let ran = ssh(&wants, BACKUP_USER, &["sudo", "-n", "zfs", "list"]);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stderr.contains("a password is required"), "{ran:?}");
    assert!(ran.took < Duration::from_secs(30), "{ran:?}");

    let denied = BackupHost::builder("sudo-no").sudo(Sudo::Denied).start()?;
    let ran = ssh(&denied, BACKUP_USER, &["sudo", "-n", "zfs", "list"]);
    assert!(!ran.ok() && ran.stderr.contains("sudo"), "{ran:?}");
    // Root needs no sudo either way.
    must(&denied, "root", &["zfs", "list"]);
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn zfs_allow_lets_the_backup_user_snapshot_and_receive() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("allow", 64 << 20)?;
    let (src, bk, other) = (
        pool.dataset("src"),
        pool.dataset("bk"),
        pool.dataset("other"),
    );
    for ds in [&src, &bk, &other] {
        pool.zfs(&["create", ds])?;
    }
    pool.write_file("src/f", &zsync_lab::data::pattern(100_000, 3))?;
    pool.zfs(&["snapshot", &format!("{src}@a")])?;
    // PATH with /usr/sbin so the user's `zfs` is found without sudo.
    let host = BackupHost::builder("allow")
        .sudo(Sudo::Denied)
        .session_path("/usr/sbin:/usr/bin:/sbin:/bin")
        .start()?;
    host.allow(BACKUP_USER, &bk, RECEIVE_PERMS)?;
    let shown = pool.zfs(&["allow", &bk])?;
    assert!(
        shown.contains("receive") && shown.contains("4713"),
        "{shown}"
    );

    must(
        &host,
        BACKUP_USER,
        &["zfs", "snapshot", &format!("{bk}@mine")],
    );
    assert!(pool.exists(&format!("{bk}@mine")));
    let refused = ssh(
        &host,
        BACKUP_USER,
        &["zfs", "snapshot", &format!("{other}@no")],
    );
    assert!(
        !refused.ok() && refused.stderr.contains("permission denied"),
        "{refused:?}"
    );
    assert!(!pool.exists(&format!("{other}@no")));

    // A full stream through ssh into `zfs receive -u` as the user.
    let mut send = Command::new("zfs")
        .args(["send", &format!("{src}@a")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let target = format!("{bk}/copy");
    let status = Command::new(&host.ssh_command(BACKUP_USER)[0])
        .args(&host.ssh_command(BACKUP_USER)[1..])
        .args(["zfs", "receive", "-u", &target])
        .stdin(send.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(send.wait().unwrap().success(), "zfs send failed");
    assert!(status.success(), "receive as {BACKUP_USER} failed");
    assert_eq!(
        pool.guid(&format!("{target}@a"))?,
        pool.guid(&format!("{src}@a"))?
    );
    drop(host);
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn kill_sessions_cuts_a_running_command() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let host = BackupHost::start("cut")?;
    let argv = host.ssh_command("root");
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .args(["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    while !host
        .session_processes()
        .iter()
        .any(|(_, comm)| comm == "sleep")
    {
        assert!(Instant::now() < deadline, "the remote sleep never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    let killed = host.kill_sessions();
    assert!(killed >= 1, "killed {killed}");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "ssh not cut");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(255));
    // The listener survived: the next connection works.
    assert_eq!(must(&host, "root", &["echo", "again"]).trim(), "again");
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn bad_client_setups_are_refused() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let host = BackupHost::start("bad")?;
    let key = host.client_key().to_path_buf();
    // Each refused setup: ssh exits 255 with OpenSSH's message.
    let refused = |user: &str, key: &Path, known_hosts: &Path, message: &str| {
        let ran = run(
            &host.ssh_command_with(user, key, known_hosts),
            &["true"],
            LIMIT,
        );
        assert_eq!(ran.code, Some(255), "{ran:?}");
        assert!(ran.stderr.contains(message), "{message:?} not in {ran:?}");
    };
    let unknown = host.unknown_host_known_hosts()?;
    refused("root", &key, &unknown, "Host key verification failed");
    let changed = host.changed_host_known_hosts()?;
    refused(
        "root",
        &key,
        &changed,
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
    );
    let wrong = host.wrong_client_key()?;
    refused(BACKUP_USER, &wrong, host.known_hosts(), "Permission denied");

    // Unreachable: the link is down, the connect times out (ConnectTimeout=10).
    host.set_reachable(false)?;
    let ran = ssh(&host, "root", &["true"]);
    assert_eq!(ran.code, Some(255), "{ran:?}");
    host.set_reachable(true)?;
    must(&host, "root", &["true"]);
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn two_hosts_and_a_local_one_then_nothing_left() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let a = BackupHost::start("two-a")?;
    let b = BackupHost::start("two-b")?;
    let local = BackupHost::builder("local").local().start()?;
    assert_ne!(a.address(), b.address());
    assert_eq!(local.address().to_string(), "127.0.0.1");
    assert_ne!(local.port(), 22);
    assert!(local
        .known_hosts_line()
        .starts_with(&format!("[127.0.0.1]:{} ", local.port())));
    for host in [&a, &b, &local] {
        assert_eq!(must(host, BACKUP_USER, &["id", "-un"]).trim(), BACKUP_USER);
    }
    // One ssh_config and known_hosts for both namespaced hosts.
    let files = client_files(&[&a, &b], &a.scratch().join("both"))?;
    for host in [&a, &b] {
        let argv = vec![
            "ssh".to_string(),
            "-F".into(),
            files.config.to_string_lossy().into_owned(),
            format!("{BACKUP_USER}@{}", host.name()),
        ];
        let ran = run(&argv, &["ip", "-brief", "addr"], LIMIT);
        assert!(
            ran.ok() && ran.stdout.contains(&host.address().to_string()),
            "{ran:?}"
        );
    }
    assert!(client_files(&[&a, &a], Path::new("/nonexistent")).is_err());

    let names: Vec<String> = [&a, &b]
        .iter()
        .map(|h| h.netns_name().unwrap().to_string())
        .collect();
    let pids: Vec<u32> = [&a, &b, &local].iter().flat_map(|h| h.pids()).collect();
    assert!(pids.len() >= 3, "{pids:?}");
    drop((a, b, local));
    let list = netns_list();
    for name in &names {
        assert!(!list.contains(name.as_str()), "{name} left in {list}");
    }
    for pid in pids {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "process {pid} left behind");
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn a_panicking_test_leaves_nothing_behind() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let seen = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let host = BackupHost::start("panics").unwrap();
        must(&host, "root", &["true"]);
        *seen.lock().unwrap() = Some((
            host.netns_name().unwrap().to_string(),
            host.sshd_pid(),
            host.scratch().to_path_buf(),
        ));
        panic!("test panics with a live host");
    }));
    assert!(result.is_err());
    let (name, pid, scratch) = seen.lock().unwrap().take().unwrap();
    assert!(!netns_list().contains(&name), "{name} left behind");
    assert!(
        !Path::new(&format!("/proc/{pid}/ns")).exists(),
        "sshd {pid} left behind"
    );
    // Kept for inspection after a panic.
    assert!(scratch.join("sshd.log").exists());
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

#[test]
#[ignore = "lab: needs the lab VM, run by cargo xtask lab test"]
fn mounts_made_on_the_host_are_seen_by_the_test() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let host = BackupHost::start("mounts")?;
    // Created after the host (so the host sees it through the shared mounts) and dropped before
    // it (so its destroy must not be blocked by the host's copy of the mounts).
    let pool = TestPool::with_size("mounts", 64 << 20)?;
    let src = pool.dataset("src");
    pool.zfs(&["create", &src])?;
    pool.write_file("src/f", b"through ssh")?;
    pool.zfs(&["snapshot", &format!("{src}@a")])?;
    let mut send = Command::new("zfs")
        .args(["send", &format!("{src}@a")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let argv = host.ssh_command("root");
    let target = pool.dataset("received");
    // Root receives and mounts on the host.
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .args(["zfs", "receive", &target])
        .stdin(send.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(send.wait().unwrap().success() && status.success());
    assert_eq!(pool.get("mounted", &target)?, "yes");
    assert_eq!(pool.read_file("received/f")?, b"through ssh");
    let on_host = must(
        &host,
        "root",
        &[
            "cat",
            &pool.mountpoint().join("received/f").to_string_lossy(),
        ],
    );
    assert_eq!(on_host, "through ssh");
    // The test unmounts; the host sees it gone.
    pool.zfs(&["unmount", &target])?;
    let ran = ssh(
        &host,
        "root",
        &[
            "test",
            "-e",
            &pool.mountpoint().join("received/f").to_string_lossy(),
        ],
    );
    assert_eq!(ran.code, Some(1), "{ran:?}");
    drop(pool);
    drop(host);
    Ok(())
}
