//! Lab tests of zfs-ssh against a real `sshd` started by each test inside the lab VM (host key and
//! client key generated into the run directory, `ListenAddress 127.0.0.1`, a free port), and real
//! pools: commands over the ssh2 and OpenSSH transports, many channels at once, an 8 MiB stream, a
//! lost connection, host key refusals and accept-new, a wrong client key, sudo for a non-root user,
//! and zfs-core's `Cli` listing, sending and receiving through the connection.
//!
//! Run: `cargo xtask lab test lab_ssh` (all tests here are named `ssh_*`).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use zfs_core::backend::{Backend, ListOptions, RecvRequest, SendRequest};
use zfs_core::runner::{Cmd, Exit, Io};
use zfs_core::{Cli, DatasetName, RemoteHost, Runner};
use zfs_ssh::{connect, ConfigFile, DataPath, HostKeyPolicy, SshError, SshOptions, Transport};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

type R = Result<(), Box<dyn std::error::Error>>;

const LAB_USER: &str = "zsyncssh";

fn run(program: &str, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// VM-only account setup, once per test process: root may log in with a key (its shadow entry is
/// locked, which sshd with `UsePAM no` refuses, so a copy with an unusable but unlocked password
/// field is bind-mounted over /etc/shadow), and a non-root user `zsyncssh` exists.
fn accounts() -> &'static Result<(), String> {
    static ONCE: OnceLock<Result<(), String>> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = zsync_lab::lab_dir().map_err(|e| e.to_string())?;
        let shadow = fs::read_to_string("/etc/shadow").map_err(|e| e.to_string())?;
        let mut out = String::new();
        for line in shadow.lines() {
            let mut f: Vec<&str> = line.split(':').collect();
            if f.len() > 1 && f[0] == "root" && (f[1].starts_with('!') || f[1].starts_with('*')) {
                f[1] = "zsync-lab-no-password";
            }
            out.push_str(&f.join(":"));
            out.push('\n');
        }
        let have_user = fs::read_to_string("/etc/passwd")
            .map_err(|e| e.to_string())?
            .lines()
            .any(|l| l.starts_with(&format!("{LAB_USER}:")));
        if !have_user {
            let mut passwd = fs::OpenOptions::new()
                .append(true)
                .open("/etc/passwd")
                .map_err(|e| e.to_string())?;
            writeln!(passwd, "{LAB_USER}:x:4242:4242::/home/{LAB_USER}:/bin/sh")
                .map_err(|e| e.to_string())?;
            let mut group = fs::OpenOptions::new()
                .append(true)
                .open("/etc/group")
                .map_err(|e| e.to_string())?;
            writeln!(group, "{LAB_USER}:x:4242:").map_err(|e| e.to_string())?;
            fs::create_dir_all(format!("/home/{LAB_USER}")).map_err(|e| e.to_string())?;
        }
        if !out.lines().any(|l| l.starts_with(&format!("{LAB_USER}:"))) {
            out.push_str(&format!(
                "{LAB_USER}:zsync-lab-no-password:19000:0:99999:7:::\n"
            ));
        }
        let copy = dir.join("shadow");
        fs::write(&copy, out).map_err(|e| e.to_string())?;
        run("mount", &["--bind", &copy.to_string_lossy(), "/etc/shadow"])
            .map_err(|e| e.to_string())?;
        fs::create_dir_all("/run/sshd").map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A private sshd on 127.0.0.1 with its own host key and an authorized client key.
struct Sshd {
    dir: PathBuf,
    port: u16,
    pid: i32,
}

static SSHD_N: AtomicU32 = AtomicU32::new(0);

impl Sshd {
    fn start(extra_config: &str) -> Result<Sshd, Box<dyn std::error::Error>> {
        Sshd::launch(extra_config, false)
    }

    /// An sshd in its own mount namespace where `zfs` is hidden (/dev/null bound over it): a host
    /// without ZFS, as its sessions see it.
    fn start_without_zfs() -> Result<Sshd, Box<dyn std::error::Error>> {
        Sshd::launch("", true)
    }

    fn launch(extra_config: &str, hide_zfs: bool) -> Result<Sshd, Box<dyn std::error::Error>> {
        if let Err(e) = accounts() {
            return Err(format!("lab account setup: {e}").into());
        }
        let dir = zsync_lab::lab_dir()?.join(format!(
            "sshd-{}-{}",
            std::process::id(),
            SSHD_N.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&dir)?;
        for (name, kind) in [
            ("host", "ed25519"),
            ("client", "ed25519"),
            ("other", "ed25519"),
        ] {
            let f = dir.join(name);
            run(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    kind,
                    "-N",
                    "",
                    "-C",
                    name,
                    "-f",
                    &f.to_string_lossy(),
                ],
            )?;
        }
        fs::copy(dir.join("client.pub"), dir.join("authorized_keys"))?;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?.port()
        };
        let d = dir.display();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nLogLevel VERBOSE\n{extra_config}"
        );
        fs::write(dir.join("sshd_config"), config)?;
        let config_file = dir.join("sshd_config").to_string_lossy().into_owned();
        let log_file = dir.join("sshd.log").to_string_lossy().into_owned();
        let sshd = ["/usr/sbin/sshd", "-f", &config_file, "-E", &log_file];
        if hide_zfs {
            let zfs = run("sh", &["-c", "command -v zfs"])?;
            let script = "mount --bind /dev/null \"$1\" && shift && exec \"$@\"";
            let mut argv = vec!["-m", "--propagation", "private", "sh", "-c", script, "sh"];
            argv.push(zfs.trim());
            argv.extend(sshd);
            run("unshare", &argv)?;
        } else {
            run(sshd[0], &sshd[1..])?;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let pid = loop {
            let up = TcpStream::connect(("127.0.0.1", port)).is_ok();
            if let (true, Ok(p)) = (up, fs::read_to_string(dir.join("sshd.pid"))) {
                if let Ok(pid) = p.trim().parse() {
                    break pid;
                }
            }
            if Instant::now() > deadline {
                return Err(format!("sshd on port {port} did not come up").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Sshd { dir, port, pid })
    }

    fn remote(&self, user: &str) -> RemoteHost {
        RemoteHost {
            user: Some(user.into()),
            host: "127.0.0.1".into(),
            port: Some(self.port),
        }
    }

    fn label(&self, user: &str) -> String {
        format!("{user}@127.0.0.1:{}", self.port)
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The known_hosts line for this server's key.
    fn host_line(&self) -> Result<String, Box<dyn std::error::Error>> {
        let public = fs::read_to_string(self.dir.join("host.pub"))?;
        let mut f = public.split_whitespace();
        let (kind, blob) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
        Ok(format!("[127.0.0.1]:{} {kind} {blob}", self.port))
    }

    /// `SHA256:...` of the server's key, from ssh-keygen.
    fn fingerprint(&self) -> Result<String, Box<dyn std::error::Error>> {
        let out = run(
            "ssh-keygen",
            &["-lf", &self.dir.join("host.pub").to_string_lossy()],
        )?;
        Ok(out.split_whitespace().nth(1).unwrap_or("").to_owned())
    }

    /// Options that trust this server and use the client key.
    fn opts(&self, transport: Transport) -> Result<SshOptions, Box<dyn std::error::Error>> {
        fs::write(self.known_hosts(), format!("{}\n", self.host_line()?))?;
        Ok(SshOptions {
            identity: Some(self.dir.join("client")),
            known_hosts: Some(self.known_hosts()),
            config: ConfigFile::None,
            transport,
            ..SshOptions::default()
        })
    }

    /// Kills the per-connection sshd processes (the connections drop; the listener stays).
    fn kill_sessions(&self) -> Result<(), Box<dyn std::error::Error>> {
        run("pkill", &["-KILL", "-P", &self.pid.to_string()])?;
        Ok(())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) of the sshd this test started.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
    }
}

/// Runs `cmd` with `input` on stdin; returns (stdout, exit, stderr).
fn run_with_input(
    r: &dyn Runner,
    cmd: Cmd,
    input: &[u8],
) -> Result<(Vec<u8>, Exit, String), Box<dyn std::error::Error>> {
    let mut running = r.spawn(&cmd.stdin(Io::Piped))?;
    let mut stdin = File::from(running.take_stdin().ok_or("no stdin")?);
    let mut stdout = File::from(running.take_stdout().ok_or("no stdout")?);
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let mut out = Vec::new();
    stdout.read_to_end(&mut out)?;
    writer.join().map_err(|_| "writer panicked")??;
    let (exit, stderr) = running.wait()?;
    Ok((out, exit, stderr))
}

fn expect_err<T: std::fmt::Debug>(r: Result<T, SshError>) -> SshError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Commands over each transport: exit codes, signals, the three streams, hostile argv, an 8 MiB
/// stream both ways intact, kill, `has_program`.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_commands_over_both_transports() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let dir = sshd.dir.clone();
    for transport in [Transport::Ssh2, Transport::OpenSsh] {
        let conn = connect(&sshd.remote("root"), &sshd.opts(transport)?)?;
        assert_eq!(conn.remote_uid(), 0);
        assert!(!conn.elevated());
        let want = match transport {
            Transport::Ssh2 => DataPath::Ssh2,
            _ => DataPath::OpenSsh,
        };
        assert_eq!(conn.data_path(), want);
        let r = conn.runner();
        assert_eq!(r.host(), sshd.label("root"));
        assert!(r.is_remote());
        // `bulk` takes the data path (OpenSSH here for the second round); both must behave alike.
        for bulk in [false, true] {
            let out =
                r.run(&Cmd::new(["sh", "-c", "echo out; echo err >&2; exit 3"]).bulk(bulk))?;
            // (root's login shell may print its own noise to stderr first: compare the end)
            assert_eq!(
                (out.stdout.as_slice(), out.stderr.lines().last(), out.status),
                (&b"out\n"[..], Some("err"), Exit::Code(3)),
                "{transport:?} bulk={bulk}"
            );
            let hostile = ["a b", "-n", "x:y", "it's", "$(id)", "\"q\"", "l1\nl2", ""];
            let mut argv = vec!["printf", "%s|"];
            argv.extend(hostile);
            let out = r.run(&Cmd::new(argv).bulk(bulk))?;
            assert_eq!(
                String::from_utf8(out.stdout)?,
                hostile.map(|w| format!("{w}|")).concat()
            );
            // 8 MiB (four ssh2 windows) up and back, intact; more only costs VM time (ciphers
            // run emulated under TCG).
            let data = pattern(8 << 20, 7 + bulk as u32);
            let up = dir.join(format!("up-{transport:?}-{bulk}"));
            let (_, exit, err) = run_with_input(
                r.as_ref(),
                Cmd::new(["sh", "-c", "cat > \"$1\"", "sh", &up.to_string_lossy()]).bulk(bulk),
                &data,
            )?;
            assert!(exit.success(), "{err}");
            assert!(fs::read(&up)? == data, "pushed stream differs");
            let out = r.run(&Cmd::new(["cat", &up.to_string_lossy()]).bulk(bulk))?;
            assert!(out.status.success());
            assert!(out.stdout == data, "pulled stream differs");
            fs::remove_file(&up)?;
        }
        // A remote command killed by a signal.
        let out = r.run(&Cmd::new(["sh", "-c", "kill -TERM $$"]))?;
        assert_eq!(out.status, Exit::Signal(libc::SIGTERM));
        // Kill ends a command that does nothing at once.
        let running = r.spawn(&Cmd::new(["sleep", "60"]))?;
        let t = Instant::now();
        running.kill();
        assert!(t.elapsed() < Duration::from_secs(10));
        let mut running = r.spawn(&Cmd::new(["sleep", "60"]).bulk(true))?;
        drop(running.take_stdout());
        let t = Instant::now();
        drop(running);
        assert!(t.elapsed() < Duration::from_secs(10));
        assert!(r.has_program("sh"));
        assert!(r.has_program("zfs"));
        assert!(!r.has_program("zsync-no-such-program"));
        assert!(!r.has_program("sh; true"));
        conn.close();
        let e = r.run(&Cmd::new(["true"])).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionAborted, "{e}");
    }
    Ok(())
}

/// Twelve commands at once on one session, half pushing and half pulling, with the server allowing
/// only 4 sessions per connection: the runner queues and stays below the server's limit.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_many_channels_both_ways() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("MaxSessions 4\n")?;
    let mut opts = sshd.opts(Transport::Ssh2)?;
    opts.max_channels = 16;
    let conn = connect(&sshd.remote("root"), &opts)?;
    let r = conn.runner();
    let dir = sshd.dir.clone();
    let workers: Vec<_> = (0..12u32)
        .map(|i| {
            let r = Arc::clone(&r);
            let dir = dir.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let data = pattern(2 << 20, 100 + i);
                let f = dir.join(format!("chan-{i}"));
                let path = f.to_string_lossy().into_owned();
                if i % 2 == 0 {
                    let (_, exit, err) = run_with_input(
                        r.as_ref(),
                        Cmd::new(["sh", "-c", "sleep 0.2; cat > \"$1\"", "sh", &path]),
                        &data,
                    )
                    .map_err(|e| e.to_string())?;
                    if !exit.success() || fs::read(&f).map_err(|e| e.to_string())? != data {
                        return Err(format!("push {i}: {exit} {err}"));
                    }
                } else {
                    fs::write(&f, &data).map_err(|e| e.to_string())?;
                    let out = r
                        .run(&Cmd::new([
                            "sh",
                            "-c",
                            "sleep 0.2; cat \"$1\"",
                            "sh",
                            &path,
                        ]))
                        .map_err(|e| e.to_string())?;
                    if !out.status.success() || out.stdout != data {
                        return Err(format!("pull {i}: {} {}", out.status, out.stderr));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "worker panicked")??;
    }
    Ok(())
}

/// Unknown key: refused with the fingerprint and the line to add, nothing written. accept-new:
/// recorded, then known (also to the OpenSSH data path). Changed key: refused under every policy,
/// naming the file and line of the old key.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_host_key_verdicts() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let kh = sshd.dir.join("kh-test");
    let mut opts = SshOptions {
        identity: Some(sshd.dir.join("client")),
        known_hosts: Some(kh.clone()),
        config: ConfigFile::None,
        transport: Transport::Ssh2,
        ..SshOptions::default()
    };
    let remote = sshd.remote("root");
    match expect_err(connect(&remote, &opts)) {
        SshError::HostKeyUnknown {
            host,
            fingerprint,
            file,
            line,
            ..
        } => {
            assert_eq!(host, sshd.label("root"));
            assert_eq!(fingerprint, sshd.fingerprint()?);
            assert_eq!(line, sshd.host_line()?);
            assert_eq!(file, kh);
        }
        other => panic!("expected HostKeyUnknown, got {other}"),
    }
    assert!(!kh.exists(), "a refused key must not be recorded");

    opts.host_key_policy = Some(HostKeyPolicy::AcceptNew);
    let conn = connect(&remote, &opts)?;
    assert!(
        conn.notes()
            .iter()
            .any(|n| n.contains("recorded the host key")),
        "{:?}",
        conn.notes()
    );
    assert_eq!(fs::read_to_string(&kh)?.trim(), sshd.host_line()?);
    conn.close();
    opts.host_key_policy = Some(HostKeyPolicy::Strict);
    opts.transport = Transport::OpenSsh;
    let conn = connect(&remote, &opts)?;
    let out = conn.runner().run(&Cmd::new(["echo", "ok"]).bulk(true))?;
    assert_eq!(
        out.stdout, b"ok\n",
        "OpenSSH trusts the recorded key: {}",
        out.stderr
    );
    conn.close();

    // Another key recorded for this host: changed, refused even under accept-new.
    let other = fs::read_to_string(sshd.dir.join("other.pub"))?;
    let mut f = other.split_whitespace();
    let line = format!(
        "# old entry\n[127.0.0.1]:{} {} {}\n",
        sshd.port,
        f.next().unwrap_or(""),
        f.next().unwrap_or("")
    );
    fs::write(&kh, &line)?;
    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        opts.host_key_policy = Some(policy);
        match expect_err(connect(&remote, &opts)) {
            SshError::HostKeyChanged {
                host,
                fingerprint,
                known,
                ..
            } => {
                assert_eq!(host, sshd.label("root"));
                assert_eq!(fingerprint, sshd.fingerprint()?);
                assert_eq!((known.file.as_path(), known.line), (kh.as_path(), 2));
            }
            other => panic!("expected HostKeyChanged, got {other}"),
        }
        assert_eq!(fs::read_to_string(&kh)?, line, "known_hosts unchanged");
    }
    Ok(())
}

/// A key the server does not accept, a missing key file, a closed port: each a clear error naming
/// the host.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_auth_and_reach_failures() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let mut opts = sshd.opts(Transport::Ssh2)?;
    opts.identity = Some(sshd.dir.join("other"));
    opts.options.push(zfs_ssh::SshOption::IdentityFile(
        sshd.dir.join("missing").to_string_lossy().into_owned(),
    ));
    match expect_err(connect(&sshd.remote("root"), &opts)) {
        SshError::AuthFailed { host, user, tried } => {
            assert_eq!(
                (host.as_str(), user.as_str()),
                (sshd.label("root").as_str(), "root")
            );
            let text = tried.join("; ");
            assert!(text.contains("other: rejected by the server"), "{text}");
            assert!(text.contains("missing: not found"), "{text}");
        }
        other => panic!("expected AuthFailed, got {other}"),
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let remote = RemoteHost {
        user: Some("root".into()),
        host: "127.0.0.1".into(),
        port: Some(closed),
    };
    let e = expect_err(connect(&remote, &sshd.opts(Transport::Ssh2)?));
    assert!(matches!(e, SshError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("root@127.0.0.1:{closed}: cannot reach")),
        "{e}"
    );
    let z = e.into_zfs("connect");
    assert!(z.is_transport());
    Ok(())
}

/// zfs-core's Cli over the connection: listing a real pool with hostile names, a snapshot, and
/// `zfs send | zfs receive` through the transport (ssh2 and OpenSSH), checked by guid and data.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_cli_backend_lists_sends_and_receives() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let pool = TestPool::new("ssh-cli")?;
    for ds in ["my data", "my data/-x", "a:b"] {
        pool.zfs(&["create", &pool.dataset(ds)])?;
    }
    let data = pattern(3 << 20, 11);
    pool.write_file("my data/-x/f.bin", &data)?;
    for transport in [Transport::Ssh2, Transport::OpenSsh] {
        let conn = connect(&sshd.remote("root"), &sshd.opts(transport)?)?;
        let cli = Cli::new(conn.runner());
        cli.ping()?;
        let root = DatasetName::parse(pool.name())?;
        let listing = cli.list(&root, &ListOptions::default())?;
        for ds in ["my data", "my data/-x", "a:b"] {
            let name = DatasetName::parse(&pool.dataset(ds))?;
            assert!(
                listing.get(&name).is_some(),
                "{name} missing from the listing"
            );
        }
        let src = DatasetName::parse(&pool.dataset("my data/-x"))?;
        let snap = src.snapshot(&format!("s {transport:?}"))?;
        cli.snapshot(std::slice::from_ref(&snap), &[])?;
        assert!(pool.exists(snap.as_str()));
        let dst = DatasetName::parse(&pool.dataset(&format!("copy {transport:?}")))?;
        let target = dst.snapshot(&format!("s {transport:?}"))?;
        let mut send = cli.send(&SendRequest::full(snap.clone()))?;
        let mut sink = cli.receive(&RecvRequest::new(target.clone()))?;
        let mut from = File::from(send.take_stream().ok_or("no stream")?);
        let mut to = File::from(sink.take_input().ok_or("no input")?);
        std::io::copy(&mut from, &mut to)?;
        drop(to);
        drop(from);
        sink.finish()?;
        send.finish()?;
        assert_eq!(pool.guid(target.as_str())?, pool.guid(snap.as_str())?);
        assert_eq!(
            pool.read_file(&format!("copy {transport:?}/f.bin"))?,
            data,
            "received data differs"
        );
        conn.close();
    }
    Ok(())
}

/// The connection cut mid-transfer (the sshd session killed): every open channel and later command
/// fails with a transport error naming the host, over ssh2 and over OpenSSH.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_lost_connection_is_a_transport_error() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let pool = TestPool::new("ssh-lost")?;
    pool.zfs(&["create", &pool.dataset("src")])?;
    pool.write_file("src/big.bin", &pattern(24 << 20, 5))?;
    pool.zfs(&["snapshot", &format!("{}@s1", pool.dataset("src"))])?;
    let snap = DatasetName::parse(&pool.dataset("src"))?.snapshot("s1")?;
    for transport in [Transport::Ssh2, Transport::OpenSsh] {
        let conn = connect(&sshd.remote("root"), &sshd.opts(transport)?)?;
        let runner = conn.runner();
        let cli = Cli::new(runner.clone());
        let mut send = cli.send(&SendRequest::full(snap.clone()))?;
        let mut from = File::from(send.take_stream().ok_or("no stream")?);
        let mut first = vec![0u8; 64 * 1024];
        from.read_exact(&mut first)?;
        sshd.kill_sessions()?;
        // The rest of the stream ends early; the send reports the transport.
        let _ = std::io::copy(&mut from, &mut std::io::sink());
        drop(from);
        let e = send
            .finish()
            .expect_err("a cut connection must fail the send");
        assert!(e.is_transport(), "{transport:?}: {e:?}");
        assert_eq!(e.host(), Some(sshd.label("root").as_str()));
        if transport == Transport::Ssh2 {
            // Later control commands fail at once with the same kind of error.
            let t = Instant::now();
            let e = cli.ping().expect_err("the session is gone");
            assert!(e.is_transport(), "{e:?}");
            assert!(t.elapsed() < Duration::from_secs(5));
            assert!(e.to_string().contains(&sshd.label("root")), "{e}");
        }
    }
    Ok(())
}

/// A non-root user: `sudo -n` wanting a password is an error naming the host (not a hang); with a
/// NOPASSWD rule for zfs the commands run elevated; without elevation `zfs` is still found (a
/// non-root PATH lacks /usr/sbin).
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_sudo_for_a_non_root_user() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start("")?;
    let pool = TestPool::new("ssh-sudo")?;
    let remote = sshd.remote(LAB_USER);
    let opts = sshd.opts(Transport::Ssh2)?;
    let sudoers = Path::new("/etc/sudoers.d/zsync-lab-ssh");
    let _ = fs::remove_file(sudoers);
    let t = Instant::now();
    match expect_err(connect(&remote, &opts)) {
        SshError::SudoPassword { host, user } => {
            assert_eq!(
                (host.as_str(), user.as_str()),
                (sshd.label(LAB_USER).as_str(), LAB_USER)
            );
        }
        other => panic!("expected SudoPassword, got {other}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "sudo -n must not wait"
    );

    fs::write(
        sudoers,
        format!("{LAB_USER} ALL=(root) NOPASSWD: /usr/sbin/zfs, /usr/sbin/zpool\n"),
    )?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(sudoers, fs::Permissions::from_mode(0o440))?;
    let elevated = connect(&remote, &opts);
    let _ = fs::remove_file(sudoers);
    let conn = elevated?;
    assert_ne!(conn.remote_uid(), 0);
    assert!(conn.elevated());
    let cli = Cli::new(conn.runner());
    let snap = DatasetName::parse(pool.name())?.snapshot("by-sudo")?;
    fs::write(
        sudoers,
        format!("{LAB_USER} ALL=(root) NOPASSWD: /usr/sbin/zfs, /usr/sbin/zpool\n"),
    )?;
    fs::set_permissions(sudoers, fs::Permissions::from_mode(0o440))?;
    let made = cli.snapshot(std::slice::from_ref(&snap), &[]);
    let _ = fs::remove_file(sudoers);
    made?;
    assert!(
        pool.exists(snap.as_str()),
        "the snapshot was made as root through sudo"
    );
    conn.close();

    let plain = SshOptions {
        elevate: false,
        ..opts
    };
    let conn = connect(&remote, &plain)?;
    assert!(!conn.elevated());
    let listing =
        Cli::new(conn.runner()).list(&DatasetName::parse(pool.name())?, &ListOptions::default())?;
    assert!(listing.get(&DatasetName::parse(pool.name())?).is_some());
    Ok(())
}

/// A host where `zfs` cannot be found: an error naming the host at connect time.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn ssh_missing_remote_zfs() -> R {
    zsync_lab::require_lab();
    let sshd = Sshd::start_without_zfs()?;
    match expect_err(connect(&sshd.remote("root"), &sshd.opts(Transport::Ssh2)?)) {
        SshError::RemoteZfs { host, detail } => {
            assert_eq!(host, sshd.label("root"));
            assert!(detail.contains("`zfs` not found"), "{detail}");
        }
        other => panic!("expected RemoteZfs, got {other}"),
    }
    Ok(())
}
