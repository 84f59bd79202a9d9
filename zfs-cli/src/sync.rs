//! `zsync plan` / `zsync sync` / syncoid mode: flags → zfs-sync's [`TreeSpec`] and
//! [`SyncOptions`], then zfs-sync's [`Executor`]; per-dataset result lines, exit 0/1/2.
//!
//! `zsync plan` lists both sides and prints the plan as of now (no sync snapshot is taken, so with
//! a sync snapshot `zsync sync` additionally sends that one as the newest snapshot).

use crate::app::{Fail, EXIT_FAILURE};
use crate::args::{BackendArg, SyncArgs};
use crate::backend;
use regex::Regex;
use std::sync::Mutex;
use zfs_core::DatasetName;
use zfs_sync::{
    DatasetPlan, DatasetReport, Decision, Executor, InitialReplication, Outcome, PipelineMover,
    Plan, PlanOptions, RecvOptions, SendOptions, SnapshotFilter, Step, SyncOptions, TreeSpec,
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
    for ep in [&args.source, &args.target] {
        check_local(ep)?;
    }
    let spec = tree_spec(args)?;
    let mut opts = sync_options(args)?;
    if syncoid_mode {
        // syncoid's names: `syncoid_<id_><host>_<local date>-GMT<offset>`, holds `syncoid_<id_><host>`;
        // unlike syncoid, only exactly this identifier + host is pruned (not `<host>2`).
        opts.identifier = syncoid_identifier(args.flags.identifier.as_deref(), &hostname());
        opts.naming = zfs_sync::SyncNaming::Syncoid;
    }
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
        rate_limit: rate_limit(args)?,
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

/// The local host name (`gethostname`), reduced to the characters an identifier allows.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}

/// syncoid mode's job identifier: `<identifier>_<host>` or just `<host>`, as syncoid names its sync
/// snapshots and holds per host.
pub fn syncoid_identifier(identifier: Option<&str>, host: &str) -> String {
    match identifier {
        Some(id) if !id.is_empty() => format!("{id}_{host}"),
        _ => host.to_string(),
    }
}

/// Rejects remote endpoints (`[user@]host:pool/ds`): remote replication is a later issue.
pub fn check_local(endpoint: &str) -> Result<(), Fail> {
    let first = endpoint.split('/').next().unwrap_or("");
    if first.contains(':') {
        return Err(Fail::failure(format!(
            "remote endpoint '{endpoint}' is not supported yet: zsync replicates local datasets only \
             (remote replication is planned)"
        )));
    }
    Ok(())
}

fn dataset(what: &str, s: &str) -> Result<DatasetName, Fail> {
    DatasetName::parse(s).map_err(|e| Fail::failure(format!("{what} '{s}': {e}")))
}

fn regexes(flag: &str, v: &[String]) -> Result<Vec<Regex>, Fail> {
    v.iter()
        .map(|r| Regex::new(r).map_err(|e| Fail::failure(format!("{flag} '{r}': {e}"))))
        .collect()
}

/// The tree to replicate.
pub fn tree_spec(a: &SyncArgs) -> Result<TreeSpec, Fail> {
    let src = dataset("source", &a.source)?;
    let dst = dataset("target", &a.target)?;
    if a.flags.skip_parent && !a.flags.recursive {
        return Err(Fail::failure("--skip-parent needs --recursive"));
    }
    let mut spec = if a.flags.recursive {
        TreeSpec::recursive(src, dst)
    } else {
        TreeSpec::single(src, dst)
    };
    spec.skip_parent = a.flags.skip_parent;
    spec.exclude_datasets = regexes("--exclude-datasets", &a.flags.exclude_datasets)?;
    Ok(spec)
}

/// Planner and executor options from the flags.
pub fn sync_options(a: &SyncArgs) -> Result<SyncOptions, Fail> {
    regexes("--include-snaps", &a.flags.include_snaps)?;
    regexes("--exclude-snaps", &a.flags.exclude_snaps)?;
    let filter = SnapshotFilter::new(&a.flags.include_snaps, &a.flags.exclude_snaps)
        .map_err(|e| Fail::failure(format!("snapshot filter: {e}")))?;
    let plan = PlanOptions {
        intermediates: !a.flags.no_stream,
        initial: if a.flags.no_stream {
            InitialReplication::Newest
        } else {
            InitialReplication::All
        },
        rollback: a.rollback,
        force_delete: a.flags.force_delete,
        delete_target_snapshots: a.flags.delete_target_snapshots,
        resume: !a.flags.no_resume,
        abort_stale_token: true,
        snapshots: filter,
    };
    let send = parse_sendoptions(a.flags.sendoptions.as_deref().unwrap_or(""))?;
    let mut recv = parse_recvoptions(a.flags.recvoptions.as_deref().unwrap_or(""))?;
    // Unmounted unless --mount (syncoid mode: mounted unless `u`).
    recv.no_mount |= !a.mount;
    let mut o = SyncOptions {
        plan,
        sync_snapshot: !a.flags.no_sync_snap,
        keep_sync_snapshots: a.flags.keep_sync_snap,
        use_hold: a.flags.use_hold,
        create_bookmark: a.flags.create_bookmark,
        send,
        recv,
        preserve_properties: a.flags.preserve_properties,
        preserve_recordsize: a.flags.preserve_recordsize,
        ..SyncOptions::default()
    };
    if let Some(id) = &a.flags.identifier {
        o.identifier = id.clone();
    }
    if let Some(j) = a.flags.jobs {
        if j == 0 {
            return Err(Fail::failure("--jobs must be at least 1"));
        }
        o.jobs = j;
    }
    Ok(o)
}

/// syncoid's `--sendoptions`: letters, optionally dashed and space separated (`"L c e"`, `"-Lce"`,
/// `"w"`). Supported: `L` large blocks, `c` compressed, `e` embedded, `w` raw, `p` properties in the
/// stream.
pub fn parse_sendoptions(s: &str) -> Result<SendOptions, Fail> {
    let mut o = SendOptions::default();
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '-') {
        match c {
            'L' => o.large_block = true,
            'c' => o.compressed = true,
            'e' => o.embed = true,
            'w' => o.raw = true,
            'p' => o.props = true,
            other => {
                return Err(Fail::failure(format!(
                    "--sendoptions: '{other}' is not supported (supported: L c e w p)"
                )))
            }
        }
    }
    Ok(o)
}

/// syncoid's `--recvoptions`: `u` (no mount), `o prop=value`, `x prop`, space separated
/// (`"u o compression=lz4 x mountpoint"`; dashes allowed).
pub fn parse_recvoptions(s: &str) -> Result<RecvOptions, Fail> {
    let mut o = RecvOptions {
        no_mount: false,
        ..RecvOptions::default()
    };
    let mut words = s.split_whitespace().map(|w| w.trim_start_matches('-'));
    while let Some(w) = words.next() {
        let (flag, rest) = w.split_at(w.chars().next().map_or(0, char::len_utf8));
        // `ocompression=lz4` and `o compression=lz4` are both accepted.
        let mut value = || -> Result<String, Fail> {
            if !rest.is_empty() {
                return Ok(rest.to_string());
            }
            words
                .next()
                .map(str::to_string)
                .ok_or_else(|| Fail::failure(format!("--recvoptions: '{flag}' needs a value")))
        };
        match flag {
            "u" if rest.is_empty() => o.no_mount = true,
            "o" => {
                let v = value()?;
                let Some((k, val)) = v.split_once('=') else {
                    return Err(Fail::failure(format!(
                        "--recvoptions: 'o {v}' must be property=value"
                    )));
                };
                o.props.push((k.to_string(), val.to_string()));
            }
            "x" => o.exclude_props.push(value()?),
            _ => {
                return Err(Fail::failure(format!(
                    "--recvoptions: '{w}' is not supported (supported: u, o prop=value, x prop)"
                )))
            }
        }
    }
    Ok(o)
}

/// A rate like `10M`, `500k`, `1G`, `2048` (bytes per second; binary multiples as mbuffer uses).
pub fn parse_rate(s: &str) -> Result<u64, Fail> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1 << 30),
        Some('b' | 'B') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| Fail::failure(format!("bad rate '{s}' (e.g. 10M, 500k)")))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(Fail::failure(format!("bad rate '{s}': must be positive")));
    }
    Ok((n * mult as f64) as u64)
}

fn rate_limit(a: &SyncArgs) -> Result<Option<u64>, Fail> {
    let s = a
        .flags
        .source_bwlimit
        .as_deref()
        .map(parse_rate)
        .transpose()?;
    let t = a
        .flags
        .target_bwlimit
        .as_deref()
        .map(parse_rate)
        .transpose()?;
    Ok(match (s, t) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    })
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

fn step_line(s: &Step) -> String {
    match s {
        Step::AbortResume { reason, token } => {
            format!(
                "abort partial receive ({reason:?}, token for {})",
                token.toname
            )
        }
        Step::Resume { to, .. } => format!("resume interrupted receive of {}", to.name),
        Step::Rollback { to, discards } => {
            let d: Vec<&str> = discards.iter().map(|v| v.name.as_str()).collect();
            format!("rollback to {} DISCARDING {}", to.name, d.join(", "))
        }
        Step::DestroyTarget {
            target,
            snapshots,
            descendants,
        } => format!(
            "DESTROY {target} ({} snapshots, {} datasets below it)",
            snapshots.len(),
            descendants.len()
        ),
        Step::Full { snapshot } => format!("full {}", snapshot.name),
        Step::Clone {
            origin,
            target_origin,
            to,
        } => format!(
            "clone {} from origin {} (as clone of {target_origin})",
            to.name, origin.name
        ),
        Step::Incremental {
            from,
            to,
            intermediates,
            receives,
        } => format!(
            "incremental {} {} -> {} ({} snapshot{})",
            if *intermediates { "-I" } else { "-i" },
            from.name,
            to.name,
            receives.len(),
            if receives.len() == 1 { "" } else { "s" }
        ),
        Step::DestroyTargetSnapshots { snapshots } => {
            let d: Vec<&str> = snapshots.iter().map(|v| v.name.as_str()).collect();
            format!(
                "destroy target snapshots gone from the source: {}",
                d.join(", ")
            )
        }
        other => other.kind().to_string(),
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
                s.push_str(&format!("    {}\n", step_line(st)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::SyncFlags;

    #[test]
    fn sendoptions() {
        let o = parse_sendoptions("L c e").unwrap();
        assert!(o.large_block && o.compressed && o.embed && !o.raw && !o.props);
        let o = parse_sendoptions("-w -p").unwrap();
        assert!(o.raw && o.props);
        assert!(parse_sendoptions("R").is_err());
    }

    #[test]
    fn recvoptions() {
        let o = parse_recvoptions("u o compression=lz4 x mountpoint -ocanmount=off").unwrap();
        assert!(o.no_mount);
        assert_eq!(
            o.props,
            vec![
                ("compression".to_string(), "lz4".to_string()),
                ("canmount".to_string(), "off".to_string())
            ]
        );
        assert_eq!(o.exclude_props, vec!["mountpoint"]);
        assert!(parse_recvoptions("F").is_err());
        assert!(parse_recvoptions("o").is_err());
        assert!(parse_recvoptions("o novalue").is_err());
    }

    #[test]
    fn syncoid_naming() {
        assert_eq!(syncoid_identifier(None, "nas"), "nas");
        assert_eq!(syncoid_identifier(Some("job"), "nas"), "job_nas");
        let h = hostname();
        assert!(
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        );
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10M").unwrap(), 10 << 20);
        assert_eq!(parse_rate("500k").unwrap(), 500 << 10);
        assert_eq!(parse_rate("2048").unwrap(), 2048);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn options_mapping() {
        let a = SyncArgs {
            source: "tank/a".into(),
            target: "backup/a".into(),
            flags: SyncFlags {
                recursive: true,
                skip_parent: true,
                exclude_datasets: vec!["tmp$".into()],
                no_stream: true,
                identifier: Some("nas1".into()),
                jobs: Some(3),
                ..SyncFlags::default()
            },
            ..SyncArgs::default()
        };
        let spec = tree_spec(&a).unwrap();
        assert!(spec.recursive && spec.skip_parent);
        assert_eq!(spec.exclude_datasets.len(), 1);
        let o = sync_options(&a).unwrap();
        assert!(!o.plan.intermediates);
        assert_eq!(o.plan.initial, InitialReplication::Newest);
        assert!(!o.plan.rollback && !o.plan.force_delete && o.plan.resume);
        assert_eq!(o.identifier, "nas1");
        assert_eq!(o.jobs, 3);
        // Received unmounted unless --mount; `u` keeps it unmounted either way.
        assert!(o.recv.no_mount);
        let m = SyncArgs {
            mount: true,
            ..a.clone()
        };
        assert!(!sync_options(&m).unwrap().recv.no_mount);
        let mut mu = m;
        mu.flags.recvoptions = Some("u".into());
        assert!(sync_options(&mu).unwrap().recv.no_mount);
        let mut bad = a.clone();
        bad.flags.exclude_datasets = vec!["(".into()];
        assert!(tree_spec(&bad)
            .unwrap_err()
            .message
            .contains("--exclude-datasets"));
        let bad = SyncArgs {
            source: "tank/a;rm".into(),
            ..a
        };
        assert!(tree_spec(&bad).unwrap_err().message.contains("tank/a;rm"));
    }
}
