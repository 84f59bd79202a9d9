//! The movers zfs-sync ships: [`PipelineMover`] (zfs-stream's pipeline, the executor's default, with
//! the in-transit stream check, compression on the wire and progress) and [`CopyMover`] (a plain
//! copy).

use crate::events::Events;
use crate::mover::{Moved, Mover, StreamInfo, TransferError};
use crate::report::StreamCheck;
use std::fs::File;
use std::os::fd::OwnedFd;
use zfs_core::Wire;
use zfs_stream::Codec;

/// `std::io::copy` between the two descriptors (the standard library uses `splice` for pipes on Linux).
/// It converts nothing: a stream whose two ends' wires differ is refused before anything moves.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyMover;

impl Mover for CopyMover {
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        if !stream.wire.passes_through() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "CopyMover cannot turn a {} stream into {}",
                    stream.wire.send, stream.wire.recv
                ),
            )
            .into());
        }
        let mut i = File::from(input);
        let mut o = File::from(output);
        let bytes = std::io::copy(&mut i, &mut o)?;
        Ok(Moved {
            bytes,
            ..Moved::default()
        })
    }
}

/// zfs-stream's codec for a compressed wire (the same frames as the `zstd` and `lz4` tools).
fn codec(wire: Wire) -> Option<Codec> {
    match wire {
        Wire::Plain => None,
        Wire::Zstd { level } => Some(Codec::Zstd { level }),
        Wire::Lz4 => Some(Codec::Lz4),
    }
}

/// zfs-stream's [`zfs_stream::Pipeline`] (splice when possible; optional buffer and rate limit). The
/// executor's default.
///
/// It follows [`StreamInfo::wire`]: what a remote send compressed is decompressed here, checked, and
/// handed plain to a local receive (pull); a local send's plain stream is checked, then compressed
/// for a remote receive (push); a stream whose two ends agree passes as it is (plain: checked;
/// compressed, a relay between two remote hosts: not checked, and [`Moved::unchecked`] says so).
/// Progress counts send-stream bytes; the rate limit applies to the bytes written to the receive
/// (compressed, when they go compressed).
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

    fn converts_wire(&self) -> bool {
        true
    }

    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        let wire = stream.wire;
        let relay = wire.relays_compressed();
        let mut p = zfs_stream::Pipeline::new(input, output).inspect(self.verify && !relay);
        if !wire.passes_through() {
            if let Some(c) = codec(wire.send) {
                p = p.decompress(c);
            }
            if let Some(c) = codec(wire.recv) {
                p = p.compress(c);
            }
        }
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
        let unchecked = (self.verify && relay).then(|| {
            format!(
                "relayed {} between two remote hosts as it came, not decompressed here: not \
                 checked in transit (the receiving zfs verifies every record)",
                wire.send
            )
        });
        result
            .map(|r| Moved {
                bytes: r.stream_bytes,
                check: r.summary.as_ref().and_then(StreamCheck::from_summary),
                unchecked,
            })
            .map_err(TransferError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::begin;
    use crate::wire::WireChoice;
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

    /// A real send stream (`zfs send` of a small filesystem) from zfs-stream's fixtures.
    fn fixture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../zfs-stream/tests/fixtures/full.zstream"
        );
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Moves `input` with `mover` as a stream of `wire`: what came out, and what the mover said.
    fn through(
        mover: &dyn Mover,
        wire: WireChoice,
        input: &[u8],
    ) -> (Vec<u8>, Result<Moved, TransferError>) {
        let (src_r, mut src_w) = std::io::pipe().unwrap();
        let (mut sink_r, sink_w) = std::io::pipe().unwrap();
        let info = StreamInfo {
            label: "p/a@s1".into(),
            wire,
            ..StreamInfo::default()
        };
        std::thread::scope(|s| {
            s.spawn(move || {
                use std::io::Write;
                let _ = src_w.write_all(input);
            });
            let reader = s.spawn(move || {
                let mut out = Vec::new();
                let _ = std::io::Read::read_to_end(&mut sink_r, &mut out);
                out
            });
            let moved = mover.transfer(OwnedFd::from(src_r), OwnedFd::from(sink_w), &info);
            (reader.join().unwrap(), moved)
        })
    }

    fn wire(send: Wire, recv: Wire) -> WireChoice {
        WireChoice { send, recv }
    }

    fn pack(w: Wire, data: &[u8]) -> Vec<u8> {
        zfs_stream::compress::compress_all(codec(w).unwrap(), data).unwrap()
    }

    fn unpack(w: Wire, data: &[u8]) -> Vec<u8> {
        zfs_stream::compress::decompress_all(codec(w).unwrap(), data, 1 << 24).unwrap()
    }

    /// The check of the fixture: verified, one full stream, as the fixture's dump says.
    fn checked_fixture(m: &Moved, len: usize) {
        let c = m.check.as_ref().expect("the stream was checked");
        assert!(c.verified, "{c:?}");
        assert_eq!(c.snapshots.len(), 1, "{c:?}");
        assert_eq!(c.snapshots[0].from_guid, None, "a full stream: {c:?}");
        assert_eq!(m.bytes, len as u64, "stream bytes, not wire bytes");
        assert_eq!(m.unchecked, None);
    }

    #[test]
    fn push_checks_the_plain_stream_then_compresses_it() {
        let stream = fixture();
        let mover = PipelineMover::default();
        assert!(mover.converts_wire() && !CopyMover.converts_wire());
        for w in [Wire::ZSTD, Wire::Zstd { level: 19 }, Wire::Lz4] {
            let (out, moved) = through(&mover, wire(Wire::Plain, w), &stream);
            checked_fixture(&moved.unwrap(), stream.len());
            assert!(out.len() < stream.len(), "{w}: not compressed");
            assert!(
                unpack(w, &out) == stream,
                "{w}: the receive gets another stream"
            );
        }
    }

    #[test]
    fn pull_decompresses_then_checks_the_stream() {
        let stream = fixture();
        let mover = PipelineMover::default();
        for w in [Wire::ZSTD, Wire::Lz4] {
            let (out, moved) = through(&mover, wire(w, Wire::Plain), &pack(w, &stream));
            checked_fixture(&moved.unwrap(), stream.len());
            assert!(out == stream, "{w}: the receive gets another stream");
        }
        // From one codec to the other (two remote hosts with different programs): checked too.
        let (out, moved) = through(
            &mover,
            wire(Wire::Lz4, Wire::ZSTD),
            &pack(Wire::Lz4, &stream),
        );
        checked_fixture(&moved.unwrap(), stream.len());
        assert!(unpack(Wire::ZSTD, &out) == stream);
    }

    #[test]
    fn damage_inside_a_compressed_stream_is_found_after_decompressing() {
        let mut stream = fixture();
        let mid = stream.len() / 2;
        stream[mid] ^= 0x55;
        let (_, moved) = through(
            &PipelineMover::default(),
            wire(Wire::ZSTD, Wire::Plain),
            &pack(Wire::ZSTD, &stream),
        );
        let e = moved.unwrap_err();
        assert!(e.is_damage(), "{e}");
        // A compressed stream cut short is the sender's to explain, not damage.
        let whole = pack(Wire::ZSTD, &fixture());
        let (_, moved) = through(
            &PipelineMover::default(),
            wire(Wire::ZSTD, Wire::Plain),
            &whole[..whole.len() / 2],
        );
        assert!(!moved.unwrap_err().is_damage());
    }

    #[test]
    fn a_compressed_relay_passes_as_it_came_and_says_it_was_not_checked() {
        let stream = fixture();
        for w in [Wire::ZSTD, Wire::Lz4] {
            let packed = pack(w, &stream);
            let (out, moved) = through(&PipelineMover::default(), wire(w, w), &packed);
            let moved = moved.unwrap();
            assert!(out == packed, "{w}: relayed bytes changed");
            assert_eq!(moved.check, None);
            assert_eq!(moved.bytes, packed.len() as u64);
            let why = moved.unchecked.expect("said why it did not check");
            assert!(why.starts_with(&format!("relayed {w} ")), "{why}");
            // Without the check asked for, nothing to say.
            let quiet = PipelineMover {
                verify: false,
                ..Default::default()
            };
            let (out, moved) = through(&quiet, wire(w, w), &packed);
            assert!(out == packed && moved.unwrap().unchecked.is_none());
            // A plain copy relays too.
            let (out, moved) = through(&CopyMover, wire(w, w), &packed);
            assert!(out == packed && moved.unwrap().bytes == packed.len() as u64);
        }
        // Two zstd levels are one format: passed through.
        let packed = pack(Wire::ZSTD, &stream);
        let (out, _) = through(
            &PipelineMover::default(),
            wire(Wire::ZSTD, Wire::Zstd { level: 19 }),
            &packed,
        );
        assert!(out == packed);
    }

    #[test]
    fn a_plain_copy_refuses_to_convert() {
        let (out, moved) = through(&CopyMover, wire(Wire::Plain, Wire::ZSTD), b"stream");
        let e = moved.unwrap_err().to_string();
        assert_eq!(e, "CopyMover cannot turn a plain stream into zstd-3");
        assert!(out.is_empty(), "nothing moved");
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
    fn progress_counts_stream_bytes_across_a_codec() {
        let stream = fixture();
        for w in [wire(Wire::Plain, Wire::ZSTD), wire(Wire::Lz4, Wire::Plain)] {
            let seen = Seen::default();
            let mover = PipelineMover {
                progress: Some(&seen),
                rate_limit: Some(8 << 20),
                ..Default::default()
            };
            let input = if w.send.is_plain() {
                stream.clone()
            } else {
                pack(w.send, &stream)
            };
            let (_, moved) = through(&mover, w, &input);
            checked_fixture(&moved.unwrap(), stream.len());
            let seen = seen.0.into_inner().unwrap();
            let last = seen.last().expect("a final update");
            assert_eq!((last.1, last.3), (stream.len() as u64, true), "{w:?}");
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
            ..StreamInfo::default()
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
                ..Moved::default()
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
