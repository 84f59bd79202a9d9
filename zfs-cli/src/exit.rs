//! Exit codes, the error that carries one, and the mapping of the libraries' outcomes onto them.
//!
//! 0 success; 1 partial (some dataset skipped, a hook failed, a monitor warning); 2 failure (bad
//! usage, bad config, a ZFS error, a monitor critical); 3 monitor UNKNOWN; 75 the run lock stayed
//! busy; 128 + the signal when SIGINT (130), SIGTERM (143) or SIGHUP (129) stopped a run
//! ([`crate::signals::exit_code`]).

use zsync_ops::monitor::{CheckReport, CheckState};
use zsync_ops::{Report, RunOutcome};

/// Exit code: everything done.
pub const EXIT_OK: u8 = 0;
/// Exit code: some datasets skipped / busy, hook failures, monitor WARN.
pub const EXIT_PARTIAL: u8 = 1;
/// Exit code: usage or config error, ZFS failure, monitor CRIT.
pub const EXIT_FAILURE: u8 = 2;
/// Exit code: Nagios UNKNOWN (a monitor check could not read its input).
pub const EXIT_UNKNOWN: u8 = 3;
/// Exit code: the run lock stayed busy (EX_TEMPFAIL from sysexits.h).
pub const EXIT_LOCKED: u8 = 75;

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

/// A library result's exit code.
pub trait AsExitCode {
    /// The exit code this result ends the program with.
    fn exit_code(&self) -> u8;
}

impl AsExitCode for RunOutcome {
    fn exit_code(&self) -> u8 {
        match self {
            RunOutcome::Done => EXIT_OK,
            RunOutcome::Partial => EXIT_PARTIAL,
            RunOutcome::Failed => EXIT_FAILURE,
        }
    }
}

impl AsExitCode for Report {
    /// 2 when a ZFS operation failed; 1 when a hook failed, something was skipped for a problem,
    /// or a configured dataset is missing; else 0.
    fn exit_code(&self) -> u8 {
        self.outcome().exit_code()
    }
}

impl AsExitCode for CheckState {
    fn exit_code(&self) -> u8 {
        match self {
            CheckState::Ok => EXIT_OK,
            CheckState::Warn => EXIT_PARTIAL,
            CheckState::Crit => EXIT_FAILURE,
            CheckState::Unknown => EXIT_UNKNOWN,
        }
    }
}

impl AsExitCode for CheckReport {
    fn exit_code(&self) -> u8 {
        self.state().exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zsync_ops::{Failure, HookReport};

    #[test]
    fn exit_codes() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.hooks.push(HookReport {
            script: "pre_snapshot_script".into(),
            targets: vec!["tank".into()],
            outcome: "failed with exit status 1".into(),
            ok: false,
        });
        assert_eq!(r.exit_code(), 1);
        r.failures.push(Failure {
            what: "snapshot tank@x".into(),
            error: "out of space".into(),
        });
        assert_eq!(r.exit_code(), 2);
    }
}
