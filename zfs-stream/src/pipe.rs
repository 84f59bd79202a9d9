//! The pipe engine: moves bytes from a source fd to a sink fd.
//!
//! With no transforming stage (no buffer, compression, decompression or
//! inspection) the bytes move with `splice(2)` through an internal pipe
//! (source → pipe → sink), so they never enter user space; where the kernel
//! refuses (`EINVAL`, e.g. a sink opened with `O_APPEND`) it falls back to
//! `read`/`write`. Rate limiting and progress work on both paths. Inspection
//! alone keeps the spliced path: `tee(2)` duplicates each piece (page
//! references, no copy) to an inspector thread, and the last piece is held
//! back until the inspector has accepted the whole stream. Any other stage
//! switches to the two-thread buffered engine ([`crate::buffer`]).
//!
//! Errors say which side failed and how many bytes had passed. On any error
//! the sink is closed without completing the stream (no compression epilogue,
//! no further bytes), so a receiver sees an aborted stream rather than a
//! clean EOF. All threads are joined and all fds closed before `run` returns.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Without other stages the bytes still move with `splice(2)` and an
    /// inspector thread checks a `tee(2)` duplicate beside the mover, so a
    /// corrupt record may reach the sink before it is found (the receiver's
    /// own checks reject it too), but the end of the stream is released only
    /// after the inspector agreed. With the buffer stage each piece is
    /// checked before it is written.
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
        let mut left = n;
        while left > 0 {
            match sys::splice(pr.as_fd(), sink.as_fd(), left) {
                Ok(0) => {
                    return Err(Fail::Sink(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "sink accepted no bytes",
                    )))
                }
                Ok(m) => {
                    first_out = false;
                    left -= m;
                    progress.add_out(m as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    sys::wait_one(sink.as_fd(), true).map_err(Fail::Sink)?;
                }
                Err(e) if retryable(&e) => {}
                Err(e) if first_out && e.raw_os_error() == Some(libc::EINVAL) => {
                    // The sink refuses splice: drain the internal pipe by hand, then copy.
                    let mut buf = vec![0u8; left];
                    let mut got = 0;
                    while got < left {
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
                Err(e) => return Err(Fail::Sink(e)),
            }
        }
    }
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

/// What the inspector thread of the spliced path concluded.
type Verdict = Result<StreamSummary, crate::error::StreamError>;

/// Piece size the inspector thread reads from its tee pipe.
const INSPECT_PIECE: usize = 256 << 10;

/// The inspector thread of the spliced path: reads the duplicated stream
/// from `tee_r` until EOF and checks it. On the first problem it flags
/// `failed` and closes the pipe (so the mover's next `tee` fails with `EPIPE`).
fn inspector_thread(tee_r: OwnedFd, failed: &AtomicBool) -> Verdict {
    let mut inspector = StreamInspector::new();
    let mut buf = vec![0u8; INSPECT_PIECE];
    loop {
        match sys::read(tee_r.as_fd(), &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = inspector.feed(&buf[..n]) {
                    failed.store(true, Ordering::Release);
                    return Err(e);
                }
            }
            Err(e) if retryable(&e) => {}
            // Our own pipe: a read error cannot happen short of a kernel bug;
            // report it as a truncated stream (what the inspector last saw).
            Err(_) => break,
        }
    }
    // At EOF: `failed` stays for problems found mid-stream (which stop the
    // mover); a truncation here may also just follow the mover's own error.
    inspector.finish()
}

/// The spliced path with inspection: the bytes still move source → pipe →
/// sink with `splice(2)`, and `tee(2)` hands a duplicate of every piece (page
/// references, no copy) to an inspector thread, which runs beside the
/// mover on the other core. The most recent piece is held back in a second
/// pipe until the next one arrives, and at EOF until the inspector has
/// judged the whole stream, so the sink never receives the end of a stream
/// the inspector rejects as corrupt (it sees an aborted stream instead); a
/// stream that is merely truncated is passed on in full (it cannot complete,
/// and a resumable receive keeps all of it). Where splice is refused, it
/// falls back to read → inspect → write in this thread.
fn direct_inspected(
    src: OwnedFd,
    sink: OwnedFd,
    mut limiter: Option<RateLimiter>,
    progress: &Progress,
    allow_splice: bool,
) -> Result<(Method, Option<StreamSummary>), Fail> {
    sys::grow_pipe(src.as_fd());
    sys::grow_pipe(sink.as_fd());
    if !allow_splice {
        let mut i = StreamInspector::new();
        copy_inspected(&src, &sink, &mut limiter, progress, &mut Vec::new(), &mut i)?;
        return Ok((Method::Copy, Some(i.finish().map_err(Fail::Stream)?)));
    }
    // in: source → here; hold: the piece held back; tee: to the inspector.
    let (in_r, in_w) = sys::pipe().map_err(Fail::Setup)?;
    let (hold_r, hold_w) = sys::pipe().map_err(Fail::Setup)?;
    let (tee_r, tee_w) = sys::pipe().map_err(Fail::Setup)?;
    for p in [&in_w, &hold_w, &tee_w] {
        sys::grow_pipe(p.as_fd());
    }
    // A piece must fit the hold pipe whole (nothing drains it meanwhile), so
    // take the smallest of the three (growing a pipe can fail past a user's limit).
    let chunk = [&in_w, &hold_w, &tee_w]
        .iter()
        .map(|p| sys::pipe_size(p.as_fd()).unwrap_or(64 << 10))
        .min()
        .unwrap_or(64 << 10);
    let failed = AtomicBool::new(false);
    let verdict: Mutex<Option<Verdict>> = Mutex::new(None);
    let moved = std::thread::scope(|s| {
        let inspector = s.spawn(|| {
            let _g = sys::SigpipeGuard::new();
            let v = inspector_thread(tee_r, &failed);
            if let Ok(mut g) = verdict.lock() {
                *g = Some(v);
            }
        });
        let mut tee_w = Some(tee_w);
        spliced_with_tee(
            &src,
            &sink,
            (&in_r, &in_w),
            (&hold_r, &hold_w),
            &mut tee_w,
            chunk,
            &mut limiter,
            progress,
            &failed,
            &verdict,
            || {
                let _ = inspector.join();
            },
        )
    });
    let verdict = verdict.lock().ok().and_then(|mut g| g.take());
    match (moved, verdict) {
        // The inspector stopping early makes the mover fail; its reason wins.
        (Err(_), Some(Err(e))) if failed.load(Ordering::Acquire) => Err(Fail::Stream(e)),
        (Err(f), _) => Err(f),
        (Ok(Tail::Copied(summary)), _) => Ok((Method::Copy, Some(*summary))),
        (Ok(Tail::Spliced), Some(Ok(summary))) => Ok((Method::Splice, Some(summary))),
        (Ok(Tail::Spliced), Some(Err(e))) => Err(Fail::Stream(e)),
        (Ok(Tail::Spliced), None) => Err(Fail::Stage(
            "stream inspection",
            io::Error::other("the inspector thread panicked"),
        )),
    }
}

/// How the inspected splice loop ended.
enum Tail {
    /// All bytes spliced; the verdict is the inspector thread's.
    Spliced,
    /// Splice was refused; the rest was copied and inspected in this thread.
    Copied(Box<StreamSummary>),
}

/// Splices everything from `src` to `sink` with a tee to the inspector.
/// `join` waits for the inspector thread (called once `tee_w` is closed).
#[allow(clippy::too_many_arguments)]
fn spliced_with_tee(
    src: &OwnedFd,
    sink: &OwnedFd,
    (in_r, in_w): (&OwnedFd, &OwnedFd),
    (hold_r, hold_w): (&OwnedFd, &OwnedFd),
    tee_w: &mut Option<OwnedFd>,
    chunk: usize,
    limiter: &mut Option<RateLimiter>,
    progress: &Progress,
    failed: &AtomicBool,
    verdict: &Mutex<Option<Verdict>>,
    join: impl FnOnce(),
) -> Result<Tail, Fail> {
    let mut join = Some(join);
    let mut finish = |tee_w: &mut Option<OwnedFd>| {
        // Closing the tee pipe is the inspector's EOF.
        tee_w.take();
        if let Some(j) = join.take() {
            j();
        }
    };
    let inspector_failed = || {
        Fail::Stage(
            "stream inspection",
            io::Error::other("the inspector rejected the stream"),
        )
    };
    let mut held = 0usize;
    let mut first = true;
    let result = (|| -> Result<Tail, Fail> {
        loop {
            if failed.load(Ordering::Acquire) {
                return Err(inspector_failed());
            }
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
                Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => {
                    // The source refuses splice: copy and inspect here.
                    let mut i = StreamInspector::new();
                    let mut buf = Vec::new();
                    copy_inspected(src, sink, limiter, progress, &mut buf, &mut i)?;
                    let summary = i.finish().map_err(Fail::Stream)?;
                    return Ok(Tail::Copied(Box::new(summary)));
                }
                Err(e) => return Err(Fail::Source(e)),
            };
            progress.add_in(n as u64);
            progress.add_stream(n as u64);
            if let Some(l) = limiter {
                l.acquire(n as u64);
            }
            // Duplicate the piece for the inspector, then release the one
            // held before and hold this one.
            let mut left = n;
            while left > 0 {
                let Some(t) = tee_w.as_ref() else {
                    return Err(inspector_failed());
                };
                let m = match sys::tee(in_r.as_fd(), t.as_fd(), left) {
                    Ok(0) => return Err(inspector_failed()),
                    Ok(m) => m,
                    Err(e) if retryable(&e) => continue,
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                        return Err(inspector_failed())
                    }
                    Err(e) => return Err(Fail::Stage("stream inspection", e)),
                };
                if held > 0 {
                    match drain(hold_r, sink, held, progress, first) {
                        Ok(()) => {}
                        Err(Drain::Refused) => {
                            return refused_sink(
                                src, sink, in_r, hold_r, held, left, limiter, progress, tee_w,
                            )
                        }
                        Err(Drain::Failed(f)) => return Err(f),
                    }
                    first = false;
                }
                // Move the duplicated bytes into the hold pipe.
                let mut k = m;
                while k > 0 {
                    match sys::splice(in_r.as_fd(), hold_w.as_fd(), k) {
                        Ok(0) => return Err(Fail::Setup(io::Error::other("internal pipe ended"))),
                        Ok(j) => k -= j,
                        Err(e) if retryable(&e) => {}
                        Err(e) => return Err(Fail::Setup(e)),
                    }
                }
                held = m;
                left -= m;
            }
        }
        Ok(Tail::Spliced)
    })();
    finish(tee_w);
    let tail = result?;
    if matches!(tail, Tail::Spliced) {
        // Release the held piece if the inspector accepted the stream, or
        // found it merely cut short: the receiver cannot complete a stream
        // without its final END anyway, and every byte it gets counts for a
        // resumable receive (`zfs recv -s` saves a token at the last complete
        // record). A stream found corrupt keeps its tail.
        let release = verdict.lock().is_ok_and(|g| {
            matches!(
                g.as_ref(),
                Some(Ok(_)) | Some(Err(crate::error::StreamError::Truncated { .. }))
            )
        });
        if !release {
            // The caller reports the inspector's verdict; the tail stays held.
            return Ok(tail);
        }
        if held > 0 {
            match drain(hold_r, sink, held, progress, first) {
                Ok(()) => {}
                Err(Drain::Refused) => {
                    let mut buf = vec![0u8; held];
                    let got = read_exact_pipe(hold_r, &mut buf)?;
                    write_all(sink, &buf[..got], progress)?;
                }
                Err(Drain::Failed(f)) => return Err(f),
            }
        }
    }
    Ok(tail)
}

enum Drain {
    /// The sink refused splice (EINVAL) before any byte was spliced to it.
    Refused,
    Failed(Fail),
}

/// Splices exactly `n` bytes from the internal pipe `from` to the sink.
fn drain(
    from: &OwnedFd,
    sink: &OwnedFd,
    mut n: usize,
    progress: &Progress,
    first: bool,
) -> Result<(), Drain> {
    let mut first = first;
    while n > 0 {
        match sys::splice(from.as_fd(), sink.as_fd(), n) {
            Ok(0) => {
                return Err(Drain::Failed(Fail::Sink(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "sink accepted no bytes",
                ))))
            }
            Ok(m) => {
                first = false;
                n -= m;
                progress.add_out(m as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::wait_one(sink.as_fd(), true).map_err(|e| Drain::Failed(Fail::Sink(e)))?;
            }
            Err(e) if retryable(&e) => {}
            Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(Drain::Refused)
            }
            Err(e) => return Err(Drain::Failed(Fail::Sink(e))),
        }
    }
    Ok(())
}

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

/// The sink refused splice on its first bytes (nothing has reached it):
/// take back the held piece and the piece still in the input pipe, and
/// continue with read → inspect → write in this thread, inspecting from the
/// start of the stream (the inspector thread's partial verdict is dropped).
#[allow(clippy::too_many_arguments)]
fn refused_sink(
    src: &OwnedFd,
    sink: &OwnedFd,
    in_r: &OwnedFd,
    hold_r: &OwnedFd,
    held: usize,
    pending: usize,
    limiter: &mut Option<RateLimiter>,
    progress: &Progress,
    _tee_w: &mut Option<OwnedFd>,
) -> Result<Tail, Fail> {
    let mut i = StreamInspector::new();
    let mut buf = vec![0u8; held + pending];
    let got = read_exact_pipe(hold_r, &mut buf[..held])?;
    let got2 = read_exact_pipe(in_r, &mut buf[got..got + pending])?;
    let seen = &buf[..got + got2];
    i.feed(seen).map_err(Fail::Stream)?;
    write_all(sink, seen, progress)?;
    copy_inspected(src, sink, limiter, progress, &mut buf, &mut i)?;
    let summary = i.finish().map_err(Fail::Stream)?;
    Ok(Tail::Copied(Box::new(summary)))
}
