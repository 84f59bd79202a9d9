//! Command-line grammar: `zsync`, and the `sanoid` / `syncoid` drop-in flag sets.
//!
//! Parsing never touches ZFS. A usage error is turned into ONE line by [`usage_error`] and exit code 2.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

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
    /// Nagios-style checks: snapshot freshness, pool health, pool capacity.
    Monitor(MonitorArgs),
    /// Print the replication plan for SRC → DST; changes nothing.
    Plan(SyncArgs),
    /// Replicate SRC to DST.
    Sync(SyncArgs),
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

/// `zsync monitor`.
#[derive(Debug, Clone, Args)]
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
}

/// `zsync sync` / `zsync plan` options (they mirror the planner's and executor's).
#[derive(Debug, Clone, Args, Default)]
pub struct SyncArgs {
    /// Source dataset (local; remote `[user@]host:pool/ds` comes later).
    pub source: String,
    /// Target dataset.
    pub target: String,
    /// The flags `zsync sync` shares with syncoid mode.
    #[command(flatten)]
    pub flags: SyncFlags,
    /// Allow discarding target-only snapshots newer than the common base.
    #[arg(long)]
    pub rollback: bool,
    /// Mount received filesystems. Default: received unmounted (`receive -u`), because a mounted
    /// replica changes (mountpoint directories of its children, atime) and the next incremental
    /// then fails with "destination has been modified".
    #[arg(long)]
    pub mount: bool,
    /// Do not check the send stream's records and fletcher-4 checksums in transit (checked by
    /// default; costs one read of every byte).
    #[arg(long)]
    pub no_stream_check: bool,
    /// Show a progress line on stderr (default: when stderr is a terminal, unless --quiet); into
    /// a log it is a plain line every 5 s.
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,
    /// Never show the progress line.
    #[arg(long)]
    pub no_progress: bool,
}

/// The replication flags `zsync sync`/`plan` and syncoid mode share (flattened into both
/// [`SyncArgs`] and [`SyncoidArgs`], so a flag added here exists in both).
///
/// Not here because the two differ: the positional SRC/DST (optional in syncoid mode, for
/// `--version`), rollback (`--rollback` opts in for zsync; syncoid rolls back unless
/// `--no-rollback`), mounting (`--mount` opts in for zsync; syncoid mounts unless
/// `--recvoptions=u`). In syncoid mode `--quiet` has no `-q` and `--jobs`/`--json` are hidden
/// (see [`SyncoidArgs`]).
#[derive(Debug, Clone, Args, Default, PartialEq, Eq)]
pub struct SyncFlags {
    /// Replicate the children too.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// With -r: do not replicate SRC itself, only its children.
    #[arg(long)]
    pub skip_parent: bool,
    /// Skip datasets whose full name matches this regex (repeatable).
    #[arg(long, value_name = "RE")]
    pub exclude_datasets: Vec<String>,
    /// Send only snapshots matching this regex (repeatable; does not affect base selection).
    #[arg(long, value_name = "RE")]
    pub include_snaps: Vec<String>,
    /// Do not send snapshots matching this regex (repeatable; wins over --include-snaps).
    #[arg(long, value_name = "RE")]
    pub exclude_snaps: Vec<String>,
    /// Send only the newest snapshot (`-i`), not every intermediate one (`-I`).
    #[arg(long)]
    pub no_stream: bool,
    /// Do not take a sync snapshot; send up to the newest existing one.
    #[arg(long)]
    pub no_sync_snap: bool,
    /// Keep older sync snapshots of this job.
    #[arg(long)]
    pub keep_sync_snap: bool,
    /// Job identifier in sync-snapshot, hold and bookmark names.
    #[arg(long, value_name = "ID")]
    pub identifier: Option<String>,
    /// Bookmark each replicated snapshot on the source.
    #[arg(long)]
    pub create_bookmark: bool,
    /// Hold the newest replicated snapshot on both sides.
    #[arg(long)]
    pub use_hold: bool,
    /// Do not resume interrupted receives; abort them.
    #[arg(long)]
    pub no_resume: bool,
    /// Allow destroying and recreating a target that shares no snapshot with the source.
    #[arg(long)]
    pub force_delete: bool,
    /// Destroy target snapshots that no longer exist on the source.
    #[arg(long)]
    pub delete_target_snapshots: bool,
    /// Set the source's locally set properties on the target (`receive -o`, every receive; not
    /// mountpoint, shares, reservations or quota).
    #[arg(long)]
    pub preserve_properties: bool,
    /// Set the source's recordsize on a target it creates (`receive -o recordsize=`).
    #[arg(long)]
    pub preserve_recordsize: bool,
    /// Extra `zfs send` flags, syncoid style (e.g. "L c e", "w").
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub sendoptions: Option<String>,
    /// Extra `zfs receive` flags, syncoid style (e.g. "o compression=lz4").
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub recvoptions: Option<String>,
    /// Stream compression in transit (none, lz4, zstd...; local transfers are not compressed).
    #[arg(long, value_name = "ALGO")]
    pub compress: Option<String>,
    /// Rate limit on the sending side (e.g. 10M, 500k).
    #[arg(long, value_name = "RATE")]
    pub source_bwlimit: Option<String>,
    /// Rate limit on the receiving side.
    #[arg(long, value_name = "RATE")]
    pub target_bwlimit: Option<String>,
    /// Datasets replicated in parallel (children still wait for their parents).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Errors only.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print every step.
    #[arg(long)]
    pub debug: bool,
    /// Print the snapshot lists of both sides.
    #[arg(long)]
    pub dumpsnaps: bool,
}

/// sanoid's flags (Getopt::Long style: `--flag value`, `--flag=value`, single-dash long names too).
#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "sanoid",
    disable_version_flag = true,
    about = "zsync in sanoid mode"
)]
pub struct SanoidArgs {
    /// Take snapshots, then prune.
    #[arg(long)]
    pub cron: bool,
    /// Take the snapshots that are due.
    #[arg(long)]
    pub take_snapshots: bool,
    /// Prune expired snapshots.
    #[arg(long)]
    pub prune_snapshots: bool,
    /// Directory holding sanoid.conf.
    #[arg(long, value_name = "DIR", default_value = "/etc/sanoid")]
    pub configdir: PathBuf,
    /// Accepted and ignored (zsync keeps no cache: it lists ZFS once per run).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Accepted and ignored (zsync's lock is --lock-file / ZSYNC_LOCK).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Say more.
    #[arg(long)]
    pub verbose: bool,
    /// Say even more.
    #[arg(long)]
    pub debug: bool,
    /// Errors only.
    #[arg(long)]
    pub quiet: bool,
    /// Change nothing: print what would be created and destroyed.
    #[arg(long)]
    pub readonly: bool,
    /// Accepted and ignored (no cache).
    #[arg(long, value_name = "SECONDS")]
    pub cache_ttl: Option<String>,
    /// Accepted and ignored (no cache).
    #[arg(long)]
    pub force_update: bool,
    /// Accepted and ignored (deprecated in sanoid too).
    #[arg(long)]
    pub force_prune: bool,
    /// Nagios check of snapshot freshness.
    #[arg(long)]
    pub monitor_snapshots: bool,
    /// Nagios check of pool health.
    #[arg(long)]
    pub monitor_health: bool,
    /// Nagios check of pool capacity.
    #[arg(long)]
    pub monitor_capacity: bool,
    /// Print the version.
    #[arg(long)]
    pub version: bool,
    /// zsync extra: ZFS backend.
    #[arg(
        long,
        value_enum,
        env = "ZSYNC_BACKEND",
        default_value = "auto",
        hide = true
    )]
    pub backend: BackendArg,
    /// Lock and clock options.
    #[command(flatten)]
    pub common: CommonRunArgs,
}

/// What a sanoid invocation asks for, after sanoid's defaulting rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SanoidActions {
    /// Take snapshots.
    pub take: bool,
    /// Prune.
    pub prune: bool,
    /// Monitor checks requested, in sanoid's order.
    pub monitor_snapshots: bool,
    /// Pool health check.
    pub monitor_health: bool,
    /// Pool capacity check.
    pub monitor_capacity: bool,
    /// Verbose output.
    pub verbose: bool,
}

impl SanoidArgs {
    /// Resolves the actions: no action flag at all means `--cron --verbose` (sanoid's default;
    /// unlike sanoid, `--quiet` alone still runs the cron job, quietly).
    pub fn actions(&self) -> SanoidActions {
        let any_action = self.cron
            || self.take_snapshots
            || self.prune_snapshots
            || self.monitor_snapshots
            || self.monitor_health
            || self.monitor_capacity;
        let default_cron = !any_action && !self.version;
        SanoidActions {
            take: self.cron || self.take_snapshots || default_cron,
            prune: self.cron || self.prune_snapshots || default_cron,
            monitor_snapshots: self.monitor_snapshots,
            monitor_health: self.monitor_health,
            monitor_capacity: self.monitor_capacity,
            verbose: (self.verbose || self.debug || default_cron) && !self.quiet,
        }
    }

    /// The config file sanoid would read.
    pub fn config_file(&self) -> PathBuf {
        self.configdir.join("sanoid.conf")
    }
}

/// syncoid's flags: the shared [`SyncFlags`] plus syncoid's own.
#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "syncoid",
    disable_version_flag = true,
    about = "zsync in syncoid mode",
    // syncoid has no `-q`; --jobs and --json are zsync extras, kept out of syncoid's help.
    mut_arg("quiet", |a| a.short(None)),
    mut_arg("jobs", |a| a.hide(true)),
    mut_arg("json", |a| a.hide(true))
)]
pub struct SyncoidArgs {
    /// Source dataset.
    #[arg(required_unless_present = "version")]
    pub source: Option<String>,
    /// Target dataset.
    #[arg(required_unless_present = "version")]
    pub target: Option<String>,
    /// The flags syncoid mode shares with `zsync sync`.
    #[command(flatten)]
    pub flags: SyncFlags,
    /// Deprecated syncoid spelling of --exclude-datasets (ignored when that is given).
    #[arg(long, value_name = "RE")]
    pub exclude: Vec<String>,
    /// No `recv -F`: refuse to discard target changes.
    #[arg(long)]
    pub no_rollback: bool,
    /// Accepted and ignored (zsync buffers in-process).
    #[arg(long, value_name = "SIZE")]
    pub mbuffer_size: Option<String>,
    /// Accepted and ignored (zsync draws its own progress line on a terminal).
    #[arg(long, value_name = "OPTS", allow_hyphen_values = true)]
    pub pv_options: Option<String>,
    /// SSH key (remote endpoints: not supported yet).
    #[arg(long, value_name = "FILE")]
    pub sshkey: Option<String>,
    /// SSH port (remote endpoints: not supported yet).
    #[arg(long, value_name = "PORT")]
    pub sshport: Option<u16>,
    /// SSH cipher (remote endpoints: not supported yet).
    #[arg(long, short = 'c', value_name = "CIPHER")]
    pub sshcipher: Option<String>,
    /// SSH -o option (repeatable; remote endpoints: not supported yet).
    #[arg(long, short = 'o', value_name = "OPT")]
    pub sshoption: Vec<String>,
    /// SSH config file (remote endpoints: not supported yet).
    #[arg(long, value_name = "FILE")]
    pub sshconfig: Option<String>,
    /// Never use sudo (zsync never does).
    #[arg(long)]
    pub no_privilege_elevation: bool,
    /// Accepted and ignored.
    #[arg(long)]
    pub no_clone_handling: bool,
    /// Accepted and ignored.
    #[arg(long)]
    pub no_command_checks: bool,
    /// Direct TCP transport (not supported: refused).
    #[arg(long, value_name = "SPEC")]
    pub insecure_direct_connection: Option<String>,
    /// Print the version.
    #[arg(long)]
    pub version: bool,
    /// Accepted and ignored.
    #[arg(long)]
    pub monitor_version: bool,
    /// zsync extra: ZFS backend.
    #[arg(
        long,
        value_enum,
        env = "ZSYNC_BACKEND",
        default_value = "auto",
        hide = true
    )]
    pub backend: BackendArg,
}

impl SyncoidArgs {
    /// Maps syncoid's flags onto zsync's sync options. syncoid receives with `-F` unless
    /// `--no-rollback`: that is kept here as `rollback = !no_rollback` (what is discarded is printed).
    pub fn to_sync_args(&self) -> SyncArgs {
        let mut flags = self.flags.clone();
        if flags.exclude_datasets.is_empty() {
            flags.exclude_datasets = self.exclude.clone();
        }
        SyncArgs {
            source: self.source.clone().unwrap_or_default(),
            target: self.target.clone().unwrap_or_default(),
            flags,
            rollback: !self.no_rollback,
            // syncoid mounts what it receives unless `--recvoptions=u`.
            mount: true,
            no_stream_check: false,
            // syncoid shows pv's bar on a terminal unless --quiet: the same default.
            progress: false,
            no_progress: false,
        }
    }
    /// Whether any SSH-only option was given (they need a remote endpoint).
    pub fn ssh_options_given(&self) -> bool {
        self.sshkey.is_some()
            || self.sshport.is_some()
            || self.sshcipher.is_some()
            || !self.sshoption.is_empty()
            || self.sshconfig.is_some()
    }
}

/// Long option names (without dashes) of sanoid, for Getopt::Long's single-dash form.
const SANOID_LONG: &[&str] = &[
    "cron",
    "take-snapshots",
    "prune-snapshots",
    "configdir",
    "cache-dir",
    "run-dir",
    "verbose",
    "debug",
    "quiet",
    "readonly",
    "cache-ttl",
    "force-update",
    "force-prune",
    "monitor-snapshots",
    "monitor-health",
    "monitor-capacity",
    "version",
    "help",
];

/// Long option names of syncoid accepted in single-dash form.
const SYNCOID_LONG: &[&str] = &[
    "recursive",
    "skip-parent",
    "exclude-datasets",
    "exclude",
    "include-snaps",
    "exclude-snaps",
    "no-stream",
    "no-sync-snap",
    "keep-sync-snap",
    "identifier",
    "create-bookmark",
    "use-hold",
    "no-resume",
    "no-rollback",
    "force-delete",
    "delete-target-snapshots",
    "preserve-properties",
    "preserve-recordsize",
    "sendoptions",
    "recvoptions",
    "compress",
    "source-bwlimit",
    "target-bwlimit",
    "mbuffer-size",
    "pv-options",
    "sshkey",
    "sshport",
    "sshcipher",
    "sshoption",
    "sshconfig",
    "no-privilege-elevation",
    "no-clone-handling",
    "no-command-checks",
    "insecure-direct-connection",
    "quiet",
    "debug",
    "dumpsnaps",
    "version",
    "monitor-version",
    "help",
];

/// Getopt::Long accepts `-name` for `--name`; clap does not. Rewrites `-name[=v]` to `--name[=v]`
/// when `name` is one of `known` (so short flags like `-r` and values like `-1` are untouched).
/// Everything after a bare `--` is left alone.
pub fn normalize_getopt_long(args: &[OsString], known: &[&str]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for a in args {
        if rest {
            out.push(a.clone());
            continue;
        }
        let Some(s) = a.to_str() else {
            out.push(a.clone());
            continue;
        };
        if s == "--" {
            rest = true;
            out.push(a.clone());
            continue;
        }
        if s.len() > 2 && s.starts_with('-') && !s.starts_with("--") {
            let name = s[1..].split('=').next().unwrap_or("");
            if known.contains(&name) {
                out.push(OsString::from(format!("-{s}")));
                continue;
            }
        }
        out.push(a.clone());
    }
    out
}

/// Parses sanoid's arguments (without the program name).
pub fn parse_sanoid(args: &[OsString]) -> Result<SanoidArgs, clap::Error> {
    let mut v = vec![OsString::from("sanoid")];
    v.extend(normalize_getopt_long(args, SANOID_LONG));
    SanoidArgs::try_parse_from(v)
}

/// Parses syncoid's arguments (without the program name).
pub fn parse_syncoid(args: &[OsString]) -> Result<SyncoidArgs, clap::Error> {
    let mut v = vec![OsString::from("syncoid")];
    v.extend(normalize_getopt_long(args, SYNCOID_LONG));
    SyncoidArgs::try_parse_from(v)
}

/// Outcome of turning a clap error into what the user sees.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageOutcome {
    /// Text to print.
    pub text: String,
    /// Print on stdout (help, version) rather than stderr.
    pub stdout: bool,
    /// Exit code: 0 for help/version, 2 for usage errors.
    pub code: u8,
}

/// Help and version print in full on stdout (exit 0); any real usage error becomes ONE line on
/// stderr naming the problem, with a hint, exit 2.
pub fn usage_error(err: &clap::Error, program: &str) -> UsageOutcome {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => UsageOutcome {
            text: err.render().to_string(),
            stdout: matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ),
            code: if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        },
        _ => {
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            UsageOutcome {
                text: format!("{program}: {first} (try '{program} --help')\n"),
                stdout: false,
                code: 2,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
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
    fn sanoid_default_is_cron_verbose() {
        let a = parse_sanoid(&[]).unwrap();
        let act = a.actions();
        assert!(act.take && act.prune && act.verbose);
        assert_eq!(a.config_file(), PathBuf::from("/etc/sanoid/sanoid.conf"));
        // --configdir alone is still "no action".
        let a = parse_sanoid(&os(&["--configdir=/x"])).unwrap();
        assert!(a.actions().take && a.actions().prune);
        assert_eq!(a.config_file(), PathBuf::from("/x/sanoid.conf"));
        // --quiet alone: cron, quietly.
        let a = parse_sanoid(&os(&["--quiet"])).unwrap();
        assert!(a.actions().take && !a.actions().verbose);
    }

    #[test]
    fn sanoid_actions() {
        let a = parse_sanoid(&os(&["--take-snapshots"])).unwrap().actions();
        assert!(a.take && !a.prune && !a.verbose);
        let a = parse_sanoid(&os(&["--prune-snapshots", "--verbose"]))
            .unwrap()
            .actions();
        assert!(!a.take && a.prune && a.verbose);
        let a = parse_sanoid(&os(&["--monitor-snapshots"]))
            .unwrap()
            .actions();
        assert!(!a.take && !a.prune && a.monitor_snapshots);
        let a = parse_sanoid(&os(&["--cron", "--monitor-health"]))
            .unwrap()
            .actions();
        assert!(a.take && a.prune && a.monitor_health);
    }

    #[test]
    fn sanoid_full_flag_set_and_value_forms() {
        let a = parse_sanoid(&os(&[
            "--cron",
            "--configdir",
            "/etc/x",
            "--cache-dir=/var/cache/s",
            "--run-dir",
            "/run/s",
            "--verbose",
            "--debug",
            "--readonly",
            "--cache-ttl=900",
            "--force-update",
            "--force-prune",
            "--monitor-capacity",
        ]))
        .unwrap();
        assert!(a.cron && a.readonly && a.force_update && a.force_prune && a.debug);
        assert_eq!(a.configdir, PathBuf::from("/etc/x"));
        assert_eq!(a.cache_dir, Some(PathBuf::from("/var/cache/s")));
        assert_eq!(a.cache_ttl.as_deref(), Some("900"));
        // Getopt::Long single-dash long names.
        let a = parse_sanoid(&os(&["-cron", "-configdir=/y", "-quiet"])).unwrap();
        assert!(a.cron && a.quiet);
        assert_eq!(a.configdir, PathBuf::from("/y"));
    }

    #[test]
    fn sanoid_bad_flag_is_one_line_exit_2() {
        let err = parse_sanoid(&os(&["--frobnicate"])).unwrap_err();
        let out = usage_error(&err, "sanoid");
        assert_eq!(out.code, 2);
        assert!(!out.stdout);
        assert_eq!(out.text.lines().count(), 1, "{}", out.text);
        assert!(out.text.contains("--frobnicate"), "{}", out.text);
    }

    #[test]
    fn syncoid_flags() {
        let a = parse_syncoid(&os(&[
            "-r",
            "--skip-parent",
            "--exclude-datasets=foo",
            "--exclude-datasets",
            "bar$",
            "--include-snaps=^auto",
            "--exclude-snaps",
            "hourly",
            "--no-stream",
            "--no-sync-snap",
            "--keep-sync-snap",
            "--identifier=job1",
            "--create-bookmark",
            "--use-hold",
            "--no-resume",
            "--no-rollback",
            "--force-delete",
            "--delete-target-snapshots",
            "--preserve-properties",
            "--preserve-recordsize",
            "--sendoptions=L c e",
            "--recvoptions",
            "u o compression=lz4",
            "--compress=lz4",
            "--source-bwlimit=10M",
            "--target-bwlimit",
            "5M",
            "--mbuffer-size=128M",
            "--pv-options=-p -t",
            "--sshkey=/k",
            "--sshport=2222",
            "-c",
            "aes128-ctr",
            "-o",
            "ConnectTimeout=5",
            "--sshoption=Compression=no",
            "--sshconfig=/c",
            "--no-privilege-elevation",
            "--quiet",
            "--debug",
            "--dumpsnaps",
            "tank/a",
            "backup/a",
        ]))
        .unwrap();
        assert_eq!(a.source.as_deref(), Some("tank/a"));
        assert_eq!(a.target.as_deref(), Some("backup/a"));
        assert_eq!(a.flags.exclude_datasets, vec!["foo", "bar$"]);
        assert_eq!(a.sshoption, vec!["ConnectTimeout=5", "Compression=no"]);
        assert_eq!(a.sshport, Some(2222));
        assert_eq!(a.pv_options.as_deref(), Some("-p -t"));
        assert!(a.ssh_options_given());
        let s = a.to_sync_args();
        assert!(
            s.flags.recursive
                && s.flags.skip_parent
                && s.flags.no_stream
                && !s.rollback
                && s.flags.force_delete
        );
        assert_eq!(s.flags.identifier.as_deref(), Some("job1"));
        assert_eq!(s.flags.recvoptions.as_deref(), Some("u o compression=lz4"));
    }

    #[test]
    fn syncoid_defaults_keep_recv_f_semantics() {
        let a = parse_syncoid(&os(&["tank", "backup/tank"])).unwrap();
        assert!(a.to_sync_args().mount, "syncoid mounts what it receives");
        assert!(
            a.to_sync_args().rollback,
            "syncoid receives with -F unless --no-rollback"
        );
        assert!(!a.ssh_options_given());
        // Deprecated --exclude is used only without --exclude-datasets.
        let a = parse_syncoid(&os(&["--exclude=x", "a", "b"])).unwrap();
        assert_eq!(a.to_sync_args().flags.exclude_datasets, vec!["x"]);
        let a = parse_syncoid(&os(&["--exclude=x", "--exclude-datasets=y", "a", "b"])).unwrap();
        assert_eq!(a.to_sync_args().flags.exclude_datasets, vec!["y"]);
    }

    #[test]
    fn syncoid_missing_target_is_usage_error() {
        let err = parse_syncoid(&os(&["tank"])).unwrap_err();
        let out = usage_error(&err, "syncoid");
        assert_eq!(out.code, 2);
        assert_eq!(out.text.lines().count(), 1, "{}", out.text);
        assert!(parse_syncoid(&os(&["--version"])).unwrap().version);
    }

    /// Every long name of `cmd`'s options (help/version included when present).
    fn longs(cmd: &clap::Command) -> Vec<String> {
        cmd.get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect()
    }

    #[test]
    fn sync_and_syncoid_share_the_same_flags() {
        use clap::CommandFactory;
        let shared = longs(&SyncFlags::augment_args(clap::Command::new("shared")));
        assert!(shared.len() > 20, "{shared:?}");
        let zsync = Cli::command();
        let syncoid = SyncoidArgs::command();
        for sub in ["sync", "plan"] {
            let sub = zsync.find_subcommand(sub).unwrap();
            let have = longs(sub);
            assert!(shared.iter().all(|f| have.contains(f)), "{have:?}");
        }
        let have = longs(&syncoid);
        for f in &shared {
            assert!(have.contains(f), "syncoid lacks --{f}");
            // syncoid's own flags also take Getopt::Long's `-name` form; zsync's extras do not.
            let extra = ["jobs", "json"].contains(&f.as_str());
            assert_eq!(
                SYNCOID_LONG.contains(&f.as_str()),
                !extra,
                "-{f} in SYNCOID_LONG"
            );
        }
        // The same shared flags give the same values through both grammars.
        let flags = [
            "-r",
            "--skip-parent",
            "--exclude-datasets=a",
            "--exclude-datasets",
            "b$",
            "--include-snaps=^auto",
            "--exclude-snaps",
            "hourly",
            "--no-stream",
            "--no-sync-snap",
            "--keep-sync-snap",
            "--identifier=job1",
            "--create-bookmark",
            "--use-hold",
            "--no-resume",
            "--force-delete",
            "--delete-target-snapshots",
            "--preserve-properties",
            "--preserve-recordsize",
            "--sendoptions=-L c e",
            "--recvoptions",
            "u o compression=lz4",
            "--compress=zstd",
            "--source-bwlimit=10M",
            "--target-bwlimit",
            "5M",
            "-j",
            "3",
            "--json",
            "--quiet",
            "--debug",
            "--dumpsnaps",
            "tank/a",
            "backup/a",
        ];
        let via_syncoid = parse_syncoid(&os(&flags)).unwrap().to_sync_args();
        let argv = ["zsync", "sync"].into_iter().chain(flags);
        let Command::Sync(via_sync) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not sync");
        };
        assert_eq!(via_sync.flags, via_syncoid.flags);
        assert_eq!(via_sync.flags.exclude_datasets, vec!["a", "b$"]);
        assert_eq!(via_sync.flags.sendoptions.as_deref(), Some("-L c e"));
        assert_eq!(via_sync.flags.jobs, Some(3));
        assert!(via_sync.flags.recursive && via_sync.flags.dumpsnaps);
        assert_eq!(
            (via_sync.source.as_str(), via_sync.target.as_str()),
            ("tank/a", "backup/a")
        );
        // Defaults agree too; rollback and mount are where the two modes differ.
        let d = parse_syncoid(&os(&["a", "b"])).unwrap().to_sync_args();
        assert_eq!(d.flags, SyncFlags::default());
        let Command::Sync(z) = Cli::try_parse_from(["zsync", "sync", "a", "b"])
            .unwrap()
            .command
        else {
            panic!("not sync");
        };
        assert_eq!(z.flags, SyncFlags::default());
        assert!(!z.rollback && !z.mount && d.rollback && d.mount);
    }

    #[test]
    fn syncoid_mode_differences_in_the_shared_flags() {
        use clap::CommandFactory;
        // syncoid has no -q; zsync sync does.
        assert!(parse_syncoid(&os(&["-q", "a", "b"])).is_err());
        let Command::Sync(z) = Cli::try_parse_from(["zsync", "sync", "-q", "a", "b"])
            .unwrap()
            .command
        else {
            panic!("not sync");
        };
        assert!(z.flags.quiet);
        // --jobs and --json work in syncoid mode but stay out of its help.
        let syncoid = SyncoidArgs::command();
        for name in ["jobs", "json", "backend"] {
            let a = syncoid
                .get_arguments()
                .find(|a| a.get_id() == name)
                .unwrap();
            assert!(a.is_hide_set(), "--{name} shown in syncoid help");
        }
        let sync = Cli::command();
        let sync = sync.find_subcommand("sync").unwrap();
        for name in ["jobs", "json", "quiet"] {
            let a = sync.get_arguments().find(|a| a.get_id() == name).unwrap();
            assert!(!a.is_hide_set(), "--{name} hidden in zsync sync help");
        }
        // Getopt::Long single-dash forms reach the shared flags too.
        let a = parse_syncoid(&os(&["-recursive", "-identifier=x", "-quiet", "a", "b"])).unwrap();
        assert!(a.flags.recursive && a.flags.quiet);
        assert_eq!(a.flags.identifier.as_deref(), Some("x"));
    }

    #[test]
    fn syncoid_long_list_matches_the_grammar() {
        use clap::CommandFactory;
        let mut have = longs(&SyncoidArgs::command());
        have.push("help".into());
        have.sort();
        let mut listed: Vec<String> = SYNCOID_LONG.iter().map(|s| s.to_string()).collect();
        listed.sort();
        // --jobs, --json and --backend are zsync extras: `--` forms only.
        have.retain(|f| !["jobs", "json", "backend"].contains(&f.as_str()));
        assert_eq!(have, listed);
    }

    #[test]
    fn normalize_leaves_short_flags_and_values() {
        let v = normalize_getopt_long(&os(&["-r", "-debug", "-x", "--", "-quiet"]), SYNCOID_LONG);
        assert_eq!(v, os(&["-r", "--debug", "-x", "--", "-quiet"]));
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
        let err = Cli::try_parse_from(["zsync", "snapshot", "--bogus"]).unwrap_err();
        let out = usage_error(&err, "zsync");
        assert_eq!((out.code, out.text.lines().count()), (2, 1), "{}", out.text);
        let err = Cli::try_parse_from(["zsync", "--backend", "nope", "version"]).unwrap_err();
        assert_eq!(usage_error(&err, "zsync").code, 2);
    }
}
