//! syncoid mode's grammar (`syncoid ...` through a symlink, or `zsync syncoid ...`) and its
//! mapping onto `zsync sync`'s arguments.

use super::common::BackendArg;
use super::getopt::normalize_getopt_long;
use super::sync::{SyncArgs, SyncFlags};
use clap::Parser;
use std::ffi::OsString;

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
        // syncoid ignores --skip-parent without --recursive ([`SyncoidArgs::warnings`] says so).
        flags.skip_parent &= flags.recursive;
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
}

impl SyncoidArgs {
    /// What syncoid would warn about in these flags, one line each (printed as syncoid's
    /// `WARNING:` lines unless `--quiet`): the deprecated `--exclude`, `--skip-parent` without
    /// `--recursive` (ignored, as syncoid does).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.exclude.is_empty() {
            w.push(
                "The --exclude option is deprecated, please use --exclude-datasets instead".into(),
            );
        }
        if self.flags.skip_parent && !self.flags.recursive {
            w.push("--skip-parent does nothing without --recursive; ignored".into());
        }
        w
    }
}

/// Long option names of syncoid accepted in single-dash form.
pub(crate) const SYNCOID_LONG: &[&str] = &[
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

/// Parses syncoid's arguments (without the program name).
pub fn parse_syncoid(args: &[OsString]) -> Result<SyncoidArgs, clap::Error> {
    let mut v = vec![OsString::from("syncoid")];
    v.extend(normalize_getopt_long(args, SYNCOID_LONG));
    SyncoidArgs::try_parse_from(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::usage::usage_error;
    use crate::args::{os, resolve, Cli, Command};
    use clap::Args;

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
        assert_eq!(
            a.flags.ssh.sshoption,
            vec!["ConnectTimeout=5", "Compression=no"]
        );
        assert_eq!(a.flags.ssh.sshport, Some(2222));
        assert_eq!(a.pv_options.as_deref(), Some("-p -t"));
        assert!(a.flags.ssh.given() && a.flags.ssh.no_privilege_elevation);
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
        assert!(!a.flags.ssh.given());
        assert!(a.warnings().is_empty());
        // Deprecated --exclude is used only without --exclude-datasets, with syncoid's warning.
        let a = parse_syncoid(&os(&["--exclude=x", "a", "b"])).unwrap();
        assert_eq!(a.to_sync_args().flags.exclude_datasets, vec!["x"]);
        assert_eq!(
            a.warnings(),
            ["The --exclude option is deprecated, please use --exclude-datasets instead"]
        );
        // --skip-parent without -r: ignored with a warning, as syncoid ignores it.
        let a = parse_syncoid(&os(&["--skip-parent", "a", "b"])).unwrap();
        assert!(!a.to_sync_args().flags.skip_parent);
        assert_eq!(
            a.warnings(),
            ["--skip-parent does nothing without --recursive; ignored"]
        );
        assert!(resolve::resolve(&a.to_sync_args(), true).is_ok());
        let a = parse_syncoid(&os(&["-r", "--skip-parent", "a", "b"])).unwrap();
        assert!(a.to_sync_args().flags.skip_parent && a.warnings().is_empty());
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
            let extra = [
                "jobs",
                "json",
                "ssh-transport",
                "accept-new-host-key",
                "small-stream",
                "lock-wait",
                "target-lock-dir",
            ]
            .contains(&f.as_str());
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
        // --jobs, --json, --backend, the SSH extras and the target lock's are zsync's: `--` forms only.
        have.retain(|f| {
            ![
                "jobs",
                "json",
                "backend",
                "ssh-transport",
                "accept-new-host-key",
                "small-stream",
                "lock-wait",
                "target-lock-dir",
            ]
            .contains(&f.as_str())
        });
        assert_eq!(have, listed);
    }
}
