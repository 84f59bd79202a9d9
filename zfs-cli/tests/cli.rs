//! The `zsync` binary on the host (no ZFS): usage errors, argv[0] dispatch, config errors, the lock.
//! Nothing here reaches ZFS: every case stops before the backend is opened.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use zsync_ops::lock::RunLock;

const BIN: &str = env!("CARGO_BIN_EXE_zsync");

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zsync-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("ZSYNC_BACKEND")
        .env_remove("ZSYNC_CONFIG")
        .env_remove("ZSYNC_LOCK")
        .env_remove("ZSYNC_NOW")
        .output()
        .expect("run zsync")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bad_flag_is_one_line_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["snapshot", "--bogus"],
        &["cron", "--dry-run", "extra"],
        &["--backend", "nope", "version"],
        &["sanoid", "--bogus"],
        &["syncoid", "onlysource"],
        &["sync", "a"],
    ] {
        let o = run(Path::new(BIN), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    let o = run(Path::new(BIN), &["sanoid", "--bogus"]);
    assert!(stderr(&o).starts_with("sanoid: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("--bogus"), "{}", stderr(&o));
}

#[test]
fn help_goes_to_stdout_with_exit_0() {
    let o = run(Path::new(BIN), &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for cmd in [
        "snapshot", "prune", "cron", "plan", "sync", "sanoid", "syncoid", "version",
    ] {
        assert!(out.contains(cmd), "help lacks {cmd}: {out}");
    }
}

#[test]
fn argv0_symlinks_select_sanoid_and_syncoid() {
    let d = tmpdir("argv0");
    for name in ["sanoid", "syncoid"] {
        std::os::unix::fs::symlink(BIN, d.join(name)).unwrap();
        let o = run(&d.join(name), &["--version"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("{name} mode")),
            "{}",
            stdout(&o)
        );
        // The flag sets differ: sanoid knows --take-snapshots, syncoid does not.
        let o = run(
            &d.join(name),
            &["--take-snapshots", "--configdir=/nonexistent"],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with(&format!("{name}: ")), "{err}");
        if name == "sanoid" {
            assert!(err.contains("/nonexistent/sanoid.conf"), "{err}");
        } else {
            assert!(err.contains("--take-snapshots"), "{err}");
        }
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn bad_config_names_file_line_column_and_exits_2() {
    let d = tmpdir("badconf");
    let conf = d.join("zsync.conf");
    std::fs::write(&conf, "[tank]\n    hourly = 24\n    dialy = 3\n").unwrap();
    // Even a real (non-dry) run stops at the config: no lock taken, no ZFS touched.
    let lock = d.join("never.lock");
    let o = run(
        Path::new(BIN),
        &[
            "cron",
            "--config",
            conf.to_str().unwrap(),
            "--lock-file",
            lock.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("{}:3:5", conf.display())), "{err}");
    assert!(err.contains("dialy"), "{err}");
    assert!(
        !lock.exists(),
        "the lock must not be taken before the config is valid"
    );
    // sanoid mode reads --configdir/sanoid.conf.
    std::fs::copy(&conf, d.join("sanoid.conf")).unwrap();
    let o = run(
        Path::new(BIN),
        &["sanoid", "--cron", "--configdir", d.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sanoid.conf:3:5"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn missing_config_is_a_clear_error() {
    let o = run(
        Path::new(BIN),
        &["snapshot", "--config", "/nonexistent/zsync.conf"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/zsync.conf"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn busy_lock_makes_the_second_run_give_up_with_exit_75() {
    let d = tmpdir("lock");
    let conf = d.join("zsync.conf");
    std::fs::write(&conf, "[tank]\n    hourly = 24\n").unwrap();
    let lock_path = d.join("run/zsync.lock");
    // This test process is the first run: it holds the lock.
    let held = RunLock::acquire(&lock_path, Duration::ZERO).unwrap();
    let o = run(
        Path::new(BIN),
        &[
            "cron",
            "--config",
            conf.to_str().unwrap(),
            "--lock-file",
            lock_path.to_str().unwrap(),
            "--lock-wait",
            "0.3",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("another zsync run holds the lock"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    // ZSYNC_LOCK / ZSYNC_LOCK_WAIT do the same.
    let o = Command::new(BIN)
        .args(["snapshot", "--config", conf.to_str().unwrap()])
        .env("ZSYNC_LOCK", &lock_path)
        .env("ZSYNC_LOCK_WAIT", "0.1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    drop(held);
    // Once released, the run gets past the lock (and then fails on the host for lack of ZFS,
    // which is a different message and exit code 2).
    let o = run(
        Path::new(BIN),
        &[
            "cron",
            "--config",
            conf.to_str().unwrap(),
            "--lock-file",
            lock_path.to_str().unwrap(),
            "--lock-wait",
            "0",
        ],
    );
    assert_ne!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(!stderr(&o).contains("holds the lock"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn an_unreachable_remote_endpoint_fails_naming_the_host() {
    // Names that never resolve (RFC 6761 `.invalid`) and a closed port: one line naming the
    // host, exit 2, before anything is listed on either side.
    for (src, dst, host) in [
        ("root@nas.invalid:tank/a", "backup/a", "root@nas.invalid"),
        ("tank/a", "backup.invalid:pool/b", "backup.invalid"),
        ("tank/a", "127.0.0.1:pool/b", "127.0.0.1"),
    ] {
        let o = run(Path::new(BIN), &["sync", "--sshport", "1", src, dst]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{host}: cannot reach")), "{err}");
    }
    let o = run(
        Path::new(BIN),
        &["syncoid", "-r", "root@nas.invalid:tank", "backup/tank"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("root@nas.invalid"), "{}", stderr(&o));
}

#[test]
fn a_refused_ssh_option_is_named_before_connecting() {
    let o = run(
        Path::new(BIN),
        &[
            "sync",
            "-o",
            "ProxyJump=bastion",
            "tank/a",
            "nas.invalid:pool/b",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ProxyJump"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
}

/// A bad rate or size is refused in one line before any host is reached.
#[test]
fn a_bad_rate_is_named_before_connecting() {
    for (flag, value) in [
        ("--target-bwlimit", "fast"),
        ("--source-bwlimit", "0"),
        ("--small-stream", "lots"),
    ] {
        let o = run(
            Path::new(BIN),
            &["sync", flag, value, "tank/a", "nas.invalid:pool/b"],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(value), "{err}");
        assert!(!err.contains("cannot reach"), "{err}");
    }
}

#[test]
fn version_prints_the_version_first() {
    let o = run(Path::new(BIN), &["version"]);
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("zsync {}\n", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    // On a host without ZFS the backend line or a one-line reason follows.
    if o.status.code() == Some(0) {
        assert!(out.contains("backend: "), "{out}");
    } else {
        assert!(stderr(&o).contains("backend"), "{}", stderr(&o));
    }
}

/// sanoid runs cron only when no option but --configdir/--cache-dir/--run-dir is given: each of
/// these alone must take no lock and reach no ZFS (here: no `zfs` on PATH, so a cron run would fail).
#[test]
fn sanoid_option_alone_runs_no_cron() {
    let d = tmpdir("sanoid-alone");
    std::fs::write(d.join("sanoid.conf"), "[tank]\n\thourly = 24\n").unwrap();
    let lock = d.join("zsync.lock");
    let cfgdir = format!("--configdir={}", d.display());
    for flag in [
        "--verbose",
        "--quiet",
        "--readonly",
        "--debug",
        "--force-update",
    ] {
        let o = Command::new(BIN)
            .args(["sanoid", &cfgdir, flag])
            .env("PATH", &d)
            .env("ZSYNC_BACKEND", "cli")
            .env("ZSYNC_LOCK", &lock)
            .env_remove("ZSYNC_NOW")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{flag}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("does not exist"),
            "{flag}: {}",
            stderr(&o)
        );
        assert!(!lock.exists(), "{flag}: a cron run took the lock");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// A `zfs list` that fails for a reason other than "does not exist" (here: no `zfs` on PATH) is
/// told once per listed root with its real cause, exits 2, and is not reported as every
/// configured dataset missing.
#[test]
fn listing_failure_is_told_once_with_its_cause() {
    let d = tmpdir("listfail");
    let conf = "[tank]\n\thourly = 24\n[tank/a]\n\thourly = 2\n[tank/b/c]\n";
    std::fs::write(d.join("sanoid.conf"), conf).unwrap();
    let conf_path = d.join("sanoid.conf");
    let cfgdir = format!("--configdir={}", d.display());
    for args in [
        vec!["cron", "--dry-run", "--config", conf_path.to_str().unwrap()],
        vec!["sanoid", &cfgdir, "--cron", "--readonly"],
    ] {
        let o = Command::new(BIN)
            .args(&args)
            .env("PATH", &d)
            .env("ZSYNC_BACKEND", "cli")
            .env_remove("ZSYNC_NOW")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("does not exist; skipped"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("list tank"), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// `zsync ... | head -1`: stdout's reader is gone. No personality panics (exit 101); help and
/// version output end with exit 0.
#[test]
fn closed_stdout_never_panics() {
    for args in [
        &["--help"][..],
        &["sanoid", "--help"],
        &["syncoid", "--help"],
        &["sanoid", "--version"],
        &["syncoid", "--version"],
        &["snapshot", "--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(BIN)
            .args(args)
            .stdout(std::process::Stdio::from(writer))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// `--version` in each personality: the first line is Getopt::Long's `PROGRAM version X.Y.Z`
/// (what `sanoid --version | awk '{print $3}'`-style checks parse); zsync is named.
#[test]
fn personality_version_is_parseable_and_names_zsync() {
    let d = tmpdir("version");
    for name in ["sanoid", "syncoid"] {
        let link = d.join(name);
        std::os::unix::fs::symlink(BIN, &link).unwrap();
        let o = run(&link, &["--version"]);
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        let first = out.lines().next().unwrap_or_default();
        let words: Vec<&str> = first.split_whitespace().collect();
        assert_eq!(words.len(), 3, "{first}");
        assert!(words[0].ends_with(name), "{first}");
        assert_eq!(words[1], "version", "{first}");
        let v: Vec<u32> = words[2].split('.').map(|x| x.parse().unwrap()).collect();
        assert!(v.len() == 3 && v[0] >= 2, "{first}");
        assert!(out.contains("zsync"), "{out}");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// `--force-prune` gets sanoid's deprecation warning (and, alone, runs nothing).
#[test]
fn sanoid_force_prune_warns_as_sanoid() {
    let o = run(
        Path::new(BIN),
        &["sanoid", "--force-prune", "--configdir=/nonexistent"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim_end(),
        "WARN: --force-prune argument is deprecated and its behavior is now standard"
    );
}

const SHOW_CONF: &str =
    "[tank]\n\tuse_template = prod\n\trecursive = yes\n[tank/vm]\n\thourly = 3\n\
                         [template_prod]\n\thourly = 24\n\tyearly = 0\n";

fn no_zfs(d: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PATH", d)
        .env("ZSYNC_BACKEND", "cli")
        .env_remove("ZSYNC_CONFIG")
        .output()
        .unwrap()
}

/// `zsync config show [--json]`: every configured dataset's resolved settings (templates and the
/// recursive parent applied); without ZFS the sections alone, said in a note.
#[test]
fn config_show_prints_resolved_settings() {
    let d = tmpdir("cfgshow");
    let conf = d.join("sanoid.conf");
    std::fs::write(&conf, SHOW_CONF).unwrap();
    let o = no_zfs(&d, &["config", "show", "-c", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.contains("# ZFS not listed"), "{t}");
    let tank = t.split("\n[tank]\n").nth(1).expect("a [tank] block");
    assert!(
        tank.contains("\thourly = 24\n") && tank.contains("\tyearly = 0\n"),
        "{t}"
    );
    let vm = t.split("\n[tank/vm]\n").nth(1).expect("a [tank/vm] block");
    assert!(vm.contains("\thourly = 3\n"), "{t}");
    let o = no_zfs(
        &d,
        &["config", "show", "--json", "-c", conf.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["datasets"][0]["dataset"], "tank");
    assert_eq!(v["datasets"][1]["settings"]["hourly"], 3);
    assert_eq!(v["listed"], false);
    // Closed stdout: no panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(BIN)
        .args(["config", "show", "-c", conf.to_str().unwrap()])
        .env("PATH", &d)
        .env("ZSYNC_BACKEND", "cli")
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(d);
}

/// A config remark (a duplicate key: the first value is used, as sanoid does) is said once, with
/// its file:line, by `config show` on stderr and in its JSON.
#[test]
fn config_show_says_config_warnings() {
    let d = tmpdir("cfgwarn");
    let conf = d.join("sanoid.conf");
    std::fs::write(&conf, "[tank]\n\thourly = 5\n\thourly = 7\n").unwrap();
    let path = conf.to_str().unwrap();
    let o = no_zfs(&d, &["config", "show", "-c", path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(
        err.trim_end(),
        format!(
            "zsync: warning: {path}:3:2: duplicate key 'hourly' in section [tank]; the first value is used"
        ),
        "{err}"
    );
    assert!(stdout(&o).contains("\thourly = 5\n"), "{}", stdout(&o));
    let o = no_zfs(&d, &["config", "show", "--json", "-c", path]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(
        v["warnings"][0],
        format!("{path}:3:2: duplicate key 'hourly' in section [tank]; the first value is used")
    );
    let _ = std::fs::remove_dir_all(d);
}

/// sanoid's `--debug` dumps the resolved per-dataset configuration (and, alone, does nothing else).
#[test]
fn sanoid_debug_dumps_the_config() {
    let d = tmpdir("sanoiddebug");
    std::fs::write(d.join("sanoid.conf"), SHOW_CONF).unwrap();
    let cfgdir = format!("--configdir={}", d.display());
    let o = no_zfs(&d, &["sanoid", &cfgdir, "--debug"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = stdout(&o);
    assert!(t.starts_with("****** CONFIGS ******\n"), "{t}");
    assert!(t.contains("\n[tank/vm]\n"), "{t}");
    assert!(t.contains("\thourly = 3\n"), "{t}");
    let _ = std::fs::remove_dir_all(d);
}

/// syncoid mode's flag checks, all before any backend opens: syncoid's warnings for `--skip-parent`
/// without `-r` and the deprecated `--exclude`, refused `--sendoptions` letters with their reason,
/// Perl look-around accepted and a bad pattern refused in one line.
#[test]
fn syncoid_flag_warnings_and_refusals() {
    let bin = Path::new(BIN);
    let o = run(
        bin,
        &[
            "syncoid",
            "--skip-parent",
            "--exclude=x",
            "--sendoptions=R",
            "a/b",
            "c/d",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "WARNING: The --exclude option is deprecated, please use --exclude-datasets instead",
            "WARNING: --skip-parent does nothing without --recursive; ignored",
            "zsync: --sendoptions: 'R' is not supported: zsync sends each dataset on its own; use -r/--recursive",
        ],
        "{err}"
    );
    // --quiet drops the warnings, not the error.
    let o = run(
        bin,
        &[
            "syncoid",
            "--quiet",
            "--skip-parent",
            "--sendoptions=X a",
            "a/b",
            "c/d",
        ],
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'X' is not supported"),
        "{}",
        stderr(&o)
    );
    // Look-around is accepted (the error is the next flag's); a broken pattern is one line.
    let o = run(
        bin,
        &[
            "syncoid",
            "-r",
            "--exclude-datasets=^(?!tank/keep)",
            "--recvoptions=F",
            "a/b",
            "c/d",
        ],
    );
    assert!(stderr(&o).contains("--recvoptions: 'F'"), "{}", stderr(&o));
    let o = run(bin, &["syncoid", "-r", "--exclude-snaps=a(", "a/b", "c/d"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--exclude-snaps 'a(': "),
        "{}",
        stderr(&o)
    );
}
