//! One step of a dataset's plan: the target-side actions, and the send/receive streams with the
//! in-transit estimate and the cause of a failed stream.

use super::context::{as_snapshot, snap_name, Context};
use crate::error::StepError;
use crate::mover::{StreamCheck, StreamInfo};
use crate::options::SyncOptions;
use crate::plan::{DatasetPlan, Step, VersionRef};
use crate::preserve::Preserved;
use std::time::Instant;
use zfs_core::{
    RecvRequest, ResumePoint, SendFlags, SendRequest, SnapshotName, Version, VersionKind,
    VersionName, ZfsError,
};

/// How many source snapshots were created after `after_txg`, up to `to_txg`: what a `-I` stream between
/// them carries.
fn snapshots_between(src: &[Version], after_txg: u64, to_txg: u64) -> usize {
    src.iter()
        .filter(|v| {
            v.name.kind() == VersionKind::Snapshot
                && v.createtxg > after_txg
                && v.createtxg <= to_txg
        })
        .count()
}

/// What a [`Mover`] is told about `send`.
fn stream_info(send: &SendRequest, estimate: Option<u64>) -> StreamInfo {
    let dataset = send.to.dataset().to_string();
    let mut label = send.to.to_string();
    if let Some(from) = &send.from {
        let base = from.as_str();
        label.push_str(" from ");
        // `@s1` / `#b1` when the base is in the same dataset; the full name otherwise (a clone's
        // origin).
        let local = base
            .strip_prefix(dataset.as_str())
            .filter(|rest| rest.starts_with(['@', '#']));
        label.push_str(local.unwrap_or(base));
        if send.intermediates {
            label.push_str(" with intermediates");
        }
    }
    if send.resume.is_some() {
        label.push_str(" (resumed)");
    }
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    StreamInfo {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        dataset,
        label,
        estimate,
    }
}

impl Context<'_> {
    /// Runs one step; returns (streams, bytes) or the error with what was done so far.
    pub(super) fn run_step(
        &self,
        dp: &DatasetPlan,
        step: &Step,
        opts: &SyncOptions,
        preserved: Option<&Preserved>,
        src_versions: &[Version],
        checked: &mut Vec<StreamCheck>,
    ) -> Result<(u32, u64), (u32, u64, StepError)> {
        let e0 = |e: ZfsError| (0, 0, StepError::Zfs(Box::new(e)));
        let flags = SendFlags {
            large_block: opts.send.large_block,
            embed: opts.send.embed,
            compressed: opts.send.compressed,
            raw: dp.raw || opts.send.raw,
            props: opts.send.props,
            saved: false,
        };
        let every = preserved.map_or(&[][..], |p| &p.props[..]);
        let on_create = preserved.map_or(&[][..], |p| &p.on_create[..]);
        // `creates`: this receive creates the target (full or clone stream).
        let recv = |short: &str,
                    force: bool,
                    origin: Option<SnapshotName>,
                    creates: bool|
         -> Result<RecvRequest, ZfsError> {
            Ok(RecvRequest {
                target: snap_name(&dp.target, short)?,
                force,
                resumable: true,
                raw: flags.raw,
                origin,
                props: every
                    .iter()
                    .chain(if creates { on_create } else { &[] })
                    .chain(&opts.recv.props)
                    .cloned()
                    .collect(),
                exclude_props: opts.recv.exclude_props.clone(),
                no_mount: opts.recv.no_mount,
                into_dataset: false,
            })
        };
        // With --rollback (or force_receive) the user allowed discarding target changes since the base.
        let force = opts.plan.rollback || opts.force_receive;
        match step {
            Step::AbortResume { .. } => self
                .target
                .receive_abort(&dp.target)
                .map(|_| (0, 0))
                .map_err(e0),
            Step::Rollback { to, .. } => {
                let snap = as_snapshot(to).map_err(e0)?;
                self.target
                    .rollback_to(&snap, true)
                    .map(|_| (0, 0))
                    .map_err(e0)
            }
            Step::DestroyTarget { target, .. } => self
                .target
                .destroy_dataset(target, true)
                .map(|_| (0, 0))
                .map_err(e0),
            Step::DestroyTargetSnapshots { snapshots } => {
                let s = snapshots
                    .iter()
                    .map(as_snapshot)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(e0)?;
                self.target
                    .destroy_snapshots(&s, false)
                    .map(|_| (0, 0))
                    .map_err(e0)
            }
            Step::Full { snapshot } => {
                let to = as_snapshot(snapshot).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: None,
                    intermediates: false,
                    flags,
                    resume: None,
                };
                let r = recv(to.short(), false, None, true).map_err(e0)?;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Clone {
                origin,
                target_origin,
                to,
            } => {
                let to = as_snapshot(to).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: Some(origin.name.clone()),
                    intermediates: false,
                    flags,
                    resume: None,
                };
                let r = recv(to.short(), false, Some(target_origin.clone()), true).map_err(e0)?;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Resume { token, to, from } => {
                let to = as_snapshot(to).map_err(e0)?;
                let req = SendRequest {
                    to: to.clone(),
                    from: from.as_ref().map(|f| f.name.clone()),
                    intermediates: false,
                    flags: SendFlags {
                        large_block: token.large_block,
                        embed: token.embed,
                        compressed: token.compressed,
                        raw: token.raw,
                        props: false,
                        saved: false,
                    },
                    resume: Some(ResumePoint {
                        token: token.token.clone(),
                        object: token.object,
                        offset: token.offset,
                    }),
                };
                let mut r =
                    recv(to.short(), force && from.is_some(), None, from.is_none()).map_err(e0)?;
                r.raw = token.raw;
                self.stream(&req, &r, &[], checked)
                    .map(|b| (1, b))
                    .map_err(|e| (1, 0, e))
            }
            Step::Incremental {
                from,
                to,
                intermediates,
                receives,
            } => {
                let chain: Vec<&VersionRef> = if *intermediates {
                    receives.iter().collect()
                } else {
                    vec![to]
                };
                // One `-I` stream for the rest of the chain, received into the dataset (the stream names
                // each snapshot), when it would carry exactly the planned snapshots (a snapshot filter
                // can leave some out) and when the alternative costs a process pair per snapshot (the
                // CLI). With libzfs_core on both ends, one in-process `-i` per snapshot costs no spawn and
                // keeps each snapshot its own resumable unit — unless the receive takes `-o`/`-x`, which
                // the Lzc backend runs through the CLI anyway.
                let in_process = self.source.name() == "lzc"
                    && self.target.name() == "lzc"
                    && every.is_empty()
                    && opts.recv.props.is_empty()
                    && opts.recv.exclude_props.is_empty();
                let package = |base: &VersionRef, rest: &[&VersionRef]| {
                    rest.len() > 1
                        && !in_process
                        && snapshots_between(src_versions, base.createtxg, to.createtxg)
                            == rest.len()
                };
                let (mut streams, mut bytes) = (0u32, 0u64);
                let mut prev: &VersionRef = from;
                let mut rest = &chain[..];
                // `-I` starts at a snapshot: from a bookmark, the first snapshot comes with `-i`.
                loop {
                    let Some((next, tail)) = rest.split_first() else {
                        return Ok((streams, bytes));
                    };
                    let whole =
                        matches!(prev.name, VersionName::Snapshot(_)) && package(prev, rest);
                    let last = if whole { to } else { *next };
                    let last_snap = as_snapshot(last)
                        .map_err(|e| (streams, bytes, StepError::Zfs(Box::new(e))))?;
                    let mut req = SendRequest::incremental(prev.name.clone(), last_snap.clone());
                    req.intermediates = whole;
                    req.flags = flags;
                    let mut r = recv(last_snap.short(), force, None, false)
                        .map_err(|e| (streams, bytes, StepError::Zfs(Box::new(e))))?;
                    r.into_dataset = whole;
                    streams += 1;
                    let package: &[&VersionRef] = if whole { rest } else { &[] };
                    bytes += self
                        .stream(&req, &r, package, checked)
                        .map_err(|e| (streams, bytes, e))?;
                    if whole {
                        return Ok((streams, bytes));
                    }
                    prev = next;
                    rest = tail;
                }
            }
        }
    }

    /// One send piped into one receive.
    /// A completed stream's check (when the mover made one) goes to `checked`.
    fn stream(
        &self,
        send: &SendRequest,
        recv: &RecvRequest,
        package: &[&VersionRef],
        checked: &mut Vec<StreamCheck>,
    ) -> Result<u64, StepError> {
        // The estimate first: no send is running yet. Not for a resume (`-nP -t` would need the
        // token's own flags); a failed estimate only means no ETA.
        let estimate = (self.mover.wants_estimate() && send.resume.is_none())
            .then(|| self.estimate(send, package))
            .flatten();
        let info = stream_info(send, estimate);
        let mut s = self
            .source
            .send(send)
            .map_err(|e| StepError::Zfs(Box::new(e)))?;
        let mut r = match self.target.receive(recv) {
            Ok(r) => r,
            Err(e) => {
                drop(s);
                return Err(StepError::Zfs(Box::new(e)));
            }
        };
        let (Some(input), Some(output)) = (s.take_stream(), r.take_input()) else {
            return Err(StepError::Transfer(
                "backend gave no stream descriptor".into(),
            ));
        };
        let t = Instant::now();
        let moved = self.mover.transfer(input, output, &info);
        crate::trace::line(&format!("transfer {}", send.to), t);
        let recv_res = r.finish();
        let send_res = s.finish();
        match (send_res, recv_res, moved) {
            (Ok(()), Ok(()), Ok(m)) => {
                checked.extend(m.check);
                Ok(m.bytes)
            }
            // The send could not start its stream (stale token, vanished snapshot): that is the cause.
            (Err(se @ (ZfsError::StaleResumeToken { .. } | ZfsError::NotFound { .. })), _, _) => {
                Err(StepError::Zfs(Box::new(se)))
            }
            // The stream was found damaged in transit (the mover says InvalidData): that is the cause.
            (_, _, Err(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                Err(StepError::Transfer(io.to_string()))
            }
            // A failing receive makes the send fail with a broken pipe: the receive's error is the cause.
            (_, Err(re), _) => Err(StepError::Zfs(Box::new(re))),
            (Err(se), Ok(()), _) => Err(StepError::Zfs(Box::new(se))),
            (Ok(()), Ok(()), Err(io)) => Err(StepError::Transfer(io.to_string())),
        }
    }

    /// Expected bytes of `send` (`zfs send -nP` / `lzc_send_space`). An `-I` stream (`package`: the
    /// snapshots it carries) is the sum of its hops: one `-i` estimate from base to newest would count
    /// blocks rewritten in between once, where the package sends them in every hop.
    fn estimate(&self, send: &SendRequest, package: &[&VersionRef]) -> Option<u64> {
        if !send.intermediates {
            return self
                .source
                .send_space(&send.to, send.from.as_ref(), &send.flags)
                .ok();
        }
        let mut from = send.from.clone();
        let mut total = 0u64;
        for hop in package {
            let to = hop.snapshot()?;
            total += self
                .source
                .send_space(to, from.as_ref(), &send.flags)
                .ok()?;
            from = Some(hop.name.clone());
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_labels_say_what_is_sent() {
        let snap = |s: &str| SnapshotName::parse(s).unwrap();
        let mut req = SendRequest::incremental(
            VersionName::Bookmark(zfs_core::BookmarkName::parse("p/a#b1").unwrap()),
            snap("p/a@s3"),
        );
        assert_eq!(stream_info(&req, None).label, "p/a@s3 from #b1");
        req.from = Some(VersionName::Snapshot(snap("p/a@s1")));
        req.intermediates = true;
        let i = stream_info(&req, Some(5));
        assert_eq!(i.label, "p/a@s3 from @s1 with intermediates");
        assert_eq!((i.dataset.as_str(), i.estimate), ("p/a", Some(5)));
        // A clone's origin elsewhere (even a sibling whose name starts the same) keeps its name.
        req.from = Some(VersionName::Snapshot(snap("p/ab@s1")));
        req.intermediates = false;
        assert_eq!(stream_info(&req, None).label, "p/a@s3 from p/ab@s1");
        req.from = None;
        assert_eq!(stream_info(&req, None).label, "p/a@s3");
    }
}
