//! One replication job, checked.

use super::{Location, Retention, SyncSettings};
use zfs_core::Endpoint;

/// A command run when a job fails: an argument vector (no shell), the run's summary as JSON on
/// its stdin and key facts in its environment (given by `zsync run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCommand {
    /// Program and arguments; never empty, the program never an empty string.
    pub argv: Vec<String>,
}

/// One `[[job]]` of the job file.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job's name, unique in the file (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// Where the job's `[[job]]` header is, for errors found later (see
    /// [`JobFile::error_at`](super::JobFile::error_at)).
    pub location: Location,
    /// The datasets to replicate, at least one.
    pub sources: Vec<Endpoint>,
    /// Where they go: with one source the target dataset itself (as `zsync sync SRC DST`); with
    /// several, each source goes to `TARGET/<its last name component>`.
    pub target: Endpoint,
    /// The `zsync sync` options.
    pub settings: SyncSettings,
    /// Run when the job fails.
    pub on_failure: Option<FailureCommand>,
    /// Prune the target by these rules after replicating; `None`: the target is not pruned.
    pub retention: Option<Retention>,
}

impl Job {
    /// Each source with the target dataset it replicates to.
    pub fn pairs(&self) -> Vec<(Endpoint, Endpoint)> {
        if self.sources.len() == 1 {
            return vec![(self.sources[0].clone(), self.target.clone())];
        }
        self.sources
            .iter()
            .map(|s| (s.clone(), child_target(&self.target, s)))
            .collect()
    }

    /// The arguments after `zsync sync` that replicate pair `index` of [`Job::pairs`]: the flags
    /// (see [`SyncSettings::to_flags`]), then source and target. The binary parses these with its
    /// own `SyncArgs`, so a job means exactly what the command line means. `None` past the end.
    pub fn sync_args(&self, index: usize) -> Option<Vec<String>> {
        let (source, target) = self.pairs().into_iter().nth(index)?;
        let mut args = self.settings.to_flags();
        args.push(source.to_string());
        args.push(target.to_string());
        Some(args)
    }
}

/// `target/<last component of source>`; both names are valid, so the child is too (unless it is
/// too long, which [`JobFile`](super::JobFile) checks when it builds the job).
pub(super) fn child_target(target: &Endpoint, source: &Endpoint) -> Endpoint {
    try_child_target(target, source).unwrap_or_else(|| target.clone())
}

/// `target/<last component of source>`, or `None` when that name is not valid.
pub(super) fn try_child_target(target: &Endpoint, source: &Endpoint) -> Option<Endpoint> {
    let src = source.dataset.as_str();
    let leaf = src.rsplit('/').next().unwrap_or(src);
    Endpoint::parse(&format!("{target}/{leaf}")).ok()
}
