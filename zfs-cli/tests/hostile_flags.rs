//! Hostile input on the command line: every value-taking flag of every command (zsync's own, the
//! sanoid and syncoid personalities, the global options) given garbage values, one run each.
//!
//! The flags are found by walking the clap grammar, so a flag added later is swept too. Each run
//! happens on the host without ZFS (`PATH` is an empty directory, so no `zfs`, `zpool` or `ssh`
//! exists) in a scratch directory that holds a valid sanoid.conf and job file; the state
//! directory, the locks and the metrics file point into it. A case is handled when:
//! - zsync did not panic (exit 101 or a "panicked" line) and did not hang;
//! - it exited non-zero with one line on stderr naming the flag or the value, or the value is of a
//!   kind zsync can only check where it is used (a path, a command, an ssh option) and the one line
//!   names what failed there;
//! - nothing was created, changed or removed in the scratch directory.
//!
//! Every case is counted with `zsync_lab::tally::hostile` (`cargo xtask reliability`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use zsync_cli::args::{Cli, SanoidArgs, SyncoidArgs};
use zsync_lab::tally;

const BIN: &str = env!("CARGO_BIN_EXE_zsync");

const CONF: &str =
    "[tank/src]\n\tuse_template = prod\n[template_prod]\n\thourly = 2\n\tdaily = 1\n";
const JOBS: &str = "[[job]]\nname = \"j\"\nsource = [\"tank/src\"]\ntarget = \"tank/dst\"\n";

/// The garbage values every flag gets (as raw bytes: argv need not be UTF-8).
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", b"".to_vec()),
        ("word", b"garbage".to_vec()),
        ("negative", b"-1".to_vec()),
        ("huge number", b"99999999999999999999999999".to_vec()),
        ("float overflow", b"1e999".to_vec()),
        ("unit garbage", b"10Q".to_vec()),
        ("format string", b"%n%s%x".to_vec()),
        ("shell", b"$(touch pwned);`touch pwned2`".to_vec()),
        ("newline", b"a\nb".to_vec()),
        ("invalid UTF-8", b"\xff\xfe\x80".to_vec()),
        ("dataset-like", b"tank/ds@".to_vec()),
        ("64 KiB", vec![b'x'; 64 << 10]),
    ]
}

/// Flags naming a file or directory zsync writes its own bookkeeping to (a lock, the run record,
/// the metrics): creating it there is what the flag is for.
const OUTPUT_FLAGS: &[&str] = &[
    "lock-file",
    "cron-lock-file",
    "state-dir",
    "metrics-file",
    "output",
    "cache-dir",
    "run-dir",
    "target-lock-dir",
];

/// Flags whose every garbage value is a legitimate value, or that zsync accepts and ignores
/// (syncoid's mbuffer/pv tuning; SSH options when both ends are local): the run goes on to ZFS.
const ACCEPTS_ANY: &[&str] = &[
    "exclude",
    "exclude-datasets",
    "exclude-snaps",
    "include-snaps",
    "sshoption",
    "sshcipher",
    "sshkey",
    "sshconfig",
    "mbuffer-size",
    "pv-options",
    // sanoid's cache (zsync lists ZFS in one call and keeps none): accepted and ignored.
    "cache-ttl",
    // Names: any word may name a job, a pool or the zsync program on a remote host.
    "job",
    "pool",
    "remote-zsync",
    // A path read only by the checks that use it (`monitor lag`; not `monitor health`).
    "jobs-file",
];

/// Garbage that happens to be a legitimate value: no send/receive options at all; an identifier
/// of 1 to 128 letters, digits and `_ - . :` (`garbage`, `-1`, `10Q`), or none in syncoid mode.
fn legitimate(prefix: &[String], flag: &str, value: &[u8]) -> bool {
    match flag {
        "sendoptions" | "recvoptions" => value.is_empty(),
        "identifier" => {
            (value.is_empty() && prefix.first().is_some_and(|p| p == "syncoid"))
                || std::str::from_utf8(value)
                    .is_ok_and(|id| zfs_sync::naming::check_identifier(id).is_ok())
        }
        _ => false,
    }
}

/// A warning line (printed before the error; not the error itself).
fn is_warning(line: &str) -> bool {
    line.contains(": warning: ") || line.starts_with("WARNING: ") || line.starts_with("WARN: ")
}

/// One flag of one command line: how to reach the command, and the flag.
struct Flag {
    /// argv before the flag (`["sync"]`, `["monitor", "health"]`, `["syncoid"]`, `[]`).
    prefix: Vec<String>,
    /// argv after the flag (the command's required positionals, valid ones).
    positionals: Vec<String>,
    /// `--long` (or `-s` when the flag has no long name).
    name: String,
    /// Whether the value is free text zsync can only check where it is used.
    free_form: bool,
}

/// A valid value for a required positional, by its value name.
fn positional_value(arg: &clap::Arg) -> String {
    let name = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|s| s.to_string())
        .unwrap_or_else(|| arg.get_id().to_string())
        .to_ascii_uppercase();
    if name.contains("SNAP") {
        "tank/src@snap".into()
    } else if name.contains("NEW") {
        "tank/new".into()
    } else if name.contains("DST") || name.contains("TARGET") {
        "tank/dst".into()
    } else if name.contains("CHECK") {
        "health".into()
    } else if name.contains("JOB") {
        "j".into()
    } else {
        "tank/src".into()
    }
}

/// Flags whose value is free text (paths, commands, ssh options, patterns checked at use).
fn is_free_form(arg: &clap::Arg) -> bool {
    let has_values = arg
        .get_value_parser()
        .possible_values()
        .is_some_and(|mut v| v.next().is_some());
    if has_values {
        return false;
    }
    let names = arg
        .get_value_names()
        .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap_or_default()
        .join(" ")
        .to_ascii_uppercase();
    [
        "FILE", "PATH", "DIR", "CMD", "COMMAND", "OPTION", "HOST", "KEY", "CIPHER", "USER",
    ]
    .iter()
    .any(|w| names.contains(w))
}

fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Flag>) {
    let positionals: Vec<String> = cmd
        .get_positionals()
        .filter(|a| a.is_required_set())
        .map(positional_value)
        .collect();
    for arg in cmd.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        let name = match (arg.get_long(), arg.get_short()) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(s)) => format!("-{s}"),
            _ => continue,
        };
        out.push(Flag {
            prefix: prefix.clone(),
            positionals: positionals.clone(),
            name,
            free_form: is_free_form(arg),
        });
    }
    for sub in cmd.get_subcommands() {
        let name = sub.get_name().to_string();
        if name == "help" || name == "sanoid" || name == "syncoid" {
            continue;
        }
        let mut p = prefix.clone();
        p.push(name);
        walk(sub, p, out);
    }
}

/// Every value-taking flag: zsync's commands, the global options (before `version`), and the
/// sanoid and syncoid personalities (as `zsync sanoid ...` / `zsync syncoid ...`).
fn all_flags() -> Vec<Flag> {
    let mut flags = Vec::new();
    let top = Cli::command();
    for arg in top.get_arguments() {
        if arg.get_action().takes_values() {
            if let Some(l) = arg.get_long() {
                flags.push(Flag {
                    prefix: vec![],
                    positionals: vec!["version".into()],
                    name: format!("--{l}"),
                    free_form: is_free_form(arg),
                });
            }
        }
    }
    for sub in top.get_subcommands() {
        let name = sub.get_name();
        if !["help", "sanoid", "syncoid"].contains(&name) {
            walk(sub, vec![name.to_string()], &mut flags);
        }
    }
    for f in &mut flags {
        if f.prefix == ["verify"] {
            f.positionals = vec!["tank/src@snap".into(), "tank/dst@snap".into()];
        }
    }
    let mut sanoid = Vec::new();
    walk(&SanoidArgs::command(), vec!["sanoid".into()], &mut sanoid);
    // sanoid without an action only warns; give it one so a flag's value is really used.
    for f in &mut sanoid {
        f.positionals.push("--cron".into());
        if f.name != "--configdir" {
            // sanoid reads CONFIGDIR/sanoid.conf: the scratch directory's.
            f.positionals
                .push(format!("--configdir={}", scratch_dir().display()));
        }
    }
    flags.extend(sanoid);
    let mut syncoid = Vec::new();
    walk(
        &SyncoidArgs::command(),
        vec!["syncoid".into()],
        &mut syncoid,
    );
    for f in &mut syncoid {
        f.positionals = vec!["tank/src".into(), "tank/dst".into()];
    }
    flags.extend(syncoid);
    flags
}

/// Every file under `dir` with its contents (what "nothing changed" is checked against).
fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

fn run(dir: &Path, argv: &[OsString]) -> (Output, Duration) {
    let empty = dir.join("empty-path");
    let start = Instant::now();
    let child = Command::new(BIN)
        .args(argv)
        .current_dir(dir)
        .env_clear()
        .env("PATH", &empty)
        .env("HOME", dir.join("home"))
        .env("ZSYNC_BACKEND", "cli")
        .env("ZSYNC_CONFIG", dir.join("sanoid.conf"))
        .env("ZSYNC_JOBS", dir.join("jobs.toml"))
        .env("ZSYNC_STATE_DIR", dir.join("state"))
        .env("ZSYNC_LOCK", dir.join("state/cron.lock"))
        .env("ZSYNC_RUN_LOCK", dir.join("state/run.lock"))
        .env("ZSYNC_TARGET_LOCK_DIR", dir.join("state/targets"))
        .stdin(Stdio::null())
        .output()
        .expect("run zsync");
    (child, start.elapsed())
}

fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("zsync-hostile-flags-{}", std::process::id()))
}

fn scratch() -> PathBuf {
    let d = scratch_dir();
    let _ = std::fs::remove_dir_all(&d);
    for sub in ["empty-path", "home", "state"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("sanoid.conf"), CONF).unwrap();
    std::fs::write(d.join("jobs.toml"), JOBS).unwrap();
    d
}

#[test]
fn every_flag_given_garbage_is_refused_in_one_line_and_changes_nothing() {
    let dir = scratch();
    let before = snapshot_dir(&dir);
    let flags = all_flags();
    assert!(
        flags.len() > 100,
        "the grammar walk found only {} flags",
        flags.len()
    );
    let mut bad = Vec::new();
    let mut cases = 0;
    for flag in &flags {
        for (what, value) in garbage() {
            let mut assign = OsString::from(format!("{}=", flag.name));
            if flag.name.len() == 2 {
                // A short flag: `-x VALUE` (clap takes `-x=VALUE` with the `=` in the value).
                assign = OsString::from(&flag.name);
            }
            let mut argv: Vec<OsString> = flag.prefix.iter().map(OsString::from).collect();
            if flag.name.len() == 2 {
                argv.push(assign);
                argv.push(OsString::from_vec(value.clone()));
            } else {
                assign.push(OsStr::from_bytes(&value));
                argv.push(assign);
            }
            argv.extend(flag.positionals.iter().map(OsString::from));
            let label = format!("{} {} = {what}", flag.prefix.join(" "), flag.name);
            let (o, took) = run(&dir, &argv);
            cases += 1;
            let code = o.status.code();
            // Nagios checks and `status` answer on stdout; everything else on stderr.
            let on_stdout = matches!(
                flag.prefix.first().map(String::as_str),
                Some("monitor" | "status" | "run")
            );
            let text = String::from_utf8_lossy(if on_stdout && o.stderr.is_empty() {
                &o.stdout
            } else {
                &o.stderr
            })
            .into_owned();
            let value_text = String::from_utf8_lossy(&value).into_owned();
            let bare = flag.name.trim_start_matches('-');
            let mut problems = Vec::new();
            if code == Some(101) || o.stderr.windows(8).any(|w| w == b"panicked") {
                problems.push("panicked".to_string());
            }
            if took > Duration::from_secs(20) {
                problems.push(format!("took {took:?}"));
            }
            if dir.join("pwned").exists() || dir.join("pwned2").exists() {
                problems.push("a value ran as a shell command".into());
            }
            let after = snapshot_dir(&dir);
            if after != before {
                // zsync's own bookkeeping may be written where a flag says (a lock, the state
                // directory, the metrics file): anything else is a change a bad value caused.
                let writes_there = OUTPUT_FLAGS.contains(&bare);
                let state = dir.join("state");
                let changed: Vec<_> = after
                    .keys()
                    .filter(|k| before.get(*k) != after.get(*k))
                    .chain(before.keys().filter(|k| !after.contains_key(*k)))
                    .filter(|k| !k.starts_with(&state))
                    .collect();
                if !changed.is_empty() && !writes_there {
                    problems.push(format!("changed {changed:?}"));
                }
                // Put things back so one case does not spoil the next.
                let _ = std::fs::remove_dir_all(&dir);
                assert_eq!(scratch(), dir);
            }
            let errors: Vec<&str> = text.lines().filter(|l| !is_warning(l)).collect();
            if code != Some(0) {
                let line = errors.first().copied().unwrap_or("");
                let short = value_text.len() <= 200 && !value_text.contains('\n');
                let names_it = line.contains(bare)
                    || (short && !value_text.is_empty() && line.contains(value_text.as_str()));
                // The value passed every check and the run went on to ZFS (absent here).
                let reached_zfs = text.contains("run zfs: No such file")
                    || text.contains("run zpool: No such file");
                let accepted = ACCEPTS_ANY.contains(&bare)
                    || OUTPUT_FLAGS.contains(&bare)
                    || legitimate(&flag.prefix, bare, &value);
                if reached_zfs && !accepted {
                    problems.push("garbage got past the checks to ZFS".into());
                } else if !reached_zfs && !names_it && !flag.free_form {
                    problems.push("the error names neither the flag nor the value".into());
                }
                // A refusal is one line (a run that reached ZFS reports as it always does).
                if !reached_zfs && errors.len() != 1 {
                    problems.push(format!("{} error lines", errors.len()));
                }
            }
            let handled = problems.is_empty();
            tally::hostile(&format!("flag {label}"), handled);
            if !handled {
                bad.push(format!(
                    "{label}: exit {code:?}: {}: {}",
                    problems.join(", "),
                    text.lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{cases} garbage values over {} flags", flags.len());
    assert!(
        bad.is_empty(),
        "{} of {cases} cases mishandled:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
