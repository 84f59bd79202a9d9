//! [`SshError`]: every way reaching a host over SSH can fail, each naming the host (and port), and its
//! conversion to zfs-core's [`ZfsError::Transport`](zfs_core::ZfsError::Transport).

use std::fmt;
use std::path::PathBuf;

/// Where an ssh_config value came from: `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// The line, counted from 1 (0: the file as a whole).
    pub line: usize,
}

impl fmt::Display for Origin {
    /// `file:line`, or just `file` for line 0 (the file as a whole).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// A failure to reach, authenticate to, or talk to a host over SSH.
///
/// `host` is the host as the user wrote it (`[user@]host[:port]`); where the network address differs
/// (an ssh_config `HostName`, a port), `addr` says what was dialled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// The TCP connection could not be made: refused, timed out, no route, or the name did not resolve.
    #[error("{host}: cannot reach {addr}: {detail}")]
    Unreachable {
        /// The host.
        host: String,
        /// `address:port` dialled.
        addr: String,
        /// What failed.
        detail: String,
    },
    /// TCP connected, but the SSH handshake (banner, key exchange, cipher negotiation) failed.
    #[error("{host}: SSH handshake with {addr} failed: {detail}")]
    Handshake {
        /// The host.
        host: String,
        /// `address:port` dialled.
        addr: String,
        /// What failed.
        detail: String,
    },
    /// The server's host key is not in any known_hosts file.
    #[error(
        "{host}: host key not known ({key_type} {fingerprint}); after checking the fingerprint \
         out of band, add this line to {}: {line}  (or allow recording new keys with \
         StrictHostKeyChecking=accept-new)",
        file.display()
    )]
    HostKeyUnknown {
        /// The host.
        host: String,
        /// The key's type (`ssh-ed25519`, ...).
        key_type: String,
        /// `SHA256:...` (OpenSSH's form).
        fingerprint: String,
        /// The known_hosts file the line belongs in.
        file: PathBuf,
        /// The exact known_hosts line to add.
        line: String,
    },
    /// The server presents a different key than the one recorded: never accepted.
    #[error(
        "{host}: HOST KEY CHANGED: the server now presents {key_type} {fingerprint}, but {known} \
         holds a different key for it; refusing to connect (someone may be intercepting the \
         connection; if the host was reinstalled, remove that line after checking the new \
         fingerprint)"
    )]
    HostKeyChanged {
        /// The host.
        host: String,
        /// The key's type.
        key_type: String,
        /// `SHA256:...` of the key the server presents now.
        fingerprint: String,
        /// `file:line` of the recorded key.
        known: Origin,
    },
    /// The server's key is marked `@revoked` in a known_hosts file.
    #[error("{host}: host key {key_type} {fingerprint} is marked @revoked in {known}; refusing to connect")]
    HostKeyRevoked {
        /// The host.
        host: String,
        /// The key's type.
        key_type: String,
        /// `SHA256:...`.
        fingerprint: String,
        /// `file:line` of the `@revoked` entry.
        known: Origin,
    },
    /// No offered key was accepted (zsync never uses passwords).
    #[error("{host}: authentication as {user:?} failed; tried {}", tried_list(.tried))]
    AuthFailed {
        /// The host.
        host: String,
        /// The remote user.
        user: String,
        /// What was tried, in order, each with its outcome (`agent key ... rejected`, `key file ...
        /// not found`, `server accepts only password`).
        tried: Vec<String>,
    },
    /// `sudo -n` for a non-root user wants a password.
    #[error(
        "{host}: sudo -n needs a password for {user:?} (it never prompts); allow it without one \
         for zfs (NOPASSWD in sudoers), log in as root, or use --no-privilege-elevation with \
         `zfs allow` rights"
    )]
    SudoPassword {
        /// The host.
        host: String,
        /// The remote user.
        user: String,
    },
    /// `sudo -n` failed for another reason (not installed, not allowed to run zfs).
    #[error("{host}: sudo -n for {user:?} failed: {detail}")]
    SudoFailed {
        /// The host.
        host: String,
        /// The remote user.
        user: String,
        /// What sudo said.
        detail: String,
    },
    /// The remote `zfs` program is missing or does not work.
    #[error("{host}: {detail}")]
    RemoteZfs {
        /// The host.
        host: String,
        /// `zfs: command not found`, or what `zfs version` said.
        detail: String,
    },
    /// A command run while connecting (`id -u`, finding `zfs`) gave an answer zsync cannot read.
    #[error("{host}: {detail}")]
    Probe {
        /// The host.
        host: String,
        /// What was asked and what came back.
        detail: String,
    },
    /// The SSH connection or one of its channels was lost or refused.
    #[error("{host}: SSH connection lost: {detail}")]
    ConnectionLost {
        /// The host.
        host: String,
        /// What happened.
        detail: String,
    },
    /// The OpenSSH data path could not be set up.
    #[error("{host}: OpenSSH master connection failed: {detail}")]
    OpenSsh {
        /// The host.
        host: String,
        /// What `ssh` said.
        detail: String,
    },
    /// A `-o Key=Value` option or a flag value zsync cannot honour.
    #[error("ssh option {option:?}: {reason}")]
    BadOption {
        /// The option as given.
        option: String,
        /// Why it is refused.
        reason: String,
    },
    /// An ssh_config file could not be read or a value in it is unusable.
    #[error("{host}: ssh config {origin}: {reason}")]
    Config {
        /// The host being resolved.
        host: String,
        /// Where.
        origin: Origin,
        /// What is wrong.
        reason: String,
    },
    /// A local file operation failed (known_hosts, a key file, a temporary directory).
    #[error("{host}: {what} {}: {source}", path.display())]
    Io {
        /// The host.
        host: String,
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn tried_list(tried: &[String]) -> String {
    if tried.is_empty() {
        "nothing (no agent, no key file found)".into()
    } else {
        tried.join("; ")
    }
}

impl SshError {
    /// The host the error is about (`None` for a bad option, which is about no host yet).
    pub fn host(&self) -> Option<&str> {
        match self {
            SshError::Unreachable { host, .. }
            | SshError::Handshake { host, .. }
            | SshError::HostKeyUnknown { host, .. }
            | SshError::HostKeyChanged { host, .. }
            | SshError::HostKeyRevoked { host, .. }
            | SshError::AuthFailed { host, .. }
            | SshError::SudoPassword { host, .. }
            | SshError::SudoFailed { host, .. }
            | SshError::RemoteZfs { host, .. }
            | SshError::Probe { host, .. }
            | SshError::ConnectionLost { host, .. }
            | SshError::OpenSsh { host, .. }
            | SshError::Config { host, .. }
            | SshError::Io { host, .. } => Some(host),
            SshError::BadOption { .. } => None,
        }
    }

    /// The backend error for this failure: [`ZfsError::Transport`](zfs_core::ZfsError::Transport)
    /// naming the host, `op` saying what was being done.
    pub fn into_zfs(self, op: &str) -> zfs_core::ZfsError {
        let host = self.host().unwrap_or("ssh").to_owned();
        zfs_core::ZfsError::Transport {
            host,
            op: op.to_owned(),
            detail: self.to_string(),
        }
    }
}

impl From<SshError> for zfs_core::ZfsError {
    /// [`SshError::into_zfs`] with the operation `connect`.
    fn from(e: SshError) -> zfs_core::ZfsError {
        e.into_zfs("connect")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_names_the_host() {
        let h = || "root@backup:2222".to_string();
        let errors = [
            SshError::Unreachable {
                host: h(),
                addr: "10.0.0.2:2222".into(),
                detail: "Connection refused".into(),
            },
            SshError::AuthFailed {
                host: h(),
                user: "root".into(),
                tried: vec!["agent: not running".into(), "key /k: rejected".into()],
            },
            SshError::SudoPassword {
                host: h(),
                user: "zsync".into(),
            },
            SshError::HostKeyChanged {
                host: h(),
                key_type: "ssh-ed25519".into(),
                fingerprint: "SHA256:abc".into(),
                known: Origin {
                    file: "/root/.ssh/known_hosts".into(),
                    line: 7,
                },
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(text.starts_with("root@backup:2222: "), "{text}");
            assert_eq!(e.host(), Some("root@backup:2222"));
            let z = e.into_zfs("connect");
            assert!(z.is_transport());
            assert_eq!(z.host(), Some("root@backup:2222"));
        }
    }

    #[test]
    fn details_are_in_the_message() {
        let e = SshError::HostKeyChanged {
            host: "b".into(),
            key_type: "ssh-ed25519".into(),
            fingerprint: "SHA256:abc".into(),
            known: Origin {
                file: "/k".into(),
                line: 3,
            },
        };
        assert!(e.to_string().contains("/k:3"), "{e}");
        assert!(e.to_string().contains("SHA256:abc"), "{e}");
        let e = SshError::AuthFailed {
            host: "b".into(),
            user: "u".into(),
            tried: vec![],
        };
        assert!(e.to_string().contains("no agent, no key file"), "{e}");
    }
}
