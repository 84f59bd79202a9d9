//! What a run reports: per step, per dataset and for the whole run; what the in-transit check read
//! from each stream ([`StreamCheck`]), and (feature `exec`) the check that a completed step's streams
//! carried the snapshots the plan named.

use crate::plan::{Conflict, Plan, Step};
use serde::{Deserialize, Serialize};
use zfs_core::DatasetName;

/// What happened to one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Every step ran.
    Synced,
    /// Nothing to send.
    UpToDate,
    /// Not attempted (e.g. a dependency failed, no snapshot to send, target parent missing).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The plan refused (divergence, no common base, stale token): a user decision is needed.
    Refused {
        /// The conflict with its facts.
        conflict: Conflict,
    },
    /// A step failed.
    Failed {
        /// The error, one line.
        error: String,
    },
    /// The run was cancelled ([`Cancel`](crate::Cancel)) before this dataset started, between
    /// two of its steps, or while a step ran (that step failed after the cancel: its stream was
    /// stopped, a resumable receive keeps its partial state; the steps that ran are in its report). Nothing is cleaned up after it, and
    /// this run's sync snapshot stays (the next run's cleanup removes it).
    Cancelled,
}

impl Outcome {
    /// This outcome's part of the run's exit code: 0 synced or up to date, 1 skipped, 2 refused or
    /// failed, 3 cancelled.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Synced | Outcome::UpToDate => 0,
            Outcome::Skipped { .. } => 1,
            Outcome::Refused { .. } | Outcome::Failed { .. } => 2,
            Outcome::Cancelled => 3,
        }
    }
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// The planned step.
    pub step: Step,
    /// Send/receive streams run for it: an `-I` step is one stream, or one `-i` per snapshot when a filter
    /// leaves snapshots out or libzfs_core runs both ends (plus one `-i` first from a bookmark base).
    pub streams: u32,
    /// Stream bytes moved.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// What the in-transit check read from each stream that completed (empty with the check off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<StreamCheck>,
    /// The streams the check could not read although it was on, and why (a compressed stream
    /// relayed between two remote hosts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<UncheckedStream>,
}

/// A stream the in-transit check could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UncheckedStream {
    /// What was sent (the stream's label: `pool/a@s3 from @s1 with intermediates`).
    pub stream: String,
    /// Why it was not checked.
    pub reason: String,
}

/// What the in-transit check (zfs-stream's inspection) read from one send stream: which snapshots it
/// carried, by guid, and whether every record checksum was verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCheck {
    /// One entry per substream, in stream order (an `-I` stream carries several).
    pub snapshots: Vec<StreamSnapshot>,
    /// Records in the stream.
    pub records: u64,
    /// Every record and running fletcher-4 checksum was verified through the final END record. `false`
    /// when a record type from a newer OpenZFS ended checking early (the receiver still verifies
    /// everything itself).
    pub verified: bool,
}

/// One snapshot a send stream carried (its BEGIN record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSnapshot {
    /// The snapshot's name as the sender wrote it (`drr_toname`).
    pub name: String,
    /// Its guid (`drr_toguid`; decimal string in JSON).
    #[serde(with = "crate::guid_str")]
    pub guid: u64,
    /// The incremental base's guid (`drr_fromguid`); `None` for a full stream.
    #[serde(with = "crate::guid_str::option", default)]
    pub from_guid: Option<u64>,
}

impl StreamCheck {
    /// One line: `verified 12 records: full pool/a@s1 (guid 1234…)`, substreams joined with `; `
    /// (guids in decimal, as `zfs get guid` prints them).
    pub fn describe(&self) -> String {
        let what: Vec<String> = self
            .snapshots
            .iter()
            .map(|s| match s.from_guid {
                None => format!("full {} (guid {})", s.name, s.guid),
                Some(f) => format!("incremental {} (guid {}, from {f})", s.name, s.guid),
            })
            .collect();
        format!(
            "{} {} records: {}",
            if self.verified {
                "verified"
            } else {
                "partly verified (newer record type)"
            },
            self.records,
            what.join("; ")
        )
    }
}

#[cfg(feature = "exec")]
impl StreamCheck {
    /// The facts of an inspected stream; `None` before any BEGIN record was read.
    pub fn from_summary(summary: &zfs_stream::StreamSummary) -> Option<StreamCheck> {
        let snapshots: Vec<StreamSnapshot> = summary
            .substreams
            .iter()
            .filter_map(|s| s.begin.as_ref())
            .map(|b| StreamSnapshot {
                name: b.toname.clone(),
                guid: b.toguid,
                from_guid: (b.fromguid != 0).then_some(b.fromguid),
            })
            .collect();
        (!snapshots.is_empty()).then(|| StreamCheck {
            snapshots,
            records: summary.records,
            verified: summary.complete && summary.unverified_from.is_none(),
        })
    }
}

/// The snapshots a step's streams should carry, in order: the ones it receives.
#[cfg(feature = "exec")]
fn planned_snapshots(step: &Step) -> Vec<&crate::plan::VersionRef> {
    match step {
        Step::Full { snapshot } => vec![snapshot],
        Step::Clone { to, .. } | Step::Resume { to, .. } => vec![to],
        Step::Incremental {
            to,
            intermediates,
            receives,
            ..
        } => {
            if *intermediates {
                receives.iter().collect()
            } else {
                vec![to]
            }
        }
        _ => Vec::new(),
    }
}

/// A warning when the verified streams of a completed step carried other snapshots than planned: one
/// replaced under its name, or one destroyed on the source (an `-I` stream skips it), between listing
/// and sending. `None` when they match, or when not every stream was checked and verified.
#[cfg(feature = "exec")]
pub(crate) fn unplanned_stream(
    step: &Step,
    checked: &[StreamCheck],
    streams: u32,
) -> Option<String> {
    if checked.is_empty()
        || checked.len() != streams as usize
        || checked.iter().any(|c| !c.verified)
    {
        return None;
    }
    let carried: Vec<&StreamSnapshot> = checked.iter().flat_map(|c| &c.snapshots).collect();
    let planned = planned_snapshots(step);
    if carried
        .iter()
        .map(|s| s.guid)
        .eq(planned.iter().map(|v| v.guid))
    {
        return None;
    }
    let unplanned: Vec<String> = carried
        .iter()
        .filter(|c| !planned.iter().any(|p| p.guid == c.guid))
        .map(|c| format!("{} (guid {})", c.name, c.guid))
        .collect();
    if !unplanned.is_empty() {
        return Some(format!(
            "the send stream carried {}, which the plan did not name: a snapshot was replaced \
             under its name while the run went on",
            unplanned.join(", ")
        ));
    }
    let missing: Vec<String> = planned
        .iter()
        .filter(|p| !carried.iter().any(|c| c.guid == p.guid))
        .map(|p| format!("{} (guid {})", p.name, p.guid))
        .collect();
    Some(format!(
        "planned but not in the send stream: {} (destroyed on the source while the run went on?)",
        missing.join(", ")
    ))
}

/// The result for one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    /// Source dataset.
    pub source: DatasetName,
    /// Target dataset.
    pub target: DatasetName,
    /// What happened.
    pub outcome: Outcome,
    /// The steps that ran (in order; on failure the failing step is the last).
    pub steps: Vec<StepReport>,
    /// Bytes moved in total.
    pub bytes: u64,
    /// Wall time in total.
    pub seconds: f64,
    /// Problems after the data was safe (holds, bookmarks, sync snapshot cleanup).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The sync snapshot's short name, when one was taken.
    pub sync_snapshot: Option<String>,
    /// The plan that was executed.
    pub plan: Plan,
    /// One report per planned dataset, in plan order.
    pub datasets: Vec<DatasetReport>,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// Run-wide notices: what the run did differently from what was asked, and why (a remote end
    /// without the codec program asked for: its streams went uncompressed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// The highest [`Outcome::exit_code`] of the datasets: 0 all synced or up to date; 1 some
    /// skipped; 2 any failure or refusal; 3 the run was cancelled before every dataset finished.
    pub exit_code: i32,
}

impl Report {
    /// Stable pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `1.5 MiB`, `812 B`: binary units, one decimal (zsync's progress and error lines).
pub fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "exec")]
    use crate::fixtures::{begin, vref};

    #[cfg(feature = "exec")]
    #[test]
    fn streams_that_carried_other_snapshots_than_planned_are_flagged() {
        let (s1, s2, s3) = (
            vref("p/a@s1", 0x11, 1),
            vref("p/a@s2", 0x22, 2),
            vref("p/a@s3", 0x33, 3),
        );
        let step = Step::Incremental {
            from: s1.clone(),
            to: s3.clone(),
            intermediates: true,
            receives: vec![s2.clone(), s3.clone()],
        };
        let check = |subs: Vec<zfs_stream::record::SubstreamSummary>| {
            StreamCheck::from_summary(&zfs_stream::StreamSummary {
                complete: true,
                substreams: subs,
                ..Default::default()
            })
            .unwrap()
        };
        // One -I package, or one -i stream per snapshot: both match.
        let package = check(vec![
            begin("p/a@s2", 0x22, 0x11),
            begin("p/a@s3", 0x33, 0x22),
        ]);
        assert_eq!(
            unplanned_stream(&step, std::slice::from_ref(&package), 1),
            None
        );
        let each = [
            check(vec![begin("p/a@s2", 0x22, 0x11)]),
            check(vec![begin("p/a@s3", 0x33, 0x22)]),
        ];
        assert_eq!(unplanned_stream(&step, &each, 2), None);
        // s3 replaced under its name between listing and sending.
        let replaced = check(vec![
            begin("p/a@s2", 0x22, 0x11),
            begin("p/a@s3", 0x99, 0x22),
        ]);
        let w = unplanned_stream(&step, std::slice::from_ref(&replaced), 1).unwrap();
        assert!(
            w.starts_with("the send stream carried p/a@s3 (guid 153), which the plan did not name"),
            "{w}"
        );
        // s2 destroyed on the source after planning: the -I stream skips it.
        let skipped = check(vec![begin("p/a@s3", 0x33, 0x11)]);
        let w = unplanned_stream(&step, std::slice::from_ref(&skipped), 1).unwrap();
        assert!(
            w.starts_with("planned but not in the send stream: p/a@s2 (guid 34) (destroyed"),
            "{w}"
        );
        // Not verified to the end, not every stream checked, or none checked: nothing to say.
        let mut partial = replaced.clone();
        partial.verified = false;
        assert_eq!(unplanned_stream(&step, &[partial], 1), None);
        assert_eq!(unplanned_stream(&step, &[replaced], 2), None);
        assert_eq!(unplanned_stream(&step, &[], 1), None);
        let full = Step::Full { snapshot: s1 };
        let ok = check(vec![begin("p/a@s1", 0x11, 0)]);
        assert_eq!(unplanned_stream(&full, &[ok], 1), None);
    }

    #[test]
    fn the_exit_code_ranks_outcomes() {
        let skipped = Outcome::Skipped { reason: "x".into() };
        let failed = Outcome::Failed { error: "x".into() };
        let codes: Vec<i32> = [
            Outcome::Synced,
            Outcome::UpToDate,
            skipped,
            failed,
            Outcome::Cancelled,
        ]
        .iter()
        .map(Outcome::exit_code)
        .collect();
        assert_eq!(codes, vec![0, 0, 1, 2, 3]);
        assert_eq!(
            serde_json::to_string(&Outcome::Cancelled).unwrap(),
            r#"{"outcome":"cancelled"}"#
        );
    }
}
