//! `zsync drill JOB`: the quarterly restore test as one command. For each dataset the job
//! replicates, the newest snapshot source and target share ([`zsync_ops::replica::measure`]) is
//! cloned on the target as a restore would be, verified against the source without copying data
//! between the hosts, and the clone destroyed ([`zsync_ops::drill`]). One line per dataset and a
//! summary (or one JSON object); exit 0 every dataset restored and equal, 1 a difference (or a
//! volume's device missing), 2 an error (nothing to drill, a host unreachable, a clone or verify
//! that failed).

use crate::args::drill::DrillArgs;
use crate::args::BackendArg;
use crate::exit::{Fail, EXIT_FAILURE};
use crate::jobs;
use crate::sync::open_pair;
use crate::verify::{human, options, side};
use serde::Serialize;
use zfs_core::{DatasetKind, Endpoint, SnapshotName};
use zsync_ops::drill::{drill, DrillOutcome, DrillTarget};

/// The drill of a job, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    job: String,
    datasets: Vec<DrillOutcome>,
    /// Failures that concern a whole pair (a host unreachable, nothing replicated yet).
    errors: Vec<String>,
    exit_code: u8,
}

/// `host:snapshot` when remote.
fn label(e: &Endpoint, snap: &SnapshotName) -> String {
    match &e.remote {
        Some(h) => format!("{h}:{snap}"),
        None => snap.to_string(),
    }
}

/// Runs `zsync drill`; returns the exit code.
pub fn run(choice: BackendArg, a: &DrillArgs) -> Result<u8, Fail> {
    let file = jobs::load(Some(&a.jobs_file))?;
    let job = jobs::select(&file, std::slice::from_ref(&a.job))?[0];
    let pairs = jobs::pairs(&file, job)?;
    let (threads, device_wait) = a.hash.checked("drill")?;
    let opts = options(threads, device_wait);
    let mut report = Report {
        job: job.name.clone(),
        datasets: Vec::new(),
        errors: Vec::new(),
        exit_code: 0,
    };
    let warn = |m: &str| {
        if !a.quiet {
            crate::logging::warn(m);
        }
    };
    for pair in &pairs {
        let r = &pair.resolved;
        let host = match open_pair(choice, &pair.args, &r.source, &r.target, &warn) {
            Ok(h) => h,
            Err(f) => {
                report.errors.push(f.message);
                continue;
            }
        };
        let states = match jobs::measure(&host, pair, chrono::Utc::now()) {
            Ok(s) => s,
            Err(e) => {
                report.errors.push(e);
                continue;
            }
        };
        let drilled = states.iter().filter(|s| s.newest_common.is_some()).count();
        if drilled == 0 {
            report.errors.push(format!(
                "{} -> {}: no snapshot replicated yet (nothing to drill)",
                r.source, r.target
            ));
        }
        for s in &states {
            let Some(common) = &s.newest_common else {
                continue;
            };
            let snaps = (
                SnapshotName::parse(&format!("{}@{}", s.source, common.name)),
                SnapshotName::parse(&format!("{}@{}", s.target, common.name)),
            );
            let (Ok(source), Ok(target)) = snaps else {
                report.errors.push(format!(
                    "{}: invalid snapshot name {}",
                    s.source, common.name
                ));
                continue;
            };
            let what = DrillTarget {
                source: source.clone(),
                target: target.clone(),
                kind: if s.volume {
                    DatasetKind::Volume
                } else {
                    DatasetKind::Filesystem
                },
            };
            let target_host = host.target_host();
            let src = side(
                &host.source,
                source.clone(),
                r.source.is_local(),
                &a.hash.remote_zsync,
            );
            let dst = side(
                target_host,
                target.clone(),
                r.target.is_local(),
                &a.hash.remote_zsync,
            );
            let runner = target_host.runner.clone();
            let outcome = drill(
                target_host.backend.as_ref(),
                |vol| {
                    zfs_core::zvol::wait_for_device(runner.as_ref(), vol, device_wait)
                        .map(|d| d.map(|d| d.link))
                },
                &what,
                (&src, &dst),
                (label(&r.source, &source), label(&r.target, &target)),
                &opts,
            );
            if !a.json {
                outln!("{}", line(&outcome));
            }
            report.datasets.push(outcome);
        }
    }
    let worst = report
        .datasets
        .iter()
        .map(DrillOutcome::exit_code)
        .max()
        .unwrap_or(0);
    report.exit_code = if report.errors.is_empty() {
        worst
    } else {
        EXIT_FAILURE
    };
    if a.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Fail::failure(format!("drill: JSON: {e}")))?;
        outln!("{text}");
    } else {
        for e in &report.errors {
            errln!("zsync: drill: {e}");
        }
        let ok = report
            .datasets
            .iter()
            .filter(|d| d.exit_code() == 0)
            .count();
        outln!(
            "zsync drill {}: {} of {} dataset{} restored and verified equal{}",
            report.job,
            ok,
            report.datasets.len(),
            if report.datasets.len() == 1 { "" } else { "s" },
            if report.errors.is_empty() {
                String::new()
            } else {
                format!("; {} error(s)", report.errors.len())
            }
        );
    }
    Ok(report.exit_code)
}

/// One dataset's line: `ok SRC -> DST: restored as CLONE (DEVICE), equal: ...`.
fn line(d: &DrillOutcome) -> String {
    let word = match d.exit_code() {
        0 => "ok",
        1 => "DIFFERENT",
        _ => "FAILED",
    };
    let mut s = format!("{word} {} -> {}", d.source, d.target);
    if let Some(c) = &d.restored {
        s.push_str(&format!(": restored as {}", c.dataset));
        if let Some(dev) = &c.device {
            s.push_str(&format!(" ({dev})"));
        }
    }
    if let Some(v) = &d.verdict {
        s.push_str(&format!("; {}", human(v)));
    }
    if let Some(e) = &d.error {
        s.push_str(&format!("; error: {e}"));
    }
    s.push_str(&format!(" [{:.1} s]", d.seconds));
    s
}
