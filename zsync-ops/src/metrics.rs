//! The Prometheus textfile (node_exporter's textfile collector: the text exposition format, HELP
//! and TYPE lines, every metric a gauge with the `zsync_` prefix) rendered from the last run's
//! record and the live replica states. `zsync run` writes it with
//! [`write_atomically`](crate::state::write_atomically) to `STATE_DIR/`[`METRICS_FILE`]; point
//! node_exporter's `--collector.textfile.directory` at the state directory (or link the file).
//!
//! Datasets are labelled `job`, `source` and `target` (`[host:]pool/ds`, as in the record);
//! snapshot counts add `side` (`source`, `target`) and `type` (a sanoid type, `sync`, `other`);
//! pools `host` and `pool`. Label values are escaped as the format says (`\\`, `\"`, `\n`).
//!
//! Written by hand rather than with the `prometheus` crate: that crate's registry is a process-
//! global, long-lived collector for a scraped endpoint; a textfile of a few gauges rendered once
//! per run needs only the format's escaping, which [`escape_label`] does (and the host test parses
//! the output back with a real exposition-format parser).

use crate::replica::ReplicaState;
use crate::state::{RunRecord, RunResult};
use std::fmt::Write;

/// The metrics file's name in the state directory.
pub const METRICS_FILE: &str = "zsync.prom";

/// A label value escaped for the exposition format: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// One metric family: its samples, each a label set and a value.
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }

    fn render(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} gauge", self.name);
        for (labels, value) in &self.samples {
            out.push_str(self.name);
            if !labels.is_empty() {
                let parts: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", parts.join(","));
            }
            let _ = writeln!(out, " {value}");
        }
    }
}

/// `host:dataset`, or `dataset` on this machine (the record's spelling).
fn located(host: &str, dataset: &str) -> String {
    if host == zfs_core::error::LOCALHOST {
        dataset.to_owned()
    } else {
        format!("{host}:{dataset}")
    }
}

fn ds_labels(job: &str, source: &str, target: &str) -> Vec<(&'static str, String)> {
    vec![
        ("job", job.to_owned()),
        ("source", source.to_owned()),
        ("target", target.to_owned()),
    ]
}

/// Renders the textfile: per run (start, duration, result, exit code), per dataset of the record
/// (last success, bytes, duration, failed), per live replica (lag, newest common snapshot,
/// snapshot counts per side and type) and per pool of the record (healthy, capacity, state).
/// Without a record (no run so far) only the live part: no run, dataset-record or pool samples, so
/// "never ran" is not mistaken for a successful run.
pub fn render(record: Option<&RunRecord>, replicas: &[(String, ReplicaState)]) -> String {
    let mut run_start = Family::new(
        "zsync_run_start_timestamp_seconds",
        "When the last zsync run started (Unix time).",
    );
    let runs = record.into_iter();
    for record in runs.clone() {
        run_start.push(vec![], record.started.timestamp() as f64);
    }
    let mut run_duration = Family::new(
        "zsync_run_duration_seconds",
        "How long the last zsync run took.",
    );
    for record in runs.clone() {
        run_duration.push(vec![], record.seconds);
    }
    let mut run_result = Family::new(
        "zsync_run_result",
        "1 for how the last zsync run ended (ok, partial, failed), 0 for the others.",
    );
    for record in runs.clone() {
        for r in [RunResult::Ok, RunResult::Partial, RunResult::Failed] {
            let v = if r == record.result { 1.0 } else { 0.0 };
            run_result.push(vec![("result", r.as_str().to_owned())], v);
        }
    }
    let mut run_exit = Family::new(
        "zsync_run_exit_code",
        "The exit code of the last zsync run.",
    );
    for record in runs.clone() {
        run_exit.push(vec![], f64::from(record.exit_code));
    }

    let mut last_success = Family::new(
        "zsync_dataset_last_success_timestamp_seconds",
        "When the dataset last replicated successfully (Unix time).",
    );
    let mut bytes = Family::new(
        "zsync_dataset_sent_bytes",
        "Stream bytes sent for the dataset in the last run.",
    );
    let mut duration = Family::new(
        "zsync_dataset_duration_seconds",
        "Seconds spent on the dataset in the last run.",
    );
    let mut failed = Family::new(
        "zsync_dataset_failed",
        "1 when the dataset failed (or was refused or cancelled) in the last run, else 0.",
    );
    for (job, d) in runs.clone().flat_map(RunRecord::datasets) {
        let l = ds_labels(job, &d.source, &d.target);
        if let Some(t) = d.last_success {
            last_success.push(l.clone(), t.timestamp() as f64);
        }
        bytes.push(l.clone(), d.bytes as f64);
        duration.push(l.clone(), d.seconds);
        let bad = matches!(d.outcome.as_str(), "failed" | "refused" | "cancelled");
        failed.push(l, if bad { 1.0 } else { 0.0 });
    }

    let mut lag = Family::new(
        "zsync_dataset_lag_seconds",
        "Age of the newest snapshot source and target share (replication lag).",
    );
    let mut common = Family::new(
        "zsync_dataset_newest_common_timestamp_seconds",
        "Creation time of the newest snapshot source and target share (Unix time).",
    );
    let mut in_sync = Family::new(
        "zsync_dataset_has_common_snapshot",
        "1 when source and target share a snapshot, else 0 (no lag can be measured).",
    );
    let mut counts = Family::new(
        "zsync_dataset_snapshots",
        "Snapshots of the dataset per side and type (sanoid types, sync, other).",
    );
    for (job, r) in replicas {
        let l = ds_labels(
            job,
            &located(&r.source_host, &r.source),
            &located(&r.target_host, &r.target),
        );
        in_sync.push(l.clone(), f64::from(u8::from(r.newest_common.is_some())));
        if let (Some(c), Some(secs)) = (&r.newest_common, r.lag_seconds) {
            lag.push(l.clone(), secs as f64);
            common.push(l.clone(), c.created.timestamp() as f64);
        }
        for (side, map) in [("source", &r.source_counts), ("target", &r.target_counts)] {
            for (kind, n) in map {
                let mut ll = l.clone();
                ll.push(("side", side.to_owned()));
                ll.push(("type", kind.clone()));
                counts.push(ll, *n as f64);
            }
        }
    }

    let mut healthy = Family::new(
        "zsync_pool_healthy",
        "1 when the pool is ONLINE and the monitor finds nothing wrong, else 0; label health is zpool's state.",
    );
    let mut capacity = Family::new(
        "zsync_pool_capacity_ratio",
        "Used fraction of the pool (zpool capacity / 100).",
    );
    let mut pool_state = Family::new(
        "zsync_pool_check_state",
        "The monitor's verdict on the pool: 0 ok, 1 warn, 2 crit, 3 unknown.",
    );
    for p in runs.clone().flat_map(|r| r.pools.iter()) {
        let l = vec![("host", p.host.clone()), ("pool", p.pool.clone())];
        let mut hl = l.clone();
        hl.push(("health", p.health.clone()));
        let ok = p.state == "ok" && p.health == "ONLINE";
        healthy.push(hl, if ok { 1.0 } else { 0.0 });
        if let Some(c) = p.capacity_percent {
            capacity.push(l.clone(), f64::from(c) / 100.0);
        }
        let code = match p.state.as_str() {
            "ok" => 0.0,
            "warn" => 1.0,
            "crit" => 2.0,
            _ => 3.0,
        };
        pool_state.push(l, code);
    }

    let mut out = String::new();
    for f in [
        &run_start,
        &run_duration,
        &run_result,
        &run_exit,
        &last_success,
        &bytes,
        &duration,
        &failed,
        &lag,
        &common,
        &in_sync,
        &counts,
        &healthy,
        &capacity,
        &pool_state,
    ] {
        f.render(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::SnapshotRef;
    use crate::state::{DatasetRecord, JobRecord, PoolRecord, StageRecord, RECORD_FORMAT};
    use chrono::DateTime;
    use openmetrics_parser::{prometheus::parse_prometheus, PrometheusValue};
    use std::collections::BTreeMap;

    fn record() -> RunRecord {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        let dataset = |source: &str, outcome: &str, bytes, last| DatasetRecord {
            source: source.into(),
            target: format!("backup:{source}"),
            outcome: outcome.into(),
            error: None,
            bytes,
            seconds: 2.5,
            newest_common: None,
            newest_common_created: None,
            last_success: last,
        };
        RunRecord {
            format: RECORD_FORMAT,
            started: t(1_700_000_000),
            seconds: 12.25,
            result: RunResult::Failed,
            exit_code: 2,
            jobs_file: "/etc/zsync/jobs.toml".into(),
            jobs_run: vec!["vm\"s".into()],
            snapshots: StageRecord::default(),
            jobs: vec![JobRecord {
                name: "vm\"s".into(),
                datasets: vec![
                    dataset("tank/a b\\c", "synced", 4096, Some(t(1_700_000_010))),
                    dataset("tank/d", "failed", 0, Some(t(1_600_000_000))),
                ],
                ..JobRecord::default()
            }],
            pools: vec![
                PoolRecord {
                    host: "localhost".into(),
                    pool: "tank".into(),
                    health: "ONLINE".into(),
                    capacity_percent: Some(42),
                    state: "ok".into(),
                    message: String::new(),
                },
                PoolRecord {
                    host: "backup".into(),
                    pool: "tank".into(),
                    health: "DEGRADED".into(),
                    capacity_percent: Some(7),
                    state: "warn".into(),
                    message: "tank is DEGRADED".into(),
                },
            ],
            problems: vec![],
        }
    }

    fn replica() -> ReplicaState {
        ReplicaState {
            source_host: "localhost".into(),
            source: "tank/a b\\c".into(),
            target_host: "backup".into(),
            target: "tank/a b\\c".into(),
            target_exists: true,
            volume: false,
            newest_common: Some(SnapshotRef {
                name: "s".into(),
                created: DateTime::from_timestamp(1_699_999_000, 0).unwrap(),
            }),
            lag_seconds: Some(1500),
            newest_by_type: BTreeMap::new(),
            source_counts: [("hourly".to_string(), 3), ("daily".to_string(), 1)].into(),
            target_counts: [("hourly".to_string(), 2)].into(),
            holds: vec![],
            bookmarks: vec![],
            partial_receive: None,
        }
    }

    /// The value of the one sample of `name` whose labels include all of `want`.
    fn value(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
        let exp = parse_prometheus(text).expect("the textfile parses");
        let family = exp.families.get(name).unwrap_or_else(|| panic!("{name}"));
        let hits: Vec<f64> = family
            .iter_samples()
            .filter(|s| {
                let ls = s.get_labelset().unwrap();
                want.iter().all(|(k, v)| ls.get_label_value(k) == Some(*v))
            })
            .map(|s| match s.value {
                PrometheusValue::Gauge(ref g) => g.as_f64(),
                ref other => panic!("{name}: not a gauge: {other:?}"),
            })
            .collect();
        assert_eq!(hits.len(), 1, "{name} {want:?}: {hits:?}");
        hits[0]
    }

    #[test]
    fn parses_back_with_escaped_labels_and_values() {
        let text = render(Some(&record()), &[("vm\"s".into(), replica())]);
        let ds = [
            ("job", "vm\"s"),
            ("source", "tank/a b\\c"),
            ("target", "backup:tank/a b\\c"),
        ];
        // The raw text carries the escapes the format asks for.
        assert!(text.contains(r#"job="vm\"s""#), "{text}");
        assert!(text.contains(r#"source="tank/a b\\c""#), "{text}");
        assert_eq!(
            value(&text, "zsync_run_start_timestamp_seconds", &[]),
            1.7e9
        );
        assert_eq!(value(&text, "zsync_run_duration_seconds", &[]), 12.25);
        assert_eq!(value(&text, "zsync_run_exit_code", &[]), 2.0);
        assert_eq!(
            value(&text, "zsync_run_result", &[("result", "failed")]),
            1.0
        );
        assert_eq!(value(&text, "zsync_run_result", &[("result", "ok")]), 0.0);
        assert_eq!(
            value(&text, "zsync_dataset_last_success_timestamp_seconds", &ds),
            1_700_000_010.0
        );
        assert_eq!(value(&text, "zsync_dataset_sent_bytes", &ds), 4096.0);
        assert_eq!(value(&text, "zsync_dataset_duration_seconds", &ds), 2.5);
        assert_eq!(value(&text, "zsync_dataset_failed", &ds), 0.0);
        assert_eq!(
            value(&text, "zsync_dataset_failed", &[("source", "tank/d")]),
            1.0
        );
        assert_eq!(value(&text, "zsync_dataset_lag_seconds", &ds), 1500.0);
        assert_eq!(value(&text, "zsync_dataset_has_common_snapshot", &ds), 1.0);
        let mut c = ds.to_vec();
        c.extend([("side", "source"), ("type", "hourly")]);
        assert_eq!(value(&text, "zsync_dataset_snapshots", &c), 3.0);
        c[4] = ("type", "daily");
        assert_eq!(value(&text, "zsync_dataset_snapshots", &c), 1.0);
        c[3] = ("side", "target");
        c[4] = ("type", "hourly");
        assert_eq!(value(&text, "zsync_dataset_snapshots", &c), 2.0);
        let backup = [("host", "backup"), ("pool", "tank")];
        assert_eq!(value(&text, "zsync_pool_healthy", &backup), 0.0);
        assert_eq!(
            value(
                &text,
                "zsync_pool_healthy",
                &[("host", "localhost"), ("health", "ONLINE")]
            ),
            1.0
        );
        assert_eq!(value(&text, "zsync_pool_capacity_ratio", &backup), 0.07);
        assert_eq!(value(&text, "zsync_pool_check_state", &backup), 1.0);
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("tank/plain name"), "tank/plain name");
    }

    #[test]
    fn without_a_record_only_the_live_part() {
        let text = render(None, &[("vm".into(), replica())]);
        assert!(!text.contains("zsync_run_"), "{text}");
        assert!(!text.contains("zsync_dataset_last_success"), "{text}");
        assert!(text.contains("zsync_dataset_lag_seconds{"), "{text}");
    }
}
