//! `cargo xtask fuzz`: run every cargo-fuzz target in fuzz/ for a short, fixed time.
//!
//! Only a stable toolchain is available, so cargo-fuzz's `-Z` flags are enabled with
//! `RUSTC_BOOTSTRAP=1`.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::{self, Stopwatch};

/// Seconds per target when none are given.
pub const DEFAULT_SECONDS: u64 = 20;

fn cargo_fuzz() -> Command {
    let mut cmd = util::cargo();
    cmd.arg("fuzz")
        .current_dir(util::repo_root())
        .env("RUSTC_BOOTSTRAP", "1");
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let present = cargo_fuzz()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!("fuzz: installing cargo-fuzz");
        util::run(util::cargo().args(["install", "cargo-fuzz", "--locked"]))
            .context("installing cargo-fuzz")?;
    }
    Ok(())
}

/// Builds and runs every target listed by `cargo fuzz list` for `seconds` each.
pub fn run(seconds: u64) -> Result<()> {
    let clock = Stopwatch::start();
    if !util::repo_root().join("fuzz/Cargo.toml").is_file() {
        println!("fuzz: no fuzz/Cargo.toml; nothing to run");
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    let list = util::output(cargo_fuzz().arg("list"))?;
    let targets: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if targets.is_empty() {
        println!("fuzz: fuzz/ has no targets yet; nothing to run");
        return Ok(());
    }
    println!(
        "fuzz: {} targets, {seconds}s each: {}",
        targets.len(),
        targets.join(" ")
    );
    util::run(cargo_fuzz().arg("build")).context("building the fuzz targets")?;
    let mut failed = Vec::new();
    for target in &targets {
        println!("fuzz: ----- {target} ({seconds}s) -----");
        let result = util::run(cargo_fuzz().args([
            "run",
            target,
            "--",
            &format!("-max_total_time={seconds}"),
            "-print_final_stats=0",
        ]));
        if let Err(e) = result {
            println!("fuzz: {target} FAILED: {e:#} (crash input in fuzz/artifacts/{target}/)");
            failed.push(*target);
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz: {} of {} targets failed: {}",
            failed.len(),
            targets.len(),
            failed.join(" ")
        );
    }
    println!(
        "fuzz: {} targets ran {seconds}s each without a finding [{}]",
        targets.len(),
        clock.show()
    );
    Ok(())
}
