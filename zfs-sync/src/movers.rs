//! The movers zfs-sync ships: [`PipelineMover`] (zfs-stream's pipeline, the executor's default, with
//! the in-transit stream check and progress) and [`CopyMover`] (a plain copy).

use crate::events::Events;
use crate::mover::{Moved, Mover, StreamInfo, TransferError};
use crate::report::StreamCheck;
use std::fs::File;
use std::os::fd::OwnedFd;

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
    /// Told how each stream advances ([`Events::stream_progress`], about twice a second from a polling
    /// thread and once more when the stream ended; with a `zfs send -nP` estimate per stream);
    /// `None`: nothing polls, no estimate is asked for.
    pub progress: Option<&'a dyn Events>,
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

/// How often [`PipelineMover::progress`] hears about a moving stream.
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
                            observer.stream_progress(stream, &now);
                        }
                    });
                    let r = p.run();
                    drop(stop);
                    r
                });
                let mut last = handle.snapshot();
                last.done = true;
                observer.stream_progress(stream, &last);
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

    impl Events for Seen {
        fn stream_progress(&self, s: &StreamInfo, p: &zfs_stream::ProgressSnapshot) {
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
