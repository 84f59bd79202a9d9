//! The buffered engine: a reader thread and a writer thread passing buffers
//! from a fixed-size pool over crossbeam channels (what `mbuffer` does),
//! with the transforming stages on either thread:
//!
//! ```text
//! source fd -> [decompress] ==pool buffers==> [inspect] -> [compress] -> [rate limit] -> sink fd
//!              '--- reader thread ---'          '-------------- writer thread -------------'
//! ```
//!
//! The writer inspects each buffer before it writes any of it, so nothing of a
//! buffer reaches the sink before all of it passed inspection, and checking one
//! buffer overlaps with reading the next (the copy out of the source and the
//! fletcher-4 pass run on two cores instead of one after the other).
//!
//! Buffers are allocated only when the writer lags (up to the pool size), so
//! memory stays at what the backlog needs and never exceeds the configured
//! size. Either thread failing wakes the other (a wake pipe polled next to
//! the fds) and the sink is closed without completing the stream.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};

use crate::compress::{self, Codec, FrameWriter, PlainW};
use crate::progress::Progress;
use crate::ratelimit::RateLimiter;
use crate::record::{StreamInspector, StreamSummary};
use crate::sys;

/// Size of the pool when none is configured.
pub const DEFAULT_BUFFER: usize = 64 << 20;
/// Largest single read.
const READ_PIECE: usize = 256 << 10;
/// Inspection runs over a buffer in pieces of this size, each written right after it passed.
const INSPECT_PIECE: usize = 256 << 10;
/// Largest single buffer of the pool.
pub const MAX_CHUNK: usize = 1 << 20;

/// Why a thread stopped (turned into a `PipeError` by the pipeline).
#[derive(Debug)]
pub(crate) enum Fail {
    Source(io::Error),
    Sink(io::Error),
    Stage(&'static str, io::Error),
    Stream(crate::error::StreamError),
    Setup(io::Error),
    /// Stopped because the other side failed.
    Aborted,
}

/// State shared by the two threads.
pub(crate) struct Shared {
    aborted: AtomicBool,
    /// 1 = reader failed first, 2 = writer failed first.
    first: AtomicU8,
    wake_r: OwnedFd,
    wake_w: OwnedFd,
    pub(crate) progress: Progress,
}

impl Shared {
    pub(crate) fn new(progress: Progress) -> io::Result<Self> {
        let (wake_r, wake_w) = sys::pipe()?;
        Ok(Shared {
            aborted: AtomicBool::new(false),
            first: AtomicU8::new(0),
            wake_r,
            wake_w,
            progress,
        })
    }
    fn abort(&self, who: u8) {
        let _ = self
            .first
            .compare_exchange(0, who, Ordering::AcqRel, Ordering::Acquire);
        if !self.aborted.swap(true, Ordering::AcqRel) {
            let _ = sys::write(self.wake_w.as_fd(), &[1]);
        }
    }
    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }
}

fn aborted_error() -> io::Error {
    io::Error::other("pipe aborted by the other side")
}

type ErrSlot = Arc<Mutex<Option<io::Error>>>;

fn copy_err(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Keeps the fd's own error (the decoder/encoder above may rewrap what it
/// gets) and returns a copy to propagate.
fn stash(slot: &ErrSlot, e: io::Error) -> io::Error {
    let ret = copy_err(&e);
    if let Ok(mut g) = slot.lock() {
        if g.is_none() {
            *g = Some(e);
        }
    }
    ret
}

fn take(slot: &ErrSlot) -> Option<io::Error> {
    slot.lock().ok().and_then(|mut g| g.take())
}

/// Runs one `read`/`write` (`op`) on `fd` once poll says it is ready (for writing when `write`),
/// retrying after `EINTR` and `EAGAIN`; fails with the abort error once the pipe is aborted. The
/// fd's own errors are kept in `err`.
fn when_ready(
    fd: BorrowedFd<'_>,
    write: bool,
    shared: &Shared,
    err: &ErrSlot,
    mut op: impl FnMut() -> io::Result<usize>,
) -> io::Result<usize> {
    loop {
        if shared.is_aborted() {
            return Err(aborted_error());
        }
        match sys::wait_ready(fd, write, shared.wake_r.as_fd()) {
            Ok(true) => {}
            Ok(false) => return Err(aborted_error()),
            Err(e) => return Err(stash(err, e)),
        }
        match op() {
            Ok(n) => return Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                continue
            }
            Err(e) => return Err(stash(err, e)),
        }
    }
}

/// Reads the source fd, waking up when the pipe is aborted.
struct FdReader {
    fd: OwnedFd,
    shared: Arc<Shared>,
    err: ErrSlot,
}

impl Read for FdReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = when_ready(self.fd.as_fd(), false, &self.shared, &self.err, || {
            sys::read(self.fd.as_fd(), buf)
        })?;
        self.shared.progress.add_in(n as u64);
        Ok(n)
    }
}

/// Writes the sink fd, rate limited, waking up when the pipe is aborted.
struct FdWriter {
    fd: OwnedFd,
    shared: Arc<Shared>,
    err: ErrSlot,
    limiter: Option<RateLimiter>,
}

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut want = buf.len();
        if let Some(l) = &mut self.limiter {
            want = want.min(l.burst() as usize).max(1);
        }
        let n = when_ready(self.fd.as_fd(), true, &self.shared, &self.err, || {
            sys::write(self.fd.as_fd(), &buf[..want])
        })?;
        if n == 0 && want > 0 {
            let e = io::Error::new(io::ErrorKind::WriteZero, "sink accepted no bytes");
            return Err(stash(&self.err, e));
        }
        if let Some(l) = &mut self.limiter {
            l.acquire(n as u64);
        }
        self.shared.progress.add_out(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Msg {
    Data(Vec<u8>, usize),
    Eof,
}

/// The buffer pool, reader side: hands out returned buffers first and
/// allocates new ones only while fewer than `max` exist.
struct Pool {
    free_rx: Receiver<Vec<u8>>,
    allocated: usize,
    max: usize,
    chunk: usize,
}

impl Pool {
    fn get(&mut self) -> Option<Vec<u8>> {
        if let Ok(b) = self.free_rx.try_recv() {
            return Some(b);
        }
        if self.allocated < self.max {
            self.allocated += 1;
            return Some(vec![0u8; self.chunk]);
        }
        self.free_rx.recv().ok()
    }
}

/// Configuration of one buffered run.
pub(crate) struct BufferedRun {
    pub src: OwnedFd,
    pub sink: OwnedFd,
    pub size: usize,
    pub decompress: Option<Codec>,
    pub compress: Option<Codec>,
    pub inspect: bool,
    pub limiter: Option<RateLimiter>,
}

/// The pool geometry for a buffer of `size` bytes: (chunk size, number of chunks).
pub fn geometry(size: usize) -> (usize, usize) {
    let size = size.max(8192);
    let chunk = (size / 4).clamp(4096, MAX_CHUNK);
    (chunk, (size / chunk).max(2))
}

impl BufferedRun {
    pub(crate) fn run(self, progress: Progress) -> Result<Option<StreamSummary>, Fail> {
        let shared = Arc::new(Shared::new(progress).map_err(Fail::Setup)?);
        let (chunk, count) = geometry(self.size);
        let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(count);
        let (data_tx, data_rx) = crossbeam_channel::bounded::<Msg>(count + 1);
        let pool = Pool {
            free_rx,
            allocated: 0,
            max: count,
            chunk,
        };
        let BufferedRun {
            src,
            sink,
            decompress,
            compress,
            inspect,
            limiter,
            ..
        } = self;
        let (rs, ws) = (shared.clone(), shared.clone());
        let (r, w) = std::thread::scope(|s| {
            let r = s.spawn(move || {
                let _g = sys::SigpipeGuard::new();
                let res = reader(src, &rs, pool, data_tx, decompress);
                if res.is_err() {
                    rs.abort(1);
                }
                res
            });
            let w = s.spawn(move || {
                let _g = sys::SigpipeGuard::new();
                let res = writer(sink, &ws, data_rx, free_tx, compress, limiter, inspect);
                if res.is_err() {
                    ws.abort(2);
                }
                res
            });
            (r.join(), w.join())
        });
        let panicked = |_| Fail::Stage("pipe thread", io::Error::other("a pipe thread panicked"));
        let r = r.map_err(panicked).and_then(|x| x);
        let w = w.map_err(panicked).and_then(|x| x);
        match (r, w) {
            (Ok(()), Ok(summary)) => Ok(summary),
            (Err(Fail::Aborted), Err(e)) | (Err(e), Err(Fail::Aborted)) => Err(e),
            (Err(re), Err(we)) => {
                if shared.first.load(Ordering::Acquire) == 2 {
                    Err(we)
                } else {
                    Err(re)
                }
            }
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        }
    }
}

fn reader(
    src: OwnedFd,
    shared: &Arc<Shared>,
    mut pool: Pool,
    data_tx: Sender<Msg>,
    decompress: Option<Codec>,
) -> Result<(), Fail> {
    let err: ErrSlot = Arc::default();
    sys::grow_pipe(src.as_fd());
    let raw = FdReader {
        fd: src,
        shared: shared.clone(),
        err: err.clone(),
    };
    let mut input: Box<dyn Read + Send> = match decompress {
        Some(c) => compress::decoder(c, raw).map_err(|e| Fail::Stage(c.stage(false), e))?,
        None => Box::new(raw),
    };
    let classify = |e: io::Error| -> Fail {
        if shared.is_aborted() {
            Fail::Aborted
        } else if let Some(src_err) = take(&err) {
            Fail::Source(src_err)
        } else if let Some(c) = decompress {
            Fail::Stage(c.stage(false), e)
        } else {
            Fail::Source(e)
        }
    };
    loop {
        let Some(mut buf) = pool.get() else {
            return Err(Fail::Aborted);
        };
        let mut filled = 0;
        let mut eof = false;
        while filled < buf.len() {
            let end = (filled + READ_PIECE).min(buf.len());
            match input.read(&mut buf[filled..end]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    filled += n;
                    // Hand over early when the writer is idle.
                    if data_tx.is_empty() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted && !shared.is_aborted() => {}
                Err(e) => return Err(classify(e)),
            }
        }
        if filled > 0 {
            shared.progress.add_stream(filled as u64);
            data_tx
                .send(Msg::Data(buf, filled))
                .map_err(|_| Fail::Aborted)?;
        }
        if eof {
            data_tx.send(Msg::Eof).map_err(|_| Fail::Aborted)?;
            return Ok(());
        }
    }
}

fn writer(
    sink: OwnedFd,
    shared: &Arc<Shared>,
    data_rx: Receiver<Msg>,
    free_tx: Sender<Vec<u8>>,
    compress: Option<Codec>,
    limiter: Option<RateLimiter>,
    inspect: bool,
) -> Result<Option<StreamSummary>, Fail> {
    let err: ErrSlot = Arc::default();
    sys::grow_pipe(sink.as_fd());
    let raw = FdWriter {
        fd: sink,
        shared: shared.clone(),
        err: err.clone(),
        limiter,
    };
    let mut out: Box<dyn FrameWriter> = match compress {
        Some(c) => compress::encoder(c, raw).map_err(|e| Fail::Stage(c.stage(true), e))?,
        None => Box::new(PlainW(raw)),
    };
    let classify = |e: io::Error| -> Fail {
        if shared.is_aborted() {
            Fail::Aborted
        } else if let Some(sink_err) = take(&err) {
            Fail::Sink(sink_err)
        } else if let Some(c) = compress {
            Fail::Stage(c.stage(true), e)
        } else {
            Fail::Sink(e)
        }
    };
    let mut inspector = inspect.then(StreamInspector::new);
    loop {
        match data_rx.recv() {
            Ok(Msg::Data(buf, n)) => {
                match &mut inspector {
                    // Check a piece, then write it while the next one is checked from cache.
                    Some(i) => {
                        for piece in buf[..n].chunks(INSPECT_PIECE) {
                            i.feed(piece).map_err(Fail::Stream)?;
                            out.write_all(piece).map_err(classify)?;
                        }
                    }
                    None => out.write_all(&buf[..n]).map_err(classify)?,
                }
                let _ = free_tx.send(buf);
            }
            Ok(Msg::Eof) => {
                let summary = match &mut inspector {
                    Some(i) => Some(i.finish().map_err(Fail::Stream)?),
                    None => None,
                };
                out.finish().map_err(classify)?;
                return Ok(summary);
            }
            // The reader stopped without EOF: drop `out` unfinished.
            Err(_) => return Err(Fail::Aborted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_stays_within_the_size() {
        for size in [0usize, 4096, 65536, 1 << 20, 64 << 20, 1 << 30] {
            let (chunk, n) = geometry(size);
            assert!(n >= 2);
            assert!(chunk * n <= size.max(8192), "{size}: {chunk}x{n}");
            assert!(chunk <= MAX_CHUNK);
        }
        assert_eq!(geometry(64 << 20), (1 << 20, 64));
    }
}
