//! `zsync status`, `zsync metrics`, and the flags `zsync monitor` gains for the `lag` check
//! ([`LagFlags`]) and for checking another host's pools ([`HostFlags`]).

use crate::args::ssh::SshFlags;
use crate::exit::Fail;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// What `status` and `metrics` share: the jobs, the job file, the state directory, the clock.
#[derive(Debug, Clone, Args)]
pub struct JobsAndState {
    /// Jobs to measure (default: every job of the file).
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,
    /// The job file (default /etc/zsync/jobs.toml).
    #[arg(long, env = "ZSYNC_JOBS", value_name = "FILE")]
    pub jobs_file: Option<PathBuf>,
    /// The state directory with the last run's record (default /var/lib/zsync).
    #[arg(long, env = "ZSYNC_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// TESTING AID: pretend the current time is this (RFC 3339 or Unix seconds).
    #[arg(long, env = "ZSYNC_NOW", hide = true, value_name = "TIME")]
    pub now: Option<String>,
}

/// `zsync status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Jobs, job file, state directory.
    #[command(flatten)]
    pub common: JobsAndState,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `zsync metrics`.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Jobs, job file, state directory.
    #[command(flatten)]
    pub common: JobsAndState,
    /// Where to write the textfile: a file (replaced atomically) or `-` for stdout. Default:
    /// STATE_DIR/zsync.prom.
    #[arg(long, value_name = "FILE|-")]
    pub output: Option<String>,
}

/// `zsync monitor lag`'s flags.
#[derive(Debug, Clone, Args)]
pub struct LagFlags {
    /// The job file (default /etc/zsync/jobs.toml).
    #[arg(long, env = "ZSYNC_JOBS", value_name = "FILE")]
    pub jobs_file: Option<PathBuf>,
    /// A job to check (repeatable; default: every job of the file).
    #[arg(long = "job", value_name = "NAME")]
    pub job: Vec<String>,
    /// WARN when the newest common snapshot is older than this (`90m`, `26h`, `2d`). The default
    /// suits a daily `zsync run`: a day plus the run's randomized delay and its duration.
    #[arg(long, value_name = "DURATION", default_value = "26h", value_parser = parse_duration)]
    pub warn: Duration,
    /// CRIT when older than this; the default is two missed daily runs.
    #[arg(long, value_name = "DURATION", default_value = "50h", value_parser = parse_duration)]
    pub crit: Duration,
}

/// `zsync monitor health|capacity --host`: the pool checks on another host.
#[derive(Debug, Clone, Args)]
pub struct HostFlags {
    /// Check the pools of this host over SSH (`[user@]host[:port]`) instead of this machine's;
    /// its imported pools, or those named with `--pool`, with sanoid's default limits (a
    /// `--config` given too supplies them).
    #[arg(long, value_name = "[USER@]HOST[:PORT]")]
    pub host: Option<String>,
    /// A pool to check (repeatable); a named pool that is not imported is CRIT.
    #[arg(long, value_name = "POOL")]
    pub pool: Vec<String>,
    /// How to reach `--host` (`--sshcipher` has no `-c` here: that is `--config`).
    #[command(flatten)]
    pub ssh: SshFlags,
}

/// A duration as `90m`, `26h`, `2d`, `1h 30m` (humantime's syntax); zero is refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than 0"));
    }
    Ok(d)
}

impl LagFlags {
    /// Refuses `--warn` above `--crit`.
    pub fn check(&self) -> Result<(), Fail> {
        if self.warn > self.crit {
            return Err(Fail::failure(format!(
                "monitor lag: --warn {} is above --crit {}",
                humantime::format_duration(self.warn),
                humantime::format_duration(self.crit)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("26h").unwrap(),
            Duration::from_secs(26 * 3600)
        );
        assert_eq!(
            parse_duration("2d").unwrap(),
            Duration::from_secs(2 * 86400)
        );
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
        assert!(parse_duration("26").is_err());
    }
}
