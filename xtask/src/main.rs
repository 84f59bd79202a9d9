//! `cargo xtask ...`: project automation for zsync.
//!
//! * `lab setup`            install the real-ZFS lab (OpenZFS 2.3 from bookworm-backports, qemu, virtme-ng)
//! * `lab setup --zfs21`    build the second lab root (bookworm's OpenZFS 2.1, kernel 6.1), see `root21`
//! * `lab run -- CMD...`    boot the lab VM, load zfs, run CMD as root, return its exit status
//! * `lab test [FILTER...]` run every `lab_*` integration test binary with `--ignored` in one VM
//! * `lab demo`             the "main job" demo: pools, datasets, a zvol, zsync snapshot + replication
//! * `fuzz [--seconds N]`   run every cargo-fuzz target for N seconds
//! * `fuzz campaign [TARGET...]` 10 M executions per target on its committed corpus, recorded
//! * `reliability [--write]` the README's reliability table from the last ci run
//! * `dist-extras --out PREFIX` shell completions and man pages under PREFIX/share (packagers)
//! * `ci`                   the whole test command (setup, fmt, clippy, tests, fuzz, lab tests)
//!
//! Everything runs as argv vectors through `std::process::Command`. The only shell line we build is
//! the one virtme-ng's `--exec` needs, quoted by [`vm::sh_quote`].

mod ci;
mod demo;
mod dist_extras;
mod fuzz;
mod host_sshd;
mod lab;
mod reliability;
mod root21;
mod util;
mod vm;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  lab setup                      install the lab (root; Debian bookworm); fast no-op when done
  lab setup --zfs21              build the OpenZFS 2.1 lab root in /var/lib/zsync-lab/root-zfs21
                                 (debootstrap + kernel 6.1 + zfs-dkms 2.1); no-op when done
  lab run [VM OPTS] -- CMD...    boot the lab VM, modprobe zfs, run CMD as root, return its status
  lab test [VM OPTS] [FILTER...] run all lab_* test binaries (--ignored) in one VM; a FILTER that
                                 is part of a binary's name runs all its tests, others are
                                 passed to every binary as test-name filters; bin:NAME
                                 filters run only the binaries named exactly NAME
  lab xrel [VM OPTS]             replication across OpenZFS releases: three boots (2.1 root,
                                 host 2.3, 2.1 root) sharing pool files; see lab/README.md
  lab demo [VM OPTS]             run the main-job demo in the VM (runs lab setup first)
  fuzz [--seconds N]             run every cargo-fuzz target in fuzz/ for N seconds (default 20)
  fuzz campaign [--runs N] [--sanitizer address|none] [TARGET...]
                                 N executions (default 10000000) per target on its committed
                                 corpus fuzz/corpus/TARGET, minimise it, record fuzz/campaigns.tsv
  reliability [--target-dir DIR] [--write]
                                 the reliability table from the last ci run (lab and host tallies,
                                 fuzz/campaigns.tsv); --write puts it into README.md
  dist-extras --out PREFIX       write bash/zsh/fish completions and man pages (zsync.1,
                                 zsync-SUB.1) under PREFIX/share (e.g. --out $pkgdir/usr)
  ci [--fuzz-seconds N]          setup, fmt, clippy, cargo test, fuzz, lab test; fails fast
     [--skip STEP]...            (development only) skip setup|fmt|clippy|test|fuzz|lab

VM OPTS:
  --timeout SECS   whole VM run timeout (default 4800, or $ZSYNC_LAB_TIMEOUT)
  --memory SIZE    VM memory (default 3G)
  --cpus N         VM cpus (default 2)
  --root NAME      boot a lab root of its own instead of the host root: `zfs21` is Debian
                   bookworm's OpenZFS 2.1 with its 6.1 kernel (set up by `lab setup --zfs21`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["help"] | ["--help"] | ["-h"] => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        ["lab", "setup"] => {
            lab::setup()?;
            Ok(ExitCode::SUCCESS)
        }
        ["lab", "setup", "--zfs21"] => {
            root21::setup()?;
            Ok(ExitCode::SUCCESS)
        }
        ["lab", "run", rest @ ..] => {
            let (opts, rest) = parse_vm_opts(rest)?;
            let cmd = match rest.split_first() {
                Some((&"--", cmd)) => cmd,
                _ => rest,
            };
            if cmd.is_empty() {
                bail!("lab run: missing command (usage: cargo xtask lab run -- CMD...)");
            }
            let cmd: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            let status = lab::run_command(&opts, &cmd)?;
            Ok(exit_code(status))
        }
        ["lab", "test", rest @ ..] => {
            let (opts, filters) = parse_vm_opts(rest)?;
            let filters: Vec<String> = filters
                .iter()
                .filter(|s| **s != "--")
                .map(|s| s.to_string())
                .collect();
            lab::test(&opts, &filters)?;
            Ok(ExitCode::SUCCESS)
        }
        ["lab", "xrel", rest @ ..] => {
            let (opts, rest) = parse_vm_opts(rest)?;
            if !rest.is_empty() {
                bail!("lab xrel: unexpected argument {:?}", rest[0]);
            }
            lab::cross_release(&opts)?;
            Ok(ExitCode::SUCCESS)
        }
        ["lab", "demo", rest @ ..] => {
            let (opts, rest) = parse_vm_opts(rest)?;
            if !rest.is_empty() {
                bail!("lab demo: unexpected argument {:?}", rest[0]);
            }
            demo::run(&opts)?;
            Ok(ExitCode::SUCCESS)
        }
        // Hidden: the driver that runs *inside* the VM (the xtask binary is copied into the run dir).
        ["lab", "inside", "test", spec] => Ok(exit_code(lab::inside_test(spec.as_ref())?)),
        ["lab", "inside", "demo"] => Ok(exit_code(demo::inside()?)),
        ["fuzz", "campaign", rest @ ..] => {
            let mut rest: &[&str] = rest;
            let mut runs = 10_000_000;
            let mut sanitizer = "address".to_string();
            let mut targets = Vec::new();
            loop {
                match rest {
                    [] => break,
                    ["--runs", n, tail @ ..] => {
                        runs = parse_num(n, "--runs")?;
                        rest = tail;
                    }
                    ["--sanitizer", s, tail @ ..] => {
                        sanitizer = s.to_string();
                        rest = tail;
                    }
                    [t, tail @ ..] if !t.starts_with('-') => {
                        targets.push(t.to_string());
                        rest = tail;
                    }
                    _ => bail!(
                        "fuzz campaign: usage: cargo xtask fuzz campaign [--runs N] [--sanitizer address|none] [TARGET...]"
                    ),
                }
            }
            fuzz::campaign(&targets, runs, &sanitizer)?;
            Ok(ExitCode::SUCCESS)
        }
        ["fuzz", rest @ ..] => {
            let seconds = match rest {
                [] => fuzz::DEFAULT_SECONDS,
                ["--seconds", n] => parse_num(n, "--seconds")?,
                _ => bail!("fuzz: usage: cargo xtask fuzz [--seconds N]"),
            };
            fuzz::run(seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        ["reliability", rest @ ..] => {
            let mut rest: &[&str] = rest;
            let mut write = false;
            let mut target = None;
            loop {
                match rest {
                    [] => break,
                    ["--write", tail @ ..] => {
                        write = true;
                        rest = tail;
                    }
                    ["--target-dir", dir, tail @ ..] => {
                        target = Some(std::path::PathBuf::from(dir));
                        rest = tail;
                    }
                    _ => bail!(
                        "reliability: usage: cargo xtask reliability [--target-dir DIR] [--write]"
                    ),
                }
            }
            reliability::run(target.as_deref(), write)?;
            Ok(ExitCode::SUCCESS)
        }
        ["dist-extras", "--out", prefix] => {
            dist_extras::run(prefix.as_ref())?;
            Ok(ExitCode::SUCCESS)
        }
        ["dist-extras", ..] => bail!("dist-extras: usage: cargo xtask dist-extras --out PREFIX"),
        ["ci", rest @ ..] => {
            let mut rest: &[&str] = rest;
            let mut fuzz_seconds = fuzz::DEFAULT_SECONDS;
            let mut skip = Vec::new();
            loop {
                match rest {
                    [] => break,
                    ["--fuzz-seconds", n, tail @ ..] => {
                        fuzz_seconds = parse_num(n, "--fuzz-seconds")?;
                        rest = tail;
                    }
                    ["--skip", step, tail @ ..] => {
                        skip.push(step.to_string());
                        rest = tail;
                    }
                    _ => bail!("ci: usage: cargo xtask ci [--fuzz-seconds N] [--skip STEP]..."),
                }
            }
            ci::run(fuzz_seconds, &skip)
        }
        _ => {
            eprint!("{USAGE}");
            bail!("unknown command: {}", args.join(" "))
        }
    }
}

/// Parses the leading VM options; returns them and the remaining words.
fn parse_vm_opts<'a>(mut rest: &'a [&'a str]) -> Result<(vm::VmOptions, &'a [&'a str])> {
    let mut opts = vm::VmOptions::from_env()?;
    loop {
        match rest {
            ["--timeout", v, tail @ ..] => {
                opts.timeout = Duration::from_secs(parse_num(v, "--timeout")?);
                rest = tail;
            }
            ["--memory", v, tail @ ..] => {
                opts.memory = v.to_string();
                rest = tail;
            }
            ["--root", v, tail @ ..] => {
                opts.root = Some(v.to_string());
                rest = tail;
            }
            ["--cpus", v, tail @ ..] => {
                opts.cpus = parse_num(v, "--cpus")? as u32;
                rest = tail;
            }
            _ => return Ok((opts, rest)),
        }
    }
}

fn parse_num(s: &str, what: &str) -> Result<u64> {
    s.parse()
        .with_context(|| format!("{what}: expected a whole number, got {s:?}"))
}

/// Maps a child's exit status (None = killed by a signal) onto ours.
fn exit_code(status: Option<i32>) -> ExitCode {
    match status {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1).max(1)),
        None => ExitCode::FAILURE,
    }
}
