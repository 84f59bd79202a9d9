//! After a dataset synced: holds, the job bookmark, and this job's older sync snapshots.

use super::context::{snap_name, Context};
use crate::model;
use crate::options::SyncOptions;
use crate::plan::{Conflict, DatasetPlan, Decision, Step, VersionRef};
use zfs_core::{BookmarkName, SnapshotName, VersionKind, VersionName, ZfsError};

impl Context<'_> {
    /// Holds, bookmarks and sync snapshot cleanup after a dataset synced; problems become warnings.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn after_success(
        &self,
        dp: &DatasetPlan,
        decision: &Decision,
        src_versions: &[zfs_core::Version],
        tgt_versions: Option<&[zfs_core::Version]>,
        opts: &SyncOptions,
        sync_name: Option<&str>,
        warnings: &mut Vec<String>,
    ) {
        // The newest snapshot both sides now share, and everything received.
        let mut received: Vec<&VersionRef> = Vec::new();
        for s in decision.steps() {
            match s {
                Step::Full { snapshot } => received.push(snapshot),
                Step::Clone { to, .. } | Step::Resume { to, .. } => received.push(to),
                Step::Incremental { receives, .. } => received.extend(receives.iter()),
                _ => {}
            }
        }
        let common: Option<VersionRef> = match (received.last(), decision.conflict()) {
            (Some(r), _) => Some((*r).clone()),
            (None, Some(Conflict::UpToDate { newest })) => Some(newest.clone()),
            _ => None,
        };
        let Some(common) = common else { return };
        let common_short = common.name.short().to_string();
        let mut warn = |what: &str, e: ZfsError| warnings.push(format!("{what}: {e}"));

        if opts.use_hold {
            let tag = opts.naming.hold_tag(&opts.identifier);
            for (be, ds, versions, side) in [
                (self.source, &dp.source, Some(src_versions), "source"),
                (self.target, &dp.target, tgt_versions, "target"),
            ] {
                if side == "source" && common.name.kind() == VersionKind::Bookmark {
                    continue; // a bookmark cannot be held
                }
                let Ok(new) = snap_name(ds, &common_short) else {
                    continue;
                };
                let old_refs = versions
                    .unwrap_or(&[])
                    .iter()
                    .filter(|v| v.name.kind() == VersionKind::Snapshot && v.userrefs > 0)
                    .filter_map(|v| match &v.name {
                        VersionName::Snapshot(s) => Some(s.clone()),
                        _ => None,
                    });
                let mut already = false;
                let mut release = Vec::new();
                for s in old_refs {
                    match be.holds(&s) {
                        Ok(h) if h.contains_key(&tag) => {
                            if s.short() == common_short {
                                already = true;
                            } else {
                                release.push((s, tag.clone()));
                            }
                        }
                        Ok(_) => {}
                        Err(ZfsError::NotFound { .. }) => {}
                        Err(e) => warn(&format!("{side} holds of {s}"), e),
                    }
                }
                if !already {
                    if let Err(e) = be.hold(&[(new.clone(), tag.clone())]) {
                        warn(&format!("{side} hold {tag} on {new}"), e);
                        continue; // keep the old hold when the new one failed
                    }
                }
                if !release.is_empty() {
                    if let Err(e) = be.release(&release) {
                        warn(&format!("{side} release {tag}"), e);
                    }
                }
            }
        }

        if opts.create_bookmark {
            // One job bookmark per dataset: the newest replicated snapshot, so the next run has a base
            // even after that snapshot is pruned. It is named in this job's sync-snapshot pattern (the
            // snapshot's own name when it is this job's sync snapshot, else the pattern at the
            // snapshot's creation time) and this job's older bookmarks are destroyed: matched exactly,
            // so other jobs' and users' bookmarks are never touched.
            if let (Some(snap), VersionKind::Snapshot) = (common.snapshot(), common.name.kind()) {
                let name = if opts.naming.matches(snap.short(), &opts.identifier) {
                    snap.short().to_string()
                } else {
                    let at =
                        chrono::DateTime::from_timestamp(common.creation, 0).unwrap_or_default();
                    opts.naming.snapshot_name(&opts.identifier, at)
                };
                let bookmarks = || {
                    src_versions
                        .iter()
                        .filter(|v| v.name.kind() == VersionKind::Bookmark)
                };
                let existing = bookmarks().find(|v| v.name.short() == name);
                let made = match existing {
                    Some(b) if b.guid == common.guid => true,
                    Some(b) => {
                        warn(
                            &format!("{} not bookmarked", common.name),
                            ZfsError::InvalidArgument {
                                op: "bookmark",
                                detail: format!("{} exists for another snapshot", b.name),
                            },
                        );
                        false
                    }
                    None => match dp.source.bookmark(&name) {
                        Ok(b) => match self.source.bookmark(&[(b, common.name.clone())]) {
                            Ok(()) => true,
                            Err(e) => {
                                warn("source bookmark", e);
                                false
                            }
                        },
                        Err(e) => {
                            warn("bookmark name", ZfsError::InvalidName(e));
                            false
                        }
                    },
                };
                if made {
                    let old: Vec<BookmarkName> = bookmarks()
                        .filter(|v| {
                            v.name.short() != name
                                && v.createtxg <= common.createtxg
                                && opts.naming.matches(v.name.short(), &opts.identifier)
                        })
                        .filter_map(|v| match &v.name {
                            VersionName::Bookmark(b) => Some(b.clone()),
                            _ => None,
                        })
                        .collect();
                    if !old.is_empty() {
                        if let Err(e) = self.source.destroy_bookmarks(&old) {
                            warn("destroying this job's older bookmarks", e);
                        }
                    }
                }
            }
        }

        if let (Some(current), false) = (sync_name, opts.keep_sync_snapshots) {
            // Source: this job's sync snapshots other than the current one and the common base.
            let old_src: Vec<SnapshotName> = src_versions
                .iter()
                .filter_map(|v| match &v.name {
                    VersionName::Snapshot(s) => Some(s),
                    _ => None,
                })
                .filter(|s| {
                    opts.naming.matches(s.short(), &opts.identifier)
                        && s.short() != current
                        && s.short() != common_short
                })
                .cloned()
                .collect();
            if !old_src.is_empty() {
                if let Err(e) = self.source.destroy_snapshots(&old_src, false) {
                    warn("destroying older source sync snapshots", e);
                }
            }
            // Target: from the model of the target after this plan.
            if let Ok(Some(after)) = model::apply(tgt_versions, decision) {
                let old_tgt: Vec<SnapshotName> = after
                    .iter()
                    .filter(|m| {
                        opts.naming.matches(&m.short, &opts.identifier)
                            && m.short != current
                            && m.short != common_short
                    })
                    .filter_map(|m| snap_name(&dp.target, &m.short).ok())
                    .collect();
                if !old_tgt.is_empty() {
                    if let Err(e) = self.target.destroy_snapshots(&old_tgt, false) {
                        warn("destroying older target sync snapshots", e);
                    }
                }
            }
        }
    }
}
