//! Exit codes and the error that carries one.
//!
//! 0 success; 1 partial (some dataset skipped, a hook failed, a monitor warning); 2 failure (bad
//! usage, bad config, a ZFS error, a monitor critical).

/// Exit code: everything done.
pub const EXIT_OK: u8 = 0;
/// Exit code: some datasets skipped / busy, hook failures, monitor WARN.
pub const EXIT_PARTIAL: u8 = 1;
/// Exit code: usage or config error, ZFS failure, monitor CRIT.
pub const EXIT_FAILURE: u8 = 2;

/// An error that carries its exit code and is printed as one line.
#[derive(Debug)]
pub struct Fail {
    /// Exit code.
    pub code: u8,
    /// Message (one line, without the program prefix).
    pub message: String,
}

impl Fail {
    /// Exit 2 with `message`.
    pub fn failure(message: impl Into<String>) -> Fail {
        Fail {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }
}

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Fail {
        Fail::failure(format!("{e:#}"))
    }
}
