//! A model of a target dataset's snapshots, to check what a plan does without ZFS.
//!
//! [`apply`] replays a dataset's [`Decision`] on the target's snapshot list with the rules `zfs receive`
//! enforces: a full stream needs an absent target, an incremental needs the target's newest snapshot to be
//! the stream's base (by GUID). The planner uses it to know whether a clone's origin will be on the target,
//! the executor's cleanup to know the target's snapshots after the plan, and the property tests
//! (`tests/planner.rs`, `tests/planner_props.rs`) as their oracle. Public because those tests use it
//! (integration tests see only the public API); it does no I/O.

use crate::plan::{Decision, Step};
use zfs_core::{Version, VersionKind};

/// One snapshot of the modelled target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSnap {
    /// Short name (after `@`).
    pub short: String,
    /// GUID.
    pub guid: u64,
}

/// Replays `decision` on a target whose versions are `target` (`None`: absent). Returns the target's snapshots
/// afterwards, oldest first (`None`: absent), or why a step could not apply.
pub fn apply(
    target: Option<&[Version]>,
    decision: &Decision,
) -> Result<Option<Vec<ModelSnap>>, String> {
    let mut state: Option<Vec<ModelSnap>> = target.map(|vs| {
        let mut v: Vec<&Version> = vs
            .iter()
            .filter(|v| v.name.kind() == VersionKind::Snapshot)
            .collect();
        v.sort_by_key(|v| v.createtxg);
        v.into_iter()
            .map(|v| ModelSnap {
                short: v.name.short().to_string(),
                guid: v.guid,
            })
            .collect()
    });
    let push = |state: &mut Option<Vec<ModelSnap>>, r: &crate::plan::VersionRef| {
        state.get_or_insert_with(Vec::new).push(ModelSnap {
            short: r.name.short().to_string(),
            guid: r.guid,
        })
    };
    for step in decision.steps() {
        match step {
            Step::AbortResume { .. } => {}
            Step::Resume { from, to, .. } => {
                let newest = state.as_ref().and_then(|s| s.last()).map(|m| m.guid);
                if let Some(f) = from {
                    if newest != Some(f.guid) {
                        return Err(format!(
                            "resume from {} but target newest is {newest:?}",
                            f.name
                        ));
                    }
                }
                push(&mut state, to);
            }
            Step::Rollback { to, discards } => {
                let s = state.as_mut().ok_or("rollback on an absent target")?;
                let Some(p) = s.iter().position(|m| m.guid == to.guid) else {
                    return Err(format!("rollback to {} which the target lacks", to.name));
                };
                let snaps_discarded = discards
                    .iter()
                    .filter(|d| d.name.kind() == VersionKind::Snapshot)
                    .count();
                if s.len() - p - 1 != snaps_discarded {
                    return Err("rollback discards list does not match the target".into());
                }
                s.truncate(p + 1);
            }
            Step::DestroyTarget { .. } => state = None,
            Step::Full { snapshot } => {
                if state.is_some() {
                    return Err(format!(
                        "full send of {} onto an existing target",
                        snapshot.name
                    ));
                }
                push(&mut state, snapshot);
            }
            Step::Clone { to, .. } => {
                if state.is_some() {
                    return Err(format!("clone send of {} onto an existing target", to.name));
                }
                push(&mut state, to);
            }
            Step::Incremental { from, receives, .. } => {
                let newest = state.as_ref().and_then(|s| s.last()).map(|m| m.guid);
                if newest != Some(from.guid) {
                    return Err(format!(
                        "incremental from {} but the target's newest snapshot guid is {newest:?}",
                        from.name
                    ));
                }
                for r in receives {
                    push(&mut state, r);
                }
            }
            Step::DestroyTargetSnapshots { snapshots } => {
                let s = state
                    .as_mut()
                    .ok_or("destroy snapshots on an absent target")?;
                s.retain(|m| !snapshots.iter().any(|d| d.guid == m.guid));
            }
        }
    }
    Ok(state)
}
