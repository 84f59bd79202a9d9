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
    /// How the snapshots are hashed (and how long a volume clone's device is waited for).
    #[command(flatten)]
    pub hash: crate::args::verify::HashFlags,
    /// Print errors only (no warnings).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
