//! `zsync run [JOB...]`: the daily backup run of the job file.

use clap::Args;
use std::path::PathBuf;

/// `zsync run`.
#[derive(Debug, Clone, Args)]
pub struct RunJobsArgs {
    /// The jobs to run, in this order (default: every job of the job file, in file order).
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,
    /// The job file.
    #[arg(
        long,
        env = "ZSYNC_JOBS",
        value_name = "FILE",
        default_value = zsync_ops::jobs::DEFAULT_PATH
    )]
    pub jobs_file: PathBuf,
    /// sanoid.conf for the snapshot and source-prune stages. Default: /etc/zsync/zsync.conf, else
    /// /etc/sanoid/sanoid.conf; with neither those stages are skipped (and said so).
    #[arg(long, short = 'c', env = "ZSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Skip the snapshot and source-prune stages (a `zsync cron` timer does them).
    #[arg(long)]
    pub no_snapshots: bool,
    /// Where the run record (`last-run.json`, read by `zsync status`) and the metrics go.
    #[arg(
        long,
        env = "ZSYNC_STATE_DIR",
        value_name = "DIR",
        default_value = zsync_ops::state::DEFAULT_STATE_DIR
    )]
    pub state_dir: PathBuf,
    /// The Prometheus textfile (node_exporter's textfile collector); default `STATE_DIR/zsync.prom`.
    #[arg(long, env = "ZSYNC_METRICS_FILE", value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// The run's summary as one JSON object on stdout (the run record).
    #[arg(long)]
    pub json: bool,
    /// Say more (every decision).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print errors and the summary's problems only.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// The run lock (one `zsync run` at a time).
    #[arg(
        long,
        env = "ZSYNC_RUN_LOCK",
        value_name = "FILE",
        default_value = "/run/zsync/run.lock"
    )]
    pub lock_file: PathBuf,
    /// Seconds to wait for another run to finish before giving up with exit 75 (as `cron` does).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub lock_wait: f64,
    /// The lock the snapshot and prune stages share with `zsync cron` (held for those stages only).
    #[arg(long, env = "ZSYNC_LOCK", value_name = "FILE")]
    pub cron_lock_file: Option<PathBuf>,
    /// Seconds an `on_failure` command may run before it is killed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub on_failure_timeout: f64,
    /// TESTING AID: pretend the current time is this (RFC 3339 or Unix seconds).
    #[arg(long, env = "ZSYNC_NOW", hide = true, value_name = "TIME")]
    pub now: Option<String>,
}
