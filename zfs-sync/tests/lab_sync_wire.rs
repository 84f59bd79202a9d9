//! Lab tests of compression on the wire and the relay, on real pools: push (local → "remote"), pull
//! ("remote" → local) and relay ("remote" → "remote") with `zstd` and `lz4`, full then incremental of a
//! tree with a child, a clone and a zvol; and a "remote" end without its codec program.
//!
//! "Remote" is the `Cli` backend over [`PretendRemote`]: a runner that starts every command on this
//! machine as `sh -c LINE`, LINE being `remote_command_line` of the command — exactly what an SSH
//! runner hands the remote shell — and says `is_remote()`. So the real `zfs`, `zstd` and `lz4` run in
//! the pipelines a remote host would run, on real pools; only the network is left out (the SSH
//! runner's own lab tests cover that).
//!
//! Run: `cargo xtask lab test lab_sync_wire`. Needs the `zstd` and `lz4` programs in the VM.

use std::io;
use std::sync::{Arc, Mutex};
use zfs_core::runner::{remote_command_line, Cmd, Running};
use zfs_core::{Backend, Cli, DatasetName, LocalRunner, Runner, Wire};
use zfs_sync::{Executor, Outcome, RecvOptions, Report, Step, SyncOptions, TreeSpec};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

mod common;
use common::{assert_same_guids, replica_pool};

type R = Result<(), Box<dyn std::error::Error>>;

/// A host that is this machine, reached as a remote one: every command runs through `sh -c` with
/// [`remote_command_line`], and every command line is kept for the test to look at.
#[derive(Debug)]
struct PretendRemote {
    host: &'static str,
    /// Programs [`Runner::has_program`] says are missing (to test the fallback).
    missing: &'static [&'static str],
    /// Every command started, as displayed (`zfs send ... | zstd -c -q -3`).
    log: Mutex<Vec<String>>,
}

impl PretendRemote {
    fn new(host: &'static str) -> Arc<PretendRemote> {
        Self::without(host, &[])
    }

    fn without(host: &'static str, missing: &'static [&'static str]) -> Arc<PretendRemote> {
        Arc::new(PretendRemote {
            host,
            missing,
            log: Mutex::new(Vec::new()),
        })
    }

    /// The stream commands started (sends and receives), as displayed.
    fn streams(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.contains(" send ") || c.contains(" receive "))
            .filter(|c| !c.contains(" -nvP "))
            .cloned()
            .collect()
    }
}

impl Runner for PretendRemote {
    fn host(&self) -> &str {
        self.host
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Running> {
        self.log.lock().unwrap().push(cmd.display());
        let line = remote_command_line(cmd);
        let mut sh = Cmd::new(["sh", "-c", line.as_str()]);
        sh.stdin = cmd.stdin;
        sh.stdout = cmd.stdout;
        sh.bulk = cmd.bulk;
        LocalRunner.spawn(&sh)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn has_program(&self, program: &str) -> bool {
        !self.missing.contains(&program) && LocalRunner.has_program(program)
    }
}

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}

/// Replicas mounted (under the `readonly=on` parent) so the test reads the files back; no sync
/// snapshot (the test names its snapshots); `compress`.
fn opts(compress: Option<Wire>) -> SyncOptions {
    SyncOptions {
        identifier: "wire".into(),
        sync_snapshot: false,
        jobs: 2,
        compress,
        recv: RecvOptions {
            no_mount: false,
            ..RecvOptions::default()
        },
        ..Default::default()
    }
}

/// A pool with a source tree `src/tree` (a child with files, a clone of its `@base`, a zvol) at `@s1`,
/// and a `readonly=on` parent for the replica.
fn setup(tag: &str) -> Result<TestPool, Box<dyn std::error::Error>> {
    let pool = replica_pool(tag)?;
    let p = pool.name().to_string();
    for d in ["src/tree", "src/tree/a"] {
        pool.zfs(&["create", &pool.dataset(d)])?;
    }
    pool.zfs(&["create", "-s", "-V", "4M", &pool.dataset("src/tree/vol")])?;
    pool.write_file("src/tree/a/one.bin", &pattern(300_000, 1))?;
    pool.write_file("src/tree/top.bin", &pattern(50_000, 2))?;
    // The clone exists before `src/tree@s1`, so its mountpoint directory is in the replica of
    // `src/tree` (the replica's parent is read-only: nothing can create it there later).
    pool.zfs(&["snapshot", &format!("{p}/src/tree/a@base")])?;
    pool.zfs(&[
        "clone",
        &format!("{p}/src/tree/a@base"),
        &pool.dataset("src/tree/k"),
    ])?;
    pool.write_file("src/tree/k/clone.bin", &pattern(40_000, 3))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s1")])?;
    Ok(pool)
}

const PAIRS: [(&str, &str); 4] = [
    ("src/tree", "backup/dst"),
    ("src/tree/a", "backup/dst/a"),
    ("src/tree/k", "backup/dst/k"),
    ("src/tree/vol", "backup/dst/vol"),
];

/// Every dataset of the tree has each snapshot of `snaps` on the target with the source's guid.
fn same_guids(pool: &TestPool, snaps: &[&str]) {
    for (s, t) in PAIRS {
        assert_same_guids(pool, &pool.dataset(s), &pool.dataset(t), snaps);
    }
}

/// Every dataset synced, and each step's streams checked in transit (`checked`) or, for a relay,
/// each listed as not checked with the reason.
fn synced(r: &Report, relayed: bool) {
    assert_eq!(r.exit_code, 0, "{}", r.to_json());
    for d in &r.datasets {
        assert_eq!(d.outcome, Outcome::Synced, "{}", r.to_json());
        for s in &d.steps {
            let streams = s.streams as usize;
            if relayed {
                assert!(s.checked.is_empty(), "{}", r.to_json());
                assert_eq!(s.unchecked.len(), streams, "{}", r.to_json());
                assert!(
                    s.unchecked.iter().all(|u| u.reason.starts_with("relayed ")),
                    "{}",
                    r.to_json()
                );
            } else {
                assert!(s.unchecked.is_empty(), "{}", r.to_json());
                assert_eq!(s.checked.len(), streams, "{}", r.to_json());
                assert!(s.checked.iter().all(|c| c.verified), "{}", r.to_json());
            }
        }
    }
}

/// Replicates the tree from `source` to `target` in full, then incrementally (two new snapshots:
/// one `-I` stream per dataset); checks guids, file data and the report after each run.
fn full_then_incremental(
    pool: &TestPool,
    source: &dyn Backend,
    target: &dyn Backend,
    compress: Option<Wire>,
    relayed: bool,
) -> Result<Report, Box<dyn std::error::Error>> {
    let p = pool.name().to_string();
    let ex = Executor::new(source, target);
    let spec = TreeSpec::recursive(
        ds(&pool.dataset("src/tree")),
        ds(&pool.dataset("backup/dst")),
    );
    let r = ex.run(&spec, &opts(compress))?;
    synced(&r, relayed);
    same_guids(pool, &["s1"]);
    assert_eq!(pool.read_file("backup/dst/a/one.bin")?, pattern(300_000, 1));
    assert_eq!(pool.read_file("backup/dst/top.bin")?, pattern(50_000, 2));
    assert_eq!(
        pool.read_file("backup/dst/k/clone.bin")?,
        pattern(40_000, 3)
    );
    assert_eq!(pool.get("type", &pool.dataset("backup/dst/vol"))?, "volume");
    assert_eq!(
        pool.get("origin", &pool.dataset("backup/dst/k"))?,
        format!("{p}/backup/dst/a@base")
    );
    let first_notices = r.notices.clone();

    pool.write_file("src/tree/a/one.bin", &pattern(300_000, 4))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s2")])?;
    pool.write_file("src/tree/a/two.bin", &pattern(120_000, 5))?;
    pool.write_file("src/tree/k/clone.bin", &pattern(40_000, 6))?;
    pool.zfs(&["snapshot", "-r", &format!("{p}/src/tree@s3")])?;
    let r = ex.run(&spec, &opts(compress))?;
    synced(&r, relayed);
    assert_eq!(r.notices, first_notices);
    same_guids(pool, &["s1", "s2", "s3"]);
    for d in &r.datasets {
        let inc: Vec<u32> = d
            .steps
            .iter()
            .filter(|s| matches!(s.step, Step::Incremental { .. }))
            .map(|s| s.streams)
            .collect();
        assert_eq!(inc, [1], "one -I stream: {}", r.to_json());
    }
    assert_eq!(pool.read_file("backup/dst/a/one.bin")?, pattern(300_000, 4));
    assert_eq!(pool.read_file("backup/dst/a/two.bin")?, pattern(120_000, 5));
    assert_eq!(
        pool.read_file("backup/dst/k/clone.bin")?,
        pattern(40_000, 6)
    );
    Ok(r)
}

/// Each command of `cmds` is a pipeline of these stages, in order: `zfs send`/`zfs receive` is
/// matched on its verb, the codec stages exactly.
fn all_like(cmds: &[String], stages: &[&str]) {
    assert!(!cmds.is_empty(), "no stream commands");
    for c in cmds {
        let got: Vec<&str> = c.split(" | ").collect();
        assert_eq!(got.len(), stages.len(), "{c}");
        for (g, want) in got.iter().zip(stages) {
            let ok = match *want {
                "zfs send" => g.starts_with("zfs send "),
                "zfs receive" => g.starts_with("zfs receive "),
                exact => g == &exact,
            };
            assert!(ok, "{c}: stage {g:?} is not {want:?}");
        }
    }
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_wire_push_zstd_by_default() -> R {
    zsync_lab::require_lab();
    let pool = setup("wire-push")?;
    let backup = PretendRemote::new("backup1");
    let (local, remote) = (Cli::local(), Cli::new(backup.clone()));
    // No --compress: zstd-3 because the target is remote.
    let r = full_then_incremental(&pool, &local, &remote, None, false)?;
    assert!(r.notices.is_empty(), "{:?}", r.notices);
    all_like(&backup.streams(), &["zstd -dc -q", "zfs receive"]);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_wire_pull_lz4() -> R {
    zsync_lab::require_lab();
    let pool = setup("wire-pull")?;
    let nas = PretendRemote::new("nas1");
    let (remote, local) = (Cli::new(nas.clone()), Cli::local());
    full_then_incremental(&pool, &remote, &local, Some(Wire::Lz4), false)?;
    all_like(&nas.streams(), &["zfs send", "lz4 -c -q"]);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_wire_relay_zstd_and_lz4() -> R {
    zsync_lab::require_lab();
    for (wire, tag, send, recv) in [
        (
            Wire::Zstd { level: 19 },
            "wire-relay-zstd",
            "zstd -c -q -19",
            "zstd -dc -q",
        ),
        (Wire::Lz4, "wire-relay-lz4", "lz4 -c -q", "lz4 -dc -q"),
    ] {
        let pool = setup(tag)?;
        let (nas, backup) = (PretendRemote::new("nas1"), PretendRemote::new("backup1"));
        let (source, target) = (Cli::new(nas.clone()), Cli::new(backup.clone()));
        full_then_incremental(&pool, &source, &target, Some(wire), true)?;
        all_like(&nas.streams(), &["zfs send", send]);
        all_like(&backup.streams(), &[recv, "zfs receive"]);
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_sync_wire_push_zstd_to_a_host_without_it_goes_plain() -> R {
    zsync_lab::require_lab();
    let pool = setup("wire-nozstd")?;
    let backup = PretendRemote::without("backup1", &["zstd"]);
    let (local, remote) = (Cli::local(), Cli::new(backup.clone()));
    let r = full_then_incremental(&pool, &local, &remote, Some(Wire::ZSTD), false)?;
    assert_eq!(r.notices.len(), 1, "{:?}", r.notices);
    assert!(
        r.notices[0].starts_with("backup1 has no `zstd`: streams to backup1 are not compressed"),
        "{:?}",
        r.notices
    );
    all_like(&backup.streams(), &["zfs receive"]);
    Ok(())
}
