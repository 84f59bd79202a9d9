//! The pipe engine: moves bytes from a source fd to a sink fd.
//!
//! With no transforming stage (no buffer, compression, decompression or
//! inspection) the bytes move with `splice(2)` through an internal pipe
//! (source → pipe → sink), so they never enter user space; where the kernel
//! refuses (`EINVAL`, e.g. a sink opened with `O_APPEND`) it falls back to
//! `read`/`write`. Rate limiting and progress work on both paths. Inspection
//! alone keeps the spliced path: `tee(2)` duplicates each piece (page
//! references, no copy) into a second pipe, the same thread reads the
//! duplicate back and checks it, and only then splices the piece on. Any
//! other stage switches to the two-thread buffered engine ([`crate::buffer`]).
//!
//! Errors say which side failed and how many bytes had passed. On any error
//! the sink is closed without completing the stream (no compression epilogue,
//! no further bytes), so a receiver sees an aborted stream rather than a
//! clean EOF. All threads are joined and all fds closed before `run` returns.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::buffer::{BufferedRun, Fail, DEFAULT_BUFFER};
use crate::compress::Codec;
use crate::error::PipeError;
use crate::progress::Progress;
use crate::ratelimit::{Clock, RateLimiter, SystemClock};
use crate::record::{StreamInspector, StreamSummary};
use crate::sys;

/// How the bytes were moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `splice(2)` through an internal pipe.
    Splice,
    /// `read`/`write` in one thread (splice was refused or disabled).
    Copy,
    /// Reader and writer threads over the buffer pool.
    Buffered,
}

/// What a finished pipe did.
#[derive(Debug, Clone, PartialEq)]
pub struct PipeReport {
    /// Bytes read from the source.
    pub bytes_in: u64,
    /// Bytes written to the sink.
    pub bytes_out: u64,
    /// Send-stream bytes (after decompression, before compression).
    pub stream_bytes: u64,
    /// Wall time of `run`.
    pub duration: Duration,
    /// The path taken.
    pub method: Method,
    /// The stream summary, when inspection was on.
    pub summary: Option<StreamSummary>,
}

/// A configured transfer from a source fd to a sink fd. Build with
/// [`Pipeline::new`] and the stage methods, then [`run`](Self::run).
pub struct Pipeline {
    src: OwnedFd,
    sink: OwnedFd,
    buffer: Option<usize>,
    rate: Option<u64>,
    compress: Option<Codec>,
    decompress: Option<Codec>,
    inspect: bool,
    splice: bool,
    progress: Progress,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("src", &self.src)
            .field("sink", &self.sink)
            .field("buffer", &self.buffer)
            .field("rate", &self.rate)
            .field("compress", &self.compress)
            .field("decompress", &self.decompress)
            .field("inspect", &self.inspect)
            .field("splice", &self.splice)
            .finish()
    }
}

impl Pipeline {
    /// A pipe from `src` to `sink`: anything that owns an fd (`File`,
    /// `ChildStdout`, `ChildStdin`, `TcpStream`, `UnixStream`, `OwnedFd`).
    /// The pipeline takes ownership and closes both when it ends.
    pub fn new(src: impl Into<OwnedFd>, sink: impl Into<OwnedFd>) -> Self {
        Pipeline {
            src: src.into(),
            sink: sink.into(),
            buffer: None,
            rate: None,
            compress: None,
            decompress: None,
            inspect: false,
            splice: true,
            progress: Progress::new(),
            clock: Arc::new(SystemClock::default()),
        }
    }

    /// Adds the bounded buffer stage holding at most `bytes` (default when
    /// another stage needs threads: 64 MiB).
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = Some(bytes);
        self
    }

    /// Limits the bytes written to the sink to `bytes_per_sec`
    /// (see [`crate::ratelimit::parse_rate`] for `10M`-style text).
    pub fn rate_limit(mut self, bytes_per_sec: u64) -> Self {
        self.rate = Some(bytes_per_sec);
        self
    }

    /// Compresses what is written to the sink.
    pub fn compress(mut self, codec: Codec) -> Self {
        self.compress = Some(codec);
        self
    }

    /// Decompresses what is read from the source.
    pub fn decompress(mut self, codec: Codec) -> Self {
        self.decompress = Some(codec);
        self
    }

    /// Checks the send stream (between decompression and compression): a
    /// corrupt or truncated stream fails the pipe before the sink sees a
    /// complete stream, and the report carries the stream summary. Off by
    /// default. Only for send streams: bytes that are not one (e.g.
    /// compressed data relayed without [`decompress`](Self::decompress))
    /// fail it at once.
    ///
    /// Without other stages the bytes still move with `splice(2)`; each
    /// piece (up to 1 MiB) is checked through a `tee(2)` duplicate before it
    /// is spliced on. With the buffer stage each piece is checked before it
    /// is written. Either way a corrupt record is found at the first record
    /// header (or END) whose checksum covers it, so bytes of the corrupt
    /// record itself may already have passed (the receiver's own checks
    /// reject them too), but never the end of the stream.
    pub fn inspect(mut self, on: bool) -> Self {
        self.inspect = on;
        self
    }

    /// Allows or forbids `splice(2)` (on by default; off forces read/write).
    pub fn splice(mut self, on: bool) -> Self {
        self.splice = on;
        self
    }

    /// Sets the expected stream size used for the progress ETA.
    pub fn size_estimate(self, bytes: u64) -> Self {
        self.progress.set_estimate(bytes);
        self
    }

    /// Uses `clock` for rate limiting (tests inject a fake one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reports progress into `progress` (instead of the pipe's own handle).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// A handle to poll while [`run`](Self::run) executes in another thread.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Moves all bytes until the source's EOF (or an error).
    pub fn run(self) -> Result<PipeReport, PipeError> {
        let started = Instant::now();
        let progress = self.progress.clone();
        progress.start();
        let limiter = self.rate.map(|r| RateLimiter::new(r, self.clock.clone()));
        let threaded =
            self.buffer.is_some() || self.compress.is_some() || self.decompress.is_some();
        let result = if threaded {
            BufferedRun {
                src: self.src,
                sink: self.sink,
                size: self.buffer.unwrap_or(DEFAULT_BUFFER),
                decompress: self.decompress,
                compress: self.compress,
                inspect: self.inspect,
                limiter,
            }
            .run(progress.clone())
            .map(|s| (Method::Buffered, s))
        } else if self.inspect {
            let _g = sys::SigpipeGuard::new();
            direct_inspected(self.src, self.sink, limiter, &progress, self.splice)
        } else {
            let _g = sys::SigpipeGuard::new();
            direct(self.src, self.sink, limiter, &progress, self.splice).map(|m| (m, None))
        };
        progress.finish();
        let bytes_in = progress.bytes_in();
        let bytes_out = progress.bytes_out();
        match result {
            Ok((method, summary)) => Ok(PipeReport {
                bytes_in,
                bytes_out,
                stream_bytes: progress.snapshot().bytes,
                duration: started.elapsed(),
                method,
                summary,
            }),
            Err(f) => Err(match f {
                Fail::Source(error) => PipeError::Source {
                    bytes_in,
                    bytes_out,
                    error,
                },
                Fail::Sink(error) => PipeError::Sink {
                    bytes_in,
                    bytes_out,
                    error,
                },
                Fail::Stage(stage, error) => PipeError::Stage {
                    stage,
                    bytes_in,
                    bytes_out,
                    error,
                },
                Fail::Stream(error) => PipeError::Stream {
                    bytes_in,
                    bytes_out,
                    error,
                },
                Fail::Setup(e) => PipeError::Setup(e),
                Fail::Aborted => PipeError::Stage {
                    stage: "pipe",
                    bytes_in,
                    bytes_out,
                    error: io::Error::other("aborted"),
                },
            }),
        }
    }
}

/// A new close-on-exec pipe `(read end, write end)`, e.g. to hand the write
/// end to `lzc_send` in one thread and the read end to a [`Pipeline`].
pub fn os_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    sys::pipe()
}

fn retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}

/// Single-threaded path: splice through an internal pipe, or read/write.
fn direct(
    src: OwnedFd,
    sink: OwnedFd,
    mut limiter: Option<RateLimiter>,
    progress: &Progress,
    allow_splice: bool,
) -> Result<Method, Fail> {
    sys::grow_pipe(src.as_fd());
    sys::grow_pipe(sink.as_fd());
    if !allow_splice {
        copy(&src, &sink, &mut limiter, progress, &mut Vec::new())?;
        return Ok(Method::Copy);
    }
    let (pr, pw) = sys::pipe().map_err(Fail::Setup)?;
    sys::grow_pipe(pw.as_fd());
    let chunk = sys::pipe_size(pw.as_fd()).unwrap_or(64 << 10);
    let mut first_in = true;
    let mut first_out = true;
    loop {
        let want = match &limiter {
            Some(l) => chunk.min(l.burst() as usize).max(1),
            None => chunk,
        };
        let n = match sys::splice(src.as_fd(), pw.as_fd(), want) {
            Ok(0) => return Ok(Method::Splice),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(src.as_fd(), false).map_err(Fail::Source)?;
                continue;
            }
            Err(e) if retryable(&e) => continue,
            Err(e) if first_in && e.raw_os_error() == Some(libc::EINVAL) => {
                copy(&src, &sink, &mut limiter, progress, &mut Vec::new())?;
                return Ok(Method::Copy);
            }
            Err(e) => return Err(Fail::Source(e)),
        };
        first_in = false;
        progress.add_in(n as u64);
        progress.add_stream(n as u64);
        if let Some(l) = &mut limiter {
            l.acquire(n as u64);
        }
        if !splice_to_sink(&pr, &sink, n, progress, &mut first_out)? {
            // The sink refuses splice: drain the internal pipe by hand, then copy.
            let mut buf = vec![0u8; n];
            let mut got = 0;
            while got < n {
                match sys::read(pr.as_fd(), &mut buf[got..]) {
                    Ok(0) => break,
                    Ok(k) => got += k,
                    Err(e) if retryable(&e) => {}
                    Err(e) => return Err(Fail::Setup(e)),
                }
            }
            write_all(&sink, &buf[..got], progress)?;
            copy(&src, &sink, &mut limiter, progress, &mut buf)?;
            return Ok(Method::Copy);
        }
    }
}

/// Splices `len` bytes from the internal pipe `from` to the sink. `Ok(false)` when the sink refuses
/// splice before anything reached it (`EINVAL` on the first write; all `len` bytes are still in
/// `from`): the caller falls back to read/write.
fn splice_to_sink(
    from: &OwnedFd,
    sink: &OwnedFd,
    len: usize,
    progress: &Progress,
    first_out: &mut bool,
) -> Result<bool, Fail> {
    let mut left = len;
    while left > 0 {
        match sys::splice(from.as_fd(), sink.as_fd(), left) {
            Ok(0) => {
                return Err(Fail::Sink(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "sink accepted no bytes",
                )))
            }
            Ok(m) => {
                *first_out = false;
                left -= m;
                progress.add_out(m as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(sink.as_fd(), true).map_err(Fail::Sink)?;
            }
            Err(e) if retryable(&e) => {}
            Err(e) if *first_out && e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            Err(e) => return Err(Fail::Sink(e)),
        }
    }
    Ok(true)
}

fn write_all(sink: &OwnedFd, mut buf: &[u8], progress: &Progress) -> Result<(), Fail> {
    while !buf.is_empty() {
        match sys::write(sink.as_fd(), buf) {
            Ok(0) => {
                return Err(Fail::Sink(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "sink accepted no bytes",
                )))
            }
            Ok(n) => {
                progress.add_out(n as u64);
                buf = &buf[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(sink.as_fd(), true).map_err(Fail::Sink)?;
            }
            Err(e) if retryable(&e) => {}
            Err(e) => return Err(Fail::Sink(e)),
        }
    }
    Ok(())
}

/// read/write loop in the calling thread.
fn copy(
    src: &OwnedFd,
    sink: &OwnedFd,
    limiter: &mut Option<RateLimiter>,
    progress: &Progress,
    buf: &mut Vec<u8>,
) -> Result<(), Fail> {
    copy_pieces(src, sink, limiter, progress, buf, 1 << 20, None)
}

/// The read/write loop with every piece checked by the inspector before it is written (the caller
/// finishes the inspector).
fn copy_inspected(
    src: &OwnedFd,
    sink: &OwnedFd,
    limiter: &mut Option<RateLimiter>,
    progress: &Progress,
    buf: &mut Vec<u8>,
    inspector: &mut StreamInspector,
) -> Result<(), Fail> {
    copy_pieces(
        src,
        sink,
        limiter,
        progress,
        buf,
        INSPECT_PIECE,
        Some(inspector),
    )
}

/// read/write in pieces of `piece` bytes (fewer under a rate limit), inspecting each when asked.
fn copy_pieces(
    src: &OwnedFd,
    sink: &OwnedFd,
    limiter: &mut Option<RateLimiter>,
    progress: &Progress,
    buf: &mut Vec<u8>,
    piece: usize,
    mut inspector: Option<&mut StreamInspector>,
) -> Result<(), Fail> {
    buf.resize(piece, 0);
    loop {
        let want = match limiter {
            Some(l) => buf.len().min(l.burst() as usize).max(1),
            None => buf.len(),
        };
        let n = match sys::read(src.as_fd(), &mut buf[..want]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(src.as_fd(), false).map_err(Fail::Source)?;
                continue;
            }
            Err(e) if retryable(&e) => continue,
            Err(e) => return Err(Fail::Source(e)),
        };
        progress.add_in(n as u64);
        progress.add_stream(n as u64);
        if let Some(i) = inspector.as_deref_mut() {
            i.feed(&buf[..n]).map_err(Fail::Stream)?;
        }
        if let Some(l) = limiter {
            l.acquire(n as u64);
        }
        write_all(sink, &buf[..n], progress)?;
    }
}

/// Largest piece read back and checked at once (stays in L2 for the fletcher-4 pass).
const INSPECT_PIECE: usize = 256 << 10;

/// Reads up to `buf.len()` bytes from an internal pipe (stops early only at EOF).
fn read_exact_pipe(from: &OwnedFd, buf: &mut [u8]) -> Result<usize, Fail> {
    let mut got = 0;
    while got < buf.len() {
        match sys::read(from.as_fd(), &mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if retryable(&e) => {}
            Err(e) => return Err(Fail::Setup(e)),
        }
    }
    Ok(got)
}

/// The spliced path with inspection, in the calling thread: each piece moves
/// source → internal pipe → sink with `splice(2)`, and before it is passed
/// on, `tee(2)` duplicates it (page references, no copy) into a second pipe
/// that this thread reads back — the one copy inspection needs, right before
/// the fletcher-4 pass, so that runs on cache-hot data — and checks. A piece
/// reaches the sink only after it passed inspection, so the sink never
/// receives the end of a stream found corrupt (it sees an aborted stream); a
/// stream that is merely truncated has been passed on in full (it cannot
/// complete, and a resumable receive keeps all of it) when the pipe reports
/// it. Where splice is refused, it falls back to read → inspect → write.
fn direct_inspected(
    src: OwnedFd,
    sink: OwnedFd,
    mut limiter: Option<RateLimiter>,
    progress: &Progress,
    allow_splice: bool,
) -> Result<(Method, Option<StreamSummary>), Fail> {
    sys::grow_pipe(src.as_fd());
    sys::grow_pipe(sink.as_fd());
    let (src, sink, limiter) = (&src, &sink, &mut limiter);
    let mut inspector = StreamInspector::new();
    if !allow_splice {
        copy_inspected(
            src,
            sink,
            limiter,
            progress,
            &mut Vec::new(),
            &mut inspector,
        )?;
        return Ok((
            Method::Copy,
            Some(inspector.finish().map_err(Fail::Stream)?),
        ));
    }
    let (in_r, in_w) = sys::pipe().map_err(Fail::Setup)?;
    let (tee_r, tee_w) = sys::pipe().map_err(Fail::Setup)?;
    for p in [&in_w, &tee_w] {
        sys::grow_pipe(p.as_fd());
    }
    // A piece must fit the tee pipe whole (it is drained only after the tee).
    let chunk = [&in_w, &tee_w]
        .iter()
        .map(|p| sys::pipe_size(p.as_fd()).unwrap_or(64 << 10))
        .min()
        .unwrap_or(64 << 10);
    let mut buf = vec![0u8; INSPECT_PIECE.min(chunk)];
    let mut first_in = true;
    let mut first_out = true;
    loop {
        let want = match limiter {
            Some(l) => chunk.min(l.burst() as usize).max(1),
            None => chunk,
        };
        let n = match sys::splice(src.as_fd(), in_w.as_fd(), want) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(src.as_fd(), false).map_err(Fail::Source)?;
                continue;
            }
            Err(e) if retryable(&e) => continue,
            Err(e) if first_in && e.raw_os_error() == Some(libc::EINVAL) => {
                // The source refuses splice: copy and inspect here.
                copy_inspected(src, sink, limiter, progress, &mut buf, &mut inspector)?;
                let summary = inspector.finish().map_err(Fail::Stream)?;
                return Ok((Method::Copy, Some(summary)));
            }
            Err(e) => return Err(Fail::Source(e)),
        };
        first_in = false;
        progress.add_in(n as u64);
        progress.add_stream(n as u64);
        if let Some(l) = limiter {
            l.acquire(n as u64);
        }
        // tee duplicates from the head of the pipe without consuming it, so
        // each duplicated part is checked and passed on before the next tee.
        let mut pending = n;
        while pending > 0 {
            let m = match sys::tee(in_r.as_fd(), tee_w.as_fd(), pending) {
                Ok(0) => return Err(Fail::Setup(io::Error::other("internal pipe ended"))),
                Ok(m) => m,
                Err(e) if retryable(&e) => continue,
                Err(e) => return Err(Fail::Stage("stream inspection", e)),
            };
            let mut left = m;
            while left > 0 {
                let k = left.min(buf.len());
                let got = read_exact_pipe(&tee_r, &mut buf[..k])?;
                if got == 0 {
                    return Err(Fail::Setup(io::Error::other("internal pipe ended")));
                }
                inspector.feed(&buf[..got]).map_err(Fail::Stream)?;
                left -= got;
            }
            if !splice_to_sink(&in_r, sink, m, progress, &mut first_out)? {
                // The sink refuses splice (nothing reached it yet): write
                // what is in the pipe (checked and unchecked), then copy.
                let mut rest = vec![0u8; pending];
                let got = read_exact_pipe(&in_r, &mut rest)?;
                if let Some(unchecked) = rest.get(m..got) {
                    inspector.feed(unchecked).map_err(Fail::Stream)?;
                }
                write_all(sink, &rest[..got], progress)?;
                copy_inspected(src, sink, limiter, progress, &mut buf, &mut inspector)?;
                let summary = inspector.finish().map_err(Fail::Stream)?;
                return Ok((Method::Copy, Some(summary)));
            }
            pending -= m;
        }
    }
    let summary = inspector.finish().map_err(Fail::Stream)?;
    Ok((Method::Splice, Some(summary)))
}
