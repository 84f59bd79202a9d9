//! From what libzfs_core returns (a return code, an error list, an nvlist failure, a panicked worker
//! thread) to a typed [`ZfsError`].

use super::nvlist::NvError;
use crate::error::{ZfsError, LOCALHOST};

/// Maps an nvlist construction failure of `op`.
pub(super) fn nv_err(op: &'static str) -> impl Fn(NvError) -> ZfsError {
    move |e| match e {
        NvError::Nul(s) => ZfsError::InvalidArgument {
            op,
            detail: format!("{s:?} contains a NUL byte"),
        },
        NvError::Errno { errno, key, .. } => ZfsError::Errno {
            op,
            name: key,
            host: LOCALHOST.to_owned(),
            errno,
        },
    }
}

/// Maps a failed call to a typed error: the first entry of the error list (it names the failing object),
/// else the return code against `fallback` (the first name of the batch).
pub(super) fn call_error(
    op: &'static str,
    rc: i32,
    entries: &[(String, i32)],
    fallback: &str,
) -> ZfsError {
    match entries.iter().find(|(_, e)| *e != 0) {
        Some((name, errno)) => ZfsError::from_errno(op, name, LOCALHOST, *errno),
        None => ZfsError::from_errno(
            op,
            fallback,
            LOCALHOST,
            if rc == 0 { libc::EIO } else { rc },
        ),
    }
}

/// Refines an `lzc_destroy_snaps` error: the kernel says EEXIST for clones and EBUSY for user holds (or a
/// snapshot in use, e.g. being sent); `has_holds` tells the two EBUSY cases apart.
pub(super) fn destroy_error(e: ZfsError, has_holds: impl Fn(&str) -> bool) -> ZfsError {
    match e {
        ZfsError::AlreadyExists { name, host, cause } => ZfsError::HasClones { name, host, cause },
        ZfsError::Busy { name, host, cause } if has_holds(&name) => {
            ZfsError::HasHolds { name, host, cause }
        }
        other => other,
    }
}

/// Maps a send's errno.
pub(super) fn send_error(op: &'static str, name: &str, rc: i32) -> ZfsError {
    ZfsError::from_errno(op, name, LOCALHOST, rc)
}

/// Maps a receive's errno; a stream that ended early gets a readable I/O error (kind `UnexpectedEof`)
/// instead of the bare ZFS errno 1040.
pub(super) fn receive_error(op: &'static str, name: &str, rc: i32) -> ZfsError {
    if rc == crate::error::zfs_errno::STREAM_TRUNCATED {
        return ZfsError::Io {
            op: op.to_owned(),
            name: name.to_owned(),
            host: LOCALHOST.into(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "send stream truncated (ZFS_ERR_STREAM_TRUNCATED); a resumable receive kept its partial state",
            ),
        };
    }
    ZfsError::from_errno(op, name, LOCALHOST, rc)
}

/// A worker thread of `op` that panicked.
pub(super) fn thread_error(op: &'static str, name: &str) -> ZfsError {
    ZfsError::Io {
        op: format!("{op} thread"),
        name: name.to_owned(),
        host: LOCALHOST.into(),
        source: std::io::Error::other("worker thread panicked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errlist_error_names_the_failing_object() {
        let e = call_error("lzc_snapshot", libc::EEXIST, &[], "p/a@1");
        assert!(matches!(e, ZfsError::AlreadyExists { ref name, .. } if name == "p/a@1"));
        let e = call_error("lzc_hold", 0, &[], "p/a@1");
        assert!(matches!(e, ZfsError::Errno { errno, .. } if errno == libc::EIO));
        let entries = [("p/b@1".to_owned(), libc::ENOENT)];
        let e = call_error("lzc_hold", 0, &entries, "p/a@1");
        assert!(matches!(e, ZfsError::NotFound { ref name, .. } if name == "p/b@1"));
    }

    #[test]
    fn destroy_errors_are_refined() {
        let err = |errno| ZfsError::from_errno("lzc_destroy_snaps", "p/a@1", LOCALHOST, errno);
        assert!(matches!(
            destroy_error(err(libc::EEXIST), |_| false),
            ZfsError::HasClones { .. }
        ));
        assert!(matches!(
            destroy_error(err(libc::EBUSY), |n| n == "p/a@1"),
            ZfsError::HasHolds { .. }
        ));
        assert!(matches!(
            destroy_error(err(libc::EBUSY), |_| false),
            ZfsError::Busy { .. }
        ));
        assert!(destroy_error(err(libc::ENOENT), |_| true).is_not_found());
    }

    #[test]
    fn truncated_stream_is_a_readable_eof() {
        let e = receive_error("lzc_receive_resumable", "p/a@1", 1040);
        assert!(
            matches!(&e, ZfsError::Io { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof),
            "{e}"
        );
        assert!(e.to_string().contains("p/a@1") && e.to_string().contains("truncated"));
        assert!(matches!(
            receive_error("lzc_receive", "p/a@1", libc::EBUSY),
            ZfsError::Busy { .. }
        ));
    }
}
