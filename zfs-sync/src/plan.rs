//! The plan schema: versions as the plan refers to them, steps, conflicts and the whole-tree plan.
//!
//! Everything here serializes with serde to a stable JSON schema (see the crate README, "Plan JSON").
//! GUIDs are written as decimal strings because they use all 64 bits and JSON readers commonly hold
//! numbers as doubles.

use crate::guid_str;
use serde::{Deserialize, Serialize};
use zfs_core::{
    BookmarkName, DatasetKind, DatasetName, ResumeToken, SnapshotName, Version, VersionName,
};

/// Version of the JSON schema written by [`Plan`]; bumped on incompatible changes.
pub const PLAN_SCHEMA: u32 = 1;

/// A snapshot or bookmark as a plan refers to it: the facts a user needs to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRef {
    /// Full name on the side it lives on (source names for things sent, target names for things lost).
    pub name: VersionName,
    /// `guid` (decimal string in JSON).
    #[serde(with = "guid_str")]
    pub guid: u64,
    /// `createtxg` on that side.
    pub createtxg: u64,
    /// `creation`, seconds since the Unix epoch.
    pub creation: i64,
}

impl From<&Version> for VersionRef {
    fn from(v: &Version) -> Self {
        VersionRef {
            name: v.name.clone(),
            guid: v.guid,
            createtxg: v.createtxg,
            creation: v.creation,
        }
    }
}

impl VersionRef {
    /// The snapshot name, when this is a snapshot.
    pub fn snapshot(&self) -> Option<&SnapshotName> {
        match &self.name {
            VersionName::Snapshot(s) => Some(s),
            VersionName::Bookmark(_) => None,
        }
    }
}

/// Why a partial receive state is discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AbortReason {
    /// The snapshot the token points at (or its base) no longer exists on the source.
    Stale,
    /// Resuming is switched off, and a new receive cannot start while partial state exists.
    ResumeDisabled,
}

/// One action of a dataset's plan, in execution order.
///
/// Steps that discard data on the target (`rollback`, `destroy_target`, `destroy_target_snapshots`) only appear
/// when the matching option allows them, and always list what they discard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// Discard the target's partial receive state (`zfs receive -A`). Loses only the partial transfer.
    AbortResume {
        /// Why.
        reason: AbortReason,
        /// What the token pointed at.
        token: ResumeToken,
    },
    /// Continue an interrupted receive (`zfs send -t TOKEN | zfs receive -s`); reaches `to`.
    Resume {
        /// The decoded token (its `token` field is the string passed to `zfs send -t`).
        token: ResumeToken,
        /// The source snapshot the resumed stream ends at.
        to: VersionRef,
        /// The source version the resumed stream starts from (`None`: a full stream).
        from: Option<VersionRef>,
    },
    /// Roll the target back to the common base, destroying the target-only snapshots listed (`--rollback`).
    Rollback {
        /// Target snapshot rolled back to (the common base, target name).
        to: VersionRef,
        /// Target snapshots and bookmarks destroyed (`zfs rollback -r`), oldest first (target names).
        discards: Vec<VersionRef>,
    },
    /// Destroy the target dataset and everything below it before a full send (`--force-delete`).
    DestroyTarget {
        /// The dataset destroyed (recursively).
        target: DatasetName,
        /// Its snapshots that are lost, oldest first (target names).
        snapshots: Vec<VersionRef>,
        /// Datasets below it that are destroyed with it.
        descendants: Vec<DatasetName>,
    },
    /// A full stream of one source snapshot (the target does not exist yet).
    Full {
        /// Source snapshot sent.
        snapshot: VersionRef,
    },
    /// A clone's first snapshot sent as an incremental from its origin (`zfs send -i ORIGIN CLONE@SNAP`),
    /// received as a clone of the origin's replica.
    Clone {
        /// The origin snapshot on the source (lives in another dataset).
        origin: VersionRef,
        /// The origin's replica on the target.
        target_origin: SnapshotName,
        /// Source snapshot of the clone sent.
        to: VersionRef,
    },
    /// An incremental stream (`-i` or, with `intermediates`, `-I`).
    Incremental {
        /// Source snapshot or bookmark the stream starts from (present on the target by GUID).
        from: VersionRef,
        /// Source snapshot the stream ends at.
        to: VersionRef,
        /// `-I`: every snapshot between `from` and `to` is received too.
        intermediates: bool,
        /// The snapshots the target receives, oldest first (ends with `to`).
        receives: Vec<VersionRef>,
    },
    /// Destroy target snapshots whose GUID no longer exists on the source (`--delete-target-snapshots`).
    DestroyTargetSnapshots {
        /// Target snapshots destroyed, oldest first (target names).
        snapshots: Vec<VersionRef>,
    },
}

impl Step {
    /// Whether this step moves data (a send/receive).
    pub fn is_transfer(&self) -> bool {
        matches!(
            self,
            Step::Resume { .. } | Step::Full { .. } | Step::Clone { .. } | Step::Incremental { .. }
        )
    }

    /// Whether this step discards anything on the target beyond partial receive state.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Step::Rollback { .. }
                | Step::DestroyTarget { .. }
                | Step::DestroyTargetSnapshots { .. }
        )
    }

    /// Short name of the step kind, as in the JSON `step` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::AbortResume { .. } => "abort_resume",
            Step::Resume { .. } => "resume",
            Step::Rollback { .. } => "rollback",
            Step::DestroyTarget { .. } => "destroy_target",
            Step::Full { .. } => "full",
            Step::Clone { .. } => "clone",
            Step::Incremental { .. } => "incremental",
            Step::DestroyTargetSnapshots { .. } => "destroy_target_snapshots",
        }
    }

    /// One line for humans (what `zsync plan` prints for the step).
    pub fn describe(&self) -> String {
        match self {
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
        }
    }
}

/// Why a dataset is not replicated as asked; each variant carries what a user needs to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "conflict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Conflict {
    /// The target already has the newest selected source snapshot (or nothing newer is selected).
    UpToDate {
        /// The newest common version (source name).
        newest: VersionRef,
    },
    /// The source has no snapshot to send (none at all, or none passing the snapshot filters).
    NoSourceSnapshots {
        /// Source snapshots in total.
        total: usize,
        /// Of those, how many the include/exclude filters select.
        selected: usize,
    },
    /// The target exists but shares no snapshot (by GUID) with the source's snapshots or bookmarks.
    /// `--force-delete` would destroy the target and send it in full.
    NoCommonBase {
        /// Target snapshots that would be lost, oldest first.
        target_snapshots: Vec<VersionRef>,
        /// Datasets below the target that would be destroyed with it.
        target_descendants: Vec<DatasetName>,
        /// Oldest source snapshot.
        source_oldest: VersionRef,
        /// Newest source snapshot.
        source_newest: VersionRef,
    },
    /// The target has snapshots newer than the common base that the source does not have.
    /// `--rollback` would destroy `target_only_newer`.
    Diverged {
        /// Newest common version (source name; may be a source bookmark).
        common: VersionRef,
        /// Target snapshots (and bookmarks) newer than the common base, oldest first (would be lost).
        target_only_newer: Vec<VersionRef>,
        /// Selected source snapshots newer than the common base, oldest first (would be sent).
        source_newer: Vec<VersionRef>,
    },
    /// The target holds a resume token whose snapshot (or base) no longer exists on the source, and
    /// aborting stale tokens is switched off.
    StaleResumeToken {
        /// The token.
        token: ResumeToken,
        /// Which part is missing.
        missing: String,
    },
    /// The target's `receive_resume_token` could not be decoded.
    UnreadableResumeToken {
        /// The raw token.
        token: String,
        /// The decoder's message.
        error: String,
    },
    /// The target's parent does not exist and is not created by this plan (it is excluded or failed to plan).
    TargetParentMissing {
        /// The missing parent on the target.
        parent: DatasetName,
    },
    /// Snapshots to be received have the names of older target snapshots with other GUIDs (a source
    /// snapshot destroyed and re-created under the same name after it was replicated): the receive
    /// would fail with "already exists". `--force-delete` destroys `stale` first.
    NameTaken {
        /// The target snapshots in the way, oldest first (target names).
        stale: Vec<VersionRef>,
        /// The source snapshots that would take their names, oldest first.
        incoming: Vec<VersionRef>,
    },
}

impl Conflict {
    /// Short name, as in the JSON `conflict` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Conflict::UpToDate { .. } => "up_to_date",
            Conflict::NoSourceSnapshots { .. } => "no_source_snapshots",
            Conflict::NoCommonBase { .. } => "no_common_base",
            Conflict::Diverged { .. } => "diverged",
            Conflict::StaleResumeToken { .. } => "stale_resume_token",
            Conflict::UnreadableResumeToken { .. } => "unreadable_resume_token",
            Conflict::TargetParentMissing { .. } => "target_parent_missing",
            Conflict::NameTaken { .. } => "name_taken",
        }
    }

    /// Whether the conflict only means "nothing to do" rather than a refusal.
    pub fn is_benign(&self) -> bool {
        matches!(self, Conflict::UpToDate { .. })
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        fn names(v: &[VersionRef]) -> String {
            v.iter()
                .map(|x| x.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
        match self {
            Conflict::UpToDate { newest } => format!("up to date at {}", newest.name),
            Conflict::NoSourceSnapshots { total, selected } => {
                format!(
                    "no source snapshot to send ({selected} of {total} selected by the filters)"
                )
            }
            Conflict::NoCommonBase {
                target_snapshots,
                target_descendants,
                ..
            } => {
                let mut s = "target exists but shares no snapshot with the source; --force-delete would destroy it"
                    .to_string();
                if !target_snapshots.is_empty() {
                    s += &format!(" and its snapshots {}", names(target_snapshots));
                }
                if !target_descendants.is_empty() {
                    let d: Vec<_> = target_descendants.iter().map(|d| d.as_str()).collect();
                    s += &format!(" and the datasets {}", d.join(", "));
                }
                s
            }
            Conflict::Diverged {
                common,
                target_only_newer,
                ..
            } => format!(
                "target diverged after {}: --rollback would destroy {}",
                common.name,
                names(target_only_newer)
            ),
            Conflict::StaleResumeToken { token, missing } => format!(
                "resume token for {} is stale ({missing} gone on the source)",
                token.toname
            ),
            Conflict::UnreadableResumeToken { error, .. } => {
                format!("cannot decode receive_resume_token: {error}")
            }
            Conflict::TargetParentMissing { parent } => {
                format!("target parent {parent} does not exist and is not replicated")
            }
            Conflict::NameTaken { stale, incoming } => format!(
                "target snapshots {} have the names of other source snapshots {} (re-created on \
                 the source); --force-delete would destroy them and receive the source's",
                names(stale),
                names(incoming)
            ),
        }
    }
}

/// What to do with one dataset: steps, or a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Run these steps in order.
    Replicate {
        /// The steps.
        steps: Vec<Step>,
    },
    /// Do nothing, for this reason.
    Conflict {
        /// The reason.
        conflict: Conflict,
    },
}

impl Decision {
    /// The steps (empty for a conflict).
    pub fn steps(&self) -> &[Step] {
        match self {
            Decision::Replicate { steps } => steps,
            Decision::Conflict { .. } => &[],
        }
    }
    /// The conflict, if any.
    pub fn conflict(&self) -> Option<&Conflict> {
        match self {
            Decision::Replicate { .. } => None,
            Decision::Conflict { conflict } => Some(conflict),
        }
    }
}

/// The plan for one dataset of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetPlan {
    /// Source dataset.
    pub source: DatasetName,
    /// Target dataset (the source path mapped below the target root).
    pub target: DatasetName,
    /// Filesystem or volume.
    pub kind: DatasetKind,
    /// Whether the source is encrypted.
    pub encrypted: bool,
    /// Send raw (`-w`): the source is encrypted and the target is absent or encrypted too.
    pub raw: bool,
    /// Source datasets of this plan that must finish first (parent, clone origin).
    pub after: Vec<DatasetName>,
    /// Steps or conflict.
    pub decision: Decision,
    /// What the executor does after the dataset synced or was up to date, in order (empty: nothing;
    /// omitted from JSON then). Filled by `Executor::plan` and `Executor::run` (feature `exec`), which
    /// know the job's options; [`plan_tree`](crate::plan_tree) leaves it empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<CleanupAction>,
}

/// One end of a replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The sending side.
    Source,
    /// The receiving side.
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Target => "target",
        })
    }
}

/// One thing the executor does after a dataset synced or was up to date: move this job's hold, keep
/// one job bookmark, destroy this job's older sync snapshots. A failure is a warning on the dataset
/// (the data is already safe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CleanupAction {
    /// Hold `snapshot` (the newest common one) with `tag` unless it carries the tag already, then
    /// release `tag` from the other snapshots of `held` that carry it. `held` are the side's snapshots
    /// with any hold, as listed before the run; which of them carry `tag` is asked at run time.
    Hold {
        /// Where.
        side: Side,
        /// The snapshot held.
        snapshot: SnapshotName,
        /// The hold tag (`zsync_<identifier>`, `syncoid_<identifier>`).
        tag: String,
        /// Snapshots with holds, checked for `tag`.
        held: Vec<SnapshotName>,
    },
    /// The source's one job bookmark: `bookmark` of `snapshot` (the newest common snapshot), created
    /// unless it `exists`; then this job's `older` bookmarks are destroyed (only once the new one is
    /// there).
    Bookmark {
        /// The snapshot bookmarked.
        snapshot: SnapshotName,
        /// The bookmark, named in the job's sync-snapshot pattern.
        bookmark: BookmarkName,
        /// It exists already (for this snapshot).
        exists: bool,
        /// This job's older bookmarks, destroyed after.
        older: Vec<BookmarkName>,
    },
    /// Destroy this job's older sync snapshots on `side` (never the current one or the newest common
    /// one).
    DestroySyncSnapshots {
        /// Where.
        side: Side,
        /// The snapshots.
        snapshots: Vec<SnapshotName>,
    },
    /// Something that cannot be done, such as a job bookmark whose name a bookmark of another snapshot
    /// has: recorded as this warning.
    Warning {
        /// The warning.
        message: String,
    },
}

impl CleanupAction {
    /// One line for humans.
    pub fn describe(&self) -> String {
        fn names<T: AsRef<str>>(v: &[T]) -> String {
            v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
        }
        match self {
            CleanupAction::Hold {
                snapshot,
                tag,
                held,
                ..
            } => {
                let others: Vec<&SnapshotName> = held
                    .iter()
                    .filter(|h| h.short() != snapshot.short())
                    .collect();
                let mut s = format!("hold {snapshot} with tag {tag}");
                if !others.is_empty() {
                    let o: Vec<&str> = others.iter().map(|h| h.as_str()).collect();
                    s += &format!(
                        ", releasing the tag from whichever of {} carry it",
                        o.join(", ")
                    );
                }
                s
            }
            CleanupAction::Bookmark {
                snapshot,
                bookmark,
                exists,
                older,
            } => {
                let mut s = if *exists {
                    format!("keep the job bookmark {bookmark} of {snapshot}")
                } else {
                    format!("bookmark {snapshot} as {bookmark}")
                };
                if !older.is_empty() {
                    s += &format!(", destroying this job's older bookmarks {}", names(older));
                }
                s
            }
            CleanupAction::DestroySyncSnapshots { side, snapshots } => format!(
                "destroy this job's older {side} sync snapshots {}",
                names(snapshots)
            ),
            CleanupAction::Warning { message } => format!("warning: {message}"),
        }
    }
}

/// A whole-tree plan: datasets in a valid execution order (parents before children, origins before clones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_SCHEMA`].
    pub schema: u32,
    /// Source root as given.
    pub source_root: DatasetName,
    /// Target root as given.
    pub target_root: DatasetName,
    /// One entry per selected dataset, in execution order.
    pub datasets: Vec<DatasetPlan>,
    /// Source datasets left out by `exclude_datasets`, `skip_parent` or their `syncoid:sync`
    /// property.
    pub excluded: Vec<DatasetName>,
    /// Of `excluded`, those left out by their `syncoid:sync` property, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_skipped: Vec<PropertySkip>,
}

/// A source dataset left out by its `syncoid:sync` property ([`crate::sync_property`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertySkip {
    /// The source dataset.
    pub source: DatasetName,
    /// syncoid's words: `syncoid:sync=false` or `syncoid:sync doesn't include HOST`.
    pub reason: String,
}

impl Plan {
    /// Stable pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data structures cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Looks a dataset's plan up by source name.
    pub fn get(&self, source: &DatasetName) -> Option<&DatasetPlan> {
        self.datasets.iter().find(|d| &d.source == source)
    }

    /// Whether any step would discard data on the target.
    pub fn is_destructive(&self) -> bool {
        self.datasets
            .iter()
            .any(|d| d.decision.steps().iter().any(Step::is_destructive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vref(name: &str, guid: u64) -> VersionRef {
        VersionRef {
            name: match name.split_once('#') {
                Some(_) => VersionName::Bookmark(BookmarkName::parse(name).unwrap()),
                None => VersionName::Snapshot(SnapshotName::parse(name).unwrap()),
            },
            guid,
            createtxg: guid,
            creation: 0,
        }
    }

    #[test]
    fn steps_describe_themselves_in_one_line() {
        let (a, b, c) = (vref("p/a@a", 1), vref("p/a@b", 2), vref("p/a@c", 3));
        let package = Step::Incremental {
            from: a.clone(),
            to: c.clone(),
            intermediates: true,
            receives: vec![b.clone(), c.clone()],
        };
        assert_eq!(
            package.describe(),
            "incremental -I p/a@a -> p/a@c (2 snapshots)"
        );
        let one = Step::Incremental {
            from: b.clone(),
            to: c.clone(),
            intermediates: false,
            receives: vec![c.clone()],
        };
        assert_eq!(one.describe(), "incremental -i p/a@b -> p/a@c (1 snapshot)");
        assert_eq!(
            Step::Full {
                snapshot: a.clone()
            }
            .describe(),
            "full p/a@a"
        );
        let rollback = Step::Rollback {
            to: vref("q/a@a", 1),
            discards: vec![vref("q/a@x", 9), vref("q/a#y", 10)],
        };
        assert_eq!(
            rollback.describe(),
            "rollback to q/a@a DISCARDING q/a@x, q/a#y"
        );
    }
}
