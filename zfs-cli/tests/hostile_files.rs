//! Hostile input in the files zsync reads: sanoid.conf and the job file cut at every byte,
//! binary garbage, invalid UTF-8, a 10 MB line, duplicate keys and sections, an empty file, a
//! directory. zsync either reads what is still a valid file (and goes on to ZFS, which is absent
//! here) or refuses it in one line naming the file (and the line, for a parse error), exit 2,
//! within seconds, without a panic and without writing anything. Each case is counted with
//! `zsync_lab::tally::hostile`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use zsync_lab::tally;

const BIN: &str = env!("CARGO_BIN_EXE_zsync");

const SANOID_CONF: &str = "\
# A host's sanoid.conf: a recursive pool, a zvol override, templates.
[tank]
\tuse_template = production
\trecursive = yes
\tprocess_children_only = no

[tank/vm-100-disk-0]
\tuse_template = production
\thourly = 24
\tdaily = 30
\tmonthly = 12
\tyearly = 0

[tank/scratch]
\tautosnap = no
\tautoprune = yes
\tfrequently = 0

[template_production]
\tfrequently = 0
\thourly = 36
\tdaily = 30
\tmonthly = 3
\tyearly = 0
\tautosnap = yes
\tautoprune = yes
\thourly_warn = 90m
\tdaily_crit = 2d
\tpre_snapshot_script = /usr/local/bin/freeze
\tscript_timeout = 30
";

const JOBS: &str = "\
# Two local jobs.
on_failure = [\"/bin/true\", \"zsync run failed\"]

[[job]]
name = \"vms\"
source = [\"tank/vm\"]
target = \"backup/vm\"
recursive = true
exclude-snaps = [\"_frequently$\"]
use-hold = true
on_failure = [\"/bin/true\", \"job vms failed\"]

[job.retention]
hourly = 0
daily = 30

[[job]]
name = \"home\"
source = [\"tank/home\", \"tank/etc\"]
target = \"backup\"
recursive = true
";

/// Which file a case damages, and how zsync is run on it.
#[derive(Clone, Copy)]
enum File {
    SanoidConf,
    Jobs,
}

impl File {
    fn name(self) -> &'static str {
        match self {
            File::SanoidConf => "sanoid.conf",
            File::Jobs => "jobs.toml",
        }
    }

    fn good(self) -> &'static [u8] {
        match self {
            File::SanoidConf => SANOID_CONF.as_bytes(),
            File::Jobs => JOBS.as_bytes(),
        }
    }

    /// argv reading the file: `snapshot --dry-run` for sanoid.conf, `status` for the job file.
    fn argv(self, dir: &Path) -> Vec<String> {
        let path = |n: &str| dir.join(n).to_string_lossy().into_owned();
        match self {
            File::SanoidConf => vec![
                "snapshot".into(),
                "--dry-run".into(),
                "--config".into(),
                path("sanoid.conf"),
            ],
            File::Jobs => vec!["status".into(), "--jobs-file".into(), path("jobs.toml")],
        }
    }
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("zsync-hostile-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("empty-path")).unwrap();
    std::fs::create_dir_all(d.join("state")).unwrap();
    d
}

fn run(dir: &Path, argv: &[String]) -> (Output, Duration) {
    let start = Instant::now();
    let o = Command::new(BIN)
        .args(argv)
        .current_dir(dir)
        .env_clear()
        .env("PATH", dir.join("empty-path"))
        .env("ZSYNC_BACKEND", "cli")
        .env("ZSYNC_TARGET_LOCK_DIR", dir.join("targets"))
        .env("ZSYNC_STATE_DIR", dir.join("state"))
        .env("ZSYNC_LOCK", dir.join("state/cron.lock"))
        .stdin(Stdio::null())
        .output()
        .expect("run zsync");
    (o, start.elapsed())
}

/// A deterministic byte generator (xorshift), so a failing case can be replayed.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every damaged variant of `file`: (what, bytes).
fn damages(file: File) -> Vec<(String, Vec<u8>)> {
    let good = file.good();
    let mut out = Vec::new();
    for cut in 0..good.len() {
        out.push((format!("cut at byte {cut}"), good[..cut].to_vec()));
    }
    for seed in 0..24u64 {
        out.push((
            format!("binary garbage #{seed}"),
            garbage(seed, 64 + 97 * seed as usize),
        ));
    }
    for (i, at) in (0..good.len()).step_by(good.len() / 12).enumerate() {
        let mut b = good.to_vec();
        b.insert(at, 0xff);
        b.insert(at, 0xc3);
        b.insert(at, if i % 2 == 0 { 0x00 } else { 0x80 });
        out.push((format!("invalid UTF-8 / NUL at byte {at}"), b));
    }
    let ten_mb = 10 << 20;
    let (key_line, junk_line) = match file {
        File::SanoidConf => (
            format!("[tank/x]\n\thourly = {}\n", "9".repeat(ten_mb)),
            "x".repeat(ten_mb),
        ),
        File::Jobs => (
            format!("[[job]]\nname = \"{}\"\n", "n".repeat(ten_mb)),
            "x".repeat(ten_mb),
        ),
    };
    for (what, extra) in [
        ("a 10 MB value", key_line),
        ("a 10 MB garbage line", junk_line),
    ] {
        let mut b = good.to_vec();
        b.extend_from_slice(extra.as_bytes());
        out.push((what.to_string(), b));
    }
    let dups: &[(&str, &str)] = match file {
        File::SanoidConf => &[
            ("a duplicate section", "[tank/scratch]\n\tautosnap = yes\n"),
            (
                "a duplicate template",
                "[template_production]\n\thourly = 1\n",
            ),
        ],
        File::Jobs => &[
            (
                "a duplicate key",
                "[[job]]\nname = \"a\"\nname = \"b\"\nsource = [\"t/a\"]\ntarget = \"t/b\"\n",
            ),
            (
                "a duplicate job name",
                "[[job]]\nname = \"vms\"\nsource = [\"t/a\"]\ntarget = \"t/b\"\n",
            ),
            ("a duplicate table", "[job.retention]\nhourly = 1\n"),
        ],
    };
    for (what, extra) in dups {
        let mut b = good.to_vec();
        b.extend_from_slice(extra.as_bytes());
        out.push((what.to_string(), b));
    }
    out.push(("an empty file".into(), Vec::new()));
    out
}

#[test]
fn damaged_config_and_job_files_are_read_or_refused_in_one_line() {
    let dir = scratch();
    let mut bad = Vec::new();
    let mut cases = 0;
    for file in [File::SanoidConf, File::Jobs] {
        let path = dir.join(file.name());
        // The undamaged file reads (the run goes on to ZFS, absent here).
        std::fs::write(&path, file.good()).unwrap();
        let (o, _) = run(&dir, &file.argv(&dir));
        let all =
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
        assert!(
            all.contains("run zfs: No such file"),
            "{}: {all}",
            file.name()
        );
        for (what, bytes) in damages(file) {
            std::fs::write(&path, &bytes).unwrap();
            let (o, took) = run(&dir, &file.argv(&dir));
            cases += 1;
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            let all = err.clone() + &String::from_utf8_lossy(&o.stdout);
            let mut problems = Vec::new();
            if o.status.code() == Some(101) || err.contains("panicked") {
                problems.push("panicked".to_string());
            }
            if took > Duration::from_secs(15) {
                problems.push(format!("took {took:?}"));
            }
            // Still a valid file: read, and the run went on to ZFS (absent), or had nothing to do.
            let read = all.contains("run zfs: No such file") || o.status.code() == Some(0);
            if !read {
                let errors: Vec<&str> =
                    err.lines().filter(|l| !l.contains(": warning: ")).collect();
                if o.status.code() != Some(2) {
                    problems.push(format!("exit {:?}", o.status.code()));
                }
                if errors.len() != 1 {
                    problems.push(format!("{} error lines", errors.len()));
                }
                let line = errors.first().copied().unwrap_or("");
                if !line.contains(file.name()) {
                    problems.push("the error does not name the file".into());
                }
                if line.len() > 1000 {
                    problems.push(format!("a {} byte error line", line.len()));
                }
            }
            let stray: Vec<_> = std::fs::read_dir(dir.join("state"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| n != "cron.lock")
                .collect();
            if !stray.is_empty() {
                problems.push(format!("wrote {stray:?}"));
            }
            let ok = problems.is_empty();
            tally::hostile(&format!("{}: {what}", file.name()), ok);
            if !ok {
                let first: String = err.lines().next().unwrap_or("").chars().take(200).collect();
                bad.push(format!(
                    "{}: {what}: {}: {first}",
                    file.name(),
                    problems.join(", ")
                ));
            }
        }
        std::fs::write(&path, file.good()).unwrap();
    }
    // A directory where the file should be, and no file at all.
    for (what, prepare) in [("a directory", true), ("a missing file", false)] {
        for file in [File::SanoidConf, File::Jobs] {
            let path = dir.join(file.name());
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_dir(&path);
            if prepare {
                std::fs::create_dir(&path).unwrap();
            }
            let (o, _) = run(&dir, &file.argv(&dir));
            cases += 1;
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            let ok =
                o.status.code() == Some(2) && err.lines().count() == 1 && err.contains(file.name());
            tally::hostile(&format!("{}: {what}", file.name()), ok);
            if !ok {
                bad.push(format!(
                    "{}: {what}: exit {:?}: {err}",
                    file.name(),
                    o.status.code()
                ));
            }
            let _ = std::fs::remove_dir(&path);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{cases} damaged files");
    assert!(
        bad.is_empty(),
        "{} of {cases} mishandled:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
