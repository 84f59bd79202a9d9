//! After a dataset synced or was up to date: this job's hold moves to the newest common snapshot, the
//! source keeps one job bookmark, and this job's older sync snapshots go. [`plan_cleanup`] decides
//! (pure, host-tested; `zsync plan` shows it), [`Context::apply_cleanup`] does it and turns each
//! failure into a warning.

use super::context::Context;
use crate::model;
use crate::naming::SyncNaming;
use crate::options::SyncOptions;
use crate::plan::{CleanupAction, Conflict, Decision, Plan, Side, Step, VersionRef};
use std::collections::HashMap;
use zfs_core::{
    BookmarkName, Dataset, DatasetName, Listing, SnapshotName, Version, VersionKind, VersionName,
    ZfsError,
};

/// The newest version both sides share once `decision` ran: the last snapshot it receives, or the
/// newest common one when the dataset is up to date. `None` when it does neither.
fn newest_common(decision: &Decision) -> Option<&VersionRef> {
    let mut received: Option<&VersionRef> = None;
    for s in decision.steps() {
        match s {
            Step::Full { snapshot } => received = Some(snapshot),
            Step::Clone { to, .. } | Step::Resume { to, .. } => received = Some(to),
            Step::Incremental { receives, .. } => received = receives.last().or(received),
            _ => {}
        }
    }
    match (received, decision.conflict()) {
        (Some(r), _) => Some(r),
        (None, Some(Conflict::UpToDate { newest })) => Some(newest),
        _ => None,
    }
}

/// What the cleanup of one dataset does after `decision` ran, in order: holds (source, then target),
/// the job bookmark, this job's older sync snapshots (source, then target). `source`/`target` are the
/// dataset's names, `src_versions`/`tgt_versions` its versions as listed (`None`: no target yet), and
/// `sync_name` the run's sync snapshot (without one, no sync snapshot is destroyed).
pub(super) fn plan_cleanup(
    (source, target): (&DatasetName, &DatasetName),
    decision: &Decision,
    src_versions: &[Version],
    tgt_versions: Option<&[Version]>,
    opts: &SyncOptions,
    sync_name: Option<&str>,
) -> Vec<CleanupAction> {
    let mut actions = Vec::new();
    let Some(common) = newest_common(decision) else {
        return actions;
    };
    let common_short = common.name.short();
    let snapshots = |versions: &[Version]| -> Vec<SnapshotName> {
        versions
            .iter()
            .filter_map(|v| match &v.name {
                VersionName::Snapshot(s) => Some(s.clone()),
                VersionName::Bookmark(_) => None,
            })
            .collect()
    };

    if opts.use_hold {
        let tag = opts.naming.hold_tag(&opts.identifier);
        for (side, ds, versions) in [
            (Side::Source, source, Some(src_versions)),
            (Side::Target, target, tgt_versions),
        ] {
            if side == Side::Source && common.name.kind() == VersionKind::Bookmark {
                continue; // a bookmark cannot be held
            }
            let Ok(snapshot) = ds.snapshot(common_short) else {
                continue;
            };
            let with_holds: Vec<Version> = versions
                .unwrap_or(&[])
                .iter()
                .filter(|v| v.userrefs > 0)
                .cloned()
                .collect();
            actions.push(CleanupAction::Hold {
                side,
                snapshot,
                tag: tag.clone(),
                held: snapshots(&with_holds),
            });
        }
    }

    if opts.create_bookmark {
        // One job bookmark per dataset: the newest replicated snapshot, so the next run has a base
        // even after that snapshot is pruned. It is named in this job's sync-snapshot pattern (the
        // snapshot's own name when it is this job's sync snapshot, else the pattern at the snapshot's
        // creation time) and this job's older bookmarks are destroyed: matched exactly, so other jobs'
        // and users' bookmarks are never touched.
        if let (Some(snap), VersionKind::Snapshot) = (common.snapshot(), common.name.kind()) {
            actions.push(job_bookmark(source, snap, common, src_versions, opts));
        }
    }

    if let (Some(current), false) = (sync_name, opts.keep_sync_snapshots) {
        let old = |short: &str| {
            opts.naming.matches(short, &opts.identifier)
                && short != current
                && short != common_short
        };
        // Source: this job's sync snapshots other than the current one and the common base.
        let old_src: Vec<SnapshotName> = snapshots(src_versions)
            .into_iter()
            .filter(|s| old(s.short()))
            .collect();
        if !old_src.is_empty() {
            actions.push(CleanupAction::DestroySyncSnapshots {
                side: Side::Source,
                snapshots: old_src,
            });
        }
        // Target: from the model of the target after this plan.
        if let Ok(Some(after)) = model::apply(tgt_versions, decision) {
            let old_tgt: Vec<SnapshotName> = after
                .iter()
                .filter(|m| old(&m.short))
                .filter_map(|m| target.snapshot(&m.short).ok())
                .collect();
            if !old_tgt.is_empty() {
                actions.push(CleanupAction::DestroySyncSnapshots {
                    side: Side::Target,
                    snapshots: old_tgt,
                });
            }
        }
    }
    actions
}

/// The job bookmark of `snap` (the newest common snapshot `common`) on `source`, or why there is none.
fn job_bookmark(
    source: &DatasetName,
    snap: &SnapshotName,
    common: &VersionRef,
    src_versions: &[Version],
    opts: &SyncOptions,
) -> CleanupAction {
    let sync_snapshot = opts.naming.matches(snap.short(), &opts.identifier);
    if opts.naming == SyncNaming::Syncoid && !sync_snapshot {
        return syncoid_bookmark(source, snap, common, src_versions);
    }
    let name = if sync_snapshot {
        snap.short().to_string()
    } else {
        let at = chrono::DateTime::from_timestamp(common.creation, 0).unwrap_or_default();
        opts.naming.snapshot_name(&opts.identifier, at)
    };
    let bookmarks = || {
        src_versions.iter().filter_map(|v| match &v.name {
            VersionName::Bookmark(b) => Some((v, b)),
            VersionName::Snapshot(_) => None,
        })
    };
    let existing = bookmarks().find(|(_, b)| b.short() == name);
    let (bookmark, exists) = match existing {
        Some((v, b)) if v.guid == common.guid => (b.clone(), true),
        Some((_, b)) => {
            let e = ZfsError::InvalidArgument {
                op: "bookmark",
                detail: format!("{b} exists for another snapshot"),
            };
            return CleanupAction::Warning {
                message: format!("{} not bookmarked: {e}", common.name),
            };
        }
        None => match source.bookmark(&name) {
            Ok(b) => (b, false),
            Err(e) => {
                return CleanupAction::Warning {
                    message: format!("bookmark name: {}", ZfsError::InvalidName(e)),
                }
            }
        },
    };
    let older: Vec<BookmarkName> = bookmarks()
        .filter(|(v, b)| {
            b.short() != name
                && v.createtxg <= common.createtxg
                && opts.naming.matches(b.short(), &opts.identifier)
        })
        .map(|(_, b)| b.clone())
        .collect();
    CleanupAction::Bookmark {
        snapshot: snap.clone(),
        bookmark,
        exists,
        older,
    }
}

/// syncoid's bookmark of a replicated snapshot that is no sync snapshot (`--no-sync-snap
/// --create-bookmark`): named after the snapshot (`ds#snap`); when a bookmark of that name exists for
/// another snapshot, the name with the first six digits of the snapshot's decimal guid appended
/// (`ds#snap123456`). Earlier bookmarks are kept.
fn syncoid_bookmark(
    source: &DatasetName,
    snap: &SnapshotName,
    common: &VersionRef,
    src_versions: &[Version],
) -> CleanupAction {
    let guid = common.guid.to_string();
    let plain = snap.short().to_string();
    let fallback = format!("{plain}{}", &guid[..guid.len().min(6)]);
    let holder = |name: &str| {
        src_versions.iter().find_map(|v| match &v.name {
            VersionName::Bookmark(b) if b.short() == name => Some((v.guid, b.clone())),
            _ => None,
        })
    };
    for name in [&plain, &fallback] {
        let (bookmark, exists) = match holder(name) {
            Some((g, b)) if g == common.guid => (b, true),
            Some(_) => continue,
            None => match source.bookmark(name) {
                Ok(b) => (b, false),
                Err(e) => {
                    return CleanupAction::Warning {
                        message: format!("bookmark name: {}", ZfsError::InvalidName(e)),
                    }
                }
            },
        };
        return CleanupAction::Bookmark {
            snapshot: snap.clone(),
            bookmark,
            exists,
            older: Vec::new(),
        };
    }
    CleanupAction::Warning {
        message: format!(
            "{} not bookmarked: {source}#{plain} and {source}#{fallback} exist for other snapshots",
            common.name
        ),
    }
}

/// Fills every dataset's [`DatasetPlan::cleanup`](crate::DatasetPlan::cleanup) of `plan` from the
/// listings it was planned from.
pub(super) fn attach_cleanup(
    plan: &mut Plan,
    (src, tgt): (&Listing, &Listing),
    opts: &SyncOptions,
    sync_name: Option<&str>,
) {
    fn by_name(l: &Listing) -> HashMap<&str, &Dataset> {
        l.datasets.iter().map(|d| (d.name.as_str(), d)).collect()
    }
    let (src_by, tgt_by) = (by_name(src), by_name(tgt));
    for dp in &mut plan.datasets {
        let src_versions = src_by
            .get(dp.source.as_str())
            .map_or(&[][..], |d| &d.versions[..]);
        let tgt_versions = tgt_by.get(dp.target.as_str()).map(|d| &d.versions[..]);
        dp.cleanup = plan_cleanup(
            (&dp.source, &dp.target),
            &dp.decision,
            src_versions,
            tgt_versions,
            opts,
            sync_name,
        );
    }
}

/// Records a failed cleanup action as `what: error`.
fn failed(warnings: &mut Vec<String>, what: &str, e: ZfsError) {
    warnings.push(format!("{what}: {e}"));
}

impl Context<'_> {
    /// Performs `actions` in order; each failure becomes one line in `warnings`.
    pub(super) fn apply_cleanup(&self, actions: &[CleanupAction], warnings: &mut Vec<String>) {
        for action in actions {
            match action {
                CleanupAction::Hold {
                    side,
                    snapshot,
                    tag,
                    held,
                } => {
                    let be = self.side(*side);
                    let mut already = false;
                    let mut release = Vec::new();
                    for s in held {
                        match be.holds(s) {
                            Ok(h) if h.contains_key(tag) => {
                                if s.short() == snapshot.short() {
                                    already = true;
                                } else {
                                    release.push((s.clone(), tag.clone()));
                                }
                            }
                            Ok(_) => {}
                            Err(ZfsError::NotFound { .. }) => {}
                            Err(e) => failed(warnings, &format!("{side} holds of {s}"), e),
                        }
                    }
                    if !already {
                        if let Err(e) = be.hold(&[(snapshot.clone(), tag.clone())]) {
                            failed(warnings, &format!("{side} hold {tag} on {snapshot}"), e);
                            continue; // keep the old hold when the new one failed
                        }
                    }
                    if !release.is_empty() {
                        if let Err(e) = be.release(&release) {
                            failed(warnings, &format!("{side} release {tag}"), e);
                        }
                    }
                }
                CleanupAction::Bookmark {
                    snapshot,
                    bookmark,
                    exists,
                    older,
                } => {
                    let made = *exists
                        || match self.source.bookmark(&[(
                            bookmark.clone(),
                            VersionName::Snapshot(snapshot.clone()),
                        )]) {
                            Ok(()) => true,
                            Err(e) => {
                                failed(warnings, "source bookmark", e);
                                false
                            }
                        };
                    if made && !older.is_empty() {
                        if let Err(e) = self.source.destroy_bookmarks(older) {
                            failed(warnings, "destroying this job's older bookmarks", e);
                        }
                    }
                }
                CleanupAction::DestroySyncSnapshots { side, snapshots } => {
                    if let Err(e) = self.side(*side).destroy_snapshots(snapshots, false) {
                        failed(
                            warnings,
                            &format!("destroying older {side} sync snapshots"),
                            e,
                        );
                    }
                }
                CleanupAction::Warning { message } => warnings.push(message.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{bookmark, ds, snap};

    const JOB_T1: &str = "zsync_job_20260101T000000Z";
    const JOB_T2: &str = "zsync_job_20260102T000000Z";
    const JOB_T3: &str = "zsync_job_20260103T000000Z";

    fn opts() -> SyncOptions {
        SyncOptions {
            identifier: "job".into(),
            ..SyncOptions::default()
        }
    }

    fn held(mut v: Version) -> Version {
        v.userrefs = 1;
        v
    }

    fn sn(name: &str) -> SnapshotName {
        name.parse().unwrap()
    }

    fn bn(name: &str) -> BookmarkName {
        name.parse().unwrap()
    }

    fn r(v: &Version) -> VersionRef {
        v.into()
    }

    fn incremental(from: &Version, receives: &[&Version]) -> Decision {
        Decision::Replicate {
            steps: vec![Step::Incremental {
                from: r(from),
                to: r(receives[receives.len() - 1]),
                intermediates: receives.len() > 1,
                receives: receives.iter().map(|v| r(v)).collect(),
            }],
        }
    }

    fn plan_for(
        decision: &Decision,
        src: &[Version],
        tgt: Option<&[Version]>,
        opts: &SyncOptions,
        sync_name: Option<&str>,
    ) -> Vec<CleanupAction> {
        plan_cleanup(
            (&ds("p/a"), &ds("b/a")),
            decision,
            src,
            tgt,
            opts,
            sync_name,
        )
    }

    #[test]
    fn the_hold_moves_to_the_newest_common_snapshot_on_both_sides() {
        let src = vec![
            held(snap("p/a@s1", 1, 1)),
            held(snap(&format!("p/a@{JOB_T1}"), 2, 2)),
            snap("p/a@s3", 3, 3),
            bookmark("p/a#b1", 1, 1),
        ];
        let tgt = vec![
            snap("b/a@s1", 1, 1),
            held(snap(&format!("b/a@{JOB_T1}"), 2, 2)),
        ];
        let d = incremental(&src[1], &[&src[2]]);
        let o = SyncOptions {
            use_hold: true,
            ..opts()
        };
        assert_eq!(
            plan_for(&d, &src, Some(&tgt), &o, None),
            vec![
                CleanupAction::Hold {
                    side: Side::Source,
                    snapshot: sn("p/a@s3"),
                    tag: "zsync_job".into(),
                    held: vec![sn("p/a@s1"), sn(&format!("p/a@{JOB_T1}"))],
                },
                CleanupAction::Hold {
                    side: Side::Target,
                    snapshot: sn("b/a@s3"),
                    tag: "zsync_job".into(),
                    held: vec![sn(&format!("b/a@{JOB_T1}"))],
                },
            ]
        );
        let syncoid = SyncOptions {
            naming: SyncNaming::Syncoid,
            ..o.clone()
        };
        let actions = plan_for(&d, &src, Some(&tgt), &syncoid, None);
        assert!(
            matches!(&actions[0], CleanupAction::Hold { tag, .. } if tag == "syncoid_job"),
            "{actions:?}"
        );
        // Without use_hold (and nothing else asked for), nothing.
        assert_eq!(plan_for(&d, &src, Some(&tgt), &opts(), None), vec![]);
        // A dataset that was refused gets no cleanup.
        let refused = Decision::Conflict {
            conflict: Conflict::NoSourceSnapshots {
                total: 0,
                selected: 0,
            },
        };
        assert_eq!(
            plan_for(&refused, &src, Some(&tgt), &o, Some(JOB_T3)),
            vec![]
        );
    }

    #[test]
    fn a_bookmark_base_is_not_held_on_the_source() {
        let src = vec![snap("p/a@s1", 1, 1), bookmark("p/a#b2", 2, 2)];
        let tgt = vec![snap("b/a@b2", 2, 2)];
        let up_to_date = Decision::Conflict {
            conflict: Conflict::UpToDate { newest: r(&src[1]) },
        };
        let o = SyncOptions {
            use_hold: true,
            create_bookmark: true,
            ..opts()
        };
        assert_eq!(
            plan_for(&up_to_date, &src, Some(&tgt), &o, None),
            vec![CleanupAction::Hold {
                side: Side::Target,
                snapshot: sn("b/a@b2"),
                tag: "zsync_job".into(),
                held: vec![],
            }],
            "no source hold and no job bookmark of a bookmark"
        );
    }

    #[test]
    fn syncoid_bookmarks_are_named_after_the_snapshot_and_kept() {
        let s3 = snap("p/a@s3", 123456789, 3);
        let mut src = vec![snap("p/a@s1", 1, 1), s3.clone(), bookmark("p/a#s1", 1, 1)];
        let d = incremental(&src[0], &[&s3]);
        let o = SyncOptions {
            create_bookmark: true,
            naming: SyncNaming::Syncoid,
            ..opts()
        };
        let made = |name: &str, exists| CleanupAction::Bookmark {
            snapshot: sn("p/a@s3"),
            bookmark: bn(name),
            exists,
            older: vec![],
        };
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![made("p/a#s3", false)]
        );
        // `#s3` is another snapshot's: the guid-prefixed fallback name.
        src.push(bookmark("p/a#s3", 1, 1));
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![made("p/a#s3123456", false)]
        );
        src.push(bookmark("p/a#s3123456", 123456789, 3));
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![made("p/a#s3123456", true)]
        );
        // Both names taken by other snapshots: a warning, nothing destroyed.
        src.pop();
        src.push(bookmark("p/a#s3123456", 7, 3));
        let a = plan_for(&d, &src, None, &o, None);
        assert!(
            matches!(&a[..], [CleanupAction::Warning { message }] if message.contains("p/a#s3123456 exist")),
            "{a:?}"
        );
    }

    #[test]
    fn one_job_bookmark_of_the_newest_common_snapshot() {
        let s3 = snap("p/a@s3", 3, 3);
        // s3 is no sync snapshot of this job: the bookmark is named by the pattern at its creation.
        let name = crate::naming::sync_snapshot_name(
            "job",
            chrono::DateTime::from_timestamp(s3.creation, 0).unwrap(),
        );
        assert_eq!(name, "zsync_job_20231114T221323Z");
        let mut src = vec![
            snap("p/a@s1", 1, 1),
            s3.clone(),
            bookmark(&format!("p/a#{JOB_T1}"), 1, 1),
            bookmark("p/a#zsync_other_20260101T000000Z", 1, 1),
            bookmark("p/a#mine", 1, 1),
            bookmark("p/a#zsync_job_20260101T000000Z_x", 1, 1),
        ];
        let d = incremental(&src[0], &[&s3]);
        let o = SyncOptions {
            create_bookmark: true,
            ..opts()
        };
        let made = CleanupAction::Bookmark {
            snapshot: sn("p/a@s3"),
            bookmark: bn(&format!("p/a#{name}")),
            exists: false,
            older: vec![bn(&format!("p/a#{JOB_T1}"))],
        };
        assert_eq!(plan_for(&d, &src, None, &o, None), vec![made.clone()]);
        assert_eq!(
            made.describe(),
            format!(
                "bookmark p/a@s3 as p/a#{name}, destroying this job's older bookmarks p/a#{JOB_T1}"
            )
        );

        // The bookmark exists already for s3: kept, the older ones still go.
        src.push(bookmark(&format!("p/a#{name}"), 3, 3));
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![CleanupAction::Bookmark {
                snapshot: sn("p/a@s3"),
                bookmark: bn(&format!("p/a#{name}")),
                exists: true,
                older: vec![bn(&format!("p/a#{JOB_T1}"))],
            }]
        );

        // A bookmark of that name for another snapshot: a warning, and nothing is destroyed.
        src.pop();
        src.push(bookmark(&format!("p/a#{name}"), 99, 2));
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![CleanupAction::Warning {
                message: format!(
                    "p/a@s3 not bookmarked: invalid argument for bookmark: p/a#{name} exists for \
                     another snapshot"
                ),
            }]
        );

        // The newest common snapshot is this job's sync snapshot: the bookmark takes its name; a job
        // bookmark newer than it is not destroyed.
        let t2 = snap(&format!("p/a@{JOB_T2}"), 4, 4);
        let src = vec![
            snap("p/a@s1", 1, 1),
            t2.clone(),
            bookmark(&format!("p/a#{JOB_T1}"), 1, 1),
            bookmark(&format!("p/a#{JOB_T3}"), 5, 5),
        ];
        let d = incremental(&src[0], &[&t2]);
        assert_eq!(
            plan_for(&d, &src, None, &o, None),
            vec![CleanupAction::Bookmark {
                snapshot: sn(&format!("p/a@{JOB_T2}")),
                bookmark: bn(&format!("p/a#{JOB_T2}")),
                exists: false,
                older: vec![bn(&format!("p/a#{JOB_T1}"))],
            }]
        );
    }

    #[test]
    fn this_jobs_older_sync_snapshots_go_unless_kept() {
        let src = vec![
            snap(&format!("p/a@{JOB_T1}"), 1, 1),
            snap(&format!("p/a@{JOB_T2}"), 2, 2),
            snap("p/a@zsync_jobx_20260101T000000Z", 3, 3),
            snap("p/a@zsync_job_20260101T000000Z_extra", 4, 4),
            snap("p/a@s5", 5, 5),
            snap(&format!("p/a@{JOB_T3}"), 6, 6),
        ];
        let tgt = vec![snap(&format!("b/a@{JOB_T2}"), 2, 2)];
        // Sends s5 and the current sync snapshot T3: the common one is then T3.
        let d = incremental(&src[1], &[&src[4], &src[5]]);
        let actions = plan_for(&d, &src, Some(&tgt), &opts(), Some(JOB_T3));
        assert_eq!(
            actions,
            vec![
                CleanupAction::DestroySyncSnapshots {
                    side: Side::Source,
                    snapshots: vec![sn(&format!("p/a@{JOB_T1}")), sn(&format!("p/a@{JOB_T2}"))],
                },
                CleanupAction::DestroySyncSnapshots {
                    side: Side::Target,
                    snapshots: vec![sn(&format!("b/a@{JOB_T2}"))],
                },
            ]
        );
        let keep = SyncOptions {
            keep_sync_snapshots: true,
            ..opts()
        };
        assert_eq!(plan_for(&d, &src, Some(&tgt), &keep, Some(JOB_T3)), vec![]);
        // Without a sync snapshot this run, none is destroyed.
        assert_eq!(plan_for(&d, &src, Some(&tgt), &opts(), None), vec![]);
        // The common base stays even when it is not the current sync snapshot.
        let d = incremental(&src[0], &[&src[1]]);
        let actions = plan_for(&d, &src, None, &opts(), Some(JOB_T3));
        assert_eq!(
            actions,
            vec![CleanupAction::DestroySyncSnapshots {
                side: Side::Source,
                snapshots: vec![sn(&format!("p/a@{JOB_T1}"))],
            }],
            "T2 is the common base, T3 the current one"
        );
    }

    #[test]
    fn syncoid_naming_destroys_only_this_identifiers_snapshots() {
        let mine = "syncoid_nas_2026-01-01:00:00:00-GMT01:00";
        let current = "syncoid_nas_2026-01-03:00:00:00-GMT01:00";
        let src = vec![
            snap(&format!("p/a@{mine}"), 1, 1),
            snap("p/a@syncoid_nas2_2026-01-01:00:00:00-GMT01:00", 2, 2),
            snap("p/a@syncoid_nas_b_2026-01-01:00:00:00-GMT01:00", 3, 3),
            snap(&format!("p/a@zsync_nas_{}", &JOB_T1[10..]), 4, 4),
            snap("p/a@s5", 5, 5),
            snap(&format!("p/a@{current}"), 6, 6),
        ];
        let d = incremental(&src[4], &[&src[5]]);
        let o = SyncOptions {
            identifier: "nas".into(),
            naming: SyncNaming::Syncoid,
            ..opts()
        };
        assert_eq!(
            plan_for(&d, &src, None, &o, Some(current)),
            vec![CleanupAction::DestroySyncSnapshots {
                side: Side::Source,
                snapshots: vec![sn(&format!("p/a@{mine}"))],
            }]
        );
    }

    #[test]
    fn target_sync_snapshots_come_from_the_model_of_the_target_after_the_plan() {
        let (t0, t1, t2) = (
            snap(&format!("p/a@{}", "zsync_job_20251231T000000Z"), 10, 1),
            snap(&format!("p/a@{JOB_T1}"), 11, 2),
            snap(&format!("p/a@{JOB_T2}"), 12, 3),
        );
        let t3 = snap(&format!("p/a@{JOB_T3}"), 13, 4);
        let src = vec![t1.clone(), t2.clone(), t3.clone()];
        let tgt = vec![
            snap("b/a@zsync_job_20251231T000000Z", 10, 1),
            snap(&format!("b/a@{JOB_T1}"), 11, 2),
        ];
        // -I from T1 to T3 (receives T2, the current T3), then T0, gone from the source, is destroyed
        // on the target by the plan itself.
        let mut d = incremental(&t1, &[&t2, &t3]);
        if let Decision::Replicate { steps } = &mut d {
            steps.push(Step::DestroyTargetSnapshots {
                snapshots: vec![VersionRef {
                    name: VersionName::Snapshot(sn("b/a@zsync_job_20251231T000000Z")),
                    ..r(&t0)
                }],
            });
        }
        let actions = plan_for(&d, &src, Some(&tgt), &opts(), Some(JOB_T3));
        assert_eq!(
            actions.last(),
            Some(&CleanupAction::DestroySyncSnapshots {
                side: Side::Target,
                // T2 is only there after the plan; T0 is destroyed by it already.
                snapshots: vec![sn(&format!("b/a@{JOB_T1}")), sn(&format!("b/a@{JOB_T2}"))],
            }),
            "{actions:?}"
        );
    }

    #[test]
    fn each_action_is_one_line_and_rides_in_the_plan_json_when_there_is_one() {
        let hold = CleanupAction::Hold {
            side: Side::Target,
            snapshot: sn("b/a@s3"),
            tag: "zsync_job".into(),
            held: vec![sn("b/a@s3"), sn("b/a@s1")],
        };
        assert_eq!(
            hold.describe(),
            "hold b/a@s3 with tag zsync_job, releasing the tag from whichever of b/a@s1 carry it"
        );
        let destroy = CleanupAction::DestroySyncSnapshots {
            side: Side::Source,
            snapshots: vec![sn(&format!("p/a@{JOB_T1}")), sn(&format!("p/a@{JOB_T2}"))],
        };
        assert_eq!(
            destroy.describe(),
            format!("destroy this job's older source sync snapshots p/a@{JOB_T1}, p/a@{JOB_T2}")
        );
        let warning = CleanupAction::Warning {
            message: "p/a@s3 not bookmarked: taken".into(),
        };
        assert_eq!(warning.describe(), "warning: p/a@s3 not bookmarked: taken");

        let mut dp = crate::fixtures::dataset_plan("p/a", "b/a", &[], Vec::new());
        let json = serde_json::to_string(&dp).unwrap();
        assert!(!json.contains("cleanup"), "omitted when empty: {json}");
        dp.cleanup = vec![hold, destroy, warning];
        let json = serde_json::to_string(&dp).unwrap();
        assert!(
            json.contains(r#""cleanup":[{"action":"hold","side":"target","snapshot":"b/a@s3""#),
            "{json}"
        );
        let back: crate::DatasetPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, dp);
    }
}
