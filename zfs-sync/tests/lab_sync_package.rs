//! Lab tests of `-I` steps as one `zfs send -I` stream received into the dataset, on real pools (local →
//! local, Cli backend): guids of every intermediate, the plan's splits at filter gaps and bookmark bases,
//! and a package cut in the middle resuming on the next run.
//!
//! Run: `cargo xtask lab test lab_sync_package`.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use zfs_core::cli::Cli;
use zfs_sync::{
    Executor, Moved, Mover, Outcome, Report, SnapshotFilter, Step, StreamInfo, SyncOptions,
    TransferError, TreeSpec,
};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

mod common;
use common::{all_synced, ds};

type R = Result<(), Box<dyn std::error::Error>>;

fn opts() -> SyncOptions {
    common::opts("pkg")
}

/// A pool with `src` (created with `create_opts`) and an empty `backup`; returns it with the source
/// and target names (`src`, `backup/src`).
fn src_and_backup(
    tag: &str,
    create_opts: &[&str],
) -> Result<(TestPool, String, String), Box<dyn std::error::Error>> {
    let pool = TestPool::new(tag)?;
    let (src, dst) = (pool.dataset("src"), pool.dataset("backup/src"));
    let mut create = vec!["create"];
    create.extend_from_slice(create_opts);
    create.push(&src);
    pool.zfs(&create)?;
    pool.zfs(&["create", &pool.dataset("backup")])?;
    Ok((pool, src, dst))
}

/// Incremental steps' stream counts, per dataset in report order.
fn incremental_streams(r: &Report) -> Vec<Vec<u32>> {
    r.datasets
        .iter()
        .map(|d| {
            d.steps
                .iter()
                .filter(|s| matches!(s.step, Step::Incremental { .. }))
                .map(|s| s.streams)
                .collect()
        })
        .collect()
}

/// Passes the first `limit` bytes of a stream on, then drops both ends: the receive sees the stream end
/// early, as when the link or the process dies mid-transfer.
struct CutAfter(u64);

impl Mover for CutAfter {
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        _stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        let mut from = File::from(input);
        let mut to = File::from(output);
        let n = std::io::copy(&mut (&mut from).take(self.0), &mut to)?;
        Err(std::io::Error::other(format!("cut after {n} bytes")).into())
    }
}

/// An `-I` step is one stream on the CLI: every intermediate arrives with its guid. Around a snapshot a
/// filter leaves out, and from a bookmark base, the plan uses `-i` steps, each one stream.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_intermediates_as_one_stream() -> R {
    zsync_lab::require_lab();
    let (pool, src, dst) = src_and_backup("sync-pkg", &[])?;
    let snap = |n: u32| -> R {
        pool.write_file(&format!("src/f{n}"), &pattern(20_000, n))?;
        pool.zfs(&["snapshot", &format!("{src}@s{n}")])?;
        Ok(())
    };
    for n in 1..=4 {
        snap(n)?;
    }
    let cli = Cli::local();
    let ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::single(ds(&src), ds(&dst));

    // Full s1, then s2..s4 as one package.
    let r = ex.run(&spec, &opts())?;
    all_synced(&r);
    assert_eq!(incremental_streams(&r), vec![vec![1]], "{}", r.to_json());
    assert_eq!(pool.snapshot_guids(&dst)?, pool.snapshot_guids(&src)?);

    // s5..s7 with s6 filtered out: the plan splits at the gap (-i s4→s5, -i s5→s7), one stream each.
    for n in 5..=7 {
        snap(n)?;
    }
    let mut o = opts();
    o.plan.snapshots = SnapshotFilter::new::<&str>(&[], &["^s6$"])?;
    let r = ex.run(&spec, &o)?;
    all_synced(&r);
    assert_eq!(incremental_streams(&r), vec![vec![1, 1]], "{}", r.to_json());
    assert_eq!(
        pool.snapshot_names(&dst)?,
        ["s1", "s2", "s3", "s4", "s5", "s7"]
    );
    assert_eq!(
        pool.guid(&format!("{dst}@s7"))?,
        pool.guid(&format!("{src}@s7"))?
    );

    // The base s7 survives only as a bookmark: -i #s7→s8, then s9 and s10 as one -I s8→s10.
    pool.zfs(&["bookmark", &format!("{src}@s7"), &format!("{src}#s7")])?;
    pool.zfs(&["destroy", &format!("{src}@s7")])?;
    for n in 8..=10 {
        snap(n)?;
    }
    let r = ex.run(&spec, &opts())?;
    all_synced(&r);
    assert_eq!(incremental_streams(&r), vec![vec![1, 1]], "{}", r.to_json());
    for n in 8..=10 {
        assert_eq!(
            pool.guid(&format!("{dst}@s{n}"))?,
            pool.guid(&format!("{src}@s{n}"))?
        );
    }
    Ok(())
}

/// A package cut inside its second snapshot: the first one stays received, the second leaves a resume
/// token; the next run resumes it (with `-o` of preserved properties), then sends the rest, and every
/// guid matches.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_package_cut_then_resumed() -> R {
    zsync_lab::require_lab();
    // Preserved properties ride along on every receive, the resumed one included.
    let (pool, src, dst) = src_and_backup("sync-pkg-cut", &["-o", "compression=zle"])?;
    let opts = || SyncOptions {
        preserve_properties: true,
        ..opts()
    };
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let cli = Cli::local();
    let mut ex = Executor::new(&cli, &cli);
    let spec = TreeSpec::single(ds(&src), ds(&dst));
    all_synced(&ex.run(&spec, &opts())?);

    // s2 small, s3 large, s4 small: cut the one s1→s4 stream 1 MiB in, inside s3.
    pool.write_file("src/a", &pattern(100_000, 2))?;
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    pool.write_file("src/b", &pattern(3 << 20, 3))?;
    pool.zfs(&["snapshot", &format!("{src}@s3")])?;
    pool.write_file("src/c", &pattern(10_000, 4))?;
    pool.zfs(&["snapshot", &format!("{src}@s4")])?;
    let cut = CutAfter(1 << 20);
    ex.mover = &cut;
    let r = ex.run(&spec, &opts())?;
    assert_eq!(r.exit_code, 2, "{}", r.to_json());
    assert!(
        matches!(r.datasets[0].outcome, Outcome::Failed { .. }),
        "{}",
        r.to_json()
    );
    assert_eq!(incremental_streams(&r), vec![vec![1]], "{}", r.to_json());
    assert_eq!(pool.snapshot_names(&dst)?, ["s1", "s2"]);
    assert_ne!(pool.get("receive_resume_token", &dst)?, "-");

    // Next run: resume s3 from the token, then s3→s4.
    let ex = Executor::new(&cli, &cli);
    let r = ex.run(&spec, &opts())?;
    all_synced(&r);
    assert!(
        matches!(r.datasets[0].steps[0].step, Step::Resume { .. }),
        "{}",
        r.to_json()
    );
    assert_eq!(pool.get("receive_resume_token", &dst)?, "-");
    assert_eq!(pool.snapshot_guids(&dst)?, pool.snapshot_guids(&src)?);
    assert_eq!(pool.get("compression", &dst)?, "zle");
    Ok(())
}

/// Copies like the default mover and asks for estimates, as a progress display does; records each
/// stream's label and estimate.
#[derive(Default)]
struct Estimates(std::sync::Mutex<Vec<(String, Option<u64>)>>);

impl Mover for Estimates {
    fn wants_estimate(&self) -> bool {
        true
    }
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError> {
        self.0
            .lock()
            .unwrap()
            .push((stream.label.clone(), stream.estimate));
        zfs_sync::CopyMover.transfer(input, output, stream)
    }
}

/// `zfs send -nvP ARGS`'s total `size` line.
fn dry_run_size(pool: &TestPool, args: &[&str]) -> u64 {
    let mut all = vec!["send", "-nvP"];
    all.extend_from_slice(args);
    let out = pool.zfs(&all).expect("zfs send -nvP");
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix("size\t"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no size line in {out}"))
}

/// The estimate of an `-I` package counts every hop: a file rewritten between each snapshot is sent
/// once per snapshot, which one `-i` estimate from base to newest would count once.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_package_estimate_counts_every_hop() -> R {
    zsync_lab::require_lab();
    let (pool, src, dst) = src_and_backup("sync-est", &[])?;
    for n in 1..=4u32 {
        // The same 1 MiB file rewritten with other bytes before each snapshot.
        pool.write_file("src/f", &pattern(1 << 20, n))?;
        pool.zfs(&["snapshot", &format!("{src}@s{n}")])?;
    }
    let cli = Cli::local();
    let rec = Estimates::default();
    let mut ex = Executor::new(&cli, &cli);
    ex.mover = &rec;
    let spec = TreeSpec::single(ds(&src), ds(&dst));
    let r = ex.run(&spec, &opts())?;
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    assert_eq!(pool.snapshot_guids(&dst)?, pool.snapshot_guids(&src)?);
    let seen = rec.0.into_inner().unwrap();
    let (s1, s4) = (format!("{src}@s1"), format!("{src}@s4"));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], (s1.clone(), Some(dry_run_size(&pool, &[&s1]))));
    assert_eq!(seen[1].0, format!("{s4} from @s1 with intermediates"));
    let package = seen[1].1.expect("an estimate for the package");
    let one_hop = dry_run_size(&pool, &["-i", &s1, &s4]);
    let with_i = dry_run_size(&pool, &["-I", &s1, &s4]);
    assert!(package > 2 * one_hop, "{package} vs -i {one_hop}");
    // Within 5% of what zfs itself estimates for the -I stream.
    assert!(
        package.abs_diff(with_i) * 20 < with_i,
        "{package} vs -I {with_i}"
    );
    Ok(())
}
