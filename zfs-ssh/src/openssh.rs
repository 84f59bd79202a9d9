//! The OpenSSH data path: one multiplexed master connection per host (`ssh -M -N -f` with a control
//! socket in a private 0700 directory, started on first use, ended with `ssh -O exit`), and each
//! bulk command a local `ssh` child on that socket. Every option comes from the resolved [`Target`]
//! (`-F /dev/null`: no config file is read), with `BatchMode=yes` and strict host key checking
//! (the ssh2 session has already checked, and under accept-new recorded, the key in the same files).
//!
//! The OpenSSH client encrypts a stream at a third of libssh2's CPU cost (see the crate docs), which
//! is why send streams may take this path while control commands stay on the ssh2 session.

use crate::error::SshError;
use crate::resolve::{Identity, Target};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use zfs_core::runner::{Cmd, Io, Running};
use zfs_core::{LocalRunner, Runner};

/// How long an idle master stays after the last session (if zsync dies without `-O exit`).
const CONTROL_PERSIST_SECS: u32 = 300;

/// The `ssh` program on `PATH`, if there is one.
pub(crate) fn find_ssh() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ssh"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A value for `ssh -o Key=VALUE` naming a path: quoted so spaces survive OpenSSH's splitting.
fn quoted(p: &Path) -> String {
    let s = p.to_string_lossy();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[derive(Debug)]
enum Master {
    Down,
    Up,
    Failed(String),
}

/// The OpenSSH client for one host.
#[derive(Debug)]
pub(crate) struct OpenSsh {
    label: String,
    ssh: PathBuf,
    address: String,
    /// Options shared by the master, the clients and `-O exit`.
    args: Vec<String>,
    dir: tempfile::TempDir,
    master: Mutex<Master>,
}

impl OpenSsh {
    /// Prepares the client (no connection yet): a private directory for the control socket.
    pub(crate) fn new(ssh: PathBuf, t: &Target) -> Result<OpenSsh, SshError> {
        // Short path: a unix socket path must fit in 108 bytes.
        let base = std::env::temp_dir();
        let base = if base.to_string_lossy().len() > 60 {
            PathBuf::from("/tmp")
        } else {
            base
        };
        let dir = tempfile::Builder::new()
            .prefix("zsync-ssh-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&base)
            .map_err(|source| SshError::Io {
                host: t.label.clone(),
                what: "cannot create a private directory in",
                path: base.clone(),
                source,
            })?;
        let socket = dir.path().join("m");
        Ok(OpenSsh {
            label: t.label.clone(),
            ssh,
            address: t.address.clone(),
            args: ssh_args(t, &socket),
            dir,
            master: Mutex::new(Master::Down),
        })
    }

    fn master_log(&self) -> PathBuf {
        self.dir.path().join("master.log")
    }

    /// Starts the master connection once; later calls return its state.
    fn ensure_master(&self) -> Result<(), String> {
        let mut m = self.master.lock().unwrap_or_else(|e| e.into_inner());
        match &*m {
            Master::Up => return Ok(()),
            Master::Failed(why) => return Err(why.clone()),
            Master::Down => {}
        }
        // The master forks into the background once authenticated (-f) and keeps its standard
        // streams, so its stderr goes to a file, never to a pipe we would wait on.
        let log = std::fs::File::create(self.master_log())
            .map_err(|e| format!("cannot create {}: {e}", self.master_log().display()))?;
        let status = Command::new(&self.ssh)
            .args(&self.args)
            .args(["-M", "-N", "-f", "-o"])
            .arg(format!("ControlPersist={CONTROL_PERSIST_SECS}"))
            .arg("--")
            .arg(&self.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .status()
            .map_err(|e| format!("cannot start {}: {e}", self.ssh.display()))?;
        if status.success() {
            *m = Master::Up;
            Ok(())
        } else {
            let said = std::fs::read_to_string(self.master_log()).unwrap_or_default();
            let why = format!("`ssh -M` exited with {status}: {}", said.trim());
            *m = Master::Failed(why.clone());
            Err(why)
        }
    }

    /// Starts the remote command `line` as a local `ssh` child on the master connection.
    pub(crate) fn spawn(&self, line: &str, stdin: Io, stdout: Io) -> io::Result<Running> {
        self.ensure_master().map_err(|why| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("{}: OpenSSH master connection failed: {why}", self.label),
            )
        })?;
        let mut argv: Vec<String> = Vec::with_capacity(self.args.len() + 8);
        argv.push(self.ssh.to_string_lossy().into_owned());
        argv.extend(self.args.iter().cloned());
        argv.extend(
            [
                "-o",
                "ControlMaster=no",
                "-T",
                "-x",
                "-a",
                "-e",
                "none",
                "--",
            ]
            .map(String::from),
        );
        argv.push(self.address.clone());
        argv.push(line.to_owned());
        let mut cmd = Cmd::new(argv).stdin(stdin).stdout(stdout);
        cmd.env.clear();
        LocalRunner.spawn(&cmd)
    }

    /// The master's process id, once it runs (`ssh -O check`).
    pub(crate) fn master_pid(&self) -> Option<u32> {
        if !matches!(
            *self.master.lock().unwrap_or_else(|e| e.into_inner()),
            Master::Up
        ) {
            return None;
        }
        let out = Command::new(&self.ssh)
            .args(&self.args)
            .args(["-O", "check", "--"])
            .arg(&self.address)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let start = text.find("pid=")? + 4;
        let digits: String = text[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// Ends the master connection (if it was started).
    pub(crate) fn close(&self) {
        let mut m = self.master.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*m, Master::Up) {
            let _ = Command::new(&self.ssh)
                .args(&self.args)
                .args(["-O", "exit", "--"])
                .arg(&self.address)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        *m = Master::Down;
    }
}

impl Drop for OpenSsh {
    fn drop(&mut self) {
        self.close();
    }
}

/// The options every `ssh` invocation for this target gets.
fn ssh_args(t: &Target, socket: &Path) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut o = |kv: String| {
        a.push("-o".into());
        a.push(kv);
    };
    o("BatchMode=yes".into());
    o("StrictHostKeyChecking=yes".into());
    let user_files: Vec<String> = t.known_hosts.iter().map(|p| quoted(p)).collect();
    o(format!(
        "UserKnownHostsFile={}",
        if user_files.is_empty() {
            "none".into()
        } else {
            user_files.join(" ")
        }
    ));
    let global: Vec<String> = t.global_known_hosts.iter().map(|p| quoted(p)).collect();
    o(format!("GlobalKnownHostsFile={}", global.join(" ")));
    o(format!(
        "ConnectTimeout={}",
        t.connect_timeout.as_secs().max(1)
    ));
    o(format!(
        "ServerAliveInterval={}",
        t.keepalive.as_secs().max(1)
    ));
    o("ServerAliveCountMax=4".into());
    o("Compression=no".into());
    o("LogLevel=ERROR".into());
    o(format!("ControlPath={}", quoted(socket)));
    if !t.identities.contains(&Identity::Agent) {
        o("IdentitiesOnly=yes".into());
    }
    let mut out = vec!["-F".to_string(), "/dev/null".into()];
    out.extend(a);
    out.extend(["-p".to_string(), t.port.to_string()]);
    out.extend(["-l".to_string(), t.user.clone()]);
    out.extend(["-c".to_string(), t.openssh_ciphers.clone()]);
    for id in &t.identities {
        if let Identity::File(p) = id {
            if p.is_file() {
                out.push("-i".into());
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::HostKeyPolicy;
    use std::time::Duration;

    fn target(dir: &Path) -> Target {
        let key = dir.join("my key");
        std::fs::write(&key, "k").unwrap();
        Target {
            label: "zsync@b1:2222".into(),
            host: "b1".into(),
            address: "b1.lan".into(),
            port: 2222,
            user: "zsync".into(),
            identities: vec![Identity::File(key), Identity::File(dir.join("missing"))],
            known_hosts: vec![dir.join("known hosts")],
            global_known_hosts: vec!["/etc/ssh/ssh_known_hosts".into()],
            policy: HostKeyPolicy::Strict,
            ssh2_ciphers: "chacha20-poly1305@openssh.com".into(),
            openssh_ciphers: "aes128-gcm@openssh.com".into(),
            connect_timeout: Duration::from_secs(7),
            keepalive: Duration::from_secs(15),
            notes: vec![],
        }
    }

    #[test]
    fn arguments_carry_the_resolved_target() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let a = ssh_args(&t, Path::new("/tmp/x/m"));
        let joined = a.join(" ");
        assert_eq!(&a[..2], ["-F", "/dev/null"]);
        for want in [
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            "ConnectTimeout=7",
            "ServerAliveInterval=15",
            "ControlPath=\"/tmp/x/m\"",
            "IdentitiesOnly=yes",
            "-p 2222",
            "-l zsync",
            "-c aes128-gcm@openssh.com",
        ] {
            assert!(joined.contains(want), "{want} missing from {joined}");
        }
        let kh = format!(
            "UserKnownHostsFile=\"{}\"",
            dir.path().join("known hosts").display()
        );
        assert!(a.contains(&kh), "{a:?}");
        // The key with a space is one argument; a missing key file is not passed.
        let key = dir.path().join("my key").to_string_lossy().into_owned();
        assert!(a.windows(2).any(|w| w == ["-i", key.as_str()]));
        assert!(!joined.contains("missing"));
    }

    #[test]
    fn with_the_agent_identities_only_is_not_forced() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = target(dir.path());
        t.identities.insert(0, Identity::Agent);
        t.known_hosts.clear();
        let a = ssh_args(&t, Path::new("/s"));
        assert!(!a.iter().any(|x| x == "IdentitiesOnly=yes"));
        assert!(a.iter().any(|x| x == "UserKnownHostsFile=none"));
    }

    #[test]
    fn paths_are_quoted_for_openssh() {
        assert_eq!(quoted(Path::new("/a b/c")), "\"/a b/c\"");
        assert_eq!(quoted(Path::new("/a\"b")), "\"/a\\\"b\"");
    }

    #[test]
    fn the_control_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let o = OpenSsh::new("/usr/bin/ssh".into(), &t).unwrap();
        let mode = std::fs::metadata(o.dir.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(o.dir.path().join("m").to_string_lossy().len() < 100);
    }
}
