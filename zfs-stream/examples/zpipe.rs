//! `zpipe`: runs a zfs-stream pipeline from stdin to stdout, for benchmarks
//! and manual checks.
//!
//! ```text
//! zpipe [--buffer SIZE] [--rate RATE] [--compress zstd-N|lz4] [--decompress zstd|lz4]
//!       [--inspect] [--no-splice] [--quiet]  < in > out
//! zpipe --gen SIZE [--compressible] > stream     # writes a synthetic send stream
//! ```
//! At the end it prints one line to stderr: method, bytes, seconds, MiB/s and
//! the process's peak RSS (VmHWM) and CPU time (user, system).

use std::io::Write;
use std::os::fd::AsFd;
use std::process::ExitCode;

use zfs_stream::record::build::{synthetic_stream, synthetic_stream_compressible};
use zfs_stream::record::ByteOrder;
use zfs_stream::{parse_rate, Codec, Pipeline};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// This process's CPU time so far (user, system), in milliseconds.
fn cpu_ms() -> (u64, u64) {
    // SAFETY: rusage is plain data that getrusage fills.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid out pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0, 0);
    }
    let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
    (ms(ru.ru_utime), ms(ru.ru_stime))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zpipe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    let stdin = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    let stdout = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| e.to_string())?;
    let mut p = Pipeline::new(stdin, stdout);
    let mut quiet = false;
    let mut gen: Option<usize> = None;
    let mut compressible = false;
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--buffer" => p = p.buffer(parse_rate(&val()?).map_err(|e| e.to_string())? as usize),
            "--rate" => p = p.rate_limit(parse_rate(&val()?).map_err(|e| e.to_string())?),
            "--compress" => p = p.compress(val()?.parse::<Codec>()?),
            "--decompress" => p = p.decompress(val()?.parse::<Codec>()?),
            "--inspect" => p = p.inspect(true),
            "--no-splice" => p = p.splice(false),
            "--quiet" => quiet = true,
            "--gen" => gen = Some(parse_rate(&val()?).map_err(|e| e.to_string())? as usize),
            "--compressible" => compressible = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(size) = gen {
        let s = if compressible {
            synthetic_stream_compressible(size, ByteOrder::Little)
        } else {
            synthetic_stream(size, ByteOrder::Little)
        };
        return std::io::stdout().write_all(&s).map_err(|e| e.to_string());
    }
    let rep = p.run().map_err(|e| e.to_string())?;
    if !quiet {
        let secs = rep.duration.as_secs_f64();
        eprintln!(
            "zpipe: {:?} in={} out={} secs={:.3} MiB/s={:.0} peak_rss_kib={} cpu_user_ms={} cpu_sys_ms={}",
            rep.method,
            rep.bytes_in,
            rep.bytes_out,
            secs,
            rep.stream_bytes as f64 / secs / 1048576.0,
            peak_rss_kib(),
            cpu_ms().0,
            cpu_ms().1
        );
        if let Some(s) = rep.summary {
            eprintln!("zpipe: stream: {s}");
        }
    }
    Ok(())
}
