//! `cargo xtask lab demo`: the "main job" demo, as a list of steps run inside the lab VM.
//!
//! Each step is an argv vector. Placeholders: `{dir}` is the run dir ($ZSYNC_LAB_DIR),
//! `{zsync}` the zsync binary ($ZSYNC_BIN). A step with `pending: Some(why)` is shown but not
//! run; to enable it once the zsync subcommand exists, set `pending: None` (and fix its argv if
//! the final CLI differs). Cleanup steps always run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::lab;
use crate::util::{self, Stopwatch};
use crate::vm::{self, VmOptions};

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Skipped once an earlier step failed.
    Main,
    /// Always runs, even after a failure.
    Cleanup,
}

/// One demo step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub phase: Phase,
    /// What the step shows, in a few words.
    pub what: &'static str,
    pub argv: &'static [&'static str],
    /// `Some(reason)`: not enabled yet (e.g. the zsync subcommand does not exist yet).
    pub pending: Option<&'static str>,
}

const fn main(what: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        phase: Phase::Main,
        what,
        argv,
        pending: None,
    }
}

const fn pending(what: &'static str, argv: &'static [&'static str], why: &'static str) -> Step {
    Step {
        phase: Phase::Main,
        what,
        argv,
        pending: Some(why),
    }
}

const fn cleanup(what: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        phase: Phase::Cleanup,
        what,
        argv,
        pending: None,
    }
}

const NO_SNAPSHOT: &str = "zsync snapshot subcommand not implemented yet";
const NO_SYNC: &str = "zsync replication subcommand not implemented yet";
const AFTER_SYNC: &str = "needs the replication steps above";

/// The demo, in order.
pub const STEPS: &[Step] = &[
    // --- a source pool "tank" and a backup pool "backup", on sparse files ---
    main(
        "sparse file for the source pool",
        &["truncate", "-s", "256M", "{dir}/tank.img"],
    ),
    main(
        "sparse file for the backup pool",
        &["truncate", "-s", "256M", "{dir}/backup.img"],
    ),
    main(
        "create the source pool",
        &[
            "zpool",
            "create",
            "-o",
            "cachefile=none",
            "-m",
            "{dir}/mnt/tank",
            "tank",
            "{dir}/tank.img",
        ],
    ),
    main(
        "create the backup pool",
        &[
            "zpool",
            "create",
            "-o",
            "cachefile=none",
            "-m",
            "{dir}/mnt/backup",
            "backup",
            "{dir}/backup.img",
        ],
    ),
    main("a dataset tree", &["zfs", "create", "-p", "tank/data/docs"]),
    main("a second child dataset", &["zfs", "create", "tank/data/db"]),
    main(
        "a zvol, as a VM disk",
        &["zfs", "create", "-V", "32M", "tank/vm-100-disk-0"],
    ),
    main(
        "some files",
        &[
            "cp",
            "-r",
            "/usr/share/doc/zfsutils-linux",
            "{dir}/mnt/tank/data/docs/",
        ],
    ),
    main(
        "some binary data",
        &[
            "dd",
            "if=/dev/urandom",
            "of={dir}/mnt/tank/data/db/table.bin",
            "bs=64K",
            "count=16",
            "status=none",
        ],
    ),
    main(
        "what the source holds",
        &[
            "zfs",
            "list",
            "-r",
            "-o",
            "name,type,used,refer,mountpoint",
            "tank",
        ],
    ),
    // --- first snapshot and full replication ---
    pending(
        "snapshot everything",
        &["{zsync}", "snapshot", "--recursive", "tank"],
        NO_SNAPSHOT,
    ),
    pending(
        "the new snapshots",
        &[
            "zfs",
            "list",
            "-t",
            "snapshot",
            "-r",
            "-o",
            "name,used",
            "tank",
        ],
        NO_SNAPSHOT,
    ),
    pending(
        "full replication to the backup pool",
        &["{zsync}", "syncoid", "--recursive", "tank", "backup/tank"],
        NO_SYNC,
    ),
    pending(
        "what the backup holds",
        &[
            "zfs",
            "list",
            "-r",
            "-t",
            "all",
            "-o",
            "name,type,used,refer",
            "backup",
        ],
        AFTER_SYNC,
    ),
    pending(
        "data arrived intact",
        &[
            "cmp",
            "{dir}/mnt/tank/data/db/table.bin",
            "{dir}/mnt/backup/tank/data/db/table.bin",
        ],
        AFTER_SYNC,
    ),
    // --- change, snapshot again, incremental replication ---
    main(
        "change some data",
        &[
            "dd",
            "if=/dev/urandom",
            "of={dir}/mnt/tank/data/db/table.bin",
            "bs=64K",
            "count=4",
            "conv=notrunc",
            "status=none",
        ],
    ),
    pending(
        "snapshot again",
        &["{zsync}", "snapshot", "--recursive", "tank"],
        NO_SNAPSHOT,
    ),
    pending(
        "incremental replication",
        &["{zsync}", "syncoid", "--recursive", "tank", "backup/tank"],
        NO_SYNC,
    ),
    pending(
        "snapshots on the backup",
        &[
            "zfs",
            "list",
            "-r",
            "-t",
            "snapshot",
            "-o",
            "name,used",
            "backup",
        ],
        AFTER_SYNC,
    ),
    pending(
        "changed data arrived",
        &[
            "cmp",
            "{dir}/mnt/tank/data/db/table.bin",
            "{dir}/mnt/backup/tank/data/db/table.bin",
        ],
        AFTER_SYNC,
    ),
    main(
        "all datasets and snapshots",
        &["zfs", "list", "-t", "all", "-o", "name,type,used,refer"],
    ),
    // --- cleanup ---
    cleanup(
        "destroy the backup pool",
        &["zpool", "destroy", "-f", "backup"],
    ),
    cleanup(
        "destroy the source pool",
        &["zpool", "destroy", "-f", "tank"],
    ),
    cleanup(
        "remove the pool files",
        &["rm", "-f", "{dir}/tank.img", "{dir}/backup.img"],
    ),
];

/// What happened to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Failed,
    /// Not enabled yet (pending) or no zsync binary.
    NotEnabled,
    /// Skipped because an earlier step failed.
    Skipped,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "FAILED",
            Outcome::NotEnabled => "not enabled yet",
            Outcome::Skipped => "skipped after failure",
        }
    }
}

/// Substitutes `{dir}` and `{zsync}`; `None` if the step needs zsync and there is none.
fn expand(argv: &[&str], dir: &str, zsync: Option<&str>) -> Option<Vec<String>> {
    argv.iter()
        .map(|a| {
            if a.contains("{zsync}") {
                zsync.map(|z| a.replace("{zsync}", z))
            } else {
                Some(a.replace("{dir}", dir))
            }
        })
        .collect()
}

const SUMMARY_FILE: &str = "demo-summary.txt";

/// Host side: lab setup, build zsync, boot the VM and run the steps there.
pub fn run(opts: &VmOptions) -> Result<()> {
    let lab = lab::setup()?;
    let zsync = lab::build_zsync()?;
    let rwdir = vm::new_run_dir("demo")?;
    let bin = rwdir.join("bin");
    let xtask = lab::stage(&std::env::current_exe()?, &bin, "xtask")?;
    let mut env = Vec::new();
    if let Some(z) = zsync {
        let staged = lab::stage(&z, &bin, "zsync")?;
        env.push((
            "ZSYNC_BIN".to_string(),
            staged.to_string_lossy().into_owned(),
        ));
    }
    let argv = vec![
        xtask.to_string_lossy().into_owned(),
        "lab".into(),
        "inside".into(),
        "demo".into(),
    ];
    let status = vm::run(&lab, opts, &rwdir, &env, &argv)?;
    let summary = fs::read_to_string(rwdir.join(SUMMARY_FILE)).unwrap_or_default();
    let ok = status == Some(0) && !summary.is_empty();
    print!("{summary}");
    lab::finish_run_dir(&rwdir, ok);
    if !ok {
        bail!("lab demo failed (VM exit status {status:?})");
    }
    Ok(())
}

/// Inside the VM: run the steps, print each command and its outcome, write a summary.
pub fn inside() -> Result<Option<i32>> {
    let dir =
        std::env::var("ZSYNC_LAB_DIR").context("ZSYNC_LAB_DIR is not set (not in the lab VM?)")?;
    let zsync = std::env::var("ZSYNC_BIN")
        .ok()
        .filter(|z| Path::new(z).is_file());
    let mut outcomes = Vec::new();
    let mut failed_before = false;
    for (i, step) in STEPS.iter().enumerate() {
        println!("\ndemo: [{}/{}] {}", i + 1, STEPS.len(), step.what);
        let expanded = expand(step.argv, &dir, zsync.as_deref());
        let outcome = if let Some(why) = step.pending {
            println!("demo:   not enabled yet ({why}): {}", step.argv.join(" "));
            Outcome::NotEnabled
        } else if failed_before && step.phase == Phase::Main {
            println!(
                "demo:   skipped after an earlier failure: {}",
                step.argv.join(" ")
            );
            Outcome::Skipped
        } else if let Some(argv) = expanded {
            run_step(&argv)
        } else {
            println!("demo:   not enabled: no zsync binary (ZSYNC_BIN)");
            Outcome::NotEnabled
        };
        failed_before |= outcome == Outcome::Failed;
        outcomes.push(outcome);
    }
    let summary = summarize(&outcomes);
    print!("\n{summary}");
    fs::write(PathBuf::from(&dir).join(SUMMARY_FILE), &summary)?;
    Ok(Some(if failed_before { 1 } else { 0 }))
}

fn run_step(argv: &[String]) -> Outcome {
    println!(
        "$ {}",
        argv.iter()
            .map(|a| vm::sh_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let clock = Stopwatch::start();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).env("LC_ALL", "C");
    match util::tee(&mut cmd, None, |_| {}) {
        Ok(status) if status.success() => {
            println!("demo:   ok [{}]", clock.show());
            Outcome::Ok
        }
        Ok(status) => {
            println!("demo:   FAILED ({status}) [{}]", clock.show());
            Outcome::Failed
        }
        Err(e) => {
            println!("demo:   FAILED: {e:#}");
            Outcome::Failed
        }
    }
}

fn summarize(outcomes: &[Outcome]) -> String {
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    let mut text = format!(
        "demo: {} steps ran ok, {} failed, {} not enabled yet, {} skipped after a failure\n",
        count(Outcome::Ok),
        count(Outcome::Failed),
        count(Outcome::NotEnabled),
        count(Outcome::Skipped)
    );
    for (step, outcome) in STEPS.iter().zip(outcomes) {
        text.push_str(&format!("  {:<22} {}\n", outcome.word(), step.what));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand() {
        let argv = expand(&["{zsync}", "x", "{dir}/a.img"], "/r", Some("/b/zsync")).unwrap();
        assert_eq!(argv, ["/b/zsync", "x", "/r/a.img"]);
        assert_eq!(expand(&["{zsync}", "snapshot"], "/r", None), None);
    }

    #[test]
    fn steps_are_well_formed() {
        assert!(STEPS
            .iter()
            .all(|s| !s.argv.is_empty() && !s.what.is_empty()));
        // The demo shows a zvol named like a Proxmox VM disk.
        assert!(STEPS.iter().any(|s| s.argv.contains(&"tank/vm-100-disk-0")));
        // Cleanup comes last.
        let first_cleanup = STEPS
            .iter()
            .position(|s| s.phase == Phase::Cleanup)
            .unwrap();
        assert!(STEPS[first_cleanup..]
            .iter()
            .all(|s| s.phase == Phase::Cleanup));
    }
}
