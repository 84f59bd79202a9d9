//! `zsync run [JOB...]`: the backup script done right. In order:
//!
//! 1. **Check** the job file and every job's options (resolved as `zsync sync` would), the
//!    sanoid.conf: bad input is exit 2 before anything is reached or changed.
//! 2. **Lock**: one run at a time (the run lock; a second run waits `--lock-wait`, then exits 75).
//! 3. **Snapshots** due by sanoid.conf (zsync-ops' engine, under the lock `zsync cron` takes).
//! 4. **Replicate** each job, pair by pair; a failed dataset, pair or host does not stop the others.
//! 5. **Prune** the source by sanoid.conf, then each job's target by its `[job.retention]`, never
//!    destroying the newest snapshot the job's source and target share.
//! 6. **Pools**: health and capacity of every pool involved, on every host.
//! 7. **Record**: the run record (`STATE_DIR/last-run.json`) and the Prometheus textfile, each
//!    written atomically.
//! 8. **on_failure**: a failed job's command (else the file's), with the record as JSON on stdin
//!    and key facts in `ZSYNC_*` variables.
//!
//! Exit 0 everything done, 1 partial (a dataset skipped, a pool at WARN), 2 something failed,
//! 75 another run held the lock.

use crate::args::common::seconds;
use crate::args::run::RunJobsArgs;
use crate::args::{BackendArg, CommonRunArgs};
use crate::backend;
use crate::config::{load_config, LoadedConfig};
use crate::discover;
use crate::exit::Fail;
use crate::jobs::{self, JobPair};
use crate::output::{Output, Verbosity};
use crate::sync::{open_pair, with_executor, OpenedPair};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zfs_core::{Backend, Endpoint};
use zfs_sync::{DatasetReport, Outcome};
use zsync_ops::engine::{self, RunOptions};
use zsync_ops::jobs::{FailureCommand, Job, JobFile};
use zsync_ops::replica::ReplicaState;
use zsync_ops::state::{
    DatasetRecord, JobRecord, PoolRecord, RunRecord, RunResult, StageRecord, RECORD_FORMAT,
};
use zsync_ops::{HookRunner, Report};

/// The sanoid.conf lock is waited for this long by a run (a `zsync cron` in progress finishes).
const CRON_LOCK_WAIT: Duration = Duration::from_secs(300);

/// Runs `zsync run`; returns the exit code.
pub fn run(choice: BackendArg, a: &RunJobsArgs) -> Result<u8, Fail> {
    // 1. Everything checked before anything is reached.
    let file = jobs::load(Some(&a.jobs_file))?;
    let selected = jobs::select(&file, &a.jobs)?;
    let planned = selected
        .iter()
        .map(|job| Ok((*job, jobs::pairs(&file, job)?)))
        .collect::<Result<Vec<_>, Fail>>()?;
    let sanoid = if a.no_snapshots {
        None
    } else {
        sanoid_config(a.config.as_deref())?
    };
    let now = discover::now(a.now.as_deref())?;
    let lock_wait = seconds("--lock-wait", a.lock_wait)?;
    let notify_timeout = seconds("--on-failure-timeout", a.on_failure_timeout)?;

    // 2. One run at a time.
    let _lock = crate::app::acquire_lock(&a.lock_file, lock_wait)?;
    let clock = Instant::now();
    let mut out = Output::new(Verbosity::from_flags(a.quiet, a.verbose, false), a.json);
    let mut rec = RunRecord {
        format: RECORD_FORMAT,
        started: now,
        seconds: 0.0,
        result: RunResult::Ok,
        exit_code: 0,
        jobs_file: file.label.clone(),
        jobs_run: planned.iter().map(|(j, _)| j.name.clone()).collect(),
        snapshots: StageRecord::default(),
        jobs: Vec::new(),
        pools: Vec::new(),
        problems: Vec::new(),
    };

    // 3. Snapshots by sanoid.conf.
    let local = match &sanoid {
        Some(cfg) => {
            for w in &cfg.config.warnings {
                out.warn(&w.located());
            }
            let (be, _) = backend::open(choice)?;
            rec.snapshots = stage(&cfg.config, be.as_ref(), a, now, true, &mut out);
            Some(be)
        }
        None => {
            if !a.no_snapshots {
                out.info("no sanoid.conf: the snapshot and source-prune stages are skipped");
            }
            None
        }
    };

    // 4. Replicate; then each pair's live state (newest common snapshot per dataset).
    let mut opened: Vec<Vec<Option<Opened>>> = Vec::new();
    for (job, pairs) in &planned {
        let t = Instant::now();
        let mut jr = JobRecord {
            name: job.name.clone(),
            ..JobRecord::default()
        };
        let mut hosts = Vec::new();
        for pair in pairs {
            let (mut datasets, host) = replicate(choice, job, pair, a);
            let host = host.map(|host| {
                // After a signal, nothing new starts (its commands would be ended anyway).
                let states = match crate::signals::received() {
                    Some(_) => Err("not measured: the run was interrupted".to_string()),
                    None => jobs::measure(&host, pair, now),
                };
                if let Ok(states) = &states {
                    add_newest_common(&mut datasets, states, &pair.resolved.target);
                }
                Opened { host, states }
            });
            jr.datasets.extend(datasets);
            hosts.push(host);
        }
        jr.seconds = t.elapsed().as_secs_f64();
        rec.jobs.push(jr);
        opened.push(hosts);
    }

    // After a signal the run only records what it did: no prune, no pool checks, no on_failure
    // (their commands would be ended by the signal watcher, which also exits the process soon).
    let signalled = crate::signals::received().is_some();
    // 5. Prune: the source by sanoid.conf, then each job's target.
    if let (Some(cfg), Some(be), false) = (&sanoid, &local, signalled) {
        let pruned = stage(&cfg.config, be.as_ref(), a, now, false, &mut out);
        merge_stage(&mut rec.snapshots, pruned);
    }
    for ((i, (job, pairs)), hosts) in planned.iter().enumerate().zip(&opened) {
        let (Some(retention), false) = (&job.retention, signalled) else {
            continue;
        };
        let t = Instant::now();
        let mut st = StageRecord {
            ran: true,
            ..StageRecord::default()
        };
        for (pair, opened) in pairs.iter().zip(hosts) {
            let Some(Opened { host, states }) = opened else {
                continue;
            };
            let states = match states {
                Ok(s) => s,
                Err(e) => {
                    // Without the newest common snapshots known, nothing is pruned (the safe side).
                    st.failures.push(format!(
                        "{}: not pruned: {e}",
                        pair.resolved.spec.target_root
                    ));
                    st.result = RunResult::Failed;
                    continue;
                }
            };
            // Only targets whose base is known are pruned, and never that base.
            let based: Vec<(&str, &str)> = states
                .iter()
                .filter_map(|s| Some((s.target.as_str(), s.newest_common.as_ref()?.name.as_str())))
                .collect();
            if based.is_empty() {
                continue;
            }
            let protect = based
                .iter()
                .map(|(ds, snap)| {
                    (
                        format!("{ds}@{snap}"),
                        "the newest snapshot source and target share (the next incremental's \
                         base): never pruned on the target"
                            .to_string(),
                    )
                })
                .collect();
            let label = format!("{}: job '{}' retention", file.label, job.name);
            let datasets: Vec<&str> = based.iter().map(|(ds, _)| *ds).collect();
            let cfg = retention.config(&datasets, &label);
            let mut opts = run_options(now, a, false, true);
            opts.protect = protect;
            let report = engine::run(&cfg, host.target_backend(), &opts, &mut out);
            merge_stage(
                &mut st,
                stage_record(&report, &host_label(&pair.resolved.target)),
            );
        }
        rec.jobs[i].prune = st;
        rec.jobs[i].seconds += t.elapsed().as_secs_f64();
    }

    // 6. Pools: every pool involved, on every host; and each pair's state after pruning.
    if !signalled {
        rec.pools = inspect_pools(local.as_deref(), sanoid.as_ref(), &planned, &opened);
    }
    let mut replicas = Vec::new();
    for ((job, pairs), hosts) in planned.iter().zip(&opened) {
        for (pair, opened) in pairs.iter().zip(hosts) {
            let Some(o) = opened else { continue };
            let states = match job.retention {
                Some(_) if !signalled => jobs::measure(&o.host, pair, now),
                _ => o.states.clone(),
            };
            for s in states.into_iter().flatten() {
                replicas.push((job.name.clone(), s));
            }
        }
    }

    // 7. Result and record.
    finish(&mut rec, clock.elapsed().as_secs_f64());
    let signal = crate::signals::received();
    if let Some(sig) = signal {
        // A signal that came only while pruning stopped the prune but skipped no stage before.
        let skipped = if signalled {
            "prune, pool checks and on_failure skipped"
        } else {
            "on_failure skipped"
        };
        rec.problems.push(format!(
            "interrupted by {}: {skipped}",
            crate::signals::name(sig)
        ));
        rec.result = RunResult::Failed;
        rec.exit_code = crate::signals::exit_code(sig);
    }
    let previous = zsync_ops::state::RunRecord::load(&a.state_dir)
        .ok()
        .flatten();
    // On the run's clock (injectable, as for the snapshots), not the wall clock.
    let finished = now + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
    rec.carry_last_success(previous.as_ref(), finished);
    save(&mut rec, a);
    write_metrics(&mut rec, &replicas, a);

    // 8. on_failure.
    if rec.result != RunResult::Ok && signal.is_none() {
        notify(&file, &planned, &mut rec, a, notify_timeout);
    }
    log_events(&rec);
    render(&rec, a);
    // A signal stopped the run: say so and exit 128 + the signal.
    if let Some(sig) = signal {
        let cancelled: Vec<String> = rec
            .jobs
            .iter()
            .flat_map(|j| &j.datasets)
            .filter(|d| d.outcome == "cancelled")
            .map(|d| d.target.clone())
            .collect();
        errln!(
            "zsync: {}",
            crate::signals::interrupted_line(sig, &cancelled)
        );
        return Ok(crate::signals::exit_code(sig));
    }
    Ok(rec.exit_code)
}

/// A pair's opened hosts and its live state after replicating.
struct Opened {
    host: OpenedPair,
    /// Per dataset; the error when a side could not be listed.
    states: Result<Vec<ReplicaState>, String>,
}

/// Fills each dataset record's newest common snapshot from the live state.
fn add_newest_common(datasets: &mut [DatasetRecord], states: &[ReplicaState], target: &Endpoint) {
    for s in states {
        let (Some(common), Ok(name)) = (&s.newest_common, zfs_core::DatasetName::parse(&s.target))
        else {
            continue;
        };
        let key = on_host(target, &name);
        for d in datasets.iter_mut().filter(|d| d.target == key) {
            d.newest_common = Some(common.name.clone());
            d.newest_common_created = Some(common.created);
        }
    }
}

/// Health and capacity of every pool involved, per host: this machine's (sanoid.conf's datasets
/// and the local ends of the jobs) and each remote end's.
fn inspect_pools(
    local: Option<&dyn Backend>,
    sanoid: Option<&LoadedConfig>,
    planned: &[(&Job, Vec<JobPair>)],
    opened: &[Vec<Option<Opened>>],
) -> Vec<PoolRecord> {
    let pool_of = |ds: &str| ds.split('/').next().unwrap_or(ds).to_string();
    // Host label → (a backend on it, its pools).
    let mut hosts: BTreeMap<String, (Option<&dyn Backend>, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    if let (Some(be), Some(cfg)) = (local, sanoid) {
        let e = hosts
            .entry(be.host().to_string())
            .or_insert((Some(be), Default::default()));
        e.1.extend(cfg.config.dataset_paths().map(pool_of));
    }
    for ((_, pairs), hosts_of_job) in planned.iter().zip(opened) {
        for (pair, o) in pairs.iter().zip(hosts_of_job) {
            let r = &pair.resolved;
            let (source_be, target_be) = match o {
                Some(o) => (
                    Some(o.host.source.backend.as_ref()),
                    Some(o.host.target_backend()),
                ),
                None => (None, None),
            };
            for (be, endpoint, root) in [
                (source_be, &r.source, &r.spec.source_root),
                (target_be, &r.target, &r.spec.target_root),
            ] {
                let label = be.map_or_else(|| host_label(endpoint), |b| b.host().to_string());
                let e = hosts.entry(label).or_insert((None, Default::default()));
                if e.0.is_none() {
                    e.0 = be;
                }
                e.1.insert(pool_of(root.as_str()));
            }
        }
    }
    let mut out = Vec::new();
    for (host, (be, pools)) in hosts {
        let pools: Vec<String> = pools.into_iter().collect();
        match be {
            Some(be) => out.extend(zsync_ops::pools::inspect(&host, be, &pools)),
            // The host could not be reached: its pools are unknown (the job's failure says why).
            None => out.extend(pools.into_iter().map(|pool| PoolRecord {
                host: host.clone(),
                pool,
                health: "UNKNOWN".into(),
                capacity_percent: None,
                state: "unknown".into(),
                message: "the host could not be reached".into(),
            })),
        }
    }
    out
}

/// Writes the Prometheus textfile; a failure to write it is a problem of the run.
fn write_metrics(rec: &mut RunRecord, replicas: &[(String, ReplicaState)], a: &RunJobsArgs) {
    let path = metrics_path(a);
    let text = zsync_ops::metrics::render(Some(rec), replicas);
    if let Err(e) = zsync_ops::state::write_atomically(&path, text.as_bytes(), 0o644) {
        rec.problems
            .push(format!("cannot write the metrics {}: {e}", path.display()));
        rec.result = RunResult::Failed;
        rec.exit_code = RunResult::Failed.exit_code();
        save(rec, a);
    }
}

/// sanoid.conf: the given file (which must exist), else the default ones; `None` when there is none.
fn sanoid_config(given: Option<&std::path::Path>) -> Result<Option<LoadedConfig>, Fail> {
    let candidates = discover::default_candidates();
    if given.is_none() && !candidates.iter().any(|c| c.is_file()) {
        return Ok(None);
    }
    load_config(given, &candidates).map(Some)
}

fn run_options(now: DateTime<Utc>, a: &RunJobsArgs, take: bool, prune: bool) -> RunOptions {
    RunOptions {
        take,
        prune,
        dry_run: false,
        now,
        hook_stdout_to_stderr: a.json,
        protect: BTreeMap::new(),
    }
}

/// The snapshot stage (`take`) or the source-prune stage of sanoid.conf, under `zsync cron`'s lock.
fn stage(
    config: &zfs_policy::Config,
    be: &dyn Backend,
    a: &RunJobsArgs,
    now: DateTime<Utc>,
    take: bool,
    out: &mut Output,
) -> StageRecord {
    let common = CommonRunArgs {
        lock_file: a.cron_lock_file.clone(),
        lock_wait: Some(CRON_LOCK_WAIT.as_secs_f64()),
        now: None,
    };
    let _lock = match crate::app::take_lock(&common) {
        Ok(l) => l,
        Err(f) => {
            return StageRecord {
                ran: false,
                failures: vec![f.message],
                result: RunResult::Failed,
                ..StageRecord::default()
            }
        }
    };
    let report = engine::run(config, be, &run_options(now, a, take, !take), out);
    stage_record(&report, "")
}

/// A snapshot/prune report as a stage record; `host` (when not empty) prefixes the failures.
fn stage_record(report: &Report, host: &str) -> StageRecord {
    let prefix = if host.is_empty() {
        String::new()
    } else {
        format!("{host}: ")
    };
    let mut failures: Vec<String> = report
        .failures
        .iter()
        .map(|f| format!("{prefix}{}: {}", f.what, f.error))
        .collect();
    failures.extend(
        report
            .hooks
            .iter()
            .filter(|h| !h.ok)
            .map(|h| format!("{prefix}{} {}", h.script, h.outcome)),
    );
    let result = match report.outcome() {
        zsync_ops::RunOutcome::Done => RunResult::Ok,
        zsync_ops::RunOutcome::Partial => RunResult::Partial,
        zsync_ops::RunOutcome::Failed => RunResult::Failed,
    };
    StageRecord {
        ran: true,
        created: report.created.clone(),
        destroyed: report.destroyed.clone(),
        failures,
        result,
    }
}

fn merge_stage(into: &mut StageRecord, more: StageRecord) {
    into.ran |= more.ran;
    into.created.extend(more.created);
    into.destroyed.extend(more.destroyed);
    into.failures.extend(more.failures);
    into.result = into.result.max(more.result);
}

/// Replicates one pair of a job; its datasets' records and its opened hosts (`None` when they
/// could not be reached: the records then say why).
fn replicate(
    choice: BackendArg,
    job: &Job,
    pair: &JobPair,
    a: &RunJobsArgs,
) -> (Vec<DatasetRecord>, Option<OpenedPair>) {
    let mut args = pair.args.clone();
    args.flags.quiet |= a.quiet;
    args.flags.json |= a.json;
    // The target lock is waited for as long as the run lock (`zsync run --lock-wait`, checked).
    args.flags.lock_wait = seconds("--lock-wait", a.lock_wait).ok();
    let r = &pair.resolved;
    let record = |outcome: &str, error: String| DatasetRecord {
        source: r.source.to_string(),
        target: r.target.to_string(),
        outcome: outcome.into(),
        error: Some(error),
        bytes: 0,
        seconds: 0.0,
        newest_common: None,
        newest_common_created: None,
        last_success: None,
    };
    let warn = |m: &str| {
        if !a.quiet {
            crate::logging::warn(&format!("job '{}': {m}", job.name));
        }
    };
    for w in &r.warnings {
        warn(w);
    }
    let failed = |error: String| record("failed", error);
    let rate_limit = match crate::args::resolve::rate_limit(&args) {
        Ok(l) => l,
        Err(f) => return (vec![failed(f.message)], None),
    };
    // Another zsync receiving into the target: this pair is skipped (the run is partial).
    let _target_lock = match crate::target_lock::lock_target(&r.target, &args.flags, &warn) {
        Ok(l) => l,
        Err(f) => return (vec![record("skipped", f.message)], None),
    };
    let host = match open_pair(choice, &args, &r.source, &r.target, &warn) {
        Ok(h) => h,
        Err(f) => return (vec![failed(f.message)], None),
    };
    let result = with_executor(&host, &args, rate_limit, false, |exec, _| {
        exec.run(&r.spec, &r.options)
    });
    if !matches!(&result, Ok(report) if report.exit_code == 0) {
        for line in crate::lost_pool::lost_pools(&host, &r.source, &r.target) {
            warn(&line);
        }
    }
    let records = match result {
        Ok(report) => {
            for n in &report.notices {
                warn(n);
            }
            report
                .datasets
                .iter()
                .map(|d| dataset_record(d, &r.source, &r.target))
                .collect()
        }
        Err(e) => vec![failed(e.to_string())],
    };
    (records, Some(host))
}

/// `localhost` or the endpoint's `[user@]host[:port]`.
fn host_label(e: &Endpoint) -> String {
    e.remote
        .as_ref()
        .map_or_else(|| "localhost".to_string(), ToString::to_string)
}

/// `dataset` on `like`'s host.
fn on_host(like: &Endpoint, dataset: &zfs_core::DatasetName) -> String {
    Endpoint {
        remote: like.remote.clone(),
        dataset: dataset.clone(),
    }
    .to_string()
}

fn dataset_record(d: &DatasetReport, source: &Endpoint, target: &Endpoint) -> DatasetRecord {
    let (outcome, error) = match &d.outcome {
        Outcome::Synced => ("synced", None),
        Outcome::UpToDate => ("up_to_date", None),
        Outcome::Skipped { reason } => ("skipped", Some(reason.clone())),
        Outcome::Refused { conflict } => ("refused", Some(conflict.describe())),
        Outcome::Failed { error } => ("failed", Some(error.clone())),
        Outcome::Cancelled => ("cancelled", Some("cancelled".to_string())),
        other => ("failed", Some(format!("{other:?}"))),
    };
    DatasetRecord {
        source: on_host(source, &d.source),
        target: on_host(target, &d.target),
        outcome: outcome.into(),
        error,
        bytes: d.bytes,
        seconds: d.seconds,
        newest_common: None,
        newest_common_created: None,
        last_success: None,
    }
}

/// Sets the result, exit code, problems and duration from what the record holds.
fn finish(rec: &mut RunRecord, seconds: f64) {
    let mut problems = Vec::new();
    let mut result = rec.snapshots.result;
    problems.extend(rec.snapshots.failures.iter().cloned());
    for j in &mut rec.jobs {
        let mut jr = j.prune.result;
        if let Some(e) = &j.error {
            jr = RunResult::Failed;
            problems.push(format!("job {}: {e}", j.name));
        }
        for d in &j.datasets {
            let r = match d.outcome.as_str() {
                "synced" | "up_to_date" => RunResult::Ok,
                "skipped" => RunResult::Partial,
                _ => RunResult::Failed,
            };
            if r != RunResult::Ok {
                problems.push(format!(
                    "job {}: {} -> {}: {}: {}",
                    j.name,
                    d.source,
                    d.target,
                    d.outcome,
                    d.error.as_deref().unwrap_or("")
                ));
            }
            jr = jr.max(r);
        }
        problems.extend(
            j.prune
                .failures
                .iter()
                .map(|f| format!("job {}: target prune: {f}", j.name)),
        );
        j.result = jr;
        result = result.max(jr);
    }
    for p in &rec.pools {
        let r = match p.state.as_str() {
            "ok" => RunResult::Ok,
            "warn" => RunResult::Partial,
            _ => RunResult::Failed,
        };
        if r != RunResult::Ok {
            problems.push(format!("{}: pool {}: {}", p.host, p.pool, p.message));
        }
        result = result.max(r);
    }
    rec.problems = problems;
    rec.result = result;
    rec.exit_code = result.exit_code();
    rec.seconds = seconds;
}

/// Writes the run record; a failure to write it is a problem of the run (told, exit 2).
fn save(rec: &mut RunRecord, a: &RunJobsArgs) {
    if let Err(e) = rec.write(&a.state_dir) {
        rec.problems
            .push(format!("cannot write the run record: {e}"));
        rec.result = RunResult::Failed;
        rec.exit_code = RunResult::Failed.exit_code();
    }
}

/// Runs the `on_failure` commands: each failed job's own; the file's once for the rest (a
/// failed job without its own command, or a failure no job owns).
fn notify(
    file: &JobFile,
    planned: &[(&Job, Vec<JobPair>)],
    rec: &mut RunRecord,
    a: &RunJobsArgs,
    timeout: Duration,
) {
    let json = serde_json::to_vec_pretty(&*rec).unwrap_or_default();
    let failed_jobs: Vec<&JobRecord> = rec
        .jobs
        .iter()
        .filter(|j| j.result != RunResult::Ok)
        .collect();
    let mut calls: Vec<(&FailureCommand, String)> = Vec::new();
    let mut need_file_wide =
        rec.snapshots.result != RunResult::Ok || rec.pools.iter().any(|p| p.state != "ok");
    for j in &failed_jobs {
        match planned
            .iter()
            .find(|(job, _)| job.name == j.name)
            .and_then(|(job, _)| job.on_failure.as_ref())
        {
            Some(cmd) => calls.push((cmd, j.name.clone())),
            None => need_file_wide = true,
        }
    }
    if need_file_wide {
        if let Some(cmd) = &file.on_failure {
            calls.push((cmd, String::new()));
        }
    }
    let failed_datasets: Vec<String> = rec
        .datasets()
        .filter(|(_, d)| !d.succeeded())
        .map(|(_, d)| format!("{} -> {}", d.source, d.target))
        .collect();
    let base_env = [
        ("ZSYNC_RESULT", rec.result.as_str().to_string()),
        ("ZSYNC_EXIT_CODE", rec.exit_code.to_string()),
        (
            "ZSYNC_FAILED_JOBS",
            failed_jobs
                .iter()
                .map(|j| j.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("ZSYNC_FAILED_DATASETS", failed_datasets.join("\n")),
        ("ZSYNC_PROBLEMS", rec.problems.join("\n")),
        (
            "ZSYNC_PROBLEM",
            rec.problems.first().cloned().unwrap_or_default(),
        ),
        (
            "ZSYNC_RECORD",
            RunRecord::path(&a.state_dir).display().to_string(),
        ),
        ("ZSYNC_HOST", crate::args::resolve::raw_hostname()),
        ("ZSYNC_STARTED", rec.started.to_rfc3339()),
    ];
    let runner = HookRunner {
        stdout_to_stderr: true,
        ..HookRunner::default()
    };
    let mut failures = Vec::new();
    for (cmd, job) in calls {
        let mut env: Vec<(String, String)> = base_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.push(("ZSYNC_JOB".into(), job.clone()));
        let outcome = runner.run_argv(&cmd.argv, &env, &json, Some(timeout));
        if !outcome.ok() {
            let whose = if job.is_empty() {
                format!("{}: on_failure", file.label)
            } else {
                format!("job {job}: on_failure")
            };
            failures.push(format!("{whose} {}: {outcome}", cmd.argv[0]));
        }
    }
    if !failures.is_empty() {
        rec.problems.extend(failures);
        save(rec, a);
    }
}

/// The run's structured log events ([`crate::logging::EVENT_TARGET`]): one per dataset, job and
/// the run, with their facts as fields (on by default with `--log-format json`).
fn log_events(rec: &RunRecord) {
    use crate::logging::EVENT_TARGET;
    for j in &rec.jobs {
        for d in &j.datasets {
            tracing::info!(
                target: EVENT_TARGET,
                job = j.name.as_str(),
                source_dataset = d.source.as_str(),
                target_dataset = d.target.as_str(),
                outcome = d.outcome.as_str(),
                error = d.error.as_deref().unwrap_or(""),
                bytes = d.bytes,
                seconds = d.seconds,
                newest_common = d.newest_common.as_deref().unwrap_or(""),
                "job {}: {} -> {}: {}",
                j.name,
                d.source,
                d.target,
                d.outcome
            );
        }
        tracing::info!(
            target: EVENT_TARGET,
            job = j.name.as_str(),
            result = j.result.as_str(),
            seconds = j.seconds,
            target_pruned = j.prune.destroyed.len(),
            "job {}: {}",
            j.name,
            j.result.as_str()
        );
    }
    for p in &rec.problems {
        tracing::warn!(target: EVENT_TARGET, problem = p.as_str(), "{p}");
    }
    tracing::info!(
        target: EVENT_TARGET,
        result = rec.result.as_str(),
        exit_code = rec.exit_code,
        seconds = rec.seconds,
        snapshots_created = rec.snapshots.created.len(),
        snapshots_destroyed = rec.snapshots.destroyed.len(),
        problems = rec.problems.len(),
        "run {}",
        rec.result.as_str()
    );
}

/// The summary: JSON (the record) or a few human lines; the problems always reach stderr when
/// quiet.
fn render(rec: &RunRecord, a: &RunJobsArgs) {
    if a.json {
        outln!("{}", serde_json::to_string_pretty(rec).unwrap_or_default());
        return;
    }
    let datasets: Vec<&DatasetRecord> = rec.datasets().map(|(_, d)| d).collect();
    let ok = datasets.iter().filter(|d| d.succeeded()).count();
    let bytes: u64 = datasets.iter().map(|d| d.bytes).sum();
    let target_pruned: usize = rec.jobs.iter().map(|j| j.prune.destroyed.len()).sum();
    let summary = format!(
        "zsync run: {} in {:.1} s: {} job{}, {} of {} dataset{} replicated ({}); {} snapshot{} \
         taken, {} pruned on the source, {} on targets",
        rec.result.as_str(),
        rec.seconds,
        rec.jobs.len(),
        plural(rec.jobs.len()),
        ok,
        datasets.len(),
        plural(datasets.len()),
        crate::progress::human_bytes(bytes),
        rec.snapshots.created.len(),
        plural(rec.snapshots.created.len()),
        rec.snapshots.destroyed.len(),
        target_pruned,
    );
    if a.quiet {
        for p in &rec.problems {
            errln!("zsync: run: {p}");
        }
        return;
    }
    outln!("{summary}");
    for j in &rec.jobs {
        outln!(
            "  job {}: {} ({:.1} s)",
            j.name,
            j.result.as_str(),
            j.seconds
        );
    }
    for p in &rec.pools {
        outln!(
            "  {} pool {}: {}{}",
            p.host,
            p.pool,
            p.health,
            p.capacity_percent
                .map(|c| format!(", {c}% used"))
                .unwrap_or_default()
        );
    }
    for p in &rec.problems {
        outln!("  problem: {p}");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Where the metrics go: `--metrics-file`, else beside the record.
pub fn metrics_path(a: &RunJobsArgs) -> PathBuf {
    a.metrics_file
        .clone()
        .unwrap_or_else(|| a.state_dir.join(zsync_ops::metrics::METRICS_FILE))
}
