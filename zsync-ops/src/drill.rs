//! The restore drill (`zsync drill JOB`): the quarterly restore test as one step per replicated
//! dataset: the newest snapshot both sides share is verified against the source's without copying
//! data between the hosts ([`crate::verify`]), then cloned on the target host as a restore would
//! (a read-only clone beside the replica, for a volume its `/dev/zvol` device waited for), and the
//! clone is destroyed — on every path, and said when it could not be.

use crate::clone::{clone_snapshot, CloneRequest, Cloned};
use crate::verify::source::destroy_when_idle;
use crate::verify::{verify, Side, Verdict, VerifyOptions};
use serde::Serialize;
use std::time::Instant;
use zfs_core::{Backend, DatasetKind, DatasetName, SnapshotName, ZfsError};

/// What to drill: one replicated dataset's newest common snapshot.
#[derive(Debug, Clone)]
pub struct DrillTarget {
    /// The snapshot on the source (`pool/ds@snap`).
    pub source: SnapshotName,
    /// The same snapshot on the target.
    pub target: SnapshotName,
    /// Filesystem or volume (the clone's properties differ).
    pub kind: DatasetKind,
}

/// What the drill of one dataset found.
#[derive(Debug, Clone, Serialize)]
pub struct DrillOutcome {
    /// The source snapshot (with its host when remote).
    pub source: String,
    /// The target snapshot (with its host when remote).
    pub target: String,
    /// The restore clone as made (`None` when cloning failed).
    pub restored: Option<Cloned>,
    /// The verification (`None` when it could not run).
    pub verdict: Option<Verdict>,
    /// What went wrong, one line (cloning, a missing device, verifying or the clean-up).
    pub error: Option<String>,
    /// Seconds for the whole drill of this dataset.
    pub seconds: f64,
}

impl DrillOutcome {
    /// 0 restored and equal; 1 different or a volume's device did not appear; 2 an error.
    pub fn exit_code(&self) -> u8 {
        match (&self.error, &self.verdict) {
            (Some(_), _) | (None, None) => 2,
            (None, Some(v)) if !v.equal => 1,
            _ if self.restored.as_ref().is_some_and(Cloned::device_missing) => 1,
            _ => 0,
        }
    }
}

/// The restore clone's name: `<target ds>-zsync-drill-<pid>` beside it.
fn clone_name(target: &SnapshotName) -> Result<DatasetName, String> {
    let ds = target.dataset();
    let name = if ds.as_str().contains('/') {
        format!("{ds}-zsync-drill-{}", std::process::id())
    } else {
        format!("{ds}/zsync-drill-{}", std::process::id())
    };
    DatasetName::parse(&name).map_err(|e| format!("no name for the restore clone: {}", e.rule))
}

/// Drills one dataset: verify `source` against `target` (the sides' snapshots are `what`'s), clone
/// `what.target` on `target_backend` (waiting for a volume's device with `wait_device`), destroy
/// the clone. `labels` are the source and target snapshots as shown (with their hosts).
pub fn drill(
    target_backend: &dyn Backend,
    wait_device: impl FnOnce(&DatasetName) -> Result<Option<String>, ZfsError>,
    what: &DrillTarget,
    sides: (&Side<'_>, &Side<'_>),
    labels: (String, String),
    opts: &VerifyOptions,
) -> DrillOutcome {
    let started = Instant::now();
    let mut out = DrillOutcome {
        source: labels.0,
        target: labels.1,
        restored: None,
        verdict: None,
        error: None,
        seconds: 0.0,
    };
    let host = target_backend.host().to_owned();
    let mut errors: Vec<String> = Vec::new();
    // Verified first, then restored: two clones of one volume at once race with udev over the
    // device links (verify makes its own temporary clone when the replica is not mounted).
    match verify(sides.0, sides.1, opts) {
        Ok(v) => out.verdict = Some(v),
        Err(e) => errors.push(format!("verify: {e}")),
    }
    match clone_name(&what.target) {
        Err(e) => errors.push(format!("{host}: {e}")),
        Ok(new) => {
            let mut props = vec![("readonly".to_string(), "on".to_string())];
            match what.kind {
                // Not mounted over anything: a restore is mounted where the user decides.
                DatasetKind::Filesystem => props.push(("canmount".into(), "noauto".into())),
                // A device even when the replica's parent says `volmode=none`.
                _ => props.push(("volmode".into(), "dev".into())),
            }
            let req = CloneRequest {
                snapshot: what.target.clone(),
                new: new.clone(),
                props,
            };
            match clone_snapshot(target_backend, &req, wait_device) {
                Ok(c) => {
                    if c.device_missing() {
                        errors.push(format!(
                            "{host}: the restore clone {new}'s device did not appear"
                        ));
                    }
                    out.restored = Some(c);
                }
                Err(e) => errors.push(format!("restore clone of {}: {e}", what.target)),
            }
            if out.restored.is_some() || target_backend.exists(new.as_str()).unwrap_or(true) {
                if let Err(e) = destroy_when_idle(target_backend, &new) {
                    errors.push(format!(
                        "{host}: the restore clone {new} was not destroyed: {e}"
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        out.error = Some(errors.join("; "));
    }
    out.seconds = started.elapsed().as_secs_f64();
    out
}
