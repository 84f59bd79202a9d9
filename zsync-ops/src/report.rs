//! What a snapshot/prune run did: created, destroyed, skipped, hook runs, failures; and how the
//! run went overall ([`RunOutcome`]), for the front end to map onto its exit code.

use serde::Serialize;

/// One hook run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HookReport {
    /// Config key (`pre_snapshot_script`, ...).
    pub script: String,
    /// Datasets it was about.
    pub targets: Vec<String>,
    /// `succeeded`, `failed with exit status 1`, `timed out after 5 s and was killed`, ...
    pub outcome: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// A failed operation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Failure {
    /// What was attempted (`snapshot tank@x`, `destroy tank@y`, `list tank`).
    pub what: String,
    /// The error.
    pub error: String,
}

/// A dataset or snapshot deliberately left alone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skip {
    /// Dataset or snapshot.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The result of a snapshot/prune run.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct Report {
    /// Nothing was changed.
    pub dry_run: bool,
    /// The run's time (RFC 3339, UTC).
    pub now: String,
    /// Snapshots created (or that would be, in a dry run).
    pub created: Vec<String>,
    /// Snapshots destroyed (or that would be).
    pub destroyed: Vec<String>,
    /// Left alone on purpose (hook vetoes, holds, prune_defer, missing datasets).
    pub skipped: Vec<Skip>,
    /// Hook runs.
    pub hooks: Vec<HookReport>,
    /// Failed ZFS operations.
    pub failures: Vec<Failure>,
    /// Configured datasets that do not exist.
    pub missing: Vec<String>,
}

/// How a run went, worst first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunOutcome {
    /// Everything done.
    Done,
    /// A hook failed, or a configured dataset is missing.
    Partial,
    /// A ZFS operation failed.
    Failed,
}

impl Report {
    /// [`RunOutcome::Failed`] when a ZFS operation failed; [`RunOutcome::Partial`] when a hook
    /// failed or a configured dataset is missing; else [`RunOutcome::Done`].
    pub fn outcome(&self) -> RunOutcome {
        if !self.failures.is_empty() {
            RunOutcome::Failed
        } else if !self.missing.is_empty() || self.hooks.iter().any(|h| !h.ok) {
            RunOutcome::Partial
        } else {
            RunOutcome::Done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_is_the_worst_problem() {
        let mut r = Report::default();
        assert_eq!(r.outcome(), RunOutcome::Done);
        r.missing.push("tank/gone".into());
        assert_eq!(r.outcome(), RunOutcome::Partial);
        r.missing.clear();
        r.hooks.push(HookReport {
            script: "pruning_script".into(),
            targets: vec!["tank".into()],
            outcome: "succeeded".into(),
            ok: true,
        });
        assert_eq!(r.outcome(), RunOutcome::Done);
        r.hooks[0].ok = false;
        assert_eq!(r.outcome(), RunOutcome::Partial);
        r.failures.push(Failure {
            what: "destroy tank@x".into(),
            error: "dataset is busy".into(),
        });
        assert_eq!(r.outcome(), RunOutcome::Failed);
    }
}
