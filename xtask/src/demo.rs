//! `cargo xtask lab demo`: the "main job" demo, as a list of steps run inside the lab VM.
//!
//! Each step is an argv vector. Placeholders: `{dir}` is the run dir ($ZSYNC_LAB_DIR),
//! `{zsync}` the zsync binary ($ZSYNC_BIN). A step with `pending: Some(why)` is shown but not
//! run; to enable it once the zsync subcommand exists, set `pending: None` (and fix its argv if
//! the final CLI differs). Cleanup steps always run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::lab::{self, SELF_EXE};
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

/// What a step does.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Run this argv (placeholders expanded).
    Run(&'static [&'static str]),
    /// Write this text to this path (placeholders expanded in both).
    Write(&'static str, &'static str),
}

/// One demo step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub phase: Phase,
    /// What the step shows, in a few words.
    pub what: &'static str,
    pub action: Action,
    /// `Some(reason)`: not enabled yet (e.g. the zsync subcommand does not exist yet).
    pub pending: Option<&'static str>,
}

const fn step(what: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        phase: Phase::Main,
        what,
        action: Action::Run(argv),
        pending: None,
    }
}

const fn write(what: &'static str, path: &'static str, text: &'static str) -> Step {
    Step {
        phase: Phase::Main,
        what,
        action: Action::Write(path, text),
        pending: None,
    }
}

/// For steps whose zsync subcommand is not there yet (none at the moment).
#[allow(dead_code)]
const fn pending(what: &'static str, argv: &'static [&'static str], why: &'static str) -> Step {
    Step {
        phase: Phase::Main,
        what,
        action: Action::Run(argv),
        pending: Some(why),
    }
}

const fn cleanup(what: &'static str, argv: &'static [&'static str]) -> Step {
    Step {
        phase: Phase::Cleanup,
        what,
        action: Action::Run(argv),
        pending: None,
    }
}

/// The snapshot policy of the demo (sanoid.conf syntax).
const CONFIG: &str = "\
[tank/data]
\tuse_template = demo
\trecursive = yes
[tank/vm-100-disk-0]
\tuse_template = demo
[template_demo]
\tfrequently = 0
\thourly = 24
\tdaily = 7
\tweekly = 0
\tmonthly = 0
\tyearly = 0
";

/// The replication jobs of the demo (`zsync run`'s job file): the dataset tree and the VM disk,
/// the backup pruned to two hourlies (never the newest snapshot both sides share).
const JOBS: &str = "\
on_failure = [\"sh\", \"-c\", \"echo zsync run failed: $ZSYNC_PROBLEM\"]

[[job]]
name = \"data\"
source = \"tank/data\"
target = \"backup/data\"
recursive = true
no-sync-snap = true

[job.retention]
hourly = 2
daily = 7

[[job]]
name = \"vm\"
source = \"tank/vm-100-disk-0\"
target = \"backup/vm-100-disk-0\"
no-sync-snap = true
";

/// The demo, in order. Placeholders: `{dir}` run dir, `{zsync}` the zsync binary, `{now+1h}` and
/// `{now+2h}` Unix time one and two hours after the demo started (zsync's ZSYNC_NOW clock
/// injection).
#[rustfmt::skip]
pub const STEPS: &[Step] = &[
    // --- a source pool "tank" and a backup pool "backup", on sparse files ---
    step("sparse file for the source pool", &["truncate", "-s", "256M", "{dir}/tank.img"]),
    step("sparse file for the backup pool", &["truncate", "-s", "256M", "{dir}/backup.img"]),
    step("create the source pool",
         &["zpool", "create", "-o", "cachefile=none", "-m", "{dir}/mnt/tank", "tank", "{dir}/tank.img"]),
    step("create the backup pool",
         &["zpool", "create", "-o", "cachefile=none", "-m", "{dir}/mnt/backup",
           "backup", "{dir}/backup.img"]),
    step("a dataset tree", &["zfs", "create", "-p", "tank/data/docs"]),
    step("a second child dataset", &["zfs", "create", "tank/data/db"]),
    step("a zvol, as a VM disk", &["zfs", "create", "-V", "32M", "tank/vm-100-disk-0"]),
    step("wait for the zvol device", &["udevadm", "settle", "--timeout=60"]),
    step("write to the VM disk",
         &["dd", "if=/dev/urandom", "of=/dev/zvol/tank/vm-100-disk-0", "bs=64K", "count=32",
           "conv=fsync", "status=none"]),
    step("some files", &["cp", "-r", "/usr/share/doc/zfsutils-linux", "{dir}/mnt/tank/data/docs/"]),
    step("some binary data",
         &["dd", "if=/dev/urandom", "of={dir}/mnt/tank/data/db/table.bin", "bs=64K", "count=16",
           "status=none"]),
    step("what the source holds", &["zfs", "list", "-r", "-o", "name,type,used,refer,mountpoint", "tank"]),

    // --- policy snapshots and full replication ---
    write("the snapshot policy", "{dir}/zsync.conf", CONFIG),
    step("take the snapshots that are due",
         &["{zsync}", "snapshot", "--config", "{dir}/zsync.conf", "--lock-file", "{dir}/zsync.lock"]),
    step("the new snapshots", &["zfs", "list", "-t", "snapshot", "-r", "-o", "name,used", "tank"]),
    // zsync receives unmounted by default (`--mount` opts in): mounting a replica creates its
    // children's mountpoint directories in the mounted parent, which then counts as "modified
    // since the most recent snapshot", and the next incremental would be refused.
    step("full replication of the datasets (received unmounted)",
         &["{zsync}", "sync", "-r", "--no-sync-snap", "tank/data", "backup/data"]),
    step("full replication of the VM disk",
         &["{zsync}", "sync", "--no-sync-snap", "tank/vm-100-disk-0", "backup/vm-100-disk-0"]),
    step("what the backup holds", &["zfs", "list", "-r", "-t", "all", "-o", "name,type,used,refer", "backup"]),
    step("wait for the backup zvol device", &["udevadm", "settle", "--timeout=60"]),
    step("VM disk arrived intact", &["cmp", "/dev/zvol/tank/vm-100-disk-0", "/dev/zvol/backup/vm-100-disk-0"]),

    // --- change, snapshot an hour later, incremental replication ---
    step("change some data",
         &["dd", "if=/dev/urandom", "of={dir}/mnt/tank/data/db/table.bin", "bs=64K", "count=4",
           "conv=notrunc", "status=none"]),
    step("change the VM disk",
         &["dd", "if=/dev/urandom", "of=/dev/zvol/tank/vm-100-disk-0", "bs=64K", "count=4", "seek=8",
           "conv=notrunc,fsync", "status=none"]),
    step("an hour later (injected clock): snapshots again",
         &["env", "ZSYNC_NOW={now+1h}", "{zsync}", "snapshot", "--config", "{dir}/zsync.conf",
           "--lock-file", "{dir}/zsync.lock"]),
    step("the snapshots now", &["zfs", "list", "-t", "snapshot", "-r", "-o", "name,used", "tank"]),
    step("what an incremental would do (zsync plan changes nothing)",
         &["{zsync}", "plan", "-r", "--no-sync-snap", "tank/data", "backup/data"]),
    step("incremental replication of the datasets",
         &["{zsync}", "sync", "-r", "--no-sync-snap", "tank/data", "backup/data"]),
    step("incremental replication of the VM disk",
         &["{zsync}", "sync", "--no-sync-snap", "tank/vm-100-disk-0", "backup/vm-100-disk-0"]),
    step("snapshots on the backup", &["zfs", "list", "-r", "-t", "snapshot", "-o", "name,used", "backup"]),
    step("changed VM disk arrived", &["cmp", "/dev/zvol/tank/vm-100-disk-0", "/dev/zvol/backup/vm-100-disk-0"]),
    step("nothing left to send (zsync plan)",
         &["{zsync}", "plan", "-r", "--no-sync-snap", "tank/data", "backup/data"]),
    // --- the daily backup run of a job file: snapshot, replicate, prune, pools, record ---
    write("the replication jobs", "{dir}/jobs.toml", JOBS),
    step("two hours later: the backup run of both jobs (zsync run)",
         &["env", "ZSYNC_NOW={now+2h}", "{zsync}", "run", "--jobs-file", "{dir}/jobs.toml",
           "--config", "{dir}/zsync.conf", "--state-dir", "{dir}/state",
           "--lock-file", "{dir}/run.lock", "--cron-lock-file", "{dir}/zsync.lock"]),
    step("what was replicated and the lag (zsync status, from the record and a live listing)",
         &["env", "ZSYNC_NOW={now+2h}", "{zsync}", "status", "--jobs-file", "{dir}/jobs.toml",
           "--state-dir", "{dir}/state"]),
    step("the Prometheus textfile the run wrote", &["cat", "{dir}/state/zsync.prom"]),
    step("the restore drill of the VM disk: clone on the backup, verify against the source, destroy",
         &["{zsync}", "drill", "vm", "--jobs-file", "{dir}/jobs.toml"]),
    step("one replica verified by hand: the newest snapshot of the tree root",
         &["sh", "-c", "s=$(zfs list -H -t snapshot -o name -s createtxg backup/data | tail -1); \
                        {zsync} verify \"tank/data@${s#*@}\" \"$s\""]),


    step("mount the backup to look at it", &["zfs", "mount", "-a"]),
    step("changed file arrived",
         &["cmp", "{dir}/mnt/tank/data/db/table.bin", "{dir}/mnt/backup/data/db/table.bin"]),
    step("docs arrived", &["diff", "-r", "{dir}/mnt/tank/data/docs", "{dir}/mnt/backup/data/docs"]),
    step("all datasets and snapshots", &["zfs", "list", "-t", "all", "-o", "name,type,used,refer"]),

    // --- cleanup ---
    cleanup("destroy the backup pool", &["zpool", "destroy", "-f", "backup"]),
    cleanup("destroy the source pool", &["zpool", "destroy", "-f", "tank"]),
    cleanup("remove the pool files", &["rm", "-rf", "{dir}/tank.img", "{dir}/backup.img", "{dir}/mnt"]),
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

/// Placeholder values for one demo run.
struct Vars {
    dir: String,
    zsync: Option<String>,
    now_plus_1h: String,
    now_plus_2h: String,
}

impl Vars {
    /// Substitutes the placeholders; `None` if `text` needs zsync and there is none.
    fn expand(&self, text: &str) -> Option<String> {
        if text.contains("{zsync}") && self.zsync.is_none() {
            return None;
        }
        Some(
            text.replace("{dir}", &self.dir)
                .replace("{zsync}", self.zsync.as_deref().unwrap_or(""))
                .replace("{now+1h}", &self.now_plus_1h)
                .replace("{now+2h}", &self.now_plus_2h),
        )
    }

    fn expand_all(&self, argv: &[&str]) -> Option<Vec<String>> {
        argv.iter().map(|a| self.expand(a)).collect()
    }
}

const SUMMARY_FILE: &str = "demo-summary.txt";

/// Host side: lab setup, build zsync, boot the VM and run the steps there.
pub fn run(opts: &VmOptions) -> Result<()> {
    let lab = lab::setup()?;
    let zsync = lab::build_zsync()?;
    let rwdir = vm::new_run_dir("demo")?;
    let bin = rwdir.join("bin");
    let xtask = lab::stage(Path::new(SELF_EXE), &bin, "xtask")?;
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
    // The VM printed the full table; repeat its first line from the run dir's record.
    println!(
        "{}",
        summary.lines().next().unwrap_or("demo: no summary written")
    );
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
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let vars = Vars {
        zsync: std::env::var("ZSYNC_BIN")
            .ok()
            .filter(|z| Path::new(z).is_file()),
        now_plus_1h: (now + 3600).to_string(),
        now_plus_2h: (now + 7200).to_string(),
        dir,
    };
    let mut outcomes = Vec::new();
    let mut failed_before = false;
    for (i, step) in STEPS.iter().enumerate() {
        println!("\ndemo: [{}/{}] {}", i + 1, STEPS.len(), step.what);
        let outcome = if let Some(why) = step.pending {
            println!("demo:   not enabled yet ({why}): {}", step.action);
            Outcome::NotEnabled
        } else if failed_before && step.phase == Phase::Main {
            println!("demo:   skipped after an earlier failure: {}", step.action);
            Outcome::Skipped
        } else {
            match step.action {
                Action::Run(argv) => match vars.expand_all(argv) {
                    Some(argv) => run_step(&argv),
                    None => {
                        println!("demo:   not enabled: no zsync binary (ZSYNC_BIN)");
                        Outcome::NotEnabled
                    }
                },
                Action::Write(path, text) => write_step(&vars, path, text),
            }
        };
        failed_before |= outcome == Outcome::Failed;
        outcomes.push(outcome);
    }
    let summary = summarize(&outcomes);
    print!("\n{summary}");
    fs::write(PathBuf::from(&vars.dir).join(SUMMARY_FILE), &summary)?;
    Ok(Some(if failed_before { 1 } else { 0 }))
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Run(argv) => write!(f, "{}", argv.join(" ")),
            Action::Write(path, _) => write!(f, "write {path}"),
        }
    }
}

fn write_step(vars: &Vars, path: &str, text: &str) -> Outcome {
    let (Some(path), Some(text)) = (vars.expand(path), vars.expand(text)) else {
        return Outcome::NotEnabled;
    };
    println!("$ cat > {}", vm::sh_quote(&path));
    print!("{text}");
    match fs::write(&path, text) {
        Ok(()) => {
            println!("demo:   ok");
            Outcome::Ok
        }
        Err(e) => {
            println!("demo:   FAILED: cannot write {path}: {e}");
            Outcome::Failed
        }
    }
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
        let vars = Vars {
            dir: "/r".into(),
            zsync: Some("/b/zsync".into()),
            now_plus_1h: "3600".into(),
            now_plus_2h: "7200".into(),
        };
        let argv = vars.expand_all(&["env", "ZSYNC_NOW={now+1h}", "{zsync}", "{dir}/a.img"]);
        assert_eq!(
            argv.unwrap(),
            ["env", "ZSYNC_NOW=3600", "/b/zsync", "/r/a.img"]
        );
        let none = Vars {
            zsync: None,
            ..vars
        };
        assert_eq!(none.expand_all(&["{zsync}", "snapshot"]), None);
        assert_eq!(none.expand("{dir}/x").unwrap(), "/r/x");
    }

    #[test]
    fn steps_are_well_formed() {
        let argv = |s: &Step| match s.action {
            Action::Run(argv) => argv,
            Action::Write(..) => &[],
        };
        assert!(STEPS.iter().all(|s| !s.what.is_empty()));
        assert!(STEPS
            .iter()
            .all(|s| matches!(s.action, Action::Write(..)) || !argv(s).is_empty()));
        // The demo shows a zvol named like a Proxmox VM disk.
        assert!(STEPS
            .iter()
            .any(|s| argv(s).contains(&"tank/vm-100-disk-0")));
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
