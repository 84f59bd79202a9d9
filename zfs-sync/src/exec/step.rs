//! One step of a dataset's plan: the target-side actions, and the send/receive streams with the
//! in-transit estimate and the cause of a failed stream.

use super::context::{as_snapshot, snap_name, Context};
use crate::error::StepError;
use crate::mover::{Moved, StreamInfo, TransferError};
use crate::options::SyncOptions;
use crate::plan::{DatasetPlan, Step, VersionRef};
use crate::preserve::Preserved;
use crate::report::{StreamCheck, UncheckedStream};
use crate::wire::WireChoice;
use std::time::Instant;
use zfs_core::{
    RecvRequest, SendFlags, SendRequest, SnapshotName, Version, VersionKind, VersionName, Wire,
    ZfsError,
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

/// What the in-transit check said about a step's streams.
#[derive(Debug, Default)]
pub(super) struct StreamChecks {
    /// What it read from each stream it checked.
    pub(super) checked: Vec<StreamCheck>,
    /// The streams it could not read, and why.
    pub(super) unchecked: Vec<UncheckedStream>,
}

/// What a [`Mover`] is told about `send` (received as `recv`).
fn stream_info(send: &SendRequest, recv: &RecvRequest, estimate: Option<u64>) -> StreamInfo {
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
        wire: WireChoice {
            send: send.wire,
            recv: recv.wire,
        },
    }
}

/// What a stream's three results amount to: what moved, or the one error that caused the failure.
/// - The send could not start its stream (stale token, vanished snapshot): the send's error.
/// - The stream was found damaged in transit: that damage (whatever the receiver then says).
/// - A failing receive makes the send fail with a broken pipe: the receive's error.
/// - Then the send's own error, and last the mover's.
fn cause(
    send: Result<(), ZfsError>,
    recv: Result<(), ZfsError>,
    moved: Result<Moved, TransferError>,
) -> Result<Moved, StepError> {
    match (send, recv, moved) {
        (Ok(()), Ok(()), Ok(m)) => Ok(m),
        (Err(se @ (ZfsError::StaleResumeToken { .. } | ZfsError::NotFound { .. })), _, _) => {
            Err(StepError::Zfs(Box::new(se)))
        }
        (_, _, Err(t)) if t.is_damage() => Err(StepError::Transfer(Box::new(t))),
        (_, Err(re), _) => Err(StepError::Zfs(Box::new(re))),
        (Err(se), Ok(()), _) => Err(StepError::Zfs(Box::new(se))),
        (Ok(()), Ok(()), Err(t)) => Err(StepError::Transfer(Box::new(t))),
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
        checked: &mut StreamChecks,
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
                // A `send -p` stream is a compound stream (the properties ride in front of the
                // snapshot) that only `zfs receive` reads, not libzfs_core: received into the
                // dataset, which names the snapshot from the stream as it would anyway.
                into_dataset: flags.props,
                wire: self.wires.recv,
                bulk: true,
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
                    wire: self.wires.send,
                    bulk: true,
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
                    wire: self.wires.send,
                    bulk: true,
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
                    resume: Some(token.clone()),
                    wire: self.wires.send,
                    bulk: true,
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
                let in_process = self.source.capabilities().in_process_streams
                    && self.target.capabilities().in_process_streams
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
                    req.wire = self.wires.send;
                    let mut r = recv(last_snap.short(), force, None, false)
                        .map_err(|e| (streams, bytes, StepError::Zfs(Box::new(e))))?;
                    r.into_dataset = whole || flags.props;
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

    /// One send piped into one receive, each in the form its request's `wire` says.
    /// A completed stream's check (when the mover made one), or why it could not be checked, goes
    /// to `checked`.
    fn stream(
        &self,
        send: &SendRequest,
        recv: &RecvRequest,
        package: &[&VersionRef],
        checked: &mut StreamChecks,
    ) -> Result<u64, StepError> {
        // The estimate first: no send is running yet. Not for a resume (`-nP -t` would need the
        // token's own flags), nor for a compressed relay (progress counts compressed bytes there); a
        // failed estimate only means no ETA.
        let relay = WireChoice {
            send: send.wire,
            recv: recv.wire,
        }
        .relays_compressed();
        let fresh = send.resume.is_none() && !relay;
        // A small stream crosses a remote end plain on its control session; its size is asked
        // only where that costs no process (`small_stream` is 0 elsewhere: see Context).
        let route = fresh && self.small_stream > 0;
        let estimate = ((self.mover.wants_estimate() && fresh) || route)
            .then(|| self.estimate(send, package))
            .flatten();
        let small = route && estimate.is_some_and(|n| n < self.small_stream);
        let (small_send, small_recv);
        let (send, recv) = if small {
            small_send = SendRequest {
                wire: Wire::Plain,
                bulk: false,
                ..send.clone()
            };
            small_recv = RecvRequest {
                wire: Wire::Plain,
                bulk: false,
                ..recv.clone()
            };
            (&small_send, &small_recv)
        } else {
            (send, recv)
        };
        let info = stream_info(send, recv, estimate);
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
            return Err(StepError::NoStream);
        };
        let t = Instant::now();
        let moved = self.mover.transfer(input, output, &info);
        self.events.span(&format!("transfer {}", send.to), t);
        let recv_res = r.finish();
        let send_res = s.finish();
        let m = match cause(send_res, recv_res, moved) {
            Err(StepError::Zfs(z)) if matches!(*z, ZfsError::NoSpace { .. }) => {
                return Err(self.no_space(send, recv, estimate));
            }
            r => r?,
        };
        checked.checked.extend(m.check);
        checked
            .unchecked
            .extend(m.unchecked.map(|reason| UncheckedStream {
                stream: info.label,
                reason,
            }));
        Ok(m.bytes)
    }

    /// The out-of-space error of a receive: the stream's estimate (asked now when not known; none
    /// for a resume) against the target's `available` (its parent's when it does not exist).
    fn no_space(&self, send: &SendRequest, recv: &RecvRequest, estimate: Option<u64>) -> StepError {
        let target = recv.target.dataset();
        let needed = estimate.or_else(|| {
            send.resume
                .is_none()
                .then(|| {
                    self.source
                        .send_space(&send.to, send.from.as_ref(), &send.flags)
                        .ok()
                })
                .flatten()
        });
        let query = zfs_core::PropQuery::named(&["available"], false);
        let available = std::iter::once(target.clone())
            .chain(target.parent())
            .find_map(|ds| {
                let props = self.target.properties(&ds, &query).ok()?;
                props.get(&ds)?.get("available")?.value.parse::<u64>().ok()
            });
        StepError::NoSpace {
            target,
            needed,
            available,
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
    use zfs_core::Cause;

    fn zfs(kind: &str, name: &str) -> ZfsError {
        let (name, host, cause) = (name.to_string(), "local".to_string(), Cause::None);
        match kind {
            "stale" => ZfsError::StaleResumeToken { name, host, cause },
            "notfound" => ZfsError::NotFound { name, host, cause },
            "modified" => ZfsError::TargetModified { name, host, cause },
            _ => ZfsError::Command { name, host, cause },
        }
    }

    fn damaged() -> TransferError {
        TransferError::from(zfs_stream::PipeError::Stream {
            bytes_in: 10,
            bytes_out: 8,
            error: zfs_stream::StreamError::BadMagic {
                index: 0,
                offset: 0,
            },
        })
    }

    fn truncated() -> TransferError {
        TransferError::from(zfs_stream::PipeError::Stream {
            bytes_in: 10,
            bytes_out: 10,
            error: zfs_stream::StreamError::Truncated {
                index: 1,
                offset: 10,
                in_payload: false,
            },
        })
    }

    fn io() -> TransferError {
        std::io::Error::other("copy failed").into()
    }

    fn moved() -> Result<Moved, TransferError> {
        Ok(Moved {
            bytes: 5,
            ..Moved::default()
        })
    }

    /// The cause's text, or `ok N` for what moved.
    fn said(r: Result<Moved, StepError>) -> String {
        match r {
            Ok(m) => format!("ok {}", m.bytes),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn stream_damage_is_told_apart_from_other_transfer_errors() {
        assert!(damaged().is_damage());
        assert!(
            !truncated().is_damage(),
            "an early end is the sender's to explain"
        );
        assert!(!io().is_damage());
        let pipe = zfs_stream::PipeError::Setup(std::io::Error::other("no pipe"));
        let text = pipe.to_string();
        let t = TransferError::from(pipe);
        assert!(!t.is_damage());
        assert_eq!(t.to_string(), text, "displays as the pipeline's error");
    }

    #[test]
    fn the_cause_of_a_failed_stream_is_chosen_by_rule() {
        let stale = || Err(zfs("stale", "p/a@s2"));
        let gone = || Err(zfs("notfound", "p/a@s2"));
        let pipe = || Err(zfs("other", "p/a@s2 send"));
        let recv = || Err(zfs("modified", "b/a"));
        let ok = || Ok(());
        // Everything succeeded: what moved.
        assert_eq!(said(cause(ok(), ok(), moved())), "ok 5");
        // The send could not start (stale token, vanished snapshot): that wins over everything.
        let stale_text = zfs("stale", "p/a@s2").to_string();
        assert_eq!(said(cause(stale(), recv(), Err(damaged()))), stale_text);
        assert_eq!(
            said(cause(gone(), recv(), moved())),
            zfs("notfound", "p/a@s2").to_string()
        );
        // Damage in transit wins over the receive's and the send's errors.
        let damage_text = format!("moving the stream: {}", damaged());
        assert!(damage_text.contains("no BEGIN magic"), "{damage_text}");
        assert_eq!(said(cause(pipe(), recv(), Err(damaged()))), damage_text);
        assert_eq!(said(cause(ok(), ok(), Err(damaged()))), damage_text);
        // The receive's error wins over the send's broken pipe and a mover's other error.
        let recv_text = zfs("modified", "b/a").to_string();
        assert_eq!(said(cause(pipe(), recv(), Err(truncated()))), recv_text);
        assert_eq!(said(cause(ok(), recv(), moved())), recv_text);
        // Then the send's own error, over the mover's.
        let pipe_text = zfs("other", "p/a@s2 send").to_string();
        assert_eq!(said(cause(pipe(), ok(), Err(io()))), pipe_text);
        assert_eq!(said(cause(pipe(), ok(), moved())), pipe_text);
        // Both ends fine but the mover failed: the mover's error.
        assert_eq!(
            said(cause(ok(), ok(), Err(io()))),
            "moving the stream: copy failed"
        );
        assert_eq!(
            said(cause(ok(), ok(), Err(truncated()))),
            format!("moving the stream: {}", truncated())
        );
    }

    #[test]
    fn stream_labels_say_what_is_sent() {
        let snap = |s: &str| SnapshotName::parse(s).unwrap();
        let mut req = SendRequest::incremental(
            VersionName::Bookmark(zfs_core::BookmarkName::parse("p/a#b1").unwrap()),
            snap("p/a@s3"),
        );
        let mut recv = RecvRequest::new(snap("b/a@s3"));
        assert_eq!(stream_info(&req, &recv, None).label, "p/a@s3 from #b1");
        req.from = Some(VersionName::Snapshot(snap("p/a@s1")));
        req.intermediates = true;
        let i = stream_info(&req, &recv, Some(5));
        assert_eq!(i.label, "p/a@s3 from @s1 with intermediates");
        assert_eq!((i.dataset.as_str(), i.estimate), ("p/a", Some(5)));
        assert_eq!(i.wire, WireChoice::PLAIN);
        // A clone's origin elsewhere (even a sibling whose name starts the same) keeps its name.
        req.from = Some(VersionName::Snapshot(snap("p/ab@s1")));
        req.intermediates = false;
        assert_eq!(stream_info(&req, &recv, None).label, "p/a@s3 from p/ab@s1");
        req.from = None;
        assert_eq!(stream_info(&req, &recv, None).label, "p/a@s3");
        // The mover learns each end's wire from the two requests.
        req.wire = zfs_core::Wire::Lz4;
        recv.wire = zfs_core::Wire::ZSTD;
        assert_eq!(
            stream_info(&req, &recv, None).wire,
            WireChoice {
                send: zfs_core::Wire::Lz4,
                recv: zfs_core::Wire::ZSTD
            }
        );
    }
}
