//! `zsync plan` / `zsync sync` / syncoid mode: the run. The resolved args
//! ([`crate::args::resolve`]) go to zfs-sync's [`Executor`]; per-dataset result lines, exit 0/1/2.
//!
//! `zsync plan` lists both sides and prints the plan as of now (no sync snapshot is taken, so with
//! a sync snapshot `zsync sync` additionally sends that one as the newest snapshot).

use crate::args::resolve::{self, Resolved};
use crate::args::{BackendArg, SyncArgs};
use crate::backend;
use crate::exit::{Fail, EXIT_FAILURE};
use std::sync::Mutex;
use zfs_sync::{
    DatasetPlan, DatasetReport, Decision, Executor, Outcome, PipelineMover, Plan, Step, TreeSpec,
};

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
        spec,
        options: opts,
    } = resolve::resolve(args, syncoid_mode)?;
    let warn = |m: &str| {
        if !args.flags.quiet {
            eprintln!("zsync: warning: {m}");
        }
    };
    if let Some(c) = &args.flags.compress {
        if c != "none" {
            warn(&format!(
                "--compress={c}: local transfers are not compressed; ignored"
            ));
        }
    }
    let (be, why) = backend::open(choice)?;
    if args.flags.debug {
        eprintln!("zsync: debug: backend {} ({why})", be.name());
    }
    let stderr_tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress_line = (args.progress || (stderr_tty && !args.no_progress && !args.flags.quiet))
        .then(|| crate::progress::ProgressLine::new(stderr_tty));
    let mover = PipelineMover {
        buffer: None,
        rate_limit: resolve::rate_limit(args)?,
        verify: !args.no_stream_check,
        progress: progress_line
            .as_ref()
            .map(|p| p as &dyn zfs_sync::ProgressObserver),
    };
    let quiet = args.flags.quiet || args.flags.json;
    let print_lock = Mutex::new(());
    let debug = args.flags.debug;
    let print_report = |d: &DatasetReport| {
        if !quiet {
            println!("{}", result_line(d));
        }
        if !args.flags.quiet {
            for w in &d.warnings {
                eprintln!("zsync: warning: {}: {w}", d.target);
            }
        }
        if debug {
            for c in d.steps.iter().flat_map(|s| &s.checked) {
                eprintln!("zsync: debug: {}: stream {}", d.source, c.describe());
            }
        }
    };
    let on_dataset = |d: &DatasetReport| {
        let _g = print_lock.lock();
        match &progress_line {
            Some(p) => p.print_above(|| print_report(d)),
            None => print_report(d),
        }
    };
    // ZSYNC_TRACE=1: one stderr line per backend call with its duration.
    let traced = zfs_sync::trace::Traced { inner: be.as_ref() };
    let be_used: &dyn zfs_core::Backend = if zfs_sync::trace::enabled() {
        &traced
    } else {
        be.as_ref()
    };
    let mut exec = Executor::new(be_used, be_used);
    exec.mover = &mover;
    exec.on_dataset = Some(&on_dataset);

    if args.flags.dumpsnaps {
        dump_snaps(be.as_ref(), &spec);
    }
    if plan_only {
        let plan = exec
            .plan(&spec, &opts)
            .map_err(|e| Fail::failure(e.to_string()))?;
        if args.flags.json {
            println!("{}", plan.to_json());
        } else if !args.flags.quiet {
            print!("{}", render_plan(&plan));
        }
        return Ok(plan_exit(&plan));
    }

    if syncoid_mode && args.rollback && !quiet {
        // syncoid's `recv -F` would discard target changes silently; say what goes first.
        if let Ok(plan) = exec.plan(&spec, &opts) {
            for d in &plan.datasets {
                for s in d.decision.steps() {
                    if let Step::Rollback { to, discards } = s {
                        let names: Vec<&str> = discards.iter().map(|v| v.name.as_str()).collect();
                        println!(
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

    let report = exec
        .run(&spec, &opts)
        .map_err(|e| Fail::failure(e.to_string()))?;
    if args.flags.json {
        println!("{}", report.to_json());
    }
    Ok(u8::try_from(report.exit_code).unwrap_or(EXIT_FAILURE))
}

/// One line per dataset: `synced tank/a -> backup/a (2 steps, 1.2 MiB, 0.8 s)`.
pub fn result_line(d: &DatasetReport) -> String {
    let arrow = format!("{} -> {}", d.source, d.target);
    match &d.outcome {
        Outcome::Synced => format!(
            "synced {arrow} ({} step{}, {}, {:.1} s)",
            d.steps.len(),
            if d.steps.len() == 1 { "" } else { "s" },
            crate::progress::human_bytes(d.bytes),
            d.seconds
        ),
        Outcome::UpToDate => format!("up to date {arrow}"),
        Outcome::Skipped { reason } => format!("skipped {arrow}: {reason}"),
        Outcome::Refused { conflict } => format!("REFUSED {arrow}: {}", conflict.describe()),
        Outcome::Failed { error } => format!("FAILED {arrow}: {error}"),
        Outcome::Cancelled => format!("cancelled {arrow}"),
        other => format!("{other:?} {arrow}"),
    }
}

fn dataset_plan_lines(d: &DatasetPlan) -> String {
    let mut s = format!("{} -> {}", d.source, d.target);
    if d.raw {
        s.push_str(" [raw]");
    }
    match &d.decision {
        Decision::Replicate { steps } => {
            s.push('\n');
            for st in steps {
                s.push_str(&format!("    {}\n", st.describe()));
            }
        }
        Decision::Conflict { conflict } => {
            s.push_str(&format!(": {}\n", conflict.describe()));
        }
    }
    for c in &d.cleanup {
        s.push_str(&format!("    then {}\n", c.describe()));
    }
    s
}

/// The plan for humans: one block per dataset, then the excluded datasets.
pub fn render_plan(p: &Plan) -> String {
    let mut s = String::new();
    for d in &p.datasets {
        s.push_str(&dataset_plan_lines(d));
    }
    for e in &p.excluded {
        s.push_str(&format!("{e}: excluded\n"));
    }
    s
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
fn dump_snaps(be: &dyn zfs_core::Backend, spec: &TreeSpec) {
    let opts = zfs_core::ListOptions {
        depth: if spec.recursive {
            zfs_core::Depth::Recursive
        } else {
            zfs_core::Depth::Zero
        },
        versions: true,
        user_props: Vec::new(),
    };
    for (side, root) in [("source", &spec.source_root), ("target", &spec.target_root)] {
        match be.list(root, &opts) {
            Ok(l) => {
                for d in &l.datasets {
                    for v in &d.versions {
                        eprintln!("{side} {}\t{}\t{}", v.name, v.guid, v.createtxg);
                    }
                }
            }
            Err(e) => eprintln!("{side} {root}: {e}"),
        }
    }
}
