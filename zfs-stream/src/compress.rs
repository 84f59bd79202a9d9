//! zstd and lz4 compression in their standard frame formats, so that either
//! end of a transfer can be zsync or the `zstd` / `lz4` command-line tools.
//!
//! The lz4 encoder is this crate's own frame writer ([`lz4par`]): the frame
//! uses independent 1 MiB blocks (as the `lz4` CLI's default independent
//! blocks do, at 4 MiB), so blocks are compressed in parallel on worker
//! threads (one per core, at most 4) with `lz4_flex`'s block compressor and
//! written in order, each with its xxHash32 block checksum. Memory stays at
//! a few blocks per worker. Decoding uses `lz4_flex`'s checked frame decoder.
//!
//! zstd frames are written by libzstd with its own worker threads (as many
//! as the lz4 encoder uses), one standard frame as the `zstd` CLI writes.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// zstd frames (`zstd -<level>`), level 1..=22 (negative levels are the fast modes).
    Zstd {
        /// Compression level (ignored when decompressing).
        level: i32,
    },
    /// lz4 frames (`lz4`), as the lz4 CLI writes them by default.
    Lz4,
}

impl Codec {
    /// Short name (`zstd`, `lz4`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd { .. } => "zstd",
            Codec::Lz4 => "lz4",
        }
    }

    /// The stage name used in errors.
    pub(crate) fn stage(self, compress: bool) -> &'static str {
        match (self, compress) {
            (Codec::Zstd { .. }, true) => "zstd compression",
            (Codec::Zstd { .. }, false) => "zstd decompression",
            (Codec::Lz4, true) => "lz4 compression",
            (Codec::Lz4, false) => "lz4 decompression",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::Zstd { level } => write!(f, "zstd-{level}"),
            Codec::Lz4 => f.write_str("lz4"),
        }
    }
}

/// Parses `zstd`, `zstd-3`, `zstd:19`, `lz4` (zstd defaults to level 1).
impl FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "lz4" {
            return Ok(Codec::Lz4);
        }
        if s == "zstd" {
            return Ok(Codec::Zstd { level: 1 });
        }
        if let Some(l) = s.strip_prefix("zstd-").or_else(|| s.strip_prefix("zstd:")) {
            let level: i32 = l
                .parse()
                .map_err(|_| format!("bad zstd level {l:?} in compression {s:?}"))?;
            if !(-7..=22).contains(&level) {
                return Err(format!("zstd level {level} out of range -7..=22"));
            }
            return Ok(Codec::Zstd { level });
        }
        Err(format!(
            "unknown compression {s:?} (expected zstd, zstd-N or lz4)"
        ))
    }
}

/// A compressing writer that must be finished to write the frame epilogue.
/// Dropping it unfinished leaves an incomplete frame, which decoders reject:
/// that is how an aborted transfer is made visible to the other end.
pub trait FrameWriter: Write + Send {
    /// Writes the end of the frame and flushes.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

struct ZstdW<W: Write>(zstd::stream::write::Encoder<'static, W>);
impl<W: Write + Send> Write for ZstdW<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FrameWriter for ZstdW<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut w = self.0.finish()?;
        w.flush()
    }
}

pub mod lz4par {
    //! A parallel lz4 frame encoder (standard frame format: magic, FLG/BD
    //! descriptor, independent blocks with block checksums, end mark).

    use std::collections::VecDeque;
    use std::io::{self, Write};
    use std::thread::JoinHandle;

    use crossbeam_channel::{Receiver, Sender};

    use super::FrameWriter;

    /// Uncompressed bytes per block (BD code 6 = 1 MiB).
    pub const BLOCK: usize = 1 << 20;
    const BD_1MIB: u8 = 6 << 4;
    const MAGIC: u32 = 0x184D_2204;
    /// FLG: version 01, independent blocks, block checksums, no content
    /// size, no content checksum (each block carries its own), no dictionary.
    const FLG: u8 = 0b0111_0000;
    /// Stored-uncompressed flag of a block size word.
    const RAW: u32 = 1 << 31;

    /// Worker threads to use: one per available core, at most 4.
    pub fn workers() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
    }

    /// A block to compress: its input, and a buffer to fill (recycled).
    struct Job {
        input: Vec<u8>,
        out: Vec<u8>,
        done: Sender<Done>,
    }

    /// A compressed block: `out[..len]` is the block as written (size word,
    /// data, checksum); `input` comes back for reuse.
    struct Done {
        input: Vec<u8>,
        out: Vec<u8>,
    }

    fn compress_block(input: &[u8], out: &mut Vec<u8>) {
        let max = lz4_flex::block::get_maximum_output_size(input.len());
        if out.len() < 4 + max + 4 {
            out.resize(4 + max + 4, 0);
        }
        let n = match lz4_flex::block::compress_into(input, &mut out[4..4 + max]) {
            Ok(n) if n < input.len() => n as u32,
            // Incompressible (or the bound was somehow too small): store it.
            _ => {
                out[4..4 + input.len()].copy_from_slice(input);
                input.len() as u32 | RAW
            }
        };
        let len = (n & !RAW) as usize;
        out[..4].copy_from_slice(&n.to_le_bytes());
        let sum = twox_hash::XxHash32::oneshot(0, &out[4..4 + len]);
        out[4 + len..8 + len].copy_from_slice(&sum.to_le_bytes());
        out.truncate(8 + len);
    }

    fn worker(jobs: Receiver<Job>) {
        for Job {
            input,
            mut out,
            done,
        } in jobs
        {
            compress_block(&input, &mut out);
            // The encoder may be gone (dropped unfinished): nothing to do.
            let _ = done.send(Done { input, out });
        }
    }

    /// The parallel lz4 frame writer. Dropping it unfinished leaves the
    /// frame without its end mark (decoders report it truncated) and stops
    /// the workers.
    pub struct ParLz4<W: Write> {
        inner: Option<W>,
        cur: Vec<u8>,
        jobs: Option<Sender<Job>>,
        pending: VecDeque<Receiver<Done>>,
        free: Vec<(Vec<u8>, Vec<u8>)>,
        max_pending: usize,
        threads: Vec<JoinHandle<()>>,
    }

    impl<W: Write> ParLz4<W> {
        /// A frame writer into `inner` with `workers` compressing threads
        /// (0 compresses in the calling thread).
        pub fn new(mut inner: W, workers: usize) -> io::Result<Self> {
            let mut header = MAGIC.to_le_bytes().to_vec();
            header.extend([FLG, BD_1MIB]);
            let hc = (twox_hash::XxHash32::oneshot(0, &header[4..6]) >> 8) as u8;
            header.push(hc);
            inner.write_all(&header)?;
            let (tx, rx) = crossbeam_channel::bounded::<Job>(workers.max(1));
            let mut threads = Vec::new();
            for _ in 0..workers {
                let rx = rx.clone();
                threads.push(
                    std::thread::Builder::new()
                        .name("lz4".into())
                        .spawn(move || worker(rx))?,
                );
            }
            Ok(ParLz4 {
                inner: Some(inner),
                cur: Vec::with_capacity(BLOCK),
                jobs: (workers > 0).then_some(tx),
                pending: VecDeque::new(),
                free: Vec::new(),
                // Two blocks per worker in flight keeps every worker busy
                // while the oldest is written; memory ~ 4 MiB per worker.
                max_pending: 2 * workers,
                threads,
            })
        }

        fn write_block(&mut self, d: Done) -> io::Result<()> {
            let w = self
                .inner
                .as_mut()
                .ok_or_else(|| io::Error::other("lz4 frame already finished"))?;
            w.write_all(&d.out)?;
            self.free.push((d.input, d.out));
            Ok(())
        }

        fn wait_oldest(&mut self) -> io::Result<()> {
            if let Some(rx) = self.pending.pop_front() {
                let d = rx
                    .recv()
                    .map_err(|_| io::Error::other("an lz4 worker thread stopped"))?;
                self.write_block(d)?;
            }
            Ok(())
        }

        /// Hands the current block to a worker (or compresses it here).
        fn submit(&mut self) -> io::Result<()> {
            if self.cur.is_empty() {
                return Ok(());
            }
            let (mut input, out) = self.free.pop().unwrap_or_default();
            input.clear();
            std::mem::swap(&mut input, &mut self.cur);
            let Some(jobs) = &self.jobs else {
                let mut out = out;
                compress_block(&input, &mut out);
                return self.write_block(Done { input, out });
            };
            if self.cur.capacity() < BLOCK {
                self.cur.reserve_exact(BLOCK);
            }
            let (done, rx) = crossbeam_channel::bounded(1);
            jobs.send(Job { input, out, done })
                .map_err(|_| io::Error::other("the lz4 worker threads stopped"))?;
            self.pending.push_back(rx);
            while self.pending.len() >= self.max_pending {
                self.wait_oldest()?;
            }
            Ok(())
        }

        fn stop_workers(&mut self) {
            self.jobs.take();
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }

    impl<W: Write> Write for ParLz4<W> {
        fn write(&mut self, mut b: &[u8]) -> io::Result<usize> {
            let n = b.len();
            while !b.is_empty() {
                let take = (BLOCK - self.cur.len()).min(b.len());
                self.cur.extend_from_slice(&b[..take]);
                b = &b[take..];
                if self.cur.len() == BLOCK {
                    self.submit()?;
                }
            }
            Ok(n)
        }
        /// Writes out every finished block (a partial block stays buffered:
        /// flushing it would shorten blocks for no benefit in a stream).
        fn flush(&mut self) -> io::Result<()> {
            while !self.pending.is_empty() {
                self.wait_oldest()?;
            }
            match self.inner.as_mut() {
                Some(w) => w.flush(),
                None => Ok(()),
            }
        }
    }

    impl<W: Write> ParLz4<W> {
        /// Compresses what is buffered, writes the end mark and returns the
        /// inner writer (flushed).
        pub fn finish_into(mut self) -> io::Result<W> {
            self.submit()?;
            while !self.pending.is_empty() {
                self.wait_oldest()?;
            }
            self.stop_workers();
            let mut w = self
                .inner
                .take()
                .ok_or_else(|| io::Error::other("lz4 frame already finished"))?;
            w.write_all(&0u32.to_le_bytes())?;
            w.flush()?;
            Ok(w)
        }
    }

    impl<W: Write> Drop for ParLz4<W> {
        fn drop(&mut self) {
            self.pending.clear();
            self.stop_workers();
        }
    }

    impl<W: Write + Send> FrameWriter for ParLz4<W> {
        fn finish(self: Box<Self>) -> io::Result<()> {
            (*self).finish_into().map(|_| ())
        }
    }
}

/// No compression: finishing just flushes.
pub(crate) struct PlainW<W: Write>(pub W);
impl<W: Write + Send> Write for PlainW<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FrameWriter for PlainW<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

/// A writer compressing into `inner`.
pub fn encoder<W: Write + Send + 'static>(
    codec: Codec,
    inner: W,
) -> io::Result<Box<dyn FrameWriter>> {
    Ok(match codec {
        Codec::Zstd { level } => {
            let mut e = zstd::stream::write::Encoder::new(inner, level)?;
            // Let the CLI's `--content-size`-less streaming mode apply; add a checksum like the CLI.
            e.include_checksum(true)?;
            // Compress in zstd's worker threads while this thread feeds them.
            e.multithread(lz4par::workers() as u32)?;
            Box::new(ZstdW(e))
        }
        Codec::Lz4 => Box::new(lz4par::ParLz4::new(inner, lz4par::workers())?),
    })
}

/// A reader decompressing from `inner` (concatenated frames are accepted;
/// a frame cut short is an error, not a silent EOF).
pub fn decoder<R: Read + Send + 'static>(
    codec: Codec,
    inner: R,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match codec {
        Codec::Zstd { .. } => Box::new(zstd::stream::read::Decoder::new(inner)?),
        Codec::Lz4 => Box::new(Lz4EndCheck {
            dec: Some(lz4_flex::frame::FrameDecoder::new(FrameTracker {
                inner,
                st: Track::Magic { have: 0, v: [0; 4] },
                frames: 0,
                consumed: 0,
            })),
        }),
    })
}

/// Where the byte stream is in the lz4 frame structure. Only framing is
/// followed (sizes and flags); the decoder validates everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Track {
    /// Reading a frame's magic number (`have` bytes of it so far).
    Magic { have: usize, v: [u8; 4] },
    /// Reading the frame descriptor: FLG, BD, options, header checksum.
    Desc { have: usize, len: usize, flg: u8 },
    /// Reading a block size word (0 = end mark).
    BlockSize { have: usize, v: [u8; 4], flg: u8 },
    /// Skipping `left` bytes, then going to `then`.
    Skip { left: u64, then: After, flg: u8 },
    /// Reading a skippable frame's size word.
    SkipSize { have: usize, v: [u8; 4] },
    /// A legacy frame: blocks until EOF or a new magic (not tracked further).
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    NextBlock,
    NextFrame,
}

/// Passes bytes through to the lz4 frame decoder while following the frame
/// structure, so that EOF can be judged: `lz4_flex` treats EOF where a block
/// size word should be as a clean end even without the frame's end mark,
/// which would let a stream cut at a block boundary pass as complete.
struct FrameTracker<R> {
    inner: R,
    st: Track,
    frames: u64,
    consumed: u64,
}

impl<R> FrameTracker<R> {
    /// Whether the bytes so far end exactly after a complete frame.
    fn complete(&self) -> bool {
        self.frames > 0 && self.at_frame_boundary()
    }

    /// Whether the next byte would start a new frame.
    fn at_frame_boundary(&self) -> bool {
        matches!(self.st, Track::Magic { have: 0, .. } | Track::Legacy)
    }

    fn advance(&mut self, mut b: &[u8]) {
        const LZ4: u32 = 0x184D_2204;
        const LEGACY: u32 = 0x184C_2102;
        while !b.is_empty() {
            match &mut self.st {
                Track::Legacy => return,
                Track::Skip { left, then, flg } => {
                    let k = (*left).min(b.len() as u64);
                    *left -= k;
                    b = &b[k as usize..];
                    if *left == 0 {
                        self.st = match then {
                            After::NextBlock => Track::BlockSize {
                                have: 0,
                                v: [0; 4],
                                flg: *flg,
                            },
                            After::NextFrame => {
                                self.frames += 1;
                                Track::Magic { have: 0, v: [0; 4] }
                            }
                        };
                    }
                }
                Track::Magic { have, v } | Track::SkipSize { have, v } => {
                    let k = (4 - *have).min(b.len());
                    v[*have..*have + k].copy_from_slice(&b[..k]);
                    *have += k;
                    b = &b[k..];
                    if *have < 4 {
                        continue;
                    }
                    let word = u32::from_le_bytes(*v);
                    self.st = match self.st {
                        Track::SkipSize { .. } => Track::Skip {
                            left: word as u64,
                            then: After::NextFrame,
                            flg: 0,
                        },
                        _ if word == LZ4 => Track::Desc {
                            have: 0,
                            len: 3,
                            flg: 0,
                        },
                        _ if word & 0xFFFF_FFF0 == 0x184D_2A50 => {
                            Track::SkipSize { have: 0, v: [0; 4] }
                        }
                        _ if word == LEGACY => {
                            self.frames += 1;
                            Track::Legacy
                        }
                        // Not a frame: the decoder reports it; stop tracking.
                        _ => Track::Legacy,
                    };
                }
                Track::Desc { have, len, flg } => {
                    if *have == 0 {
                        *flg = b[0];
                        // FLG, BD, [content size], [dictionary id], header checksum.
                        *len = 3
                            + if *flg & 0x08 != 0 { 8 } else { 0 }
                            + if *flg & 0x01 != 0 { 4 } else { 0 };
                    }
                    let k = (*len - *have).min(b.len());
                    *have += k;
                    b = &b[k..];
                    if *have == *len {
                        self.st = Track::BlockSize {
                            have: 0,
                            v: [0; 4],
                            flg: *flg,
                        };
                    }
                }
                Track::BlockSize { have, v, flg } => {
                    let k = (4 - *have).min(b.len());
                    v[*have..*have + k].copy_from_slice(&b[..k]);
                    *have += k;
                    b = &b[k..];
                    if *have < 4 {
                        continue;
                    }
                    let flg = *flg;
                    let word = u32::from_le_bytes(*v);
                    self.st = if word == 0 {
                        // End mark, then the content checksum if flagged.
                        let left = if flg & 0x04 != 0 { 4 } else { 0 };
                        if left == 0 {
                            self.frames += 1;
                            Track::Magic { have: 0, v: [0; 4] }
                        } else {
                            Track::Skip {
                                left,
                                then: After::NextFrame,
                                flg,
                            }
                        }
                    } else {
                        let data = (word & 0x7FFF_FFFF) as u64;
                        let sum = if flg & 0x10 != 0 { 4 } else { 0 };
                        Track::Skip {
                            left: data + sum,
                            then: After::NextBlock,
                            flg,
                        }
                    };
                }
            }
        }
    }
}

impl<R: Read> Read for FrameTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        self.advance(&buf[..n]);
        Ok(n)
    }
}

/// The lz4 frame decoder, with EOF accepted only after a complete frame,
/// and concatenated frames read each with a fresh decoder (`lz4_flex` ends
/// `read` at every frame's end and is not meant to be read past it).
struct Lz4EndCheck<R: Read> {
    dec: Option<lz4_flex::frame::FrameDecoder<FrameTracker<R>>>,
}

impl<R: Read> Read for Lz4EndCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(dec) = self.dec.as_mut() else {
            return Ok(0);
        };
        let mut before = dec.get_ref().consumed;
        loop {
            let Some(dec) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = dec.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let t = dec.get_ref();
            if t.consumed == before {
                // No input left: a clean end only right after a complete frame.
                if !t.complete() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "lz4 stream ends inside a frame (no end mark)",
                    ));
                }
                return Ok(0);
            }
            before = t.consumed;
            if t.at_frame_boundary() {
                // A frame ended: the next one (if any) gets a fresh decoder.
                if let Some(d) = self.dec.take() {
                    self.dec = Some(lz4_flex::frame::FrameDecoder::new(d.into_inner()));
                }
            }
        }
    }
}

/// Decompresses a whole buffer, refusing to produce more than `limit` bytes.
pub fn decompress_all(codec: Codec, data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let owned = data.to_vec();
    let d = decoder(codec, io::Cursor::new(owned))?;
    d.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(io::Error::other(format!(
            "decompressed data exceeds the {limit}-byte limit"
        )));
    }
    Ok(out)
}

/// Compresses a whole buffer into one frame.
pub fn compress_all(codec: Codec, data: &[u8]) -> io::Result<Vec<u8>> {
    let buf = SharedVec::default();
    let mut e = encoder(codec, buf.clone())?;
    e.write_all(data)?;
    e.finish()?;
    Ok(buf.take())
}

#[derive(Clone, Default)]
struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl SharedVec {
    fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}
impl Write for SharedVec {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self.0.lock() {
            Ok(mut g) => g.extend_from_slice(b),
            Err(p) => p.into_inner().extend_from_slice(b),
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trips() {
        let d = data();
        for c in [
            Codec::Zstd { level: 1 },
            Codec::Zstd { level: 5 },
            Codec::Lz4,
        ] {
            let z = compress_all(c, &d).unwrap();
            assert!(z.len() < d.len() / 4, "{c} did not compress");
            assert_eq!(decompress_all(c, &z, d.len()).unwrap(), d, "{c}");
        }
    }

    #[test]
    fn truncated_frames_are_errors() {
        let d = data();
        for c in [Codec::Zstd { level: 1 }, Codec::Lz4] {
            let z = compress_all(c, &d).unwrap();
            for cut in [z.len() / 2, z.len() - 1] {
                assert!(
                    decompress_all(c, &z[..cut], d.len()).is_err(),
                    "{c} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn limit_is_enforced() {
        let d = data();
        let z = compress_all(Codec::Lz4, &d).unwrap();
        assert!(decompress_all(Codec::Lz4, &z, 1000).is_err());
    }

    fn lz4_cli() -> bool {
        std::process::Command::new("lz4")
            .arg("-V")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    }

    /// Decodes with the real `lz4` CLI (None when it is not installed).
    fn cli_decode(frame: &[u8]) -> Option<Vec<u8>> {
        use std::process::{Command, Stdio};
        if !lz4_cli() {
            return None;
        }
        let mut child = Command::new("lz4")
            .args(["-d", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let input = frame.to_vec();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().ok()?;
        feeder.join().ok()?.ok()?;
        assert!(out.status.success(), "lz4 -d refused our frame");
        Some(out.stdout)
    }

    #[test]
    fn parallel_lz4_frames_decode_with_lz4_flex_and_the_cli() {
        use lz4par::{ParLz4, BLOCK};
        let text = data();
        // Incompressible bytes exercise stored (raw) blocks.
        let noise: Vec<u8> = (0..(BLOCK as u32 + 777))
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let mut cases: Vec<Vec<u8>> = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + BLOCK / 2]
            .iter()
            .map(|&n| text.iter().copied().cycle().take(n).collect())
            .collect();
        cases.push(noise);
        for workers in [0, 1, 2, 3] {
            for input in &cases {
                let mut e = ParLz4::new(Vec::new(), workers).unwrap();
                // Odd write sizes cross block boundaries.
                for piece in input.chunks(300_007) {
                    e.write_all(piece).unwrap();
                }
                let frame = e.finish_into().unwrap();
                let n = input.len();
                assert_eq!(
                    decompress_all(Codec::Lz4, &frame, n).unwrap(),
                    *input,
                    "{workers} workers, {n} bytes"
                );
                if workers == 2 {
                    if let Some(back) = cli_decode(&frame) {
                        assert_eq!(back, *input, "lz4 -d, {n} bytes");
                    }
                }
            }
        }
    }

    #[test]
    fn lz4_cut_at_any_block_boundary_is_an_error() {
        let input: Vec<u8> = data()
            .into_iter()
            .cycle()
            .take(3 * lz4par::BLOCK + 5)
            .collect();
        let frame = compress_all(Codec::Lz4, &input).unwrap();
        // Walk the blocks: 7-byte header, then (size word, data, checksum)*, end mark.
        let mut cuts = vec![4, 7];
        let mut at = 7;
        loop {
            let word = u32::from_le_bytes(frame[at..at + 4].try_into().unwrap());
            if word == 0 {
                break;
            }
            at += 4 + (word & 0x7FFF_FFFF) as usize + 4;
            cuts.extend([at - 4, at]);
        }
        assert_eq!(at + 4, frame.len());
        cuts.extend([frame.len() - 2, frame.len() - 1]);
        for cut in cuts {
            assert!(
                decompress_all(Codec::Lz4, &frame[..cut], input.len()).is_err(),
                "cut at {cut} of {}",
                frame.len()
            );
        }
        assert_eq!(
            decompress_all(Codec::Lz4, &frame, input.len()).unwrap(),
            input
        );
        // Frames back to back are one stream, also with different block modes
        // (a linked-block frame as the lz4 CLI writes with -BD, then ours):
        // the fuzzer found that one decoder read past a frame's end trips
        // lz4_flex's internal assertions, so each frame gets a fresh decoder.
        let flex = |mode| {
            let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(
                lz4_flex::frame::FrameInfo::new()
                    .block_mode(mode)
                    .block_size(lz4_flex::frame::BlockSize::Max64KB),
                Vec::new(),
            );
            e.write_all(&input[..200_000]).unwrap();
            e.finish().unwrap()
        };
        let mixed = [
            flex(lz4_flex::frame::BlockMode::Linked),
            flex(lz4_flex::frame::BlockMode::Independent),
            frame.clone(),
        ]
        .concat();
        let back = decompress_all(Codec::Lz4, &mixed, 400_000 + input.len()).unwrap();
        assert_eq!(back.len(), 400_000 + input.len());
        assert_eq!(&back[..200_000], &back[200_000..400_000]);
        assert_eq!(&back[400_000..], &input[..]);
        let two = [frame.clone(), frame].concat();
        assert_eq!(
            decompress_all(Codec::Lz4, &two, 2 * input.len())
                .unwrap()
                .len(),
            2 * input.len()
        );
    }

    #[test]
    fn parallel_lz4_dropped_unfinished_is_truncated_and_joins() {
        let d = data();
        let buf = SharedVec::default();
        let mut e = lz4par::ParLz4::new(buf.clone(), 2).unwrap();
        e.write_all(&d).unwrap();
        e.write_all(&d).unwrap();
        e.flush().unwrap();
        drop(e);
        let frame = buf.take();
        assert!(frame.len() > 7);
        assert!(decompress_all(Codec::Lz4, &frame, 4 * d.len()).is_err());
    }

    #[test]
    fn parses_names() {
        assert_eq!("zstd".parse::<Codec>(), Ok(Codec::Zstd { level: 1 }));
        assert_eq!("zstd-19".parse::<Codec>(), Ok(Codec::Zstd { level: 19 }));
        assert_eq!("LZ4".parse::<Codec>(), Ok(Codec::Lz4));
        assert!("gzip".parse::<Codec>().is_err());
        assert!("zstd-40".parse::<Codec>().is_err());
    }
}
