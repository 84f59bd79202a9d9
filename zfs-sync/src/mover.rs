//! The Mover seam: what moves a send stream into a receive, what it is told about the stream, and what
//! it reports back (bytes and the in-transit stream check).

use crate::report::StreamCheck;
use std::fs::File;
use std::os::fd::OwnedFd;

/// Moves a send stream into a receive. The executor's default is [`PipelineMover`] (zfs-stream's
/// pipeline: splice, optional buffer and rate limit, the in-transit stream check); [`CopyMover`] is a
/// plain in-process copy. A custom mover (e.g. one that records or throttles streams) plugs in here.
pub trait Mover: Send + Sync {
    /// Copies everything from `input` (the send's read end) into `output` (the receive's write end), then
    /// closes both; returns the bytes moved and, when the mover checked the stream, what it carried.
    /// A stream found damaged in transit is [`TransferError::Damaged`]: the executor then names that
    /// damage, not the receiver's complaint, as the cause.
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError>;

    /// Whether [`StreamInfo::estimate`] is worth a `zfs send -nP` per stream (it is for progress
    /// display). Default: no.
    fn wants_estimate(&self) -> bool {
        false
    }
}

/// Why a [`Mover`] could not move a stream. Displays as the underlying error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The in-transit check found the stream damaged (a record, checksum or header failed to
    /// verify): the cause of whatever the receiver then says.
    #[error(transparent)]
    Damaged(zfs_stream::PipeError),
    /// The pipeline stopped for another reason: reading or writing failed, a stage failed, or the
    /// stream merely ended early (which the sender's own error explains).
    #[error(transparent)]
    Pipe(zfs_stream::PipeError),
    /// Copying failed (a plain copy, or a custom mover's I/O).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl TransferError {
    /// Whether the stream was found damaged in transit.
    pub fn is_damage(&self) -> bool {
        matches!(self, TransferError::Damaged(_))
    }
}

impl From<zfs_stream::PipeError> for TransferError {
    /// Damage found in transit is [`TransferError::Damaged`]; a stream that merely ended early, and
    /// every other pipeline error, is [`TransferError::Pipe`].
    fn from(e: zfs_stream::PipeError) -> Self {
        match &e {
            zfs_stream::PipeError::Stream { error, .. }
                if !matches!(error, zfs_stream::StreamError::Truncated { .. }) =>
            {
                TransferError::Damaged(e)
            }
            _ => TransferError::Pipe(e),
        }
    }
}

/// What the executor tells a [`Mover`] about the stream it is to move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Distinguishes streams (unique within the process; labels can repeat, e.g. one snapshot sent to
    /// two targets by two executors).
    pub id: u64,
    /// The source dataset.
    pub dataset: String,
    /// What is sent: `pool/a@s3` (full), `pool/a@s3 from @s1` (incremental; a base in another dataset,
    /// such as a clone's origin, keeps its full name), plus ` with intermediates` for `-I` and
    /// ` (resumed)` for a resume.
    pub label: String,
    /// Expected stream bytes (`zfs send -nP`), when [`Mover::wants_estimate`] asked for it and the
    /// source could tell.
    pub estimate: Option<u64>,
}

/// Told how each stream advances while a [`PipelineMover`] moves it: about twice a second from a
/// polling thread, and once more when the stream ended (`now.done`). Datasets run in parallel, so
/// calls for different streams interleave.
pub trait ProgressObserver: Sync {
    /// The stream's counters as of now.
    fn update(&self, stream: &StreamInfo, now: &zfs_stream::ProgressSnapshot);
}

/// What a [`Mover`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// Stream bytes passed to the receive.
    pub bytes: u64,
    /// What the in-transit check read from the stream; `None` when the mover does not check.
    pub check: Option<StreamCheck>,
}

/// `std::io::copy` between the two descriptors (the standard library uses `splice` for pipes on Linux).
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyMover;

impl Mover for CopyMover {
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        _stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        let mut i = File::from(input);
        let mut o = File::from(output);
        let bytes = std::io::copy(&mut i, &mut o)?;
        Ok(Moved { bytes, check: None })
    }
}

/// zfs-stream's [`zfs_stream::Pipeline`] (splice when possible; optional buffer and rate limit). The
/// executor's default.
#[derive(Clone, Copy)]
pub struct PipelineMover<'a> {
    /// Bounded buffer stage of this many bytes (`--mbuffer-size`).
    pub buffer: Option<usize>,
    /// Bytes per second (`--source-bwlimit` / `--target-bwlimit`).
    pub rate_limit: Option<u64>,
    /// Check every record and running fletcher-4 checksum of the send stream in transit
    /// (zfs-stream's inspection; on by default): a corrupt stream stops before the receiver is handed
    /// anything past the damage, and the error names the record and byte offset. A record type from a
    /// newer OpenZFS (with a valid checksum) ends checking and passes the rest through; the receiver
    /// verifies every record itself either way.
    pub verify: bool,
    /// Told how each stream advances (with a `zfs send -nP` estimate per stream); `None`: nothing
    /// polls, no estimate is asked for.
    pub progress: Option<&'a dyn ProgressObserver>,
}

impl std::fmt::Debug for PipelineMover<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineMover")
            .field("buffer", &self.buffer)
            .field("rate_limit", &self.rate_limit)
            .field("verify", &self.verify)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for PipelineMover<'_> {
    /// No buffer, no limit, verifying, no progress.
    fn default() -> Self {
        DEFAULT_MOVER
    }
}

pub(crate) static DEFAULT_MOVER: PipelineMover<'static> = PipelineMover {
    buffer: None,
    rate_limit: None,
    verify: true,
    progress: None,
};

/// How often a [`ProgressObserver`] hears about a moving stream.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Mover for PipelineMover<'_> {
    fn wants_estimate(&self) -> bool {
        self.progress.is_some()
    }

    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        let mut p = zfs_stream::Pipeline::new(input, output).inspect(self.verify);
        if let Some(b) = self.buffer {
            p = p.buffer(b);
        }
        if let Some(r) = self.rate_limit {
            p = p.rate_limit(r);
        }
        if let Some(e) = stream.estimate {
            p = p.size_estimate(e);
        }
        let result = match self.progress {
            None => p.run(),
            Some(observer) => {
                let handle = p.progress();
                let (stop, stopped) = std::sync::mpsc::channel::<()>();
                let result = std::thread::scope(|s| {
                    let handle = &handle;
                    s.spawn(move || {
                        // Wakes every PROGRESS_EVERY until the sender below is dropped.
                        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                            stopped.recv_timeout(PROGRESS_EVERY)
                        {
                            let now = handle.snapshot();
                            if now.done {
                                break; // the final update below says so, once
                            }
                            observer.update(stream, &now);
                        }
                    });
                    let r = p.run();
                    drop(stop);
                    r
                });
                let mut last = handle.snapshot();
                last.done = true;
                observer.update(stream, &last);
                result
            }
        };
        result
            .map(|r| Moved {
                bytes: r.bytes_out,
                check: r.summary.as_ref().and_then(StreamCheck::from_summary),
            })
            .map_err(TransferError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::begin;
    use std::sync::Mutex;

    #[test]
    fn stream_check_reads_the_begin_records() {
        let mut sum = zfs_stream::StreamSummary {
            records: 9,
            complete: true,
            substreams: vec![begin("p/a@s2", 0x22, 0x11), begin("p/a@s3", 0x33, 0x22)],
            ..Default::default()
        };
        let c = StreamCheck::from_summary(&sum).unwrap();
        assert!(c.verified);
        assert_eq!(c.records, 9);
        assert_eq!(c.snapshots[0].from_guid, Some(0x11));
        assert_eq!(c.snapshots[1].guid, 0x33);
        assert_eq!(
            c.describe(),
            "verified 9 records: incremental p/a@s2 (guid 34, from 17); \
             incremental p/a@s3 (guid 51, from 34)"
        );
        sum.unverified_from = Some(zfs_stream::UnknownRecord {
            index: 3,
            offset: 936,
            drr_type: 99,
        });
        assert!(!StreamCheck::from_summary(&sum).unwrap().verified);
        sum.substreams = vec![zfs_stream::record::SubstreamSummary::default()];
        assert_eq!(StreamCheck::from_summary(&sum), None, "no BEGIN read yet");
    }

    /// (label, bytes, estimate, done) per update.
    type Update = (String, u64, Option<u64>, bool);

    #[derive(Default)]
    struct Seen(Mutex<Vec<Update>>);

    impl ProgressObserver for Seen {
        fn update(&self, s: &StreamInfo, p: &zfs_stream::ProgressSnapshot) {
            self.0
                .lock()
                .unwrap()
                .push((s.label.clone(), p.bytes, p.estimate, p.done));
        }
    }

    #[test]
    fn pipeline_mover_tells_its_observer_and_ends_with_done() {
        let seen = Seen::default();
        // 2 MiB at 1 MiB/s: the rate limit keeps it moving past the first 500 ms poll.
        let mover = PipelineMover {
            verify: false,
            progress: Some(&seen),
            rate_limit: Some(1 << 20),
            ..Default::default()
        };
        assert!(mover.wants_estimate() && !PipelineMover::default().wants_estimate());
        let data: Vec<u8> = (0..2u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        let (src_r, mut src_w) = std::io::pipe().unwrap();
        let (mut sink_r, sink_w) = std::io::pipe().unwrap();
        let info = StreamInfo {
            id: 7,
            dataset: "p/a".into(),
            label: "p/a@s2 from @s1".into(),
            estimate: Some(data.len() as u64),
        };
        let moved = std::thread::scope(|s| {
            s.spawn(|| {
                use std::io::Write;
                src_w.write_all(&data).unwrap();
                drop(src_w);
            });
            let reader = s.spawn(move || {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut sink_r, &mut out).unwrap();
                out
            });
            let m = mover
                .transfer(OwnedFd::from(src_r), OwnedFd::from(sink_w), &info)
                .unwrap();
            assert_eq!(reader.join().unwrap(), data);
            m
        });
        assert_eq!(
            moved,
            Moved {
                bytes: data.len() as u64,
                check: None
            }
        );
        let seen = seen.0.into_inner().unwrap();
        let last = seen.last().expect("a final update");
        assert_eq!(
            last,
            &(info.label.clone(), data.len() as u64, info.estimate, true)
        );
        assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
        assert_eq!(seen.iter().filter(|u| u.3).count(), 1, "{seen:?}");
        assert!(
            seen.iter().any(|u| !u.3 && u.1 > 0),
            "polled while moving: {seen:?}"
        );
    }
}
