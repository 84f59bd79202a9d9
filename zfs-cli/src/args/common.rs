//! Arguments more than one personality takes: the backend choice and the lock and clock options.

use crate::exit::Fail;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// A duration flag given in seconds, checked: finite and not negative; the refusal is
/// `FLAG VALUE: must be >= 0 seconds`.
pub fn seconds(flag: &str, value: f64) -> Result<Duration, Fail> {
    if value.is_nan() || value < 0.0 {
        return Err(Fail::failure(format!(
            "{flag} {value}: must be >= 0 seconds"
        )));
    }
    if value > MAX_SECONDS {
        return Err(Fail::failure(format!(
            "{flag} {value}: too long (at most {MAX_SECONDS} seconds, a year)"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The longest wait or timeout a seconds flag takes: a year (beyond it is a typo, and
/// `Duration::from_secs_f64` has limits).
pub const MAX_SECONDS: f64 = 366.0 * 24.0 * 3600.0;

/// [`seconds`] as a clap value parser (for flags parsed straight into a [`Duration`]).
pub fn seconds_arg(value: &str) -> Result<Duration, String> {
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value}: not a number of seconds"))?;
    seconds("", v).map_err(|e| e.message.trim().to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_refuse_what_a_duration_cannot_hold() {
        assert_eq!(seconds("--x", 1.5).unwrap(), Duration::from_millis(1500));
        assert_eq!(seconds("--x", 0.0).unwrap(), Duration::ZERO);
        for (v, says) in [
            (-1.0, "--x -1: must be >= 0"),
            (f64::NAN, "--x NaN: must be >= 0"),
            (f64::INFINITY, "--x inf: too long"),
            (1e26, "--x 100000000000000000000000000: too long"),
        ] {
            let e = seconds("--x", v).unwrap_err().message;
            assert!(e.starts_with(says), "{v}: {e}");
        }
    }
}
