//! zfs-stream throughput, each measured against its baseline in the same run.
//!
//! In-memory: fletcher-4 (fast vs one-word reference), the stream inspector.
//! Through fds (a synthetic send stream in a temp file, size from
//! `ZSYNC_BENCH_BYTES`, default 256M; `2G` for the figure):
//! - splice path file -> pipe -> /dev/null vs `cat file | cat > /dev/null`
//! - buffer stage (64 MiB) vs `mbuffer -m 64M -i file -o /dev/null`
//! - buffered with inspection (fletcher-4 verify) vs buffered plain; the
//!   splice path with inspection (each piece checked through a tee duplicate) vs plain splice
//! - zstd-1 / lz4 compression vs `zstd -1 -c` / `lz4 -1 -c`
//!
//! The external tools are skipped (with a note) when not installed.
//! `bench/stream-compare.sh` prints the same comparisons as ratios plus peak RSS.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zfs_stream::fletcher::{fletcher4, fletcher4_reference, fletcher4_with, Kernel, WordOrder};
use zfs_stream::record::build::{synthetic_stream, synthetic_stream_compressible};
use zfs_stream::record::{inspect, ByteOrder};
use zfs_stream::{Codec, Pipeline};

fn bench_bytes() -> usize {
    std::env::var("ZSYNC_BENCH_BYTES")
        .ok()
        .and_then(|s| zfs_stream::parse_rate(&s).ok())
        .unwrap_or(256 << 20) as usize
}

fn data_file(name: &str, compressible: bool) -> PathBuf {
    let size = bench_bytes();
    let p = std::env::temp_dir().join(format!("zsync-bench-{name}-{size}.zstream"));
    if std::fs::metadata(&p)
        .map(|m| m.len() as usize >= size)
        .unwrap_or(false)
    {
        return p;
    }
    let data = if compressible {
        synthetic_stream_compressible(size, ByteOrder::Little)
    } else {
        synthetic_stream(size, ByteOrder::Little)
    };
    let mut f = File::create(&p).expect("create bench file");
    f.write_all(&data).expect("write bench file");
    p
}

fn devnull() -> File {
    File::options()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null")
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run_ok(cmd: &mut Command) {
    let st = cmd.stderr(Stdio::null()).status().expect("spawn");
    assert!(st.success(), "{cmd:?} failed");
}

fn cat_cat(path: &Path) {
    let mut a = Command::new("cat")
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat");
    let out = a.stdout.take().expect("stdout");
    run_ok(Command::new("cat").stdin(out).stdout(devnull()));
    assert!(a.wait().expect("wait").success());
}

fn memory(c: &mut Criterion) {
    let data = synthetic_stream(64 << 20, ByteOrder::Little);
    let mut g = c.benchmark_group("stream-mem");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("fletcher4-fast", |b| {
        b.iter(|| fletcher4(&data, WordOrder::Little))
    });
    g.bench_function("fletcher4-reference", |b| {
        b.iter(|| fletcher4_reference(&data, WordOrder::Little))
    });
    g.bench_function("fletcher4-fast-bigendian", |b| {
        b.iter(|| fletcher4(&data, WordOrder::Big))
    });
    // Each kernel over 256 KiB pieces (as the pipe inspects them).
    for k in Kernel::available() {
        g.bench_function(format!("fletcher4-{k:?}-256k-pieces"), |b| {
            b.iter(|| {
                let mut x = 0u64;
                for piece in data.chunks(256 << 10) {
                    x ^= fletcher4_with(k, piece, WordOrder::Little).unwrap_or_default()[3];
                }
                x
            })
        });
    }
    g.bench_function("inspector", |b| b.iter(|| inspect(&data).expect("valid")));
    g.bench_function("memcpy", |b| {
        let mut dst = vec![0u8; data.len()];
        b.iter(|| dst.copy_from_slice(&data))
    });
    g.finish();
}

fn fds(c: &mut Criterion) {
    let rand = data_file("rand", false);
    let text = data_file("text", true);
    let size = std::fs::metadata(&rand).expect("bench file").len();
    let mut g = c.benchmark_group("stream-pipe");
    g.throughput(Throughput::Bytes(size));
    g.sample_size(10);

    g.bench_function("splice file->pipe->null", |b| {
        b.iter(|| {
            Pipeline::new(File::open(&rand).unwrap(), devnull())
                .run()
                .unwrap()
        })
    });
    g.bench_function("splice + inspect (tee)", |b| {
        b.iter(|| {
            let r = Pipeline::new(File::open(&rand).unwrap(), devnull())
                .inspect(true)
                .run()
                .unwrap();
            assert!(r.summary.is_some_and(|s| s.complete));
        })
    });
    g.bench_function("cat|cat", |b| b.iter(|| cat_cat(&rand)));

    g.bench_function("buffer 64M", |b| {
        b.iter(|| {
            Pipeline::new(File::open(&rand).unwrap(), devnull())
                .buffer(64 << 20)
                .run()
                .unwrap()
        })
    });
    g.bench_function("buffer 64M + inspect", |b| {
        b.iter(|| {
            let r = Pipeline::new(File::open(&rand).unwrap(), devnull())
                .buffer(64 << 20)
                .inspect(true)
                .run()
                .unwrap();
            assert!(r.summary.is_some_and(|s| s.complete));
        })
    });
    if have("mbuffer") {
        g.bench_function("mbuffer -m 64M", |b| {
            b.iter(|| {
                run_ok(
                    Command::new("mbuffer")
                        .args(["-q", "-m", "64M", "-o", "/dev/null", "-i"])
                        .arg(&rand),
                )
            })
        });
    } else {
        eprintln!("mbuffer not installed: skipping its baseline");
    }

    g.throughput(Throughput::Bytes(std::fs::metadata(&text).unwrap().len()));
    for (name, codec, tool, args) in [
        (
            "zstd-1",
            Codec::Zstd { level: 1 },
            "zstd",
            &["-q", "-1", "-c"][..],
        ),
        ("lz4-1", Codec::Lz4, "lz4", &["-q", "-1", "-c"][..]),
    ] {
        g.bench_function(BenchmarkId::new("ours", name), |b| {
            b.iter(|| {
                Pipeline::new(File::open(&text).unwrap(), devnull())
                    .compress(codec)
                    .run()
                    .unwrap()
            })
        });
        if have(tool) {
            g.bench_function(BenchmarkId::new("cli", name), |b| {
                b.iter(|| run_ok(Command::new(tool).args(args).arg(&text).stdout(devnull())))
            });
        } else {
            eprintln!("{tool} not installed: skipping its baseline");
        }
    }
    g.finish();
}

criterion_group!(benches, memory, fds);
criterion_main!(benches);
