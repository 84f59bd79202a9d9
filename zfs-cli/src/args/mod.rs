//! Command-line grammar: `zsync`, and the `sanoid` / `syncoid` drop-in flag sets.
//!
//! Parsing never touches ZFS. A usage error is turned into ONE line by [`usage_error`] and exit code 2.
//!
//! Low-level args (what clap parses) live here and in one file per personality: this module holds
//! `zsync`'s own grammar ([`Cli`], [`Command`]) and the argv\[0\] dispatch; [`common`] what
//! several personalities share (backend, lock and clock); [`sync`] the flags
//! `zsync sync`/`plan` share with syncoid mode; [`sanoid`] and [`syncoid`] the drop-in grammars;
//! [`getopt`] Getopt::Long's single-dash form; [`usage`] what a usage error prints. [`resolve`]
//! turns parsed args into the libraries' options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

pub mod clone;
pub mod common;
pub mod drill;
pub mod getopt;
pub mod resolve;
pub mod run;
pub mod sanoid;
pub mod ssh;
pub mod status;
pub mod sync;
pub mod syncoid;
pub mod usage;
pub mod verify;

pub use clone::CloneArgs;
pub use common::{BackendArg, CommonRunArgs};
pub use getopt::normalize_getopt_long;
pub use sanoid::{parse_sanoid, SanoidActions, SanoidArgs};
pub use status::{HostFlags, LagFlags, MetricsArgs, StatusArgs};
pub use sync::{SyncArgs, SyncFlags};
pub use syncoid::{parse_syncoid, SyncoidArgs};
pub use usage::{usage_error, UsageOutcome};
pub use verify::{VerifyArgs, VerifyManifestArgs};

/// Which personality the binary runs as (from the file name of argv\[0\]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// `zsync` (any name other than the two below).
    Zsync,
    /// Invoked as `sanoid` (symlink): sanoid's flags.
    Sanoid,
    /// Invoked as `syncoid` (symlink): syncoid's flags.
    Syncoid,
}

/// Picks the personality from argv\[0\]'s file name (`/usr/sbin/sanoid` → [`Personality::Sanoid`]).
pub fn personality(argv0: &std::ffi::OsStr) -> Personality {
    let name = std::path::Path::new(argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "sanoid" => Personality::Sanoid,
        "syncoid" => Personality::Syncoid,
        _ => Personality::Zsync,
    }
}

/// `zsync`: ZFS snapshots, retention and replication.
#[derive(Debug, Parser)]
#[command(name = "zsync", version, about, disable_help_subcommand = true)]
pub struct Cli {
    /// ZFS access: libzfs_core (lzc), the zfs command (cli), or auto-detect.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ZSYNC_BACKEND",
        default_value = "auto"
    )]
    pub backend: BackendArg,
    /// Log lines on stderr: `human` (`zsync: warning: ...`) or `json` (one object per line, for
    /// journald and log shippers; adds `zsync run`'s per-dataset events). `ZSYNC_LOG` adds filter
    /// directives (`zsync::trace=trace`: the timing trace of a replication run).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ZSYNC_LOG_FORMAT",
        default_value = "human"
    )]
    pub log_format: crate::logging::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version, the active ZFS backend and why it was chosen.
    Version,
    /// Take the snapshots that are due by the config.
    Snapshot(RunArgs),
    /// Destroy the snapshots the retention rules no longer keep.
    Prune(RunArgs),
    /// `snapshot`, then `prune` (what a 15-minute timer runs).
    Cron(RunArgs),
    /// Nagios-style checks: snapshot freshness, pool health, pool capacity (here or on `--host`),
    /// replication lag of the jobs.
    Monitor(MonitorArgs),
    /// The backup run of the job file (/etc/zsync/jobs.toml): snapshots due by sanoid.conf,
    /// replicate each job, prune source then targets, check every pool involved on every host,
    /// record the run for `zsync status` and the metrics; on failure the job's `on_failure`.
    Run(run::RunJobsArgs),
    /// The restore drill of a job: clone the newest replicated snapshot of each dataset on the
    /// target, verify it against the source (no data copied between hosts), destroy the clone.
    Drill(drill::DrillArgs),
    /// Per job and dataset: newest snapshot per type, newest common snapshot and its age (lag),
    /// holds and bookmarks zsync owns, partial receives, and the last run's result.
    Status(StatusArgs),
    /// Write the Prometheus textfile (what `zsync run` writes after each run) now.
    Metrics(MetricsArgs),
    /// Print the replication plan for SRC → DST; changes nothing.
    Plan(SyncArgs),
    /// Replicate SRC to DST.
    Sync(SyncArgs),
    /// Clone SNAPSHOT as NEW on the snapshot's host (`[user@]host:pool/ds@snap` for a backup host),
    /// e.g. to boot a VM from a replicated disk; prints the new dataset and, for a volume, its
    /// device (`/dev/zvol/...`) once it exists.
    Clone(CloneArgs),
    /// Prove two snapshots (a source and its replica, on any hosts) hold the same data: each host
    /// hashes its own snapshot in chunks, only the hashes cross. Exit 0 equal, 1 different (the
    /// first difference named), 2 error.
    Verify(VerifyArgs),
    /// Print the manifest (chunk hashes) of a snapshot on this host: what a remote host runs for
    /// `zsync verify`.
    #[command(hide = true)]
    VerifyManifest(VerifyManifestArgs),
    /// Configuration: `zsync config show [--json]` prints every dataset's resolved settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run with sanoid's flags (`zsync sanoid --cron`): drop-in for sanoid.
    #[command(disable_help_flag = true)]
    Sanoid {
        /// sanoid's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run with syncoid's flags (`zsync syncoid -r tank backup/tank`): drop-in for syncoid.
    #[command(disable_help_flag = true)]
    Syncoid {
        /// syncoid's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

/// `zsync config ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved configuration of every dataset (templates applied, recursive sections
    /// expanded over what ZFS lists; the configured sections alone when ZFS cannot be listed), as
    /// sanoid's `--debug` dump does.
    Show(ConfigShowArgs),
}

/// `zsync config show`.
#[derive(Debug, Clone, Args)]
pub struct ConfigShowArgs {
    /// Config file (sanoid.conf syntax). Default: /etc/zsync/zsync.conf, else /etc/sanoid/sanoid.conf.
    #[arg(long, short = 'c', env = "ZSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options shared by `snapshot`, `prune` and `cron`.
#[derive(Debug, Clone, Args, Default)]
pub struct RunArgs {
    /// Config file (sanoid.conf syntax). Default: /etc/zsync/zsync.conf, else /etc/sanoid/sanoid.conf.
    #[arg(long, short = 'c', env = "ZSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the exact snapshots that would be created and destroyed; change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Say more (every decision).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print errors only.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Lock and clock options.
    #[command(flatten)]
    pub common: CommonRunArgs,
}

/// `zsync monitor`.
#[derive(Debug, Clone, Args)]
#[command(mut_arg("sshcipher", |a| a.short(None)))]
pub struct MonitorArgs {
    /// Which checks (several allowed; the worst status wins).
    #[arg(value_enum, required = true)]
    pub checks: Vec<MonitorCheck>,
    /// Config file (as for `snapshot`).
    #[arg(long, short = 'c', env = "ZSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// TESTING AID: pretend the current time is this (RFC 3339 or Unix seconds).
    #[arg(long, env = "ZSYNC_NOW", hide = true, value_name = "TIME")]
    pub now: Option<String>,
    /// `lag`'s jobs and thresholds.
    #[command(flatten)]
    pub lag: LagFlags,
    /// Pool checks on another host.
    #[command(flatten)]
    pub remote: HostFlags,
}

/// Monitor check names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MonitorCheck {
    /// Newest snapshot of each type is fresh enough.
    Snapshots,
    /// Pools are ONLINE without errors.
    Health,
    /// Pool capacity below capacity_warn/capacity_crit.
    Capacity,
    /// The jobs' newest common snapshot is younger than --warn / --crit.
    Lag,
}

/// `&str`s as argv entries (the tests' shorthand).
#[cfg(test)]
fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn argv0_dispatch() {
        assert_eq!(
            personality("/usr/sbin/sanoid".as_ref()),
            Personality::Sanoid
        );
        assert_eq!(personality("syncoid".as_ref()), Personality::Syncoid);
        assert_eq!(personality("/usr/bin/zsync".as_ref()), Personality::Zsync);
        assert_eq!(personality("sanoid.sh".as_ref()), Personality::Zsync);
        assert_eq!(personality("".as_ref()), Personality::Zsync);
    }

    #[test]
    fn zsync_grammar() {
        let c = Cli::try_parse_from(["zsync", "cron", "--dry-run", "--config", "/c"]).unwrap();
        match c.command {
            Command::Cron(r) => {
                assert!(r.dry_run);
                assert_eq!(r.config, Some(PathBuf::from("/c")));
            }
            other => panic!("{other:?}"),
        }
        let c = Cli::try_parse_from(["zsync", "--backend", "cli", "version"]).unwrap();
        assert_eq!(c.backend, BackendArg::Cli);
        let c = Cli::try_parse_from(["zsync", "version", "--backend=lzc"]).unwrap();
        assert_eq!(c.backend, BackendArg::Lzc);
        let c = Cli::try_parse_from(["zsync", "sanoid", "--cron", "--verbose"]).unwrap();
        match c.command {
            Command::Sanoid { args } => assert_eq!(args, os(&["--cron", "--verbose"])),
            other => panic!("{other:?}"),
        }
        let c = Cli::try_parse_from(["zsync", "syncoid", "-r", "a", "b"]).unwrap();
        assert!(matches!(c.command, Command::Syncoid { .. }));
        let c = Cli::try_parse_from([
            "zsync",
            "sync",
            "-r",
            "--exclude-datasets",
            "a",
            "--exclude-datasets=b",
            "--jobs",
            "3",
            "tank",
            "backup/tank",
        ])
        .unwrap();
        match c.command {
            Command::Sync(s) => {
                assert_eq!(s.flags.exclude_datasets, vec!["a", "b"]);
                assert_eq!(s.flags.jobs, Some(3));
                assert_eq!(s.target, "backup/tank");
            }
            other => panic!("{other:?}"),
        }
        let c = Cli::try_parse_from([
            "zsync",
            "monitor",
            "lag",
            "health",
            "--job",
            "a",
            "--warn",
            "90m",
            "--host",
            "root@backup:2222",
            "--pool",
            "tank",
            "-c",
            "/c",
            "--sshcipher",
            "aes128-ctr",
        ])
        .unwrap();
        match c.command {
            Command::Monitor(m) => {
                assert_eq!(m.checks, [MonitorCheck::Lag, MonitorCheck::Health]);
                assert_eq!(m.lag.warn, std::time::Duration::from_secs(5400));
                assert_eq!(m.lag.crit, std::time::Duration::from_secs(50 * 3600));
                assert_eq!(m.remote.host.as_deref(), Some("root@backup:2222"));
                assert_eq!(m.config, Some(PathBuf::from("/c")));
                assert_eq!(m.remote.ssh.sshcipher.as_deref(), Some("aes128-ctr"));
            }
            other => panic!("{other:?}"),
        }
        let c =
            Cli::try_parse_from(["zsync", "status", "vms", "--json", "--state-dir", "/s"]).unwrap();
        assert!(matches!(c.command, Command::Status(s) if s.json && s.common.jobs == ["vms"]));
        let err = Cli::try_parse_from(["zsync", "snapshot", "--bogus"]).unwrap_err();
        let out = usage_error(&err, "zsync");
        assert_eq!((out.code, out.text.lines().count()), (2, 1), "{}", out.text);
        let err = Cli::try_parse_from(["zsync", "--backend", "nope", "version"]).unwrap_err();
        assert_eq!(usage_error(&err, "zsync").code, 2);
    }
}
