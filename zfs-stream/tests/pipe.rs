//! Pipe engine tests on the host: round trips through every stage, error
//! sides and byte counts, rate limiting on an injected clock.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zfs_stream::compress::{compress_all, decompress_all};
use zfs_stream::ratelimit::Clock;
use zfs_stream::record::build::synthetic_stream;
use zfs_stream::record::ByteOrder;
use zfs_stream::{Codec, Method, PipeError, Pipeline, Side, StreamError};

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zfs-stream-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn file_with(name: &str, data: &[u8]) -> File {
    let p = tmp(name);
    std::fs::write(&p, data).unwrap();
    File::open(&p).unwrap()
}

/// Runs `f` with the write end of a pipe while a thread collects the read end.
fn collect<T>(f: impl FnOnce(File) -> T) -> (T, Vec<u8>) {
    let (mut r, w) = os_pipe().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    });
    let t = f(w);
    (t, reader.join().unwrap())
}

fn stream(size: usize) -> Vec<u8> {
    synthetic_stream(size, ByteOrder::Little)
}

#[test]
fn splice_path_copies_file_to_pipe() {
    let data = stream(3 << 20);
    let (rep, out) = collect(|w| Pipeline::new(file_with("splice", &data), w).run().unwrap());
    assert_eq!(out, data);
    assert_eq!(rep.method, Method::Splice);
    assert_eq!(
        (rep.bytes_in, rep.bytes_out),
        (data.len() as u64, data.len() as u64)
    );
}

#[test]
fn pipe_to_pipe_and_copy_fallback() {
    let data = stream(1 << 20);
    // pipe -> pipe
    let (mut w0, r0) = {
        let (r, w) = os_pipe().unwrap();
        (w, r)
    };
    let d2 = data.clone();
    let feeder = std::thread::spawn(move || w0.write_all(&d2).unwrap());
    let (rep, out) = collect(|w| Pipeline::new(r0, w).run().unwrap());
    feeder.join().unwrap();
    assert_eq!(out, data);
    assert_eq!(rep.method, Method::Splice);
    // read/write forced
    let (rep, out) = collect(|w| {
        Pipeline::new(file_with("copy", &data), w)
            .splice(false)
            .run()
            .unwrap()
    });
    assert_eq!(out, data);
    assert_eq!(rep.method, Method::Copy);
}

#[test]
fn splice_refused_by_sink_falls_back() {
    // An O_APPEND file refuses splice with EINVAL.
    let data = stream(2 << 20);
    let p = tmp("append-sink");
    std::fs::write(&p, b"").unwrap();
    let sink = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    let rep = Pipeline::new(file_with("append-src", &data), sink)
        .run()
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), data);
    assert_eq!(rep.method, Method::Copy);
}

#[test]
fn every_stage_round_trips_byte_identical() {
    let data = stream(4 << 20);
    for codec in [
        Codec::Zstd { level: 1 },
        Codec::Zstd { level: 3 },
        Codec::Lz4,
    ] {
        let (rep, packed) = collect(|w| {
            Pipeline::new(file_with("rt-src", &data), w)
                .buffer(256 << 10)
                .rate_limit(1 << 40)
                .inspect(true)
                .compress(codec)
                .run()
                .unwrap()
        });
        assert_eq!(rep.method, Method::Buffered);
        assert_eq!(rep.bytes_in, data.len() as u64);
        assert_eq!(rep.bytes_out, packed.len() as u64);
        let s = rep.summary.unwrap();
        assert!(s.complete);
        assert_eq!(s.bytes, data.len() as u64);
        assert_eq!(s.begin().unwrap().toname, "pool/fs@bench");
        let (rep2, back) = collect(|w| {
            Pipeline::new(file_with("rt-packed", &packed), w)
                .decompress(codec)
                .inspect(true)
                .buffer(1 << 20)
                .run()
                .unwrap()
        });
        assert_eq!(back, data, "{codec}");
        assert_eq!(rep2.stream_bytes, data.len() as u64);
        assert!(rep2.summary.unwrap().complete);
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn frames_interoperate_with_the_cli_tools() {
    let data = stream(2 << 20);
    for (tool, codec) in [("zstd", Codec::Zstd { level: 1 }), ("lz4", Codec::Lz4)] {
        if !have(tool) {
            eprintln!("skipping {tool}: not installed");
            continue;
        }
        // ours -> CLI
        let packed = compress_all(codec, &data).unwrap();
        let out = Command::new(tool)
            .args(["-d", "-c"])
            .stdin(file_with("cli-in", &packed))
            .output()
            .unwrap();
        assert!(out.status.success(), "{tool} -d failed");
        assert_eq!(out.stdout, data, "{tool} -d output differs");
        // CLI -> ours, through a child's stdout as the source.
        let mut child = Command::new(tool)
            .args(["-c"])
            .stdin(file_with("cli-plain", &data))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (rep, back) = collect(|w| {
            Pipeline::new(stdout, w)
                .decompress(codec)
                .inspect(true)
                .run()
                .unwrap()
        });
        assert!(child.wait().unwrap().success());
        assert_eq!(back, data, "{tool} -c then ours");
        assert!(rep.summary.unwrap().complete);
    }
}

#[test]
fn receiver_exiting_is_a_sink_error_with_counts() {
    let data = stream(8 << 20);
    for buffered in [false, true] {
        // `head -c 100000` exits after 100000 bytes: the pipe sees EPIPE.
        let mut child = Command::new("head")
            .args(["-c", "100000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut p = Pipeline::new(file_with("epipe", &data), stdin);
        if buffered {
            p = p.buffer(1 << 20);
        }
        let err = p.run().unwrap_err();
        child.wait().unwrap();
        assert_eq!(err.side(), Some(Side::Sink), "{err}");
        let PipeError::Sink {
            error, bytes_out, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(error.raw_os_error(), Some(libc_epipe()), "{err}");
        assert!(
            *bytes_out >= 100000 && *bytes_out < data.len() as u64,
            "{err}"
        );
        assert!(err.to_string().contains("writing the sink failed"));
    }
}

fn libc_epipe() -> i32 {
    32
}

#[test]
fn unreadable_source_is_a_source_error() {
    for buffered in [false, true] {
        let dir = File::open(std::env::temp_dir()).unwrap();
        let (res, out) = collect(|w| {
            let mut p = Pipeline::new(dir, w);
            if buffered {
                p = p.buffer(1 << 20);
            }
            p.run()
        });
        let err = res.unwrap_err();
        assert_eq!(err.side(), Some(Side::Source), "{err}");
        assert_eq!(err.bytes_out(), 0);
        assert!(out.is_empty());
    }
}

#[test]
fn corrupt_stream_never_reaches_the_sink_and_is_reported() {
    let data = stream(2 << 20);
    let pos = data.len() / 2;
    let mut bad = data.clone();
    bad[pos] ^= 0xff;
    let (res, out) = collect(|w| {
        Pipeline::new(file_with("corrupt", &bad), w)
            .buffer(64 << 10)
            .inspect(true)
            .run()
    });
    let err = res.unwrap_err();
    let PipeError::Stream { error, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(error, StreamError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert!(error.offset() > pos as u64 - 140_000 && error.offset() <= pos as u64 + 140_000);
    // Nothing from the corrupt chunk onwards was written, and what was written is a prefix.
    assert!(
        out.len() <= pos,
        "sink got {} bytes, corruption at {pos}",
        out.len()
    );
    assert_eq!(&out[..], &data[..out.len()]);
}

#[test]
fn truncated_stream_leaves_an_incomplete_frame() {
    let data = stream(1 << 20);
    let cut = &data[..data.len() - 1000];
    let (res, out) = collect(|w| {
        Pipeline::new(file_with("trunc", cut), w)
            .inspect(true)
            .compress(Codec::Zstd { level: 1 })
            .run()
    });
    let err = res.unwrap_err();
    assert!(
        matches!(
            err,
            PipeError::Stream {
                error: StreamError::Truncated { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.bytes_in(), cut.len() as u64);
    // The receiver cannot mistake this for a complete stream.
    assert!(decompress_all(Codec::Zstd { level: 1 }, &out, 4 << 20).is_err());
}

#[test]
fn corrupt_frame_is_a_stage_error() {
    let data = stream(1 << 20);
    let mut packed = compress_all(Codec::Lz4, &data).unwrap();
    let n = packed.len();
    packed[n / 2] ^= 0x55;
    packed.truncate(n - 10);
    let (res, _) = collect(|w| {
        Pipeline::new(file_with("badframe", &packed), w)
            .decompress(Codec::Lz4)
            .run()
    });
    let err = res.unwrap_err();
    assert!(
        matches!(
            err,
            PipeError::Stage {
                stage: "lz4 decompression",
                ..
            }
        ),
        "{err}"
    );
}

/// A clock that only advances when slept on.
#[derive(Default)]
struct FakeClock(Mutex<Duration>);
impl Clock for FakeClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap()
    }
    fn sleep(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

#[test]
fn rate_limit_holds_on_both_paths_with_a_fake_clock() {
    let data = stream(4 << 20);
    let rate = 1u64 << 20;
    for buffered in [false, true] {
        let clock = Arc::new(FakeClock::default());
        let (rep, out) = collect(|w| {
            let mut p = Pipeline::new(file_with("rate", &data), w)
                .rate_limit(rate)
                .clock(clock.clone());
            if buffered {
                p = p.buffer(1 << 20);
            }
            p.run().unwrap()
        });
        assert_eq!(out, data);
        let t = clock.now().as_secs_f64();
        let burst = (rate / 10) as f64;
        let expect = (data.len() as f64 - burst) / rate as f64;
        assert!(
            (t - expect).abs() < 0.05,
            "buffered={buffered}: fake time {t}, expected {expect}"
        );
        assert!(
            rep.duration < Duration::from_secs(5),
            "real time must not be spent"
        );
    }
}

#[test]
fn progress_handle_tracks_the_run() {
    let data = stream(1 << 20);
    let (snap, out) = collect(|w| {
        let p = Pipeline::new(file_with("prog", &data), w).size_estimate(data.len() as u64);
        let h = p.progress();
        assert_eq!(h.snapshot().bytes, 0);
        p.run().unwrap();
        h.snapshot()
    });
    assert_eq!(out.len(), data.len());
    assert!(snap.done);
    assert_eq!(snap.bytes, data.len() as u64);
    assert_eq!(snap.percent(), Some(100.0));
}

/// (read end, write end) of a new pipe, as Files.
fn os_pipe() -> std::io::Result<(File, File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// The spliced path with inspection (each piece checked through a tee
/// duplicate), from a file and from a pipe, and through the copy fallbacks.
#[test]
fn spliced_inspection_round_trips_and_summarises() {
    let data = stream(5 << 20);
    let (rep, out) = collect(|w| {
        Pipeline::new(file_with("tee-ok", &data), w)
            .inspect(true)
            .run()
            .unwrap()
    });
    assert_eq!(out, data);
    assert_eq!(rep.method, Method::Splice);
    let s = rep.summary.expect("summary");
    assert!(s.complete);
    assert_eq!(s.bytes, data.len() as u64);
    // pipe -> pipe
    let (r0, mut w0) = os_pipe().unwrap();
    let d2 = data.clone();
    let feeder = std::thread::spawn(move || w0.write_all(&d2).unwrap());
    let (rep, out) = collect(|w| Pipeline::new(r0, w).inspect(true).run().unwrap());
    feeder.join().unwrap();
    assert_eq!(out, data);
    assert_eq!(rep.method, Method::Splice);
    assert!(rep.summary.unwrap().complete);
    // splice disabled, and a sink refusing splice (O_APPEND)
    let (rep, out) = collect(|w| {
        Pipeline::new(file_with("tee-copy", &data), w)
            .inspect(true)
            .splice(false)
            .run()
            .unwrap()
    });
    assert_eq!((out == data, rep.method), (true, Method::Copy));
    assert!(rep.summary.unwrap().complete);
    let p = tmp("tee-append-sink");
    std::fs::write(&p, b"").unwrap();
    let sink = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    let rep = Pipeline::new(file_with("tee-append-src", &data), sink)
        .inspect(true)
        .run()
        .unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), data);
    assert_eq!(rep.method, Method::Copy);
    assert!(rep.summary.unwrap().complete);
}

#[test]
fn spliced_inspection_reports_corruption_and_withholds_the_end() {
    let data = stream(6 << 20);
    for pos in [100, data.len() / 3, data.len() - 200] {
        let mut bad = data.clone();
        bad[pos] ^= 0x01;
        let (res, out) = collect(|w| {
            Pipeline::new(file_with("tee-corrupt", &bad), w)
                .inspect(true)
                .run()
        });
        let err = res.unwrap_err();
        let PipeError::Stream { error, .. } = &err else {
            panic!("{err}")
        };
        // Found at the first record whose running checksum covers the byte.
        assert!(
            error.offset() + 312 >= pos as u64 && error.offset() <= pos as u64 + (1 << 20),
            "flip at {pos}: {err}"
        );
        assert!(err.to_string().contains("record "), "{err}");
        // The sink got a strict prefix: never the end of the stream, and
        // nothing past the record found bad (each piece is checked before
        // it is spliced on; a record header may straddle two pieces).
        assert!(out.len() < bad.len(), "flip at {pos}: sink got everything");
        assert!(
            out.len() as u64 <= error.offset() + 312,
            "flip at {pos}: sink got {} bytes past the bad record at {}",
            out.len(),
            error.offset()
        );
        assert_eq!(&out[..], &bad[..out.len()]);
    }
}

/// A truncated stream cannot complete, so every byte is passed on (a
/// resumable `zfs recv -s` keeps them), and the pipe still fails.
#[test]
fn spliced_inspection_reports_truncation_and_passes_every_byte() {
    let data = stream(3 << 20);
    for cut in [1usize, 400, data.len() / 2, data.len() - 1] {
        let (res, out) = collect(|w| {
            Pipeline::new(file_with("tee-trunc", &data[..cut]), w)
                .inspect(true)
                .run()
        });
        let err = res.unwrap_err();
        assert!(
            matches!(
                err,
                PipeError::Stream {
                    error: StreamError::Truncated { .. },
                    ..
                }
            ),
            "cut {cut}: {err}"
        );
        assert_eq!(err.bytes_in(), cut as u64);
        assert_eq!(out, &data[..cut], "cut {cut}");
    }
}
