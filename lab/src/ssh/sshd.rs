//! One private sshd process in its own mount namespace: started, waited for, and on drop killed
//! together with every process of that namespace (sessions, the commands they ran).

use std::fs::{self, File};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::namespaces;
use super::procs;
use super::slot::io;
use crate::LabError;

/// How long a starting sshd may take to listen (the VM is emulated, and slow).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running sshd.
#[derive(Debug)]
pub struct Sshd {
    child: Child,
    pid: i32,
    mount_ns: String,
    /// Its log (`sshd -E`).
    pub log: PathBuf,
}

impl Sshd {
    /// Starts `/usr/sbin/sshd -D -f config -E log` in a new mount namespace (with `binds`, and
    /// `/dev/null` over each `hide` path) and in
    /// network namespace `netns` if given; returns once it accepts connections on `address:port`.
    pub fn start(
        config: &Path,
        log: &Path,
        netns: Option<&Path>,
        binds: &[(PathBuf, PathBuf)],
        hide: &[PathBuf],
        address: IpAddr,
        port: u16,
    ) -> Result<Sshd, LabError> {
        // Privilege separation directory (tmpfs in the VM; shared by all hosts).
        fs::create_dir_all("/run/sshd").map_err(io("cannot create", Path::new("/run/sshd")))?;
        let stderr_path = log.with_extension("stderr");
        let stderr = File::create(&stderr_path).map_err(io("cannot create", &stderr_path))?;
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.arg("-D")
            .arg("-f")
            .arg(config)
            .arg("-E")
            .arg(log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        namespaces::new_namespace(&mut cmd, netns, binds, hide)?;
        let child = cmd.spawn().map_err(|e| LabError::Command {
            command: format!("/usr/sbin/sshd -D -f {}", config.display()),
            status: "not started".into(),
            stderr: e.to_string(),
        })?;
        let pid = child.id() as i32;
        let mount_ns = procs::mount_ns(pid).unwrap_or_default();
        let mut sshd = Sshd {
            child,
            pid,
            mount_ns,
            log: log.to_path_buf(),
        };
        if sshd.mount_ns.is_empty()
            || procs::mount_ns(std::process::id() as i32).as_deref() == Some(&sshd.mount_ns)
        {
            // Never tear down by a namespace we share (or cannot name).
            sshd.mount_ns.clear();
            return Err(sshd.failure("did not get a mount namespace of its own"));
        }
        sshd.wait_listening(SocketAddr::new(address, port))?;
        Ok(sshd)
    }

    /// The listener's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    fn wait_listening(&mut self, addr: SocketAddr) -> Result<(), LabError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failure(&format!("exited ({status})")));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure(&format!(
                    "does not accept connections on {addr} after {START_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// An error saying sshd `what`, with the end of its log and stderr.
    fn failure(&self, what: &str) -> LabError {
        let tail = |p: &Path| {
            let text = fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(10)..].join(" | ")
        };
        LabError::Invalid(format!(
            "sshd ({}) {what}; log: {}; stderr: {}",
            self.log.display(),
            tail(&self.log),
            tail(&self.log.with_extension("stderr"))
        ))
    }

    /// The per-connection processes: every descendant of the listener.
    pub fn sessions(&self) -> Vec<procs::Proc> {
        procs::descendants(&procs::all(), self.pid)
    }

    /// Kills (SIGKILL) the per-connection sshd processes, not the listener nor the commands the
    /// sessions ran; waits until they are gone. Returns how many it killed.
    pub fn kill_sessions(&self) -> usize {
        let victims: Vec<i32> = self
            .sessions()
            .into_iter()
            .filter(|p| p.comm == "sshd")
            .map(|p| p.pid)
            .collect();
        for &pid in &victims {
            procs::signal(pid, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.sessions().iter().any(|p| victims.contains(&p.pid))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        victims.len()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.mount_ns.is_empty() {
            return;
        }
        // Everything left in the host's mount namespace: sessions, commands, `command()` children.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = procs::members(&self.mount_ns);
            if left.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                eprintln!(
                    "zsync-lab: processes {left:?} of a backup host ({}) would not die",
                    self.log.display()
                );
                return;
            }
            for pid in left {
                procs::signal(pid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
