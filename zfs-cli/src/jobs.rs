//! The job file (`/etc/zsync/jobs.toml`, zsync-ops' [`zsync_ops::jobs`]) as the binary uses it:
//! loaded, the jobs asked for picked by name, and each job's source/target pair resolved exactly as
//! the `zsync sync` command line with the same flags would be (the job's argument vector goes
//! through the binary's own `SyncArgs` and [`resolve`]). Used by `zsync run`, `status`,
//! `monitor lag` and `drill`.

use crate::args::resolve::{resolve, Resolved};
use crate::args::SyncArgs;
use crate::exit::Fail;
use crate::sync::OpenedPair;
use chrono::{DateTime, Utc};
use clap::Parser;
use std::path::{Path, PathBuf};
use zsync_ops::jobs::{Job, JobFile, DEFAULT_PATH};
use zsync_ops::replica::ReplicaState;

/// One source/target pair of a job, resolved.
pub struct JobPair {
    /// The job's flags and endpoints as `zsync sync` parses them.
    pub args: SyncArgs,
    /// The resolved endpoints, tree and options.
    pub resolved: Resolved,
}

/// `--jobs-file`, else `ZSYNC_JOBS` (clap reads it), else [`DEFAULT_PATH`].
pub fn path(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| PathBuf::from(DEFAULT_PATH), Path::to_path_buf)
}

/// Loads the job file; one line naming the file on error.
pub fn load(given: Option<&Path>) -> Result<JobFile, Fail> {
    JobFile::load(&path(given)).map_err(|e| Fail::failure(e.to_string()))
}

/// The jobs named (in the order given), or every job when `names` is empty; an unknown name is
/// an error naming it and the jobs the file has.
pub fn select<'f>(file: &'f JobFile, names: &[String]) -> Result<Vec<&'f Job>, Fail> {
    if names.is_empty() {
        return Ok(file.jobs.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            file.job(n).ok_or_else(|| {
                let known: Vec<&str> = file.jobs.iter().map(|j| j.name.as_str()).collect();
                Fail::failure(format!(
                    "{}: no job named '{n}' (jobs: {})",
                    file.label,
                    known.join(", ")
                ))
            })
        })
        .collect()
}

#[derive(Parser)]
struct SyncLine {
    #[command(flatten)]
    args: SyncArgs,
}

/// Every pair of `job` resolved as `zsync sync` would; an error names the file, the job's line
/// and the option.
pub fn pairs(file: &JobFile, job: &Job) -> Result<Vec<JobPair>, Fail> {
    (0..job.pairs().len())
        .map(|i| {
            let mut argv = vec!["sync".to_string()];
            argv.extend(job.sync_args(i).unwrap_or_default());
            let args = SyncLine::try_parse_from(&argv)
                .map_err(|e| {
                    let first = e.to_string();
                    let first = first
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("error: ");
                    Fail::failure(file.error_at(job, first).to_string())
                })?
                .args;
            let resolved = resolve(&args, false)
                .map_err(|e| Fail::failure(file.error_at(job, e.message).to_string()))?;
            Ok(JobPair { args, resolved })
        })
        .collect()
}

/// The live state of each dataset of `pair` on its opened hosts
/// ([`zsync_ops::replica::measure`]); the error is one line naming the side and host.
pub fn measure(
    host: &OpenedPair,
    pair: &JobPair,
    now: DateTime<Utc>,
) -> Result<Vec<ReplicaState>, String> {
    zsync_ops::replica::measure(
        host.source.backend.as_ref(),
        host.target_backend(),
        &pair.resolved.spec,
        now,
    )
    .map_err(|e| e.to_string())
}
