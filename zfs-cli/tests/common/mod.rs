//! Helpers shared by the zsync (zfs-cli/) lab tests: the zsync binary under test, a per-test scratch
//! directory in the lab dir, and running zsync with TZ=UTC, an optional injected clock and a
//! per-test lock file.

// Each lab test binary uses a different subset of these helpers.
#![allow(dead_code)]

use chrono::{DateTime, Timelike, Utc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use zsync_lab::TestPool;

/// The zsync binary: `ZSYNC_BIN` from the lab runner, else the one cargo built for this test.
pub fn bin() -> PathBuf {
    zsync_lab::zsync_bin().unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_zsync")))
}

/// A fresh, empty directory `<lab dir>/<prefix>-<pool>-<tag>`.
pub fn scratch(pool: &TestPool, prefix: &str, tag: &str) -> PathBuf {
    let d = zsync_lab::lab_dir()
        .expect("lab dir")
        .join(format!("{prefix}-{}-{tag}", pool.name()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A zsync command with TZ=UTC, the lock file in `dir` and, when given, the injected time.
pub fn zsync_cmd(dir: &Path, now: Option<DateTime<Utc>>, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .env("TZ", "UTC")
        .env("ZSYNC_LOCK", dir.join("zsync.lock"))
        .env_remove("ZSYNC_BACKEND")
        .env_remove("ZSYNC_NOW");
    if let Some(t) = now {
        c.env("ZSYNC_NOW", t.timestamp().to_string());
    }
    c
}

/// Runs [`zsync_cmd`] to completion and logs the command, its status and its output.
pub fn zsync(dir: &Path, now: Option<DateTime<Utc>>, args: &[&str]) -> Output {
    let o = zsync_cmd(dir, now, args).output().expect("run zsync");
    eprintln!(
        "$ zsync {}\n-> {:?}\n{}{}",
        args.join(" "),
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `zsync --backend BACKEND ARGS...` (see [`zsync_cmd`]), without an injected time.
pub fn zsync_backend_cmd(dir: &Path, backend: &str, args: &[&str]) -> Command {
    let full: Vec<&str> = ["--backend", backend].iter().chain(args).copied().collect();
    zsync_cmd(dir, None, &full)
}

/// Runs `zsync --backend BACKEND ARGS...` and logs it (see [`zsync`]).
pub fn zsync_backend(dir: &Path, backend: &str, args: &[&str]) -> Output {
    let full: Vec<&str> = ["--backend", backend].iter().chain(args).copied().collect();
    zsync(dir, None, &full)
}

/// Lossy UTF-8 text of a command's output.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Now, truncated to whole seconds (snapshot names and `creation` have second resolution).
pub fn now0() -> DateTime<Utc> {
    let t = Utc::now();
    t.with_nanosecond(0).unwrap_or(t)
}

/// Helpers of the lab tests over SSH.
pub mod ssh;

/// Helpers of the fault lab tests.
pub mod fault;
