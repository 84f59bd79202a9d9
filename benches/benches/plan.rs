//! Planner speed: 1,000 datasets x 100 snapshots (incremental, one new snapshot each) and one dataset with
//! 100,000 snapshots (first replication and incremental). Targets: each < 50 ms.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use zfs_core::{Dataset, DatasetKind, DatasetName, Listing, SnapshotName, Version};
use zfs_sync::{
    plan_dataset, plan_tree, PlanOptions, ResumeToken, TargetState, TokenDecodeError, TreeInput,
    TreeSpec,
};

fn version(ds: &str, short: &str, guid: u64, txg: u64) -> Version {
    let name = SnapshotName::parse(&format!("{ds}@{short}")).expect("valid name");
    Version::snapshot(name, guid, txg, 1_700_000_000 + txg as i64)
}

fn dataset(name: &str, versions: Vec<Version>) -> Dataset {
    let name = DatasetName::parse(name).expect("valid name");
    let mut d = Dataset::new(name, DatasetKind::Filesystem).with_versions(versions);
    (d.guid, d.createtxg) = (1, 1);
    d
}

/// Source: `n` datasets with `snaps` snapshots; target: the same minus each dataset's newest.
fn tree(n: usize, snaps: usize) -> (Listing, Listing) {
    let mut src = Vec::with_capacity(n + 1);
    let mut tgt = Vec::with_capacity(n + 1);
    src.push(dataset("tank/src", Vec::new()));
    tgt.push(dataset("backup/dst", Vec::new()));
    for d in 0..n {
        let sname = format!("tank/src/ds{d:04}");
        let tname = format!("backup/dst/ds{d:04}");
        let mut sv = Vec::with_capacity(snaps);
        let mut tv = Vec::with_capacity(snaps);
        for s in 0..snaps {
            let short = format!("autosnap_2026-01-01_{s:05}_hourly");
            let guid = (d as u64) << 32 | s as u64 | 1 << 63;
            sv.push(version(&sname, &short, guid, 100 + s as u64));
            if s + 1 < snaps {
                tv.push(version(&tname, &short, guid, 50 + s as u64));
            }
        }
        src.push(dataset(&sname, sv));
        tgt.push(dataset(&tname, tv));
    }
    (Listing::new(src), Listing::new(tgt))
}

fn no_tokens(_: &str) -> Result<ResumeToken, TokenDecodeError> {
    Err("none".into())
}

fn bench(c: &mut Criterion) {
    let (src, tgt) = tree(1000, 100);
    let spec = TreeSpec::recursive(
        DatasetName::parse("tank/src").expect("valid"),
        DatasetName::parse("backup/dst").expect("valid"),
    );
    let opts = PlanOptions::default();
    c.bench_function(
        "plan_tree 1000 datasets x 100 snapshots (incremental)",
        |b| {
            b.iter(|| {
                let input = TreeInput {
                    source: &src,
                    target: &tgt,
                    decode_token: &no_tokens,
                };
                black_box(plan_tree(&input, &spec, &opts).expect("plans"))
            })
        },
    );

    let (one_src, one_tgt) = tree(1, 100_000);
    let sv = &one_src.datasets[1].versions;
    let tv = &one_tgt.datasets[1].versions;
    let tname = one_tgt.datasets[1].name.clone();
    c.bench_function("plan_dataset 100000 snapshots (incremental)", |b| {
        b.iter(|| {
            let ts = TargetState {
                name: &tname,
                versions: tv,
                resume_token: None,
            };
            black_box(plan_dataset(sv, Some(ts), None, &opts))
        })
    });
    c.bench_function(
        "plan_dataset 100000 snapshots (first replication, all)",
        |b| b.iter(|| black_box(plan_dataset(sv, None, None, &opts))),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
