//! Helpers of the concurrency, race and clock fault lab tests (lab_fault_concurrency.rs,
//! lab_fault_races.rs, lab_fault_clock.rs): zsync runs started in the background in their own
//! process group, bounded waits, and the data checks every fault case ends with.

// Each fault test binary uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use zsync_lab::TestPool;

/// A zsync started in the background; its stdout and stderr go to files in the scratch dir.
pub struct Bg {
    /// The process (leader of its own process group).
    pub child: Child,
    /// Label in logs.
    pub tag: String,
    out: PathBuf,
    err: PathBuf,
}

/// How a background zsync ended.
#[derive(Debug)]
pub struct Ended {
    /// Exit code; `None` when killed (by a signal, or by us after the time limit).
    pub code: Option<i32>,
    /// Whether it was still running at the time limit (and was killed).
    pub hung: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Starts `zsync ARGS` (see [`common::zsync_cmd`]) in its own process group, extra `env` set.
pub fn spawn(dir: &Path, tag: &str, env: &[(&str, &str)], args: &[&str]) -> Bg {
    let out = dir.join(format!("{tag}.out"));
    let err = dir.join(format!("{tag}.err"));
    let mut cmd = common::zsync_cmd(dir, None, args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .process_group(0)
        .spawn()
        .expect("start zsync");
    eprintln!(
        "started [{tag}] pid {}: zsync {}",
        child.id(),
        args.join(" ")
    );
    Bg {
        child,
        tag: tag.to_string(),
        out,
        err,
    }
}

impl Bg {
    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for it at most `limit`; past that, SIGKILLs its group (and reports `hung`).
    pub fn finish(mut self, limit: Duration) -> Ended {
        let start = Instant::now();
        let mut hung = false;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("poll zsync") {
                break st;
            }
            if start.elapsed() > limit {
                hung = true;
                // SAFETY: kill(2) on the process group we created; no memory is involved.
                unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
                break self.child.wait().expect("reap zsync");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let e = Ended {
            code: status.code(),
            hung,
            stdout: read(&self.out),
            stderr: read(&self.err),
        };
        eprintln!(
            "[{}] -> {:?}{} after {:?}\n{}{}",
            self.tag,
            e.code,
            if hung { " (HUNG, killed)" } else { "" },
            start.elapsed(),
            e.stdout,
            e.stderr
        );
        e
    }
}

/// Polls `f` every 100 ms until it holds or `limit` passed; whether it held.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a receive into `ds` has visibly begun: the (new) dataset exists, or its `%recv` child
/// holds data, or it has a resume token.
pub fn receive_begun(pool: &TestPool, ds: &str, existed: bool) -> bool {
    let recv_used = pool.get_u64("used", &format!("{ds}/%recv")).unwrap_or(0);
    let token = pool.get("receive_resume_token", ds).unwrap_or_default();
    recv_used > 0 || (token != "-" && !token.is_empty()) || (!existed && pool.exists(ds))
}

/// Whether every snapshot of `src` (on `sp`) is on `dst` (on `dp`) with the same GUID (same
/// data), and `dst` has no two snapshots of one GUID; prints the difference when not.
pub fn replicated(sp: &TestPool, src: &str, dp: &TestPool, dst: &str) -> bool {
    let (Ok(s), Ok(d)) = (sp.snapshots(src), dp.snapshots(dst)) else {
        eprintln!("cannot list {src} or {dst}");
        return false;
    };
    let missing: Vec<_> = s.iter().filter(|x| !d.contains(x)).collect();
    let mut guids: Vec<&String> = d.iter().map(|(_, g)| g).collect();
    guids.sort();
    let dup = guids.windows(2).any(|w| w[0] == w[1]);
    if !missing.is_empty() || dup {
        eprintln!(
            "{src} -> {dst}: missing on target {missing:?}; duplicate guids {dup}; target {d:?}"
        );
    }
    missing.is_empty() && !dup
}

/// FNV-1a 64 of the bytes (a checksum to print and compare).
pub fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Whether a run ended as a run may end after a fault: it exited (no hang, no signal) with a code
/// other than 101 (a Rust panic).
pub fn ended_cleanly(e: &Ended) -> bool {
    !e.hung && e.code.is_some_and(|c| c != 101) && !e.stderr.contains("panicked at")
}

/// `zsync sync -r --no-sync-snap SRC DST`, which must succeed: the replication a fault starts from.
pub fn first_sync(dir: &Path, src: &str, dst: &str) {
    let o = common::zsync(dir, None, &["sync", "-r", "--no-sync-snap", src, dst]);
    assert_eq!(o.status.code(), Some(0), "first sync {src} -> {dst}");
}

/// Starts `zsync sync -r --no-sync-snap --jobs=1 --source-bwlimit=RATE SRC DST` in the
/// background: one dataset at a time, slow enough for a fault to land mid-run.
pub fn slow_sync(
    dir: &Path,
    tag: &str,
    env: &[(&str, &str)],
    rate: &str,
    src: &str,
    dst: &str,
) -> Bg {
    let limit = format!("--source-bwlimit={rate}");
    spawn(
        dir,
        tag,
        env,
        &["sync", "-r", "--no-sync-snap", "--jobs=1", &limit, src, dst],
    )
}

/// The run after a fault: `zsync sync -r --no-sync-snap SRC DST` to its end (bounded).
pub fn next_sync(dir: &Path, src: &str, dst: &str) -> Ended {
    spawn(
        dir,
        "next",
        &[],
        &["sync", "-r", "--no-sync-snap", src, dst],
    )
    .finish(Duration::from_secs(180))
}
