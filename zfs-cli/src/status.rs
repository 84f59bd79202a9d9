//! `zsync status` and `zsync metrics`: each job pair's live state (zsync-ops'
//! [`zsync_ops::replica::measure`] over the pair's hosts, opened as `zsync sync` opens them) next to the last
//! run's record ([`RunRecord`] in the state directory).
//!
//! [`measure_jobs`] is shared with `zsync monitor lag`. A host that cannot be reached marks its
//! pair (naming the host) and the other pairs are still measured. Exit codes of `status`: 0 all
//! shown, 1 some part could not be read (a host, the record), 2 bad input (the job file, a job
//! name).

use crate::args::status::JobsAndState;
use crate::args::{BackendArg, MetricsArgs, StatusArgs};
use crate::exit::{Fail, EXIT_OK, EXIT_PARTIAL};
use crate::progress::human_bytes;
use crate::sync::open_pair;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use zfs_policy::monitor::display_age;
use zsync_ops::metrics::{self, METRICS_FILE};
use zsync_ops::replica::ReplicaState;
use zsync_ops::state::{write_atomically, DatasetRecord, RunRecord, DEFAULT_STATE_DIR};

/// One source/target pair of a job, measured (or why not).
#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    /// The source as the job writes it (`[host:]pool/ds`).
    pub source: String,
    /// The target as the job writes it.
    pub target: String,
    /// Why the pair could not be measured (one line naming the host), when it could not.
    pub error: Option<String>,
    /// Per dataset.
    pub datasets: Vec<ReplicaState>,
}

/// One job's pairs.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// The job's name.
    pub name: String,
    /// Its pairs.
    pub pairs: Vec<PairView>,
}

impl JobView {
    /// Whether every pair could be measured.
    pub fn complete(&self) -> bool {
        self.pairs.iter().all(|p| p.error.is_none())
    }
}

/// Loads the job file, picks `names` (all jobs when empty) and measures every pair at `now`.
/// The job file and the names are bad input (`Err`); an unreachable host is the pair's `error`.
pub fn measure_jobs(
    choice: BackendArg,
    jobs_file: Option<&Path>,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<JobView>, Fail> {
    let file = crate::jobs::load(jobs_file)?;
    let jobs = crate::jobs::select(&file, names)?;
    let mut views = Vec::new();
    for job in jobs {
        let pairs = crate::jobs::pairs(&file, job)?;
        let mut out = Vec::new();
        for p in pairs {
            let (source, target) = (p.args.source.clone(), p.args.target.clone());
            let quiet = |_: &str| {};
            let measured = open_pair(
                choice,
                &p.args,
                &p.resolved.source,
                &p.resolved.target,
                &quiet,
            )
            .map_err(|f| f.message)
            .and_then(|host| crate::jobs::measure(&host, &p, now));
            let (error, datasets) = match measured {
                Ok(d) => (None, d),
                Err(e) => (Some(e), Vec::new()),
            };
            out.push(PairView {
                source,
                target,
                error,
                datasets,
            });
        }
        views.push(JobView {
            name: job.name.clone(),
            pairs: out,
        });
    }
    Ok(views)
}

/// Every measured dataset with its job's name (what [`metrics::render`] takes).
pub fn replicas(views: &[JobView]) -> Vec<(String, ReplicaState)> {
    views
        .iter()
        .flat_map(|j| {
            j.pairs
                .iter()
                .flat_map(move |p| p.datasets.iter().map(move |d| (j.name.clone(), d.clone())))
        })
        .collect()
}

/// The state directory: `--state-dir`/`ZSYNC_STATE_DIR`, else the default.
pub fn state_dir(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), Path::to_path_buf)
}

/// The record's entry for a measured dataset of `job`: the same job, and source and target that
/// name the same datasets (the record writes `host:pool/ds` for a remote end).
pub fn record_entry<'r>(
    record: Option<&'r RunRecord>,
    job: &str,
    r: &ReplicaState,
) -> Option<&'r DatasetRecord> {
    let same = |written: &str, ds: &str| {
        written == ds
            || written
                .strip_suffix(ds)
                .is_some_and(|host| host.ends_with(':'))
    };
    record?
        .datasets()
        .find(|(j, d)| *j == job && same(&d.source, &r.source) && same(&d.target, &r.target))
        .map(|(_, d)| d)
}

fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    if secs < 0 {
        return format!("in {}", display_age(secs.unsigned_abs()));
    }
    format!("{} ago", display_age(secs as u64))
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn counts_text(m: &std::collections::BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(", ")
}

/// The human form: the last run's summary line, then per job and dataset a block.
pub fn render_text(
    views: &[JobView],
    record: Result<Option<&RunRecord>, &str>,
    dir: &Path,
    now: DateTime<Utc>,
) -> String {
    let mut s = String::new();
    let rec = match record {
        Ok(Some(r)) => {
            s.push_str(&format!(
                "last run: {} ({}), {}, {:.1} s, exit {}\n",
                when(r.started),
                age(now, r.started),
                r.result.as_str(),
                r.seconds,
                r.exit_code
            ));
            Some(r)
        }
        Ok(None) => {
            s.push_str(&format!("no run recorded in {}\n", dir.display()));
            None
        }
        Err(e) => {
            s.push_str(&format!("last run: cannot read the record: {e}\n"));
            None
        }
    };
    for j in views {
        s.push_str(&format!("job {}\n", j.name));
        for p in &j.pairs {
            if let Some(e) = &p.error {
                s.push_str(&format!("  {} -> {}: {e}\n", p.source, p.target));
                continue;
            }
            if p.datasets.is_empty() {
                s.push_str(&format!(
                    "  {} -> {}: no dataset selected\n",
                    p.source, p.target
                ));
            }
            for d in &p.datasets {
                let host = |h: &str, ds: &str| {
                    if h == "localhost" {
                        ds.to_owned()
                    } else {
                        format!("{h}:{ds}")
                    }
                };
                s.push_str(&format!(
                    "  {} -> {}\n",
                    host(&d.source_host, &d.source),
                    host(&d.target_host, &d.target)
                ));
                match (&d.newest_common, d.lag_seconds, d.target_exists) {
                    (Some(c), Some(lag), _) => s.push_str(&format!(
                        "    lag {} (newest common {}, {})\n",
                        display_age(lag.max(0) as u64),
                        c.name,
                        when(c.created)
                    )),
                    (_, _, false) => s.push_str("    lag: target does not exist\n"),
                    _ => s.push_str("    lag: no snapshot in common\n"),
                }
                if !d.newest_by_type.is_empty() {
                    let parts: Vec<String> = d
                        .newest_by_type
                        .iter()
                        .map(|(k, v)| format!("{k} {}", age(now, v.created)))
                        .collect();
                    s.push_str(&format!("    newest: {}\n", parts.join(", ")));
                }
                s.push_str(&format!(
                    "    snapshots: source {}; target {}\n",
                    counts_text(&d.source_counts),
                    counts_text(&d.target_counts)
                ));
                if !d.holds.is_empty() {
                    let parts: Vec<String> = d
                        .holds
                        .iter()
                        .map(|h| format!("{} @{} ({})", h.side, h.snapshot, h.tag))
                        .collect();
                    s.push_str(&format!("    holds: {}\n", parts.join(", ")));
                }
                if !d.bookmarks.is_empty() {
                    s.push_str(&format!("    bookmarks: #{}\n", d.bookmarks.join(", #")));
                }
                if let Some(pr) = &d.partial_receive {
                    s.push_str(&format!(
                        "    partial receive: {} ({}), resumable\n",
                        pr.snapshot.as_deref().unwrap_or("unreadable token"),
                        pr.bytes.map_or("? bytes".to_owned(), human_bytes)
                    ));
                }
                match record_entry(rec, &j.name, d) {
                    Some(e) => {
                        let mut line = format!(
                            "    last run: {}, {}, {:.1} s",
                            e.outcome,
                            human_bytes(e.bytes),
                            e.seconds
                        );
                        if let Some(err) = &e.error {
                            line.push_str(&format!(" ({err})"));
                        }
                        match e.last_success {
                            Some(t) => line.push_str(&format!("; last success {}", when(t))),
                            None => line.push_str("; never succeeded"),
                        }
                        s.push_str(&line);
                        s.push('\n');
                    }
                    None if rec.is_some() => s.push_str("    last run: not in it\n"),
                    None => {}
                }
            }
        }
    }
    s
}

/// The JSON form: the record's run summary, then jobs, pairs and datasets, each dataset with its
/// live state and its entry of the last run (`last_run`, `null` when none).
pub fn render_json(
    views: &[JobView],
    record: Result<Option<&RunRecord>, &str>,
    dir: &Path,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let rec = record.ok().flatten();
    let run = rec.map(|r| {
        serde_json::json!({
            "started": r.started,
            "seconds": r.seconds,
            "result": r.result,
            "exit_code": r.exit_code,
            "jobs_run": r.jobs_run,
            "pools": r.pools,
            "problems": r.problems,
        })
    });
    let jobs: Vec<serde_json::Value> = views
        .iter()
        .map(|j| {
            let pairs: Vec<serde_json::Value> = j
                .pairs
                .iter()
                .map(|p| {
                    let datasets: Vec<serde_json::Value> = p
                        .datasets
                        .iter()
                        .map(|d| {
                            let mut v = serde_json::to_value(d).unwrap_or_default();
                            v["last_run"] = serde_json::to_value(record_entry(rec, &j.name, d))
                                .unwrap_or_default();
                            v
                        })
                        .collect();
                    serde_json::json!({
                        "source": p.source,
                        "target": p.target,
                        "error": p.error,
                        "datasets": datasets,
                    })
                })
                .collect();
            serde_json::json!({ "name": j.name, "pairs": pairs })
        })
        .collect();
    serde_json::json!({
        "now": now,
        "state_dir": dir,
        "record_error": record.err(),
        "last_run": run,
        "jobs": jobs,
    })
}

/// The jobs measured, the state directory and the time, from `status`'s and `metrics`' flags.
fn measure_common(
    choice: BackendArg,
    a: &JobsAndState,
) -> Result<(Vec<JobView>, PathBuf, DateTime<Utc>), Fail> {
    let now = crate::discover::now(a.now.as_deref())?;
    let views = measure_jobs(choice, a.jobs_file.as_deref(), &a.jobs, now)?;
    Ok((views, state_dir(a.state_dir.as_deref()), now))
}

/// `zsync status`.
pub fn run(choice: BackendArg, a: &StatusArgs) -> Result<u8, Fail> {
    let (views, dir, now) = measure_common(choice, &a.common)?;
    let loaded = RunRecord::load(&dir).map_err(|e| e.to_string());
    let record = match &loaded {
        Ok(r) => Ok(r.as_ref()),
        Err(e) => Err(e.as_str()),
    };
    if a.json {
        let v = render_json(&views, record, &dir, now);
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        out!("{}", render_text(&views, record, &dir, now));
    }
    let complete = views.iter().all(JobView::complete) && loaded.is_ok();
    Ok(if complete { EXIT_OK } else { EXIT_PARTIAL })
}

/// `zsync metrics`: the textfile from the record and the live state, to a file or stdout. Without
/// a record only the live part is written (no run samples). Exit 1 when a host could not be read (its datasets are
/// left out).
pub fn metrics(choice: BackendArg, a: &MetricsArgs) -> Result<u8, Fail> {
    let (views, dir, _) = measure_common(choice, &a.common)?;
    for j in &views {
        for p in &j.pairs {
            if let Some(e) = &p.error {
                errln!("zsync: metrics: job {}: {e}", j.name);
            }
        }
    }
    let record = RunRecord::load(&dir).map_err(|e| Fail::failure(format!("metrics: {e}")))?;
    let text = metrics::render(record.as_ref(), &replicas(&views));
    match a.output.as_deref() {
        Some("-") => out!("{text}"),
        given => {
            let path = given.map_or_else(|| dir.join(METRICS_FILE), PathBuf::from);
            write_atomically(&path, text.as_bytes(), 0o644)
                .map_err(|e| Fail::failure(format!("metrics: {}: {e}", path.display())))?;
        }
    }
    Ok(if views.iter().all(JobView::complete) {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use zsync_ops::replica::{HoldRef, SnapshotRef};
    use zsync_ops::state::{JobRecord, RunResult, StageRecord, RECORD_FORMAT};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn state(lag: Option<i64>) -> ReplicaState {
        ReplicaState {
            source_host: "localhost".into(),
            source: "tank/vm".into(),
            target_host: "backup".into(),
            target: "pool/vm".into(),
            target_exists: true,
            volume: false,
            newest_common: lag.map(|l| SnapshotRef {
                name: "autosnap_x_hourly".into(),
                created: t(1_000_000 - l),
            }),
            lag_seconds: lag,
            newest_by_type: [(
                "hourly".to_string(),
                SnapshotRef {
                    name: "autosnap_y_hourly".into(),
                    created: t(1_000_000 - 60),
                },
            )]
            .into(),
            source_counts: [("hourly".to_string(), 3)].into(),
            target_counts: BTreeMap::new(),
            holds: vec![HoldRef {
                side: "target",
                snapshot: "autosnap_x_hourly".into(),
                tag: "zsync_vms".into(),
            }],
            bookmarks: vec![],
            partial_receive: None,
        }
    }

    fn views() -> Vec<JobView> {
        vec![
            JobView {
                name: "vms".into(),
                pairs: vec![PairView {
                    source: "tank/vm".into(),
                    target: "backup:pool/vm".into(),
                    error: None,
                    datasets: vec![state(Some(7200))],
                }],
            },
            JobView {
                name: "far".into(),
                pairs: vec![PairView {
                    source: "tank/x".into(),
                    target: "nas2:pool/x".into(),
                    error: Some("target nas2: cannot connect: no route to host".into()),
                    datasets: vec![],
                }],
            },
        ]
    }

    fn record() -> RunRecord {
        RunRecord {
            format: RECORD_FORMAT,
            started: t(1_000_000 - 3600),
            seconds: 42.0,
            result: RunResult::Ok,
            exit_code: 0,
            jobs_file: "jobs.toml".into(),
            jobs_run: vec!["vms".into()],
            snapshots: StageRecord::default(),
            jobs: vec![JobRecord {
                name: "vms".into(),
                datasets: vec![DatasetRecord {
                    source: "tank/vm".into(),
                    target: "backup:pool/vm".into(),
                    outcome: "synced".into(),
                    error: None,
                    bytes: 2048,
                    seconds: 1.5,
                    newest_common: None,
                    newest_common_created: None,
                    last_success: Some(t(1_000_000 - 3500)),
                }],
                ..JobRecord::default()
            }],
            pools: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn text_shows_live_state_record_and_unreachable_hosts() {
        let rec = record();
        let dir = Path::new("/var/lib/zsync");
        let text = render_text(&views(), Ok(Some(&rec)), dir, t(1_000_000));
        assert!(
            text.starts_with("last run: 1970-01-12 12:46:40 UTC (1h ago), ok, 42.0 s, exit 0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  tank/vm -> backup:pool/vm\n    lag 2h (newest common autosnap_x_hourly"
            ),
            "{text}"
        );
        assert!(text.contains("    newest: hourly 1m ago\n"), "{text}");
        assert!(
            text.contains("    snapshots: source hourly 3; target none\n"),
            "{text}"
        );
        assert!(
            text.contains("    holds: target @autosnap_x_hourly (zsync_vms)\n"),
            "{text}"
        );
        assert!(text.contains("    last run: synced, "), "{text}");
        assert!(
            text.contains("; last success 1970-01-12 12:48:20 UTC\n"),
            "{text}"
        );
        assert!(
            text.contains("job far\n  tank/x -> nas2:pool/x: target nas2: cannot connect"),
            "{text}"
        );
        let none = render_text(&views()[..1], Ok(None), dir, t(1_000_000));
        assert!(
            none.starts_with("no run recorded in /var/lib/zsync\n"),
            "{none}"
        );
        assert!(!none.contains("last run:"), "{none}");
        let mut no_common = views();
        no_common[0].pairs[0].datasets[0] = state(None);
        let text = render_text(&no_common, Ok(None), dir, t(1_000_000));
        assert!(text.contains("    lag: no snapshot in common\n"), "{text}");
    }

    #[test]
    fn json_carries_lag_and_the_last_run_entry() {
        let rec = record();
        let v = render_json(&views(), Ok(Some(&rec)), Path::new("/s"), t(1_000_000));
        let d = &v["jobs"][0]["pairs"][0]["datasets"][0];
        assert_eq!(d["lag_seconds"], 7200);
        assert_eq!(d["newest_common"]["name"], "autosnap_x_hourly");
        assert_eq!(d["last_run"]["bytes"], 2048);
        assert_eq!(v["last_run"]["result"], "ok");
        assert_eq!(
            v["jobs"][1]["pairs"][0]["error"],
            "target nas2: cannot connect: no route to host"
        );
        let v = render_json(&views(), Err("bad record"), Path::new("/s"), t(1_000_000));
        assert_eq!(v["record_error"], "bad record");
        assert!(v["last_run"].is_null());
        assert!(v["jobs"][0]["pairs"][0]["datasets"][0]["last_run"].is_null());
    }
}
