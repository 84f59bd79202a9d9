//! Typed errors for every ZFS operation.
//!
//! Every variant names the dataset (or other ZFS name) it is about and the host it happened on, and carries
//! the underlying cause: an errno (libzfs_core) or an exit status plus stderr (CLI). Classification prefers
//! errno values and exit codes; where the CLI only reports text, the text is read from a `LC_ALL=C` run.

use crate::name::NameError;
use std::fmt;

/// The host label used for operations on the local machine.
pub const LOCALHOST: &str = "localhost";

/// What the operating system or the `zfs` command reported underneath a typed error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cause {
    /// An errno value returned by libzfs_core or a system call.
    Errno(i32),
    /// A command that exited unsuccessfully.
    Exit {
        /// The command line, for display only (never executed as a string).
        argv: String,
        /// Exit code; `None` when killed by a signal.
        status: Option<i32>,
        /// Last meaningful stderr text (trimmed, possibly shortened).
        stderr: String,
    },
    /// No further detail.
    #[default]
    None,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Errno(e) => {
                write!(f, "errno {e} ({})", std::io::Error::from_raw_os_error(*e))
            }
            Cause::Exit {
                argv,
                status,
                stderr,
            } => {
                match status {
                    Some(s) => write!(f, "`{argv}` exited with status {s}")?,
                    None => write!(f, "`{argv}` was killed by a signal")?,
                }
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
            Cause::None => f.write_str("no detail"),
        }
    }
}

/// Any failure of a zfs-core operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZfsError {
    /// The named dataset, snapshot, bookmark or pool does not exist.
    #[error("{host}: {name}: does not exist ({cause})")]
    NotFound {
        /// The missing name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// Something with that name already exists.
    #[error("{host}: {name}: already exists ({cause})")]
    AlreadyExists {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// The object is busy (mounted and in use, being received into, ...).
    #[error("{host}: {name}: busy ({cause})")]
    Busy {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// A snapshot cannot be destroyed because it has user holds.
    #[error("{host}: {name}: has holds ({cause})")]
    HasHolds {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// A snapshot cannot be destroyed (or rolled past) because it has clones.
    #[error("{host}: {name}: has dependent clones ({cause})")]
    HasClones {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// A rollback would destroy newer snapshots or bookmarks and was not allowed to.
    #[error("{host}: {name}: newer snapshots or bookmarks exist ({cause})")]
    HasNewerVersions {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// Out of space or over quota.
    #[error("{host}: {name}: out of space ({cause})")]
    NoSpace {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// Not permitted (not root, missing `zfs allow` delegation).
    #[error("{host}: {name}: permission denied ({cause})")]
    Permission {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// A resume token no longer matches the dataset (it changed since the interrupted receive).
    #[error("{host}: {name}: stale resume token ({cause})")]
    StaleResumeToken {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// The target holds an interrupted resumable receive; resume it or abort it (`zfs receive -A`) first.
    #[error(
        "{host}: {name}: partially received state present, resume or abort it first ({cause})"
    )]
    PartialReceive {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// A receive target was modified since the last snapshot (needs `-F` or a rollback).
    #[error(
        "{host}: {name}: destination has been modified since the most recent snapshot ({cause})"
    )]
    TargetModified {
        /// The name.
        name: String,
        /// Host label.
        host: String,
        /// Underlying cause.
        cause: Cause,
    },
    /// The operation is not available with this backend or this OpenZFS version.
    #[error("{op}: not supported by the {backend} backend: {why}")]
    Unsupported {
        /// Operation name (e.g. `hold_temporary`).
        op: &'static str,
        /// Backend name (`cli`, `lzc`).
        backend: &'static str,
        /// Why, in words.
        why: String,
    },
    /// Output of a ZFS command could not be parsed.
    #[error("{host}: {what}: cannot parse line {line}: {detail}")]
    Parse {
        /// What was being parsed (e.g. `zfs list -Hp ... tank`).
        what: String,
        /// Host label.
        host: String,
        /// 1-based line number (0 when not line oriented).
        line: usize,
        /// What was wrong.
        detail: String,
    },
    /// A name (or property name) failed validation; nothing was run.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// An argument other than a name is invalid; nothing was run.
    #[error("invalid argument for {op}: {detail}")]
    InvalidArgument {
        /// Operation name.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// An I/O error while spawning or talking to a process, or on a file descriptor.
    #[error("{host}: {name}: {op}: {source}")]
    Io {
        /// What was being done (e.g. `spawn zfs`).
        op: String,
        /// The ZFS name concerned (or the program).
        name: String,
        /// Host label.
        host: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A command failed in a way no typed variant covers.
    #[error("{host}: {name}: {cause}")]
    Command {
        /// The ZFS name concerned.
        name: String,
        /// Host label.
        host: String,
        /// Exit status and stderr.
        cause: Cause,
    },
    /// The host could not be reached, or the connection to it was lost (`ssh` exit status 255, a closed
    /// channel): nothing is known about whether the operation ran there.
    #[error("{host}: connection failed: {op}: {detail}")]
    Transport {
        /// Host label.
        host: String,
        /// What was being done (the command line, or the operation).
        op: String,
        /// What the transport reported (ssh's message, the I/O error).
        detail: String,
    },
    /// A libzfs_core call failed with an errno no typed variant covers.
    #[error("{host}: {name}: {op}: {}", Cause::Errno(*errno))]
    Errno {
        /// The libzfs_core function (e.g. `lzc_send`).
        op: &'static str,
        /// The ZFS name concerned.
        name: String,
        /// Host label.
        host: String,
        /// The errno value.
        errno: i32,
    },
}

/// ZFS-specific errno values from OpenZFS `sys/fs/zfs.h` (`zfs_errno_t`, starting at 1024).
pub mod zfs_errno {
    /// `ZFS_ERR_CHECKPOINT_EXISTS`
    pub const CHECKPOINT_EXISTS: i32 = 1024;
    /// `ZFS_ERR_DISCARDING_CHECKPOINT`
    pub const DISCARDING_CHECKPOINT: i32 = 1025;
    /// `ZFS_ERR_NO_CHECKPOINT`
    pub const NO_CHECKPOINT: i32 = 1026;
    /// `ZFS_ERR_DEVRM_IN_PROGRESS`
    pub const DEVRM_IN_PROGRESS: i32 = 1027;
    /// `ZFS_ERR_VDEV_TOO_BIG`
    pub const VDEV_TOO_BIG: i32 = 1028;
    /// `ZFS_ERR_IOC_CMD_UNAVAIL`
    pub const IOC_CMD_UNAVAIL: i32 = 1029;
    /// `ZFS_ERR_IOC_ARG_UNAVAIL`
    pub const IOC_ARG_UNAVAIL: i32 = 1030;
    /// `ZFS_ERR_IOC_ARG_REQUIRED`
    pub const IOC_ARG_REQUIRED: i32 = 1031;
    /// `ZFS_ERR_IOC_ARG_BADTYPE`
    pub const IOC_ARG_BADTYPE: i32 = 1032;
    /// `ZFS_ERR_WRONG_PARENT`
    pub const WRONG_PARENT: i32 = 1033;
    /// `ZFS_ERR_FROM_IVSET_GUID_MISSING`
    pub const FROM_IVSET_GUID_MISSING: i32 = 1034;
    /// `ZFS_ERR_FROM_IVSET_GUID_MISMATCH`
    pub const FROM_IVSET_GUID_MISMATCH: i32 = 1035;
    /// `ZFS_ERR_SPILL_BLOCK_FLAG_MISSING`
    pub const SPILL_BLOCK_FLAG_MISSING: i32 = 1036;
    /// `ZFS_ERR_UNKNOWN_SEND_STREAM_FEATURE`
    pub const UNKNOWN_SEND_STREAM_FEATURE: i32 = 1037;
    /// `ZFS_ERR_EXPORT_IN_PROGRESS`
    pub const EXPORT_IN_PROGRESS: i32 = 1038;
    /// `ZFS_ERR_BOOKMARK_SOURCE_NOT_ANCESTOR`
    pub const BOOKMARK_SOURCE_NOT_ANCESTOR: i32 = 1039;
    /// `ZFS_ERR_STREAM_TRUNCATED`
    pub const STREAM_TRUNCATED: i32 = 1040;
    /// `ZFS_ERR_STREAM_LARGE_BLOCK_MISMATCH`
    pub const STREAM_LARGE_BLOCK_MISMATCH: i32 = 1041;
    /// `ZFS_ERR_RESILVER_IN_PROGRESS`
    pub const RESILVER_IN_PROGRESS: i32 = 1042;
    /// `ZFS_ERR_REBUILD_IN_PROGRESS`
    pub const REBUILD_IN_PROGRESS: i32 = 1043;
    /// `ZFS_ERR_BADPROP`
    pub const BADPROP: i32 = 1044;
    /// `ZFS_ERR_VDEV_NOTSUP`
    pub const VDEV_NOTSUP: i32 = 1045;
    /// `ZFS_ERR_NOT_USER_NAMESPACE`
    pub const NOT_USER_NAMESPACE: i32 = 1046;
    /// `ZFS_ERR_RESUME_EXISTS`
    pub const RESUME_EXISTS: i32 = 1047;
    /// `ZFS_ERR_CRYPTO_NOTSUP`
    pub const CRYPTO_NOTSUP: i32 = 1048;
}

impl ZfsError {
    /// Classifies an errno returned by a libzfs_core call (or ioctl) on `name`.
    ///
    /// `op` is the function name for the fallback [`ZfsError::Errno`] variant.
    pub fn from_errno(op: &'static str, name: &str, host: &str, errno: i32) -> ZfsError {
        let n = name.to_owned();
        let h = host.to_owned();
        let cause = Cause::Errno(errno);
        match errno {
            libc::ENOENT => ZfsError::NotFound {
                name: n,
                host: h,
                cause,
            },
            libc::EEXIST | zfs_errno::RESUME_EXISTS => {
                if errno == zfs_errno::RESUME_EXISTS {
                    ZfsError::PartialReceive {
                        name: n,
                        host: h,
                        cause,
                    }
                } else {
                    ZfsError::AlreadyExists {
                        name: n,
                        host: h,
                        cause,
                    }
                }
            }
            libc::EBUSY => ZfsError::Busy {
                name: n,
                host: h,
                cause,
            },
            libc::ENOSPC | libc::EDQUOT => ZfsError::NoSpace {
                name: n,
                host: h,
                cause,
            },
            libc::EPERM | libc::EACCES => ZfsError::Permission {
                name: n,
                host: h,
                cause,
            },
            libc::ETXTBSY => ZfsError::TargetModified {
                name: n,
                host: h,
                cause,
            },
            _ => ZfsError::Errno {
                op,
                name: n,
                host: h,
                errno,
            },
        }
    }

    /// Classifies a failed `zfs`/`zpool` command from its exit status and its `LC_ALL=C` stderr.
    ///
    /// `candidates` are the names the command was about; the one quoted in the message (`'name'`) is
    /// reported, else the first. Exit status 2 is a usage error and is never classified further. Exit
    /// status 255 with a message of `ssh` itself (connection refused, closed, host key, ...) is
    /// [`ZfsError::Transport`].
    pub fn from_cli(
        candidates: &[&str],
        host: &str,
        argv: String,
        status: Option<i32>,
        stderr: &str,
    ) -> ZfsError {
        let name = pick_name(candidates, stderr);
        let host = host.to_owned();
        let text = stderr.to_ascii_lowercase();
        if status == Some(255) && is_ssh_failure(&text) {
            return ZfsError::Transport {
                host,
                op: argv,
                detail: shorten(stderr),
            };
        }
        let cause = Cause::Exit {
            argv,
            status,
            stderr: shorten(stderr),
        };
        let has = |pats: &[&str]| pats.iter().any(|p| text.contains(p));
        if status == Some(2) || status.is_none() {
            return ZfsError::Command { name, host, cause };
        }
        if has(&[
            "cannot resume send",
            "resume token is corrupt",
            "invalid resume token",
            "resume token",
        ]) && !has(&["contains partially-complete state"])
        {
            return ZfsError::StaleResumeToken { name, host, cause };
        }
        if has(&[
            "contains partially-complete state",
            "partially-complete state",
        ]) {
            return ZfsError::PartialReceive { name, host, cause };
        }
        if has(&["has been modified"]) {
            return ZfsError::TargetModified { name, host, cause };
        }
        if has(&["more recent snapshots", "more recent bookmarks"]) {
            return ZfsError::HasNewerVersions { name, host, cause };
        }
        if has(&["dependent clones"]) {
            return ZfsError::HasClones { name, host, cause };
        }
        if has(&[
            "does not exist",
            "no such pool",
            "no such dataset",
            "no such tag",
            "could not find any snapshots",
            "no longer exists",
            "not found",
        ]) {
            return ZfsError::NotFound { name, host, cause };
        }
        if has(&[
            "already exists",
            "exists\n",
            "' exists",
            "tag already exists",
        ]) || text.ends_with(" exists")
        {
            return ZfsError::AlreadyExists { name, host, cause };
        }
        if has(&["is held", "being held", "has holds", "user hold"]) {
            return ZfsError::HasHolds { name, host, cause };
        }
        if has(&["busy"]) {
            return ZfsError::Busy { name, host, cause };
        }
        if has(&["out of space", "quota exceeded", "no space left"]) {
            return ZfsError::NoSpace { name, host, cause };
        }
        if has(&[
            "permission denied",
            "operation not permitted",
            "insufficient privileges",
        ]) {
            return ZfsError::Permission { name, host, cause };
        }
        ZfsError::Command { name, host, cause }
    }

    /// The ZFS name this error is about, when it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            ZfsError::NotFound { name, .. }
            | ZfsError::AlreadyExists { name, .. }
            | ZfsError::Busy { name, .. }
            | ZfsError::HasHolds { name, .. }
            | ZfsError::HasClones { name, .. }
            | ZfsError::HasNewerVersions { name, .. }
            | ZfsError::NoSpace { name, .. }
            | ZfsError::Permission { name, .. }
            | ZfsError::StaleResumeToken { name, .. }
            | ZfsError::PartialReceive { name, .. }
            | ZfsError::TargetModified { name, .. }
            | ZfsError::Io { name, .. }
            | ZfsError::Command { name, .. }
            | ZfsError::Errno { name, .. } => Some(name),
            ZfsError::InvalidName(e) => Some(&e.name),
            ZfsError::Unsupported { .. }
            | ZfsError::Parse { .. }
            | ZfsError::Transport { .. }
            | ZfsError::InvalidArgument { .. } => None,
        }
    }

    /// The host label this error happened on, when known.
    pub fn host(&self) -> Option<&str> {
        match self {
            ZfsError::NotFound { host, .. }
            | ZfsError::AlreadyExists { host, .. }
            | ZfsError::Busy { host, .. }
            | ZfsError::HasHolds { host, .. }
            | ZfsError::HasClones { host, .. }
            | ZfsError::HasNewerVersions { host, .. }
            | ZfsError::NoSpace { host, .. }
            | ZfsError::Permission { host, .. }
            | ZfsError::StaleResumeToken { host, .. }
            | ZfsError::PartialReceive { host, .. }
            | ZfsError::TargetModified { host, .. }
            | ZfsError::Io { host, .. }
            | ZfsError::Command { host, .. }
            | ZfsError::Errno { host, .. }
            | ZfsError::Transport { host, .. }
            | ZfsError::Parse { host, .. } => Some(host),
            _ => None,
        }
    }

    /// Whether this is [`ZfsError::Transport`]: the host, not ZFS, failed.
    pub fn is_transport(&self) -> bool {
        matches!(self, ZfsError::Transport { .. })
    }

    /// Whether this is [`ZfsError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, ZfsError::NotFound { .. })
    }
}

/// What `ssh` itself prints (lowercased) when it cannot connect or loses the connection; with exit
/// status 255 (ssh's own) such a message means the transport failed, not the command.
fn is_ssh_failure(lower_stderr: &str) -> bool {
    [
        "ssh: ",
        "connection closed by",
        "connection reset by",
        "connection timed out",
        "connection refused",
        "broken pipe",
        "host key verification failed",
        "permission denied (publickey",
        "could not resolve hostname",
    ]
    .iter()
    .any(|p| lower_stderr.contains(p))
}

/// The candidate that stderr quotes (`'name'`), else the first candidate.
fn pick_name(candidates: &[&str], stderr: &str) -> String {
    let mut rest = stderr;
    while let Some(start) = rest.find('\'') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('\'') else { break };
        let quoted = &after[..end];
        if let Some(c) = candidates.iter().find(|c| **c == quoted) {
            return (*c).to_owned();
        }
        rest = &after[end + 1..];
    }
    candidates
        .first()
        .map(|s| (*s).to_owned())
        .unwrap_or_default()
}

/// Keeps the meaningful part of stderr: trimmed, at most 2000 bytes (the end, where the error is).
fn shorten(stderr: &str) -> String {
    let t = stderr.trim();
    if t.len() <= 2000 {
        return t.to_owned();
    }
    let mut start = t.len() - 2000;
    while !t.is_char_boundary(start) {
        start += 1;
    }
    format!("...{}", &t[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_classification() {
        assert!(
            ZfsError::from_errno("lzc_exists", "tank/a", LOCALHOST, libc::ENOENT).is_not_found()
        );
        assert!(matches!(
            ZfsError::from_errno("lzc_snapshot", "tank/a@s", LOCALHOST, libc::EEXIST),
            ZfsError::AlreadyExists { .. }
        ));
        assert!(matches!(
            ZfsError::from_errno(
                "lzc_receive",
                "tank/a@s",
                LOCALHOST,
                zfs_errno::RESUME_EXISTS
            ),
            ZfsError::PartialReceive { .. }
        ));
        let e = ZfsError::from_errno("lzc_send", "tank/a@s", "host1", libc::EIO);
        assert!(matches!(e, ZfsError::Errno { errno, .. } if errno == libc::EIO));
        let text = e.to_string();
        assert!(
            text.contains("host1") && text.contains("tank/a@s") && text.contains("lzc_send"),
            "{text}"
        );
    }

    #[test]
    fn cli_classification() {
        let c = |stderr: &str| {
            ZfsError::from_cli(&["p/a", "p/b@s"], "h", "zfs x".into(), Some(1), stderr)
        };
        assert!(c("cannot open 'p/b@s': dataset does not exist\n").is_not_found());
        assert_eq!(
            c("cannot open 'p/b@s': dataset does not exist\n").name(),
            Some("p/b@s")
        );
        assert_eq!(
            c("cannot open 'zz': dataset does not exist\n").name(),
            Some("p/a")
        );
        assert!(matches!(
            c("cannot create snapshot 'p/a@s': dataset already exists"),
            ZfsError::AlreadyExists { .. }
        ));
        assert!(matches!(c("cannot receive new filesystem stream: destination 'p/a' exists\nmust specify -F to overwrite it"), ZfsError::AlreadyExists { .. }));
        assert!(matches!(
            c("cannot destroy snapshot p/a@s: dataset is busy"),
            ZfsError::Busy { .. }
        ));
        assert!(matches!(
            c("cannot destroy 'p/a@s': snapshot has dependent clones"),
            ZfsError::HasClones { .. }
        ));
        assert!(matches!(
            c("cannot rollback to 'p/a@s': more recent snapshots or bookmarks exist"),
            ZfsError::HasNewerVersions { .. }
        ));
        assert!(matches!(c("cannot receive incremental stream: destination p/a has been modified\nsince most recent snapshot"), ZfsError::TargetModified { .. }));
        assert!(matches!(c("cannot receive new filesystem stream: destination p/a contains partially-complete state from \"zfs receive -s\"."), ZfsError::PartialReceive { .. }));
        assert!(matches!(
            c("cannot resume send: 'p/a@s' used in the initial send no longer exists"),
            ZfsError::StaleResumeToken { .. }
        ));
        assert!(matches!(
            c("cannot create 'p/a': out of space"),
            ZfsError::NoSpace { .. }
        ));
        assert!(matches!(
            c("cannot create 'p/a': permission denied"),
            ZfsError::Permission { .. }
        ));
        assert!(matches!(c("something else"), ZfsError::Command { .. }));
        let usage = ZfsError::from_cli(&["p/a"], "h", "zfs x".into(), Some(2), "does not exist");
        assert!(matches!(usage, ZfsError::Command { .. }));
        let long = "x".repeat(5000) + "é";
        let Cause::Exit { stderr, .. } = (match c(&long) {
            ZfsError::Command { cause, .. } => cause,
            _ => unreachable!(),
        }) else {
            unreachable!()
        };
        assert!(stderr.len() <= 2004);
    }

    #[test]
    fn ssh_failures_are_transport_errors() {
        let c = |status, stderr: &str| {
            ZfsError::from_cli(
                &["p/a"],
                "backup1",
                "zfs list p/a".into(),
                Some(status),
                stderr,
            )
        };
        let e = c(
            255,
            "ssh: connect to host backup1 port 22: Connection refused\r\n",
        );
        assert!(e.is_transport(), "{e:?}");
        assert_eq!(e.host(), Some("backup1"));
        assert_eq!(e.name(), None);
        assert!(
            e.to_string().starts_with("backup1: connection failed"),
            "{e}"
        );
        assert!(c(255, "Connection closed by 10.0.0.2 port 22").is_transport());
        assert!(c(255, "client_loop: send disconnect: Broken pipe").is_transport());
        // 255 without an ssh message, or an ssh-looking message with another status: not transport.
        assert!(!c(255, "internal error: out of memory").is_transport());
        assert!(!c(1, "cannot open 'p/a': connection refused").is_transport());
    }

    #[test]
    fn holds_message_is_has_holds() {
        let e = ZfsError::from_cli(
            &["p/b@s"],
            "h",
            "zfs destroy p/b@s".into(),
            Some(1),
            "cannot destroy snapshot p/b@s: it's being held. Run 'zfs holds -r p/b@s' to see holders.",
        );
        assert!(
            matches!(e, ZfsError::HasHolds { ref name, .. } if name == "p/b@s"),
            "{e:?}"
        );
    }

    #[test]
    fn display_names_dataset_and_host() {
        let e = ZfsError::NotFound {
            name: "tank/my data".into(),
            host: "backup1".into(),
            cause: Cause::Exit {
                argv: "zfs list tank/my data".into(),
                status: Some(1),
                stderr: "x".into(),
            },
        };
        let s = e.to_string();
        assert!(
            s.starts_with("backup1: tank/my data: does not exist"),
            "{s}"
        );
        assert_eq!(e.name(), Some("tank/my data"));
        assert_eq!(e.host(), Some("backup1"));
    }
}
