//! User holds through libzfs_core: placing them (in rounds, since one nvlist key holds one tag), tied to a
//! cleanup descriptor or not, releasing them, and reading them.

use super::call::{by_pool, cstr, Lib, PoolGroups};
use super::errors::{call_error, nv_err};
use super::library::open_dev;
use super::nvlist::NvList;
use crate::backend::TemporaryHolds;
use crate::error::{Cause, ZfsError, LOCALHOST};
use crate::name::SnapshotName;
use crate::validate::HoldTag;
use libzfs_sys as sys;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;

/// A user hold: snapshot and tag.
type Hold = (SnapshotName, String);

fn hold_pool(h: &Hold) -> String {
    h.0.dataset().pool().as_str().to_owned()
}

/// Splits holds into rounds in which each snapshot appears at most once (an nvlist key holds one tag),
/// grouped by pool within each round. Exact duplicates are dropped.
fn hold_rounds(holds: &[Hold]) -> Vec<PoolGroups<'_, Hold>> {
    let mut rounds: Vec<Vec<&Hold>> = Vec::new();
    for h in holds {
        if rounds.iter().any(|r| r.contains(&h)) {
            continue;
        }
        match rounds.iter_mut().find(|r| r.iter().all(|x| x.0 != h.0)) {
            Some(r) => r.push(h),
            None => rounds.push(vec![h]),
        }
    }
    rounds.into_iter().map(|r| by_pool(r, hold_pool)).collect()
}

/// The holds on `snap` via `lzc_get_holds` (tag → creation time).
pub(super) fn get_holds(lib: Lib, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
    let name = cstr("lzc_get_holds", snap.as_str())?;
    let mut out: *mut sys::nvlist_t = std::ptr::null_mut();
    // SAFETY: valid name; out-parameter adopted below.
    let rc = unsafe { (lib.lzc_get_holds)(name.as_ptr(), &mut out) };
    let out = lib.adopt(out);
    if rc != 0 {
        return Err(ZfsError::from_errno(
            "lzc_get_holds",
            snap.as_str(),
            LOCALHOST,
            rc,
        ));
    }
    Ok(out
        .map(|l| l.decode())
        .unwrap_or_default()
        .into_iter()
        .map(|(tag, v)| (tag, v.as_i64().unwrap_or(0)))
        .collect())
}

/// Places `holds` with `lzc_hold`, tied to `cleanup_fd` (a `/dev/zfs` descriptor: temporary holds) or
/// not (`-1`). On failure, the holds this call placed are released again (temporary ones go with their
/// descriptor).
pub(super) fn hold(
    lib: Lib,
    holds: &[(SnapshotName, String)],
    cleanup_fd: i32,
) -> Result<(), ZfsError> {
    const OP: &str = "lzc_hold";
    for (_, tag) in holds {
        HoldTag::parse(tag)?;
    }
    let mut placed: Vec<(SnapshotName, String)> = Vec::new();
    for round in hold_rounds(holds) {
        for (_, group) in round {
            let mut list = lib.nvlist(OP)?;
            for (snap, tag) in &group {
                list.add_string(snap.as_str(), tag).map_err(nv_err(OP))?;
            }
            let first = group.first().map_or("", |h| h.0.as_str());
            let (rc, failed) = lib.errlist_raw(|errs| {
                // SAFETY: valid list; fd is -1 or an open /dev/zfs descriptor.
                unsafe { (lib.lzc_hold)(list.as_ptr(), cleanup_fd, errs) }
            });
            if rc != 0 || !failed.is_empty() {
                // A failing call holds nothing, except that lzc_hold skips missing snapshots (listed
                // with rc 0) and holds the rest. Undo what this operation placed; temporary holds go
                // with their descriptor instead.
                if cleanup_fd < 0 {
                    if rc == 0 {
                        placed.extend(
                            group
                                .iter()
                                .filter(|h| failed.iter().all(|(n, _)| n != h.0.as_str()))
                                .map(|h| (*h).clone()),
                        );
                    }
                    let _ = release(lib, &placed);
                }
                return Err(call_error(OP, rc, &failed, first));
            }
            placed.extend(group.iter().map(|h| (*h).clone()));
        }
    }
    Ok(())
}

/// Holds that go away with a fresh `/dev/zfs` descriptor, owned by the returned guard.
pub(super) fn hold_temporary(
    lib: Lib,
    holds: &[(SnapshotName, String)],
) -> Result<TemporaryHolds, ZfsError> {
    for (_, tag) in holds {
        HoldTag::parse(tag)?.check_temporary()?;
    }
    let fd = open_dev()?;
    // On error `fd` drops, and with it any hold this call placed.
    hold(lib, holds, fd.as_raw_fd())?;
    Ok(TemporaryHolds::new(fd, holds.to_vec()))
}

/// Releases `holds` with `lzc_release`, one call per pool; a tag missing on its snapshot is
/// [`ZfsError::NotFound`].
pub(super) fn release(lib: Lib, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
    const OP: &str = "lzc_release";
    for (_, tag) in holds {
        HoldTag::parse(tag)?;
    }
    for (_, group) in by_pool(holds, |h| h.0.dataset().pool().as_str().to_owned()) {
        // {snap: {tag: -, ...}}
        let mut per_snap: Vec<(&SnapshotName, NvList)> = Vec::new();
        for (snap, tag) in group {
            let idx = match per_snap.iter().position(|(s, _)| *s == snap) {
                Some(i) => i,
                None => {
                    per_snap.push((snap, lib.nvlist(OP)?));
                    per_snap.len() - 1
                }
            };
            per_snap[idx].1.add_flag(tag).map_err(nv_err(OP))?;
        }
        let mut list = lib.nvlist(OP)?;
        for (snap, tags) in &per_snap {
            list.add_list(snap.as_str(), tags).map_err(nv_err(OP))?;
        }
        let first = per_snap.first().map_or("", |(s, _)| s.as_str());
        lib.errlist_call(OP, first, |errs| {
            // SAFETY: valid list; errs adopted by errlist_call.
            unsafe { (lib.lzc_release)(list.as_ptr(), errs) }
        })
        .map_err(|e| match e {
            // ESRCH: no such tag on the snapshot.
            ZfsError::Errno {
                name, host, errno, ..
            } if errno == libc::ESRCH => ZfsError::NotFound {
                name: format!("hold on {name}"),
                host,
                cause: Cause::Errno(errno),
            },
            other => other,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    #[test]
    fn hold_rounds_put_one_tag_per_snapshot_per_call() {
        let h = |s: &str, t: &str| (snap(s), t.to_owned());
        let holds = [
            h("p/a@1", "t1"),
            h("p/a@1", "t2"),
            h("q/b@1", "t1"),
            h("p/a@1", "t1"),
        ];
        let rounds = hold_rounds(&holds);
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].len(), 2); // pools p and q
        assert_eq!(rounds[0][0].1, vec![&holds[0]]);
        assert_eq!(rounds[0][1].1, vec![&holds[2]]);
        assert_eq!(rounds[1], vec![("p".to_owned(), vec![&holds[1]])]);
    }
}
