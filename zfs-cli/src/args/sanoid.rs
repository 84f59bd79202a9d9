//! sanoid mode's grammar (`sanoid ...` through a symlink, or `zsync sanoid ...`) and sanoid's
//! defaulting rule.

use super::common::{BackendArg, CommonRunArgs};
use super::getopt::normalize_getopt_long;
use super::MonitorCheck;
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;

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
    /// The one monitor check that runs (sanoid runs only the first of `--monitor-snapshots`,
    /// `--monitor-health`, `--monitor-capacity`, then exits: no cron after it).
    pub monitor: Option<MonitorCheck>,
    /// Print the resolved per-dataset configuration first (`--debug`, sanoid's dump).
    pub dump_config: bool,
    /// Verbose output (sanoid's `--verbose`; on for the default cron run and for `--debug`).
    pub verbose: bool,
    /// No option selected anything to do (e.g. `--verbose` or `--readonly` alone).
    pub nothing: bool,
}

impl SanoidArgs {
    /// Whether any sanoid option other than `--configdir`, `--cache-dir` and `--run-dir` was
    /// given. zsync's own extras (`--lock-file`, `--lock-wait`, `--backend`) do not count.
    pub fn any_sanoid_option(&self) -> bool {
        self.cron
            || self.take_snapshots
            || self.prune_snapshots
            || self.verbose
            || self.debug
            || self.quiet
            || self.readonly
            || self.cache_ttl.is_some()
            || self.force_update
            || self.force_prune
            || self.monitor_snapshots
            || self.monitor_health
            || self.monitor_capacity
            || self.version
    }

    /// Resolves the actions with sanoid's rule: `--cron --verbose` only when no option other than
    /// `--configdir`/`--cache-dir`/`--run-dir` is given, so `--debug`, `--verbose`, `--quiet`,
    /// `--readonly` (or `--force-update`, `--cache-ttl`, `--force-prune`) alone take and destroy
    /// nothing. A monitor flag runs only the first monitor, and no cron.
    pub fn actions(&self) -> SanoidActions {
        let default_cron = !self.any_sanoid_option();
        let monitor = [
            (self.monitor_snapshots, MonitorCheck::Snapshots),
            (self.monitor_health, MonitorCheck::Health),
            (self.monitor_capacity, MonitorCheck::Capacity),
        ]
        .into_iter()
        .find_map(|(on, c)| on.then_some(c));
        let cron = (self.cron || default_cron) && monitor.is_none();
        let take = cron || (self.take_snapshots && monitor.is_none());
        let prune = cron || (self.prune_snapshots && monitor.is_none());
        let verbose = self.verbose || self.debug || default_cron;
        // sanoid: `--quiet` turns verbose off for the cron job only.
        let verbose = verbose && !(cron && self.quiet);
        SanoidActions {
            take,
            prune,
            monitor,
            dump_config: self.debug,
            verbose,
            nothing: !take && !prune && monitor.is_none() && !self.debug,
        }
    }

    /// The config file sanoid would read.
    pub fn config_file(&self) -> PathBuf {
        self.configdir.join("sanoid.conf")
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

/// Parses sanoid's arguments (without the program name).
pub fn parse_sanoid(args: &[OsString]) -> Result<SanoidArgs, clap::Error> {
    let mut v = vec![OsString::from("sanoid")];
    v.extend(normalize_getopt_long(args, SANOID_LONG));
    SanoidArgs::try_parse_from(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::os;
    use crate::args::usage::usage_error;

    #[test]
    fn sanoid_default_is_cron_verbose() {
        let a = parse_sanoid(&[]).unwrap();
        let act = a.actions();
        assert!(act.take && act.prune && act.verbose && !act.nothing);
        assert_eq!(a.config_file(), PathBuf::from("/etc/sanoid/sanoid.conf"));
        // --configdir, --cache-dir, --run-dir (and zsync's lock options) are still "no option".
        let a = parse_sanoid(&os(&[
            "--configdir=/x",
            "--cache-dir=/c",
            "--run-dir=/r",
            "--lock-file=/l",
            "--lock-wait=3",
        ]))
        .unwrap();
        assert!(a.actions().take && a.actions().prune && a.actions().verbose);
        assert_eq!(a.config_file(), PathBuf::from("/x/sanoid.conf"));
    }

    /// sanoid runs cron only when `keys %args < 4`: any other option alone does nothing
    /// (`--debug` only dumps the config).
    #[test]
    fn sanoid_option_alone_runs_no_cron() {
        for flag in [
            "--debug",
            "--verbose",
            "--quiet",
            "--readonly",
            "--force-update",
            "--force-prune",
            "--cache-ttl=60",
        ] {
            let a = parse_sanoid(&os(&["--configdir=/x", flag])).unwrap();
            let act = a.actions();
            assert!(!act.take && !act.prune, "{flag}: {act:?}");
            assert_eq!(act.monitor, None, "{flag}");
            assert_eq!(act.dump_config, flag == "--debug", "{flag}");
            assert_eq!(act.nothing, flag != "--debug", "{flag}");
        }
        // --cron --quiet: cron, not verbose; --cron --debug: dump, then a verbose cron.
        let act = parse_sanoid(&os(&["--cron", "--quiet"])).unwrap().actions();
        assert!(act.take && act.prune && !act.verbose);
        let act = parse_sanoid(&os(&["--cron", "--debug"])).unwrap().actions();
        assert!(act.take && act.prune && act.verbose && act.dump_config);
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
        assert!(!a.take && !a.prune && a.monitor == Some(MonitorCheck::Snapshots));
        // sanoid: the first monitor runs and exits; cron never runs after it.
        let a = parse_sanoid(&os(&["--cron", "--monitor-health"]))
            .unwrap()
            .actions();
        assert!(!a.take && !a.prune && a.monitor == Some(MonitorCheck::Health));
        let a = parse_sanoid(&os(&["--monitor-capacity", "--monitor-health"]))
            .unwrap()
            .actions();
        assert_eq!(a.monitor, Some(MonitorCheck::Health));
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
}
