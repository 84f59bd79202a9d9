//! `zsync plan` / `zsync sync` / syncoid mode: the run. The resolved args
//! ([`crate::args::resolve`]) go to zfs-sync's [`Executor`]; per-dataset result lines, exit 0/1/2.
//!
//! `zsync plan` lists both sides and prints the plan as of now (no sync snapshot is taken, so with
//! a sync snapshot `zsync sync` additionally sends that one as the newest snapshot).

use crate::args::resolve::{self, Resolved};
use crate::args::{BackendArg, SyncArgs};
use crate::backend::{self, Opened};
use crate::exit::{Fail, EXIT_FAILURE};
use crate::lost_pool::say_lost_pools;
use crate::render::render_plan;
use crate::sync_events::SyncEvents;
use crate::trace::Tracer;
use std::sync::Mutex;
use zfs_core::Endpoint;
use zfs_sync::{Events, Executor, PipelineMover, Plan, Step, Timed, TreeSpec};

/// Runs a plan (`plan_only`) or a sync; `syncoid_mode` keeps syncoid's default of discarding
/// target changes (`recv -F`) unless `--no-rollback` — the caller already mapped that onto
/// `args.rollback` — and prints what is discarded.
pub fn run(
    choice: BackendArg,
    args: &SyncArgs,
    plan_only: bool,
    syncoid_mode: bool,
) -> Result<u8, Fail> {
    let Resolved {
        source,
        target,
        spec,
        options: opts,
        warnings,
    } = resolve::resolve(args, syncoid_mode)?;
    let warn = |m: &str| {
        if !args.flags.quiet {
            crate::logging::warn(m);
        }
    };
    for w in &warnings {
        warn(w);
    }
    // Bad input is refused before any host is reached.
    let rate_limit = resolve::rate_limit(args)?;
    // One run at a time into a target (waits --lock-wait, then exit 75); a plan receives nothing.
    let _target_lock = match plan_only {
        true => None,
        false => crate::target_lock::lock_target(&target, &args.flags, &warn)?,
    };
    let pair = open_pair(choice, args, &source, &target, &warn)?;
    with_executor(&pair, args, rate_limit, syncoid_mode, |exec, quiet| {
        if args.flags.dumpsnaps {
            dump_snaps((pair.source.backend.as_ref(), pair.target_backend()), &spec);
        }
        if plan_only {
            let plan = exec
                .plan(&spec, &opts)
                .map_err(|e| Fail::failure(e.to_string()))?;
            if args.flags.json {
                outln!("{}", plan.to_json());
            } else if !args.flags.quiet {
                out!("{}", render_plan(&plan));
            }
            return Ok(plan_exit(&plan));
        }
        if syncoid_mode && args.rollback && !quiet {
            say_rollbacks(exec, &spec, &opts);
        }
        let report = match exec.run(&spec, &opts) {
            Ok(r) => r,
            Err(e) => {
                say_lost_pools(&pair, &source, &target);
                return crate::signals::interrupted(&[]).ok_or(Fail::failure(e.to_string()));
            }
        };
        if report.exit_code != 0 {
            say_lost_pools(&pair, &source, &target);
        }
        // What the run did other than asked (a remote end without the codec program asked for).
        for n in &report.notices {
            warn(n);
        }
        if args.flags.json {
            outln!("{}", report.to_json());
        }
        if let Some(code) = crate::signals::report_interrupted(&report) {
            return Ok(code);
        }
        Ok(u8::try_from(report.exit_code).unwrap_or(EXIT_FAILURE))
    })
}

/// Both ends of a replication, opened: one backend per host (both ends on one host share it, and
/// its SSH session).
pub struct OpenedPair {
    /// The source's host.
    pub source: Opened,
    /// The target's host, when it is another host than the source's.
    pub target: Option<Opened>,
}

impl OpenedPair {
    /// The target's backend (the source's when both are on one host).
    pub fn target_backend(&self) -> &dyn zfs_core::Backend {
        self.target
            .as_ref()
            .unwrap_or(&self.source)
            .backend
            .as_ref()
    }

    /// The target's host (the source's when both are on one host).
    pub fn target_host(&self) -> &Opened {
        self.target.as_ref().unwrap_or(&self.source)
    }
}

/// Opens `source`'s and `target`'s hosts with `args`' SSH flags (ignored, with a warning, when
/// both are local); notices go to `warn`, the backends chosen to stderr under `--debug`.
pub fn open_pair(
    choice: BackendArg,
    args: &SyncArgs,
    source: &Endpoint,
    target: &Endpoint,
    warn: &dyn Fn(&str),
) -> Result<OpenedPair, Fail> {
    let ssh = if source.is_local() && target.is_local() {
        if args.flags.ssh.given() {
            warn("SSH flags ignored: both ends are local");
        }
        zfs_ssh::SshOptions::default()
    } else {
        args.flags.ssh.options()?
    };
    let opened = backend::open_endpoint(choice, source, &ssh)?;
    for n in &opened.notes {
        warn(n);
    }
    if args.flags.debug {
        crate::logging::debug(&format!(
            "source backend {} ({})",
            opened.backend.name(),
            opened.why
        ));
    }
    let target_opened = match target.remote == source.remote {
        true => None,
        false => {
            let t = backend::open_endpoint(choice, target, &ssh)?;
            for n in &t.notes {
                warn(n);
            }
            if args.flags.debug {
                crate::logging::debug(&format!("target backend ({})", t.why));
            }
            Some(t)
        }
    };
    Ok(OpenedPair {
        source: opened,
        target: target_opened,
    })
}

/// Builds the executor over `pair` with `args`' events (result lines, progress, trace) and mover,
/// and hands it to `f` with whether the run is quiet.
pub fn with_executor<T>(
    pair: &OpenedPair,
    args: &SyncArgs,
    rate_limit: Option<u64>,
    syncoid_mode: bool,
    f: impl FnOnce(&Executor, bool) -> T,
) -> T {
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let events = SyncEvents {
        progress: (args.progress || (stderr_tty && !args.no_progress && !args.flags.quiet))
            .then(|| crate::progress::ProgressLine::new(stderr_tty)),
        trace: Tracer::if_enabled(),
        quiet: args.flags.quiet || args.flags.json,
        no_warnings: args.flags.quiet,
        debug: args.flags.debug,
        print_lock: Mutex::new(()),
        syncoid: syncoid_mode && !args.flags.json,
        syncoid_quiet: args.flags.quiet,
        no_stream: args.flags.no_stream,
    };
    let mover = PipelineMover {
        buffer: None,
        rate_limit,
        verify: !args.no_stream_check,
        progress: events.progress.is_some().then_some(&events as &dyn Events),
    };
    let (source_be, target_be) = (pair.source.backend.as_ref(), pair.target_backend());
    // The timing trace (`ZSYNC_LOG=zsync::trace=trace`): one event per backend call with its duration.
    let timed = |inner| Timed {
        inner,
        events: &events,
    };
    let (timed_source, timed_target) = (timed(source_be), timed(target_be));
    let (source_used, target_used): (&dyn zfs_core::Backend, &dyn zfs_core::Backend) =
        if events.trace.is_some() {
            (&timed_source, &timed_target)
        } else {
            (source_be, target_be)
        };
    let mut exec = Executor::new(source_used, target_used);
    // SIGINT/SIGTERM/SIGHUP stop the run; a stream in flight ends with its children (resumable).
    exec.cancel = crate::signals::cancel();
    crate::signals::watch_children();
    exec.mover = &mover;
    exec.events = &events;
    f(&exec, events.quiet)
}

/// syncoid's `recv -F` would discard target changes silently; says what goes first.
fn say_rollbacks(exec: &Executor, spec: &TreeSpec, opts: &zfs_sync::SyncOptions) {
    if let Ok(plan) = exec.plan(spec, opts) {
        for d in &plan.datasets {
            for s in d.decision.steps() {
                if let Step::Rollback { to, discards } = s {
                    let names: Vec<&str> = discards.iter().map(|v| v.name.as_str()).collect();
                    outln!(
                        "syncoid mode: rolling {} back to {}, discarding {}",
                        d.target,
                        to.name,
                        names.join(", ")
                    );
                }
            }
        }
    }
}

/// 0 when every dataset can be replicated or is up to date; 2 when any is refused.
fn plan_exit(p: &Plan) -> u8 {
    let refused = p
        .datasets
        .iter()
        .any(|d| d.decision.conflict().is_some_and(|c| !c.is_benign()));
    if refused {
        2
    } else {
        0
    }
}

/// `--dumpsnaps`: every snapshot and bookmark of both sides (name, guid, createtxg), on stderr.
fn dump_snaps((source, target): (&dyn zfs_core::Backend, &dyn zfs_core::Backend), spec: &TreeSpec) {
    let opts = zfs_core::ListOptions {
        depth: if spec.recursive {
            zfs_core::Depth::Recursive
        } else {
            zfs_core::Depth::Zero
        },
        versions: true,
        user_props: Vec::new(),
    };
    for (side, be, root) in [
        ("source", source, &spec.source_root),
        ("target", target, &spec.target_root),
    ] {
        match be.list(root, &opts) {
            Ok(l) => {
                for d in &l.datasets {
                    for v in &d.versions {
                        errln!("{side} {}\t{}\t{}", v.name, v.guid, v.createtxg);
                    }
                }
            }
            Err(e) => errln!("{side} {root}: {e}"),
        }
    }
}
