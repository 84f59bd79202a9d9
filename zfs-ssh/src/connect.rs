//! [`connect`]: from an endpoint's host and the SSH options to a [`Connection`] whose
//! [`runner`](Connection::runner) is a full `zfs`/`zpool` host for zfs-core's `Cli`. Connecting
//! resolves the target, opens and authenticates the ssh2 session, prepares the OpenSSH data path
//! when chosen, and asks the host once: who am I (`id -u`), where are `zfs` and `zpool`, does
//! `sudo -n` work when needed, does `zfs version` answer.

use crate::error::SshError;
use crate::handshake;
use crate::local_user::LocalUser;
use crate::openssh::{find_ssh, OpenSsh};
use crate::options::{SshOptions, Transport};
use crate::resolve::{load_config, resolve, Target};
use crate::runner::{DataPath, SshRunner};
use crate::session::Ssh2Session;
use crate::sudo::Elevation;
use std::sync::Arc;
use zfs_core::runner::Cmd;
use zfs_core::{RemoteHost, Runner};

/// The probe: the uid, then the paths of `zfs` and `zpool` (`-` when missing), looking in the
/// sbin directories a non-root login's `PATH` often lacks.
const PROBE: &str = "id -u; PATH=\"$PATH:/usr/local/sbin:/usr/sbin:/sbin\"; \
                     command -v zfs || echo -; command -v zpool || echo -";

/// An SSH connection to one host: the ssh2 control session, the data path for send streams, and
/// what connecting found out about the host.
#[derive(Debug)]
pub struct Connection {
    target: Target,
    runner: Arc<SshRunner>,
    remote_uid: u32,
    notes: Vec<String>,
}

/// Connects to `remote` with `opts`: reads the ssh_config, resolves the target, connects (TCP with
/// a timeout), checks the host key, authenticates (agent, then key files), and probes the host.
///
/// Every failure is an [`SshError`] naming the host: unreachable, handshake, unknown or changed
/// host key, authentication (with what was tried), sudo wanting a password, `zfs` missing.
pub fn connect(remote: &RemoteHost, opts: &SshOptions) -> Result<Connection, SshError> {
    let local = LocalUser::current();
    let config = load_config(opts, &local, &remote.to_string())?;
    let target = resolve(remote, opts, &config, &local)?;
    connect_target(target, opts)
}

/// [`connect`] to an already resolved [`Target`] (`opts` gives the transport, privilege elevation
/// and channel limit).
pub fn connect_target(target: Target, opts: &SshOptions) -> Result<Connection, SshError> {
    let host = target.label.clone();
    let mut notes = target.notes.clone();
    let openssh = match opts.transport {
        Transport::Ssh2 => None,
        Transport::OpenSsh => Some(find_ssh().ok_or_else(|| SshError::BadOption {
            option: "--ssh-transport openssh".into(),
            reason: "no `ssh` program on PATH".into(),
        })?),
        Transport::Auto => find_ssh(),
    };
    let openssh = match openssh {
        Some(ssh) => Some(Arc::new(OpenSsh::new(ssh, &target)?)),
        None => None,
    };
    let auth = handshake::establish(&target)?;
    if let Some(file) = &auth.recorded_key {
        notes.push(format!(
            "recorded the host key of {host} in {} (accept-new)",
            file.display()
        ));
    }
    let session = Ssh2Session::start(
        &host,
        auth.session,
        auth.tcp,
        opts.max_channels,
        target.keepalive,
    )
    .map_err(|e| SshError::ConnectionLost {
        host: host.clone(),
        detail: format!("cannot start the I/O thread: {e}"),
    })?;
    let runner = Arc::new(SshRunner::new(host.clone(), Arc::new(session), openssh));
    let remote_uid = probe(&runner, &target, opts.elevate)?;
    Ok(Connection {
        target,
        runner,
        remote_uid,
        notes,
    })
}

/// Reads the probe's answer: (uid, zfs path, zpool path).
fn parse_probe(stdout: &str) -> Option<(u32, Option<String>, Option<String>)> {
    let mut lines = stdout.lines().map(str::trim);
    let uid = lines.next()?.parse().ok()?;
    let path = |l: Option<&str>| l.filter(|p| p.starts_with('/')).map(str::to_owned);
    let zfs = path(lines.next());
    let zpool = path(lines.next());
    Some((uid, zfs, zpool))
}

/// What a failed `sudo -n ... zfs version` means.
fn sudo_error(host: &str, user: &str, stderr: &str) -> SshError {
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("password is required") || lower.contains("a terminal is required") {
        return SshError::SudoPassword {
            host: host.to_owned(),
            user: user.to_owned(),
        };
    }
    let detail = if lower.contains("sudo: not found") || lower.contains("sudo: command not found") {
        "sudo is not installed (use --no-privilege-elevation with `zfs allow` rights, or log in \
         as root)"
            .to_string()
    } else {
        stderr
            .trim()
            .lines()
            .next()
            .unwrap_or("no message")
            .to_owned()
    };
    SshError::SudoFailed {
        host: host.to_owned(),
        user: user.to_owned(),
        detail,
    }
}

/// Asks the host who we are and where `zfs` is, sets up privilege elevation, and checks that `zfs`
/// answers. Returns the remote uid.
fn probe(runner: &SshRunner, t: &Target, elevate: bool) -> Result<u32, SshError> {
    let host = t.label.clone();
    let lost = |e: std::io::Error| SshError::ConnectionLost {
        host: host.clone(),
        detail: e.to_string(),
    };
    let out = runner.run(&Cmd::new(["sh", "-c", PROBE])).map_err(lost)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (uid, zfs, zpool) = parse_probe(&text).ok_or_else(|| SshError::Probe {
        host: host.clone(),
        detail: format!(
            "`sh -c 'id -u; command -v zfs'` answered {:?} ({}; stderr: {})",
            text.trim(),
            out.status,
            out.stderr.trim()
        ),
    })?;
    if zfs.is_none() {
        return Err(SshError::RemoteZfs {
            host,
            detail: "`zfs` not found (looked in PATH and /usr/local/sbin, /usr/sbin, /sbin); is \
                     OpenZFS installed there?"
                .into(),
        });
    }
    let sudo = uid != 0 && elevate;
    runner.set_elevation(Elevation { zfs, zpool, sudo });
    let out = runner.run(&Cmd::new(["zfs", "version"])).map_err(lost)?;
    if !out.status.success() {
        let sudo_said = out.stderr.contains("sudo");
        if sudo && sudo_said {
            return Err(sudo_error(&host, &t.user, &out.stderr));
        }
        return Err(SshError::RemoteZfs {
            host,
            detail: format!(
                "`zfs version` failed ({}): {}",
                out.status,
                out.stderr.trim()
            ),
        });
    }
    Ok(uid)
}

impl Connection {
    /// The runner for this host: hand it to `zfs_core::Cli::new` for a full `Backend`. Bulk
    /// commands (`Cmd::bulk`) take the chosen data path; everything else the ssh2 session.
    pub fn runner(&self) -> Arc<dyn Runner> {
        self.runner.clone()
    }

    /// The same runner with its concrete type.
    pub fn ssh_runner(&self) -> &Arc<SshRunner> {
        &self.runner
    }

    /// What the connection was made to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The transport of send streams.
    pub fn data_path(&self) -> DataPath {
        self.runner.data_path()
    }

    /// The remote user's uid.
    pub fn remote_uid(&self) -> u32 {
        self.remote_uid
    }

    /// Whether `zfs` runs through `sudo -n` on the host.
    pub fn elevated(&self) -> bool {
        self.runner.elevated()
    }

    /// Notices for the user: a recorded host key, ignored options, skipped `Match` blocks.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Ends the session and the OpenSSH master now. Runners handed out fail from then on (without
    /// `close`, the connection ends when the last runner is dropped).
    pub fn close(self) {
        self.runner.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_answers() {
        assert_eq!(
            parse_probe("0\n/usr/sbin/zfs\n/usr/sbin/zpool\n"),
            Some((
                0,
                Some("/usr/sbin/zfs".into()),
                Some("/usr/sbin/zpool".into())
            ))
        );
        assert_eq!(parse_probe("1000\n-\n-\n"), Some((1000, None, None)));
        assert_eq!(parse_probe("1000\nzfs\n"), Some((1000, None, None)));
        assert_eq!(parse_probe("motd text\n"), None);
        assert_eq!(parse_probe(""), None);
    }

    #[test]
    fn sudo_failures_are_classified() {
        let e = sudo_error("b", "zsync", "sudo: a password is required\n");
        assert!(matches!(e, SshError::SudoPassword { .. }), "{e:?}");
        assert!(e
            .to_string()
            .starts_with("b: sudo -n needs a password for \"zsync\""));
        let e = sudo_error("b", "zsync", "sh: 1: sudo: not found\n");
        assert!(e.to_string().contains("sudo is not installed"), "{e}");
        let e = sudo_error(
            "b",
            "zsync",
            "Sorry, user zsync is not allowed to execute '/usr/sbin/zfs version' as root on b.\n",
        );
        assert!(e.to_string().contains("not allowed to execute"), "{e}");
    }
}
