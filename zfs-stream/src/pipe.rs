//! The pipe engine: moves bytes from a source fd to a sink fd.
//!
//! With no transforming stage (no buffer, compression, decompression or
//! inspection) the bytes move with `splice(2)` through an internal pipe
//! (source → pipe → sink), so they never enter user space; where the kernel
//! refuses (`EINVAL`, e.g. a sink opened with `O_APPEND`) it falls back to
//! `read`/`write`. Rate limiting and progress work on both paths. Any stage
//! switches to the two-thread buffered engine ([`crate::buffer`]).
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
use crate::record::StreamSummary;
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
    /// complete stream, and the report carries the stream summary.
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
        let threaded = self.buffer.is_some()
            || self.compress.is_some()
            || self.decompress.is_some()
            || self.inspect;
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
    buf.resize(1 << 20, 0);
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
        if let Some(l) = limiter {
            l.acquire(n as u64);
        }
        write_all(sink, &buf[..n], progress)?;
    }
}
