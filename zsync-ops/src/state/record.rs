//! The record of the last `zsync run`: what each job did to each dataset, how the pools looked,
//! how long it took and how it ended. Written atomically to `STATE_DIR/last-run.json` at the end of
//! every run; `zsync status` and the Prometheus metrics read it. A dataset's `last_success` is
//! carried over from the previous record when this run did not succeed for it, so the time of the
//! last good replication survives failed runs.

use super::write_atomically;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The record's file name in the state directory.
pub const RECORD_FILE: &str = "last-run.json";
/// The record format this version writes (and the only one it reads).
pub const RECORD_FORMAT: u32 = 1;

/// How a run, a job or a stage ended; worst last (`max` of several is the overall result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Everything done.
    #[default]
    Ok,
    /// Some part skipped or a warning (a busy dataset, a pool at WARN).
    Partial,
    /// Something failed.
    Failed,
}

impl RunResult {
    /// `ok`, `partial`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Ok => "ok",
            RunResult::Partial => "partial",
            RunResult::Failed => "failed",
        }
    }

    /// The exit code: 0, 1, 2.
    pub fn exit_code(self) -> u8 {
        match self {
            RunResult::Ok => 0,
            RunResult::Partial => 1,
            RunResult::Failed => 2,
        }
    }
}

/// The snapshot/prune stage by `sanoid.conf` (or any stage that creates and destroys snapshots).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StageRecord {
    /// Whether the stage ran.
    pub ran: bool,
    /// Snapshots created.
    pub created: Vec<String>,
    /// Snapshots destroyed.
    pub destroyed: Vec<String>,
    /// What failed, one line each (`snapshot tank@x: error`).
    pub failures: Vec<String>,
    /// How it ended.
    pub result: RunResult,
}

/// One replicated dataset of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// The source dataset, with its host (`host:pool/ds`) when remote.
    pub source: String,
    /// The target dataset, with its host when remote.
    pub target: String,
    /// zfs-sync's outcome: `synced`, `up_to_date`, `skipped`, `refused`, `failed`, `cancelled`.
    pub outcome: String,
    /// Why, when not synced or up to date (one line).
    pub error: Option<String>,
    /// Stream bytes moved.
    pub bytes: u64,
    /// Seconds spent on this dataset.
    pub seconds: f64,
    /// The newest snapshot both sides have after the run (its name after `@`), when known.
    pub newest_common: Option<String>,
    /// That snapshot's creation time.
    pub newest_common_created: Option<DateTime<Utc>>,
    /// When this dataset last replicated successfully (this run, or carried over).
    pub last_success: Option<DateTime<Utc>>,
}

impl DatasetRecord {
    /// Synced or up to date.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome.as_str(), "synced" | "up_to_date")
    }
}

/// One job of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct JobRecord {
    /// The job's name.
    pub name: String,
    /// How it ended.
    pub result: RunResult,
    /// Seconds, replication and target pruning.
    pub seconds: f64,
    /// A failure of the whole job (e.g. the target host unreachable), one line.
    pub error: Option<String>,
    /// Per replicated dataset.
    pub datasets: Vec<DatasetRecord>,
    /// The target's pruning by the job's retention (`ran: false` without one).
    pub prune: StageRecord,
}

/// One pool's health and capacity after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRecord {
    /// `localhost` or the SSH destination.
    pub host: String,
    /// Pool name.
    pub pool: String,
    /// `zpool` health (`ONLINE`, `DEGRADED`, ...); `UNKNOWN` when it could not be read.
    pub health: String,
    /// Capacity in percent, when read.
    pub capacity_percent: Option<u8>,
    /// The monitor verdict for the pool: `ok`, `warn`, `crit`, `unknown`.
    pub state: String,
    /// The verdict's text (what is wrong), empty when OK.
    pub message: String,
}

/// The record of one `zsync run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RECORD_FORMAT`].
    pub format: u32,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// How long it took.
    pub seconds: f64,
    /// How it ended.
    pub result: RunResult,
    /// The exit code it ended with.
    pub exit_code: u8,
    /// The job file.
    pub jobs_file: String,
    /// The jobs it ran (all of the file's, or those named).
    pub jobs_run: Vec<String>,
    /// The snapshot/prune stage by `sanoid.conf`.
    pub snapshots: StageRecord,
    /// Per job.
    pub jobs: Vec<JobRecord>,
    /// The pools involved, on every host.
    pub pools: Vec<PoolRecord>,
    /// Every failure and warning of the run, one line each (what `on_failure` is told first).
    pub problems: Vec<String>,
}

/// Why the record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a record this version reads.
    #[error("{}: not a zsync run record: {reason}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl RunRecord {
    /// The record's path in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(RECORD_FILE)
    }

    /// Writes the record atomically into `state_dir` (created when missing); returns its path.
    pub fn write(&self, state_dir: &Path) -> Result<PathBuf, RecordError> {
        let path = Self::path(state_dir);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| RecordError::Format {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        write_atomically(&path, text.as_bytes(), 0o644).map_err(|source| RecordError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// The record in `state_dir`; `Ok(None)` when there is none yet (no run so far).
    pub fn load(state_dir: &Path) -> Result<Option<RunRecord>, RecordError> {
        let path = Self::path(state_dir);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RecordError::Io { path, source }),
        };
        Self::parse(&text)
            .map(Some)
            .map_err(|reason| RecordError::Format { path, reason })
    }

    /// Parses a record's text; the error says why it is not one.
    pub fn parse(text: &[u8]) -> Result<RunRecord, String> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let f: Format = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        if f.format != RECORD_FORMAT {
            return Err(format!(
                "format {} (this zsync reads format {RECORD_FORMAT})",
                f.format
            ));
        }
        serde_json::from_slice(text).map_err(|e| e.to_string())
    }

    /// Fills `last_success` of each dataset that did not succeed in this run from `previous`
    /// (same source and target), and sets it to `now`-of-success for those that did (`finished`).
    pub fn carry_last_success(&mut self, previous: Option<&RunRecord>, finished: DateTime<Utc>) {
        for job in &mut self.jobs {
            for d in &mut job.datasets {
                if d.succeeded() {
                    d.last_success = Some(finished);
                    continue;
                }
                d.last_success = previous
                    .into_iter()
                    .flat_map(|p| p.jobs.iter())
                    .flat_map(|j| j.datasets.iter())
                    .find(|p| p.source == d.source && p.target == d.target)
                    .and_then(|p| p.last_success);
            }
        }
    }

    /// Every dataset record with its job's name.
    pub fn datasets(&self) -> impl Iterator<Item = (&str, &DatasetRecord)> {
        self.jobs
            .iter()
            .flat_map(|j| j.datasets.iter().map(move |d| (j.name.as_str(), d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(outcome: &str, last: Option<DateTime<Utc>>) -> DatasetRecord {
        DatasetRecord {
            source: "tank/a".into(),
            target: "backup:tank/a".into(),
            outcome: outcome.into(),
            error: (outcome == "failed").then(|| "boom".into()),
            bytes: 10,
            seconds: 1.5,
            newest_common: None,
            newest_common_created: None,
            last_success: last,
        }
    }

    fn record(d: DatasetRecord) -> RunRecord {
        RunRecord {
            format: RECORD_FORMAT,
            started: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            seconds: 3.0,
            result: RunResult::Ok,
            exit_code: 0,
            jobs_file: "/etc/zsync/jobs.toml".into(),
            jobs_run: vec!["vms".into()],
            snapshots: StageRecord::default(),
            jobs: vec![JobRecord {
                name: "vms".into(),
                datasets: vec![d],
                ..JobRecord::default()
            }],
            pools: vec![],
            problems: vec![],
        }
    }

    #[test]
    fn round_trip_and_last_success_carried_over() {
        let t1 = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let t2 = DateTime::from_timestamp(1_700_090_000, 0).unwrap();
        let mut first = record(dataset("synced", None));
        first.carry_last_success(None, t1);
        let dir = std::env::temp_dir().join(format!("zsync-record-{}", std::process::id()));
        assert!(RunRecord::load(&dir).unwrap().is_none());
        first.write(&dir).unwrap();
        let back = RunRecord::load(&dir).unwrap().unwrap();
        assert_eq!(back, first);
        assert_eq!(back.jobs[0].datasets[0].last_success, Some(t1));
        // A failed run keeps the previous success time; a later success moves it.
        let mut failed = record(dataset("failed", None));
        failed.carry_last_success(Some(&back), t2);
        assert_eq!(failed.jobs[0].datasets[0].last_success, Some(t1));
        let mut ok = record(dataset("up_to_date", None));
        ok.carry_last_success(Some(&failed), t2);
        assert_eq!(ok.jobs[0].datasets[0].last_success, Some(t2));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn foreign_files_are_refused_with_a_reason() {
        assert!(RunRecord::parse(b"\x00\xffgarbage").is_err());
        assert!(RunRecord::parse(br#"{"format": 2}"#)
            .unwrap_err()
            .contains("format 2"));
        assert!(RunRecord::parse(br#"{"format": 1}"#).is_err());
    }
}
