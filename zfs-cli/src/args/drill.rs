//! `zsync drill JOB`: the restore drill of one job.

use clap::Args;
use std::path::PathBuf;

/// `zsync drill`.
#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// The job to drill (a `[[job]]` name of the job file).
    pub job: String,
    /// The job file.
    #[arg(
        long,
        env = "ZSYNC_JOBS",
        value_name = "FILE",
        default_value = zsync_ops::jobs::DEFAULT_PATH
    )]
    pub jobs_file: PathBuf,
    /// One JSON object: per dataset the restore clone, the verification and any error.
    #[arg(long)]
    pub json: bool,
    /// The zsync program on a remote host (it hashes its side there).
    #[arg(long, value_name = "PATH", default_value = "zsync")]
    pub remote_zsync: String,
    /// Hashing threads per side (default: up to 4).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How long to wait for a volume clone's device, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub device_wait: f64,
    /// Print errors only (no warnings).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
