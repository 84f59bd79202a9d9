//! A ZFS operation that failed during a run: told as an event and kept in the report.

use crate::events::Events;
use crate::report::{Failure, Report};
use zfs_core::ZfsError;

/// Records that `what` (`snapshot tank@x`, `destroy tank@y`) failed with `error`.
pub(crate) fn failed(report: &mut Report, events: &mut dyn Events, what: String, error: &ZfsError) {
    let failure = Failure {
        what,
        error: error.to_string(),
    };
    events.operation_failed(&failure);
    report.failures.push(failure);
}
