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

/// The campaign record: one row per target, replaced by each new campaign of that target.
pub const CAMPAIGNS_FILE: &str = "fuzz/campaigns.tsv";

const CAMPAIGNS_HEADER: &str =
    "# target\texecutions\tseconds\tsanitizer\tcrashes\tdate\tcorpus_files (cargo xtask fuzz campaign)";

/// One finished campaign (a row of [`CAMPAIGNS_FILE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub target: String,
    pub executions: u64,
    pub seconds: u64,
    pub sanitizer: String,
    pub crashes: u64,
    pub date: String,
    pub corpus_files: usize,
}

impl Campaign {
    fn to_row(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.target,
            self.executions,
            self.seconds,
            self.sanitizer,
            self.crashes,
            self.date,
            self.corpus_files
        )
    }

    fn from_row(line: &str) -> Option<Campaign> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 7 || line.starts_with('#') {
            return None;
        }
        Some(Campaign {
            target: f[0].to_string(),
            executions: f[1].parse().ok()?,
            seconds: f[2].parse().ok()?,
            sanitizer: f[3].to_string(),
            crashes: f[4].parse().ok()?,
            date: f[5].to_string(),
            corpus_files: f[6].parse().ok()?,
        })
    }
}

/// The recorded campaigns, by target.
pub fn campaigns() -> Result<Vec<Campaign>> {
    let path = util::repo_root().join(CAMPAIGNS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(text.lines().filter_map(Campaign::from_row).collect())
}

fn save_campaign(c: &Campaign) -> Result<()> {
    let mut all: Vec<Campaign> = campaigns()?
        .into_iter()
        .filter(|o| o.target != c.target)
        .collect();
    all.push(c.clone());
    all.sort_by(|a, b| a.target.cmp(&b.target));
    let mut text = format!("{CAMPAIGNS_HEADER}\n");
    for c in &all {
        text.push_str(&c.to_row());
        text.push('\n');
    }
    let path = util::repo_root().join(CAMPAIGNS_FILE);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// From libFuzzer's output: the executions (`stat::number_of_executed_units: N`, or
/// `Done N runs in S second(s)`) and the seconds.
pub fn parse_final_stats(output: &str) -> Option<(u64, u64)> {
    let mut execs = None;
    let mut secs = None;
    for line in output.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            execs = v.trim().parse().ok().or(execs);
        }
        if let Some(rest) = line.strip_prefix("Done ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let [n, "runs", "in", s, ..] = words.as_slice() {
                execs = execs.or(n.parse().ok());
                secs = s.parse().ok();
            }
        }
    }
    Some((execs?, secs.unwrap_or(0)))
}

/// `cargo xtask fuzz campaign`: runs each target (all when none given) for `runs` executions on
/// its corpus `fuzz/corpus/TARGET` (kept between campaigns and committed), minimises the corpus
/// (`cargo fuzz cmin`) and records the campaign in [`CAMPAIGNS_FILE`]. A crash stops it, naming
/// the input libFuzzer saved.
pub fn campaign(targets: &[String], runs: u64, sanitizer: &str) -> Result<()> {
    ensure_cargo_fuzz()?;
    let all: Vec<String> = util::output(cargo_fuzz().arg("list"))?
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let chosen: Vec<String> = if targets.is_empty() {
        all.clone()
    } else {
        for t in targets {
            if !all.contains(t) {
                bail!(
                    "fuzz campaign: no target {t:?} (targets: {})",
                    all.join(" ")
                );
            }
        }
        targets.to_vec()
    };
    for target in &chosen {
        let clock = Stopwatch::start();
        let corpus = util::repo_root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create {}", corpus.display()))?;
        println!("fuzz campaign: ----- {target}: {runs} executions ({sanitizer}) -----");
        let mut output = String::new();
        let status = util::tee(
            cargo_fuzz()
                .args(["run", "-s", sanitizer, target])
                .arg(&corpus)
                .args([
                    "--",
                    &format!("-runs={runs}"),
                    "-print_final_stats=1",
                    "-print_pcs=0",
                ]),
            None,
            |line| {
                if line.starts_with("stat::") || line.starts_with("Done ") {
                    output.push_str(line);
                }
            },
        )?;
        if !status.success() {
            bail!(
                "fuzz campaign: {target} FAILED ({status}); the crash input is in fuzz/artifacts/{target}/"
            );
        }
        let (executions, seconds) = parse_final_stats(&output).with_context(|| {
            format!("fuzz campaign: {target}: no final stats in libFuzzer's output")
        })?;
        util::run(
            cargo_fuzz()
                .args(["cmin", "-s", sanitizer, target])
                .arg(&corpus),
        )
        .with_context(|| format!("minimising the corpus of {target}"))?;
        let corpus_files = std::fs::read_dir(&corpus)?.count();
        let c = Campaign {
            target: target.clone(),
            executions,
            seconds,
            sanitizer: sanitizer.to_string(),
            crashes: 0,
            date: util::today(),
            corpus_files,
        };
        save_campaign(&c)?;
        println!(
            "fuzz campaign: {target}: {executions} executions in {seconds}s, no crash; corpus {corpus_files} files [{}]",
            clock.show()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stats_are_read_from_libfuzzer_output() {
        let out = "Done 10000000 runs in 1537 second(s)\nstat::number_of_executed_units: 10000000\nstat::average_exec_per_sec:     6506\n";
        assert_eq!(parse_final_stats(out), Some((10_000_000, 1537)));
        assert_eq!(parse_final_stats("nothing"), None);
    }

    #[test]
    fn campaign_rows_round_trip() {
        let c = Campaign {
            target: "nvlist".into(),
            executions: 10_000_000,
            seconds: 812,
            sanitizer: "address".into(),
            crashes: 0,
            date: "2026-12-07".into(),
            corpus_files: 311,
        };
        assert_eq!(Campaign::from_row(&c.to_row()), Some(c));
        assert_eq!(Campaign::from_row(CAMPAIGNS_HEADER), None);
    }
}
