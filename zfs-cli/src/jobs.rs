//! The job file (`/etc/zsync/jobs.toml`, zsync-ops' [`zsync_ops::jobs`]) as the binary uses it:
//! loaded, the jobs asked for picked by name, and each job's source/target pair resolved exactly as
//! the `zsync sync` command line with the same flags would be (the job's argument vector goes
//! through the binary's own `SyncArgs` and [`resolve`]). Used by `zsync run`, `status`,
//! `monitor lag` and `drill`.

use crate::args::resolve::{resolve, Resolved};
use crate::args::SyncArgs;
use crate::exit::Fail;
use crate::sync::OpenedPair;
use std::collections::BTreeMap;
use clap::Parser;
use std::path::{Path, PathBuf};
use zsync_ops::jobs::{Job, JobFile, DEFAULT_PATH};

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

/// The newest snapshot a target dataset shares with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// The source dataset it came from.
    pub source: zfs_core::DatasetName,
    /// The snapshot's name after `@`.
    pub snapshot: String,
    /// Its creation time (Unix seconds).
    pub created: i64,
    /// Filesystem or volume.
    pub kind: zfs_core::DatasetKind,
}

/// The newest snapshot each target dataset of a pair shares with its source, by GUID (zfs-sync's
/// `common_base`, what the next incremental starts from), keyed by the target dataset. One
/// recursive listing per side; an error names what could not be listed.
pub fn newest_common(
    host: &OpenedPair,
    spec: &zfs_sync::TreeSpec,
) -> Result<BTreeMap<String, Common>, String> {
    let opts = zfs_core::ListOptions {
        depth: if spec.recursive {
            zfs_core::Depth::Recursive
        } else {
            zfs_core::Depth::Zero
        },
        versions: true,
        user_props: Vec::new(),
    };
    let source = host
        .source
        .backend
        .list(&spec.source_root, &opts)
        .map_err(|e| format!("list {}: {e}", spec.source_root))?;
    let target = host
        .target_backend()
        .list(&spec.target_root, &opts)
        .map_err(|e| format!("list {}: {e}", spec.target_root))?;
    let by_name: BTreeMap<&str, &zfs_core::Dataset> = source
        .datasets
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();
    let mut out = BTreeMap::new();
    for t in &target.datasets {
        let Some(rel) = t.name.as_str().strip_prefix(spec.target_root.as_str()) else {
            continue;
        };
        let Some(s) = by_name.get(format!("{}{rel}", spec.source_root).as_str()) else {
            continue;
        };
        if let Some(base) = zfs_sync::planner::common_base(&s.versions, &t.versions) {
            out.insert(
                t.name.to_string(),
                Common {
                    source: s.name.clone(),
                    snapshot: base.target.name.short().to_string(),
                    created: base.target.creation,
                    kind: t.kind,
                },
            );
        }
    }
    Ok(out)
}
