//! `cargo xtask ci`: the whole test command. Steps run in order and stop at the first failure.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::root21;
use crate::util::{self, Stopwatch};
use crate::vm::VmOptions;
use crate::{fuzz, lab::parse_test_result};
use crate::{lab, reliability};

type StepFn<'a> = Box<dyn FnOnce() -> Result<String> + 'a>;

/// Short step names, in order (for `--skip`).
pub const STEP_NAMES: &[&str] = &[
    "setup",
    "fmt",
    "clippy",
    "test",
    "fuzz",
    "lab",
    "zfs21",
    "reliability",
];

/// The lab tests that run a second time on the OpenZFS 2.1 root: the backends' and replication's
/// (binary-name filters for `lab test`). lab_sync_wire, lab_sync_package and lab_sync_props stay
/// on 2.3 only, to keep CI well under its 90 minutes on a fresh machine.
pub const ZFS21_TESTS: &[&str] = &[
    "bin:lab_cli",
    "bin:lab_lzc",
    "bin:lab_props",
    "bin:lab_release",
    "bin:lab_sync",
    "bin:lab_cli_sync",
];

/// Runs every CI step except those named in `skip`; prints a summary; non-zero exit at the
/// first failure.
pub fn run(fuzz_seconds: u64, skip: &[String]) -> Result<ExitCode> {
    // The OpenZFS 2.1 stage (root build in the background, the 2.1 lab boot, the three-boot
    // cross-release run) is on by default; ZSYNC_CI_ZFS21=0 (or --skip zfs21) leaves it out.
    let mut skip = skip.to_vec();
    if std::env::var("ZSYNC_CI_ZFS21").as_deref() == Ok("0") && !skip.iter().any(|s| s == "zfs21") {
        skip.push("zfs21".to_string());
    }
    let skip = skip.as_slice();
    if let Some(bad) = skip.iter().find(|s| !STEP_NAMES.contains(&s.as_str())) {
        bail!(
            "ci: unknown step {bad:?} for --skip (steps: {})",
            STEP_NAMES.join(" ")
        );
    }
    let total = Stopwatch::start();
    // The 2.1 root (debootstrap + dkms, ~15 min when fresh) builds in the background while the
    // host steps run; the zfs21 step joins it.
    let root21 = if skip.iter().any(|s| s == "zfs21") {
        None
    } else {
        Some(root21::Background::start()?)
    };
    let steps: Vec<(&str, StepFn)> = vec![
        (
            "lab setup",
            Box::new(|| lab::setup().map(|l| format!("kernel {}", l.kernel_version))),
        ),
        (
            "cargo fmt --all --check",
            Box::new(|| cargo(&["fmt", "--all", "--check"])),
        ),
        (
            "cargo clippy --workspace --all-targets -- -D warnings",
            Box::new(|| {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
            }),
        ),
        ("cargo test --workspace", Box::new(cargo_test)),
        (
            "fuzz",
            Box::new(move || {
                fuzz::run(fuzz_seconds).map(|()| format!("{fuzz_seconds}s per target"))
            }),
        ),
        (
            "lab test",
            Box::new(|| lab::test(&VmOptions::from_env()?, &[]).map(|()| String::new())),
        ),
        (
            "lab test --root zfs21 (OpenZFS 2.1) + lab xrel",
            Box::new(move || {
                let built = root21
                    .context("the 2.1 root build was not started")?
                    .join()?;
                let mut opts = VmOptions::from_env()?;
                opts.root = Some(root21::NAME.to_string());
                let filters: Vec<String> = ZFS21_TESTS.iter().map(|s| s.to_string()).collect();
                lab::test(&opts, &filters)?;
                // Replication between the releases: 2.1 -> 2.3 -> 2.1 on shared pool files.
                lab::cross_release(&VmOptions::from_env()?)?;
                Ok(format!("{built}; 2.1 -> 2.3 -> 2.1 replication"))
            }),
        ),
        (
            "reliability table (cargo xtask reliability)",
            Box::new(|| reliability::run(None, false).map(|()| String::new())),
        ),
    ];
    let count = steps.len();
    let mut summary: Vec<String> = Vec::new();
    for (i, (name, step)) in steps.into_iter().enumerate() {
        if skip.iter().any(|s| s == STEP_NAMES[i]) {
            println!(
                "\nci: ===== [{}/{count}] {name}: SKIPPED (--skip) =====",
                i + 1
            );
            summary.push(format!("  SKIPPED {name} (--skip {})", STEP_NAMES[i]));
            continue;
        }
        println!("\nci: ===== [{}/{count}] {name} =====", i + 1);
        let clock = Stopwatch::start();
        match step() {
            Ok(note) => {
                let note = if note.is_empty() {
                    String::new()
                } else {
                    format!(" ({note})")
                };
                summary.push(format!("  ok      {name} [{}]{note}", clock.show()));
            }
            Err(err) => {
                summary.push(format!("  FAILED  {name} [{}]: {err:#}", clock.show()));
                print_summary(&summary, &total);
                println!("ci: FAILED at step {}/{count}: {name}", i + 1);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    print_summary(&summary, &total);
    if skip.is_empty() {
        println!("ci: all {count} steps passed");
    } else {
        println!(
            "ci: {} steps passed, {} SKIPPED",
            count - skip.len(),
            skip.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(lines: &[String], total: &Stopwatch) {
    println!("\nci: summary (total {}):", total.show());
    for line in lines {
        println!("{line}");
    }
}

fn cargo(args: &[&str]) -> Result<String> {
    util::run(util::cargo().args(args))?;
    Ok(String::new())
}

/// `cargo test --workspace`, adding up libtest's summary lines.
fn cargo_test() -> Result<String> {
    let (mut passed, mut failed, mut binaries) = (0u64, 0u64, 0u64);
    let mut cmd = util::cargo();
    cmd.args(["test", "--workspace"]);
    // The hostile-input tests count their cases here (`cargo xtask reliability`).
    let tally = util::target_dir().join(reliability::HOST_TALLY);
    if let Some(dir) = tally.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(&tally);
    cmd.env(lab::TALLY_ENV, &tally);
    let status = util::tee(&mut cmd, None, |line| {
        if let Some((p, f)) = parse_test_result(line) {
            passed += p;
            failed += f;
            binaries += 1;
        }
    })?;
    let counts =
        format!("{passed} passed, {failed} failed in {binaries} test binaries/doc-test runs");
    println!("ci: cargo test: {counts}");
    if !status.success() {
        bail!("cargo test failed ({status}): {counts}");
    }
    Ok(counts)
}
