//! Lab test (real ZFS in the lab VM): `zsync sync` killed with SIGKILL mid-transfer leaves a
//! resumable receive; the next `zsync sync` resumes it from the token and the data matches.
//! Run with `cargo xtask lab test lab_cli_kill`.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use zsync_lab::data::pattern;
use zsync_lab::{LabError, TestPool};

mod common;
use common::fault::{fnv, has_token, kill_group, recv_used, settled_token, token};

use common::{zsync_backend as zsync, zsync_backend_cmd as zsync_cmd};

/// Incompressible payload of the interrupted snapshot.
const BIG: usize = 24 << 20;
/// Rate limit that makes the payload take ~8 s to move, so the kill lands mid-transfer.
const RATE: &str = "--source-bwlimit=3M";

fn kill_and_resume(backend: &str) -> Result<(), LabError> {
    let pool = TestPool::with_size(&format!("clikill-{backend}"), 256 << 20)?;
    let dir = zsync_lab::lab_dir()?.join(format!("clikill-{}", pool.name()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (src, dst) = (pool.dataset("src"), pool.dataset("dst/src"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["create", &pool.dataset("dst")])?;
    pool.write_file("src/small", b"one")?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let args = ["sync", "--no-sync-snap", RATE, "--json", &src, &dst];
    let o = zsync(&dir, backend, &args);
    assert_eq!(o.status.code(), Some(0), "first full sync");

    // A big incremental s1 -> s2, killed while it is moving.
    let big = pattern(BIG, 0x5eed ^ backend.len() as u32);
    pool.write_file("src/big", &big)?;
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    // With a progress line (forced: stderr is a file here, so plain lines every 5 s).
    let progress_log = dir.join("progress.log");
    let mut killed_args = args.to_vec();
    killed_args.insert(1, "--progress");
    let mut child = zsync_cmd(&dir, backend, &killed_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&progress_log).expect("progress log"))
        .process_group(0)
        .spawn()
        .expect("start zsync");
    let start = Instant::now();
    let mut seen: Option<Instant> = None;
    loop {
        if let Some(st) = child.try_wait().expect("poll zsync") {
            panic!(
                "zsync finished ({st:?}) after {:?} before it could be killed; token {}",
                start.elapsed(),
                token(&pool, &dst)
            );
        }
        let used = recv_used(&pool, &dst);
        if seen.is_none() && (used > 0 || has_token(&pool, &dst)) {
            eprintln!(
                "partial receive visible after {:?} (%recv used {used})",
                start.elapsed()
            );
            seen = Some(Instant::now());
        }
        // Let a few MiB arrive after the receive became visible, then kill.
        if seen.is_some_and(|t| t.elapsed() >= Duration::from_millis(2500)) {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            kill_group(&mut child);
            panic!(
                "no partial receive on {dst} within 90 s; {}",
                pool.zfs(&["list", "-t", "all", "-r", &pool.dataset("dst")])
                    .unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let used_at_kill = recv_used(&pool, &dst);
    kill_group(&mut child);
    // What moved, against the `zfs send -nP` estimate, and how fast.
    let log = std::fs::read_to_string(&progress_log).unwrap_or_default();
    eprintln!("{log}");
    let line = log
        .lines()
        .find(|l| l.starts_with(&format!("zsync: progress: {src}@s2 from @s1: ")))
        .unwrap_or_else(|| panic!("no progress line for {src}@s2: {log}"));
    assert!(line.contains(" of 24.") && line.contains("%), "), "{line}");
    assert!(line.contains("/s, ") && line.ends_with(" left"), "{line}");

    // The kernel saves the partial state as the receive unwinds; wait for the token (bounded).
    let tok = settled_token(&pool, &dst);
    assert!(
        has_token(&pool, &dst),
        "no resume token on {dst} after SIGKILL (%recv used {used_at_kill}): {tok}"
    );
    eprintln!("resume token after kill: {tok}");
    assert_eq!(
        pool.zfs(&["list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", &dst])?
            .lines()
            .count(),
        1,
        "s2 must not be complete on the target yet"
    );

    // The next run resumes from the token and completes.
    let resume_args = ["sync", "--no-sync-snap", "--json", &src, &dst];
    let plan = zsync(
        &dir,
        backend,
        &["plan", "--no-sync-snap", "--json", &src, &dst],
    );
    assert_eq!(plan.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    assert_eq!(
        plan["datasets"][0]["decision"]["steps"][0]["step"], "resume",
        "{plan}"
    );
    let o = zsync(&dir, backend, &resume_args);
    assert_eq!(o.status.code(), Some(0), "resumed sync");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
    let steps = &report["datasets"][0]["steps"];
    assert_eq!(steps[0]["step"]["step"], "resume", "{report}");
    assert_eq!(
        steps[0]["step"]["token"]["token"].as_str(),
        Some(tok.as_str()),
        "resumed from the token left by the kill: {report}"
    );
    let resumed_bytes = steps[0]["bytes"].as_u64().unwrap_or(u64::MAX);
    eprintln!("resume step moved {resumed_bytes} bytes (payload {BIG})");
    assert!(
        resumed_bytes < BIG as u64,
        "the resume must not resend the whole payload: {report}"
    );
    assert_eq!(token(&pool, &dst), "-", "token consumed");

    // Same snapshots by GUID, same bytes.
    let same =
        |s: &str| pool.guid(&format!("{src}@{s}")).ok() == pool.guid(&format!("{dst}@{s}")).ok();
    pool.zfs(&["set", "readonly=on", &dst])?;
    pool.zfs(&["mount", &dst])?;
    let got = pool.read_file("dst/src/big")?;
    let intact = same("s1")
        && same("s2")
        && got == big
        && pool.read_file("dst/src/small")? == b"one"
        && pool.read_file("src/big")? == big;
    zsync_lab::tally::fault(
        &format!("SIGKILL of zsync sync ({backend}) once the partial receive is visible"),
        intact,
    );
    for s in ["s1", "s2"] {
        assert_eq!(
            pool.guid(&format!("{src}@{s}"))?,
            pool.guid(&format!("{dst}@{s}"))?,
            "guid of @{s}"
        );
    }
    assert_eq!(got.len(), big.len());
    assert_eq!(fnv(&got), fnv(&big), "checksum of big on the target");
    assert!(got == big, "content of big on the target");
    assert_eq!(pool.read_file("dst/src/small")?, b"one");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_kill_mid_transfer_then_resume_cli_backend() -> Result<(), LabError> {
    zsync_lab::require_lab();
    kill_and_resume("cli")
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_kill_mid_transfer_then_resume_lzc_backend() -> Result<(), LabError> {
    zsync_lab::require_lab();
    kill_and_resume("lzc")
}
