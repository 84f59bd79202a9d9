//! Parser throughput of `zfs list -Hp` output (zfs-core): target >= 1M lines/s.
//!
//! Run: `cargo bench -p zsync-benches --bench list`. Criterion reports the rate as elements (= lines)/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fmt::Write;
use zfs_core::cli::parse::parse_listing;
use zfs_core::{DatasetName, ListOptions};

/// `datasets` filesystems/volumes with `per` snapshots each plus a bookmark every tenth snapshot, as
/// `zfs list -Hp -o name,type,guid,createtxg,creation,origin,receive_resume_token,encryption,
/// encryptionroot,keystatus,userrefs -t filesystem,volume,snapshot,bookmark -r tank` prints them.
fn listing(datasets: usize, per: usize) -> (String, usize) {
    let mut s = String::with_capacity(datasets * per * 120);
    let mut lines = 0;
    let mut guid: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next_guid = || {
        guid ^= guid << 13;
        guid ^= guid >> 7;
        guid ^= guid << 17;
        guid
    };
    s.push_str("tank\tfilesystem\t1234567890123\t1\t1600000000\t-\t-\toff\t-\t-\t-\n");
    lines += 1;
    for d in 0..datasets {
        let (name, kind, enc) = if d % 3 == 0 {
            (
                format!("tank/vm/vm-{d}-disk-0"),
                "volume",
                "aes-256-gcm\ttank/vm\tavailable",
            )
        } else {
            (
                format!("tank/home/user {d}/data"),
                "filesystem",
                "off\t-\t-",
            )
        };
        let txg0 = 100 + d as u64 * 10_000;
        writeln!(
            s,
            "{name}\t{kind}\t{}\t{txg0}\t1600000000\t-\t-\t{enc}\t-",
            next_guid()
        )
        .unwrap();
        lines += 1;
        for i in 0..per {
            let txg = txg0 + 1 + i as u64 * 7;
            let creation = 1_700_000_000 + i as u64 * 3600;
            let g = next_guid();
            writeln!(
                s,
                "{name}@autosnap_2026-{:02}-{:02}_{:02}:00:00_hourly\tsnapshot\t{g}\t{txg}\t{creation}\t-\t-\t{enc}\t{}",
                1 + i / (24 * 28),
                1 + (i / 24) % 28,
                i % 24,
                i % 3
            )
            .unwrap();
            lines += 1;
            if i % 10 == 0 {
                writeln!(
                    s,
                    "{name}#zsync_{i}\tbookmark\t{g}\t{txg}\t{creation}\t-\t-\t-\t-\t-\t-"
                )
                .unwrap();
                lines += 1;
            }
        }
    }
    (s, lines)
}

fn bench(c: &mut Criterion) {
    let (text, lines) = listing(1000, 910);
    assert!(lines >= 1_000_000, "{lines}");
    let root = DatasetName::parse("tank").unwrap();
    let opts = ListOptions::default();
    let parsed = parse_listing(&text, &root, &opts).expect("generated listing parses");
    assert_eq!(parsed.datasets.len(), 1001);
    let mut g = c.benchmark_group("list");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines as u64));
    g.bench_function("parse_1M_lines", |b| {
        b.iter(|| parse_listing(&text, &root, &opts).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
