//! Dispatch: argv → personality → command → exit code (see [`crate::exit`]; 75 when the run lock
//! stayed busy).

use crate::args::{
    self, personality, BackendArg, Cli, Command, CommonRunArgs, ConfigCommand, Personality,
    RunArgs, SanoidArgs,
};
use crate::backend;
use crate::config::{load_config, LoadedConfig};
use crate::discover;
use crate::exit::{Fail, EXIT_LOCKED, EXIT_OK};
use crate::output::{Output, Verbosity};
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;
use zsync_ops::engine::{self, RunOptions};
use zsync_ops::lock::{LockError, RunLock, DEFAULT_LOCK_FILE, DEFAULT_LOCK_WAIT};

/// Runs the program with the full argv (argv\[0\] decides the personality); returns the exit code.
pub fn main_with(argv: Vec<OsString>) -> u8 {
    let argv0 = argv.first().cloned().unwrap_or_default();
    let rest = argv.get(1..).unwrap_or(&[]).to_vec();
    let (program, result) = match personality(&argv0) {
        Personality::Sanoid => {
            crate::logging::init(Default::default());
            ("sanoid", run_sanoid(&argv0, &rest, None))
        }
        Personality::Syncoid => {
            crate::logging::init(Default::default());
            ("syncoid", run_syncoid(&argv0, &rest, None))
        }
        Personality::Zsync => {
            let mut v = vec![OsString::from("zsync")];
            v.extend(rest);
            ("zsync", run_zsync(v))
        }
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            if !f.message.is_empty() {
                // One line whatever a hostile value put into the message.
                errln!("{program}: {}", args::usage::one_line(&f.message));
            }
            f.code
        }
    }
}

fn usage(err: clap::Error, program: &str) -> Result<u8, Fail> {
    if err.kind() == clap::error::ErrorKind::InvalidUtf8 {
        // clap does not say which argument; name it (the first one that is not UTF-8).
        let bad = std::env::args_os()
            .skip(1)
            .find(|a| a.to_str().is_none())
            .map(|a| format!(" {:?}", a.to_string_lossy()))
            .unwrap_or_default();
        return Err(Fail::failure(format!(
            "argument{bad} is not valid UTF-8 (dataset names, numbers and options must be; \
             try '{program} --help')"
        )));
    }
    let out = args::usage_error(&err, program);
    if out.stdout {
        out!("{}", out.text);
    } else {
        err!("{}", out.text);
    }
    Ok(out.code)
}

fn run_zsync(argv: Vec<OsString>) -> Result<u8, Fail> {
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => return usage(e, "zsync"),
    };
    crate::logging::init(cli.log_format);
    match cli.command {
        Command::Version => version(cli.backend),
        Command::Snapshot(r) => run_config(cli.backend, &r, true, false),
        Command::Prune(r) => run_config(cli.backend, &r, false, true),
        Command::Cron(r) => run_config(cli.backend, &r, true, true),
        Command::Monitor(m) => crate::monitor::run_command(cli.backend, &m),
        Command::Status(s) => crate::status::run(cli.backend, &s),
        Command::Metrics(m) => crate::status::metrics(cli.backend, &m),
        Command::Plan(s) => crate::sync::run(cli.backend, &s, true, false),
        Command::Sync(s) => crate::sync::run(cli.backend, &s, false, false),
        Command::Clone(c) => crate::clone::run(cli.backend, &c),
        Command::Run(r) => crate::run::run(cli.backend, &r),
        Command::Drill(d) => crate::drill::run(cli.backend, &d),
        Command::Verify(v) => crate::verify::run(cli.backend, &v),
        Command::VerifyManifest(m) => crate::verify::manifest(cli.backend, &m),
        Command::Config(ConfigCommand::Show(c)) => {
            let loaded = load_config(c.config.as_deref(), &discover::default_candidates())?;
            // The remarks go to stderr (and into the JSON), as every command that reads the file
            // says them; sanoid's --debug dump leaves them to the stage it goes on to.
            for w in &loaded.config.warnings {
                crate::logging::warn(&w.located());
            }
            show_config(cli.backend, &loaded, c.json);
            Ok(EXIT_OK)
        }
        Command::Sanoid { args } => run_sanoid("sanoid".as_ref(), &args, Some(cli.backend)),
        Command::Syncoid { args } => run_syncoid("syncoid".as_ref(), &args, Some(cli.backend)),
    }
}

/// Prints the resolved per-dataset configuration (text, or JSON).
fn show_config(choice: BackendArg, loaded: &LoadedConfig, json: bool) {
    let opened = backend::open(choice).map_err(|e| format!("{e:#}"));
    let shown = crate::config_show::resolve(
        &loaded.config,
        opened
            .as_ref()
            .map(|(be, _)| be.as_ref())
            .map_err(Clone::clone),
    );
    if json {
        let v = crate::config_show::json(loaded, &shown);
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        out!("{}", crate::config_show::text(loaded, &shown));
    }
}

fn version(choice: BackendArg) -> Result<u8, Fail> {
    outln!("zsync {}", env!("CARGO_PKG_VERSION"));
    match backend::open(choice) {
        Ok((be, why)) => {
            outln!("backend: {}", be.name());
            outln!("why: {why}");
            match zfs_core::lzc::release::module_version() {
                Some(v) => outln!("zfs: {v} (kernel module)"),
                None => outln!("zfs: no kernel module loaded"),
            }
            if be.name() == "lzc" {
                outln!("lzc fallbacks: {}", zfs_core::lzc::release::FALLBACKS);
            }
            Ok(EXIT_OK)
        }
        Err(e) => Err(Fail::failure(format!("backend: none usable: {e:#}"))),
    }
}

/// Takes the lock `snapshot`, `prune` and `cron` share (exit 75 when it stays busy).
pub(crate) fn take_lock(common: &CommonRunArgs) -> Result<RunLock, Fail> {
    let path = common
        .lock_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LOCK_FILE));
    let wait = match common.lock_wait {
        Some(s) => args::common::seconds("--lock-wait", s)?,
        None => DEFAULT_LOCK_WAIT,
    };
    acquire_lock(&path, wait)
}

/// Takes the lock at `path`, waiting up to `wait`; exit 75 when it stays busy, 2 when the file
/// cannot be used.
pub(crate) fn acquire_lock(path: &std::path::Path, wait: Duration) -> Result<RunLock, Fail> {
    RunLock::acquire(path, wait).map_err(|e| match e {
        LockError::Busy { .. } => Fail {
            code: EXIT_LOCKED,
            message: e.to_string(),
        },
        other => Fail::failure(other.to_string()),
    })
}

/// `snapshot`, `prune`, `cron`.
fn run_config(choice: BackendArg, r: &RunArgs, take: bool, prune: bool) -> Result<u8, Fail> {
    let verbosity = Verbosity::from_flags(r.quiet, r.verbose, false);
    let loaded = load_config(r.config.as_deref(), &discover::default_candidates())?;
    execute(
        choice,
        &loaded,
        &r.common,
        RunOptions {
            take,
            prune,
            dry_run: r.dry_run,
            now: discover::now(r.common.now.as_deref())?,
            // Hook output must not mix into the JSON report on stdout.
            hook_stdout_to_stderr: r.json,
            protect: Default::default(),
        },
        Output::new(verbosity, r.json),
    )
}

fn execute(
    choice: BackendArg,
    loaded: &LoadedConfig,
    common: &CommonRunArgs,
    opts: RunOptions,
    mut out: Output,
) -> Result<u8, Fail> {
    for w in &loaded.config.warnings {
        out.warn(&w.located());
    }
    // A dry run changes nothing, so it needs no lock (and works unprivileged).
    let _lock = if opts.dry_run {
        None
    } else {
        Some(take_lock(common)?)
    };
    let (be, why) = backend::open(choice)?;
    out.debug(&format!("backend: {} ({why})", be.name()));
    let report = engine::run(&loaded.config, be.as_ref(), &opts, &mut out);
    Ok(out.finish(&report))
}

/// The upstream sanoid/syncoid release whose behaviour the personalities follow.
pub const COMPAT_VERSION: &str = "2.3.0";

/// `--version` in a personality: Getopt::Long's `PROGRAM version X.Y.Z` first (what a script
/// checking sanoid's or syncoid's version parses), then a line naming zsync.
pub fn personality_version(argv0: &std::ffi::OsStr, mode: &str) -> String {
    format!(
        "{} version {COMPAT_VERSION}\n(zsync {} in {mode} mode; {mode}-compatible)\n",
        argv0.to_string_lossy(),
        env!("CARGO_PKG_VERSION")
    )
}

fn run_sanoid(
    argv0: &std::ffi::OsStr,
    rest: &[OsString],
    backend_flag: Option<BackendArg>,
) -> Result<u8, Fail> {
    let a: SanoidArgs = match args::parse_sanoid(rest) {
        Ok(a) => a,
        Err(e) => return usage(e, "sanoid"),
    };
    if a.version {
        out!("{}", personality_version(argv0, "sanoid"));
        return Ok(EXIT_OK);
    }
    if a.force_prune {
        // sanoid's own deprecation warning, word for word.
        errln!("WARN: --force-prune argument is deprecated and its behavior is now standard");
    }
    let choice = backend_flag.unwrap_or(a.backend);
    let act = a.actions();
    let verbosity = Verbosity::from_flags(a.quiet, act.verbose, a.debug);
    if act.nothing {
        // sanoid's rule: an option other than --configdir/--cache-dir/--run-dir means "no cron".
        if a.verbose || a.readonly {
            errln!(
                "sanoid: nothing to do: sanoid runs --cron only when no option but --configdir, \
                 --cache-dir or --run-dir is given; add --cron, --take-snapshots or --prune-snapshots"
            );
        }
        return Ok(EXIT_OK);
    }
    let loaded = load_config(Some(&a.config_file()), &[])?;
    if act.dump_config {
        // sanoid's --debug: the resolved configuration first (then whatever else was asked).
        outln!("****** CONFIGS ******");
        show_config(choice, &loaded, false);
    }
    if let Some(check) = act.monitor {
        let now = discover::now(a.common.now.as_deref())?;
        let (be, _) = backend::open(choice)?;
        return Ok(crate::sanoid_monitor::run(&loaded, be.as_ref(), check, now));
    }
    if act.take || act.prune {
        return execute(
            choice,
            &loaded,
            &a.common,
            RunOptions {
                take: act.take,
                prune: act.prune,
                dry_run: a.readonly,
                now: discover::now(a.common.now.as_deref())?,
                hook_stdout_to_stderr: false,
                protect: Default::default(),
            },
            Output::sanoid(verbosity),
        );
    }
    Ok(EXIT_OK)
}

fn run_syncoid(
    argv0: &std::ffi::OsStr,
    rest: &[OsString],
    backend_flag: Option<BackendArg>,
) -> Result<u8, Fail> {
    let a = match args::parse_syncoid(rest) {
        Ok(a) => a,
        Err(e) => return usage(e, "syncoid"),
    };
    if a.version {
        out!("{}", personality_version(argv0, "syncoid"));
        return Ok(EXIT_OK);
    }
    if a.insecure_direct_connection.is_some() {
        return Err(Fail::failure(
            "--insecure-direct-connection is not supported (zsync moves the stream itself)",
        ));
    }
    if !a.flags.quiet {
        for w in a.warnings() {
            errln!("WARNING: {w}");
        }
    }
    let choice = backend_flag.unwrap_or(a.backend);
    crate::sync::run(choice, &a.to_sync_args(), false, true)
}
