//! Arguments more than one personality takes: the backend choice and the lock and clock options.

use crate::exit::Fail;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// A duration flag given in seconds, checked: finite and not negative; the refusal is
/// `FLAG VALUE: must be >= 0 seconds`.
pub fn seconds(flag: &str, value: f64) -> Result<Duration, Fail> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Fail::failure(format!(
            "{flag} {value}: must be >= 0 seconds"
        )))
    }
}

/// [`seconds`] as a clap value parser (for flags parsed straight into a [`Duration`]).
pub fn seconds_arg(value: &str) -> Result<Duration, String> {
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value}: not a number of seconds"))?;
    seconds("", v).map_err(|_| format!("{value}: must be >= 0 seconds"))
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum BackendArg {
    /// libzfs_core when usable, else the zfs CLI.
    #[default]
    Auto,
    /// Always the `zfs`/`zpool` commands.
    Cli,
    /// Always libzfs_core (fails when unavailable).
    Lzc,
}

/// Lock and clock options shared by every config-driven run.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonRunArgs {
    /// Exclusive lock file that keeps overlapping runs apart.
    #[arg(long, env = "ZSYNC_LOCK", value_name = "FILE")]
    pub lock_file: Option<PathBuf>,
    /// Seconds to wait for the lock before giving up (exit 75).
    #[arg(long, env = "ZSYNC_LOCK_WAIT", value_name = "SECONDS")]
    pub lock_wait: Option<f64>,
    /// TESTING AID: pretend the current time is this (RFC 3339 or Unix seconds).
    #[arg(long, env = "ZSYNC_NOW", hide = true, value_name = "TIME")]
    pub now: Option<String>,
}
