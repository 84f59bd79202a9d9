//! Hostile input: dataset and snapshot names at every validity edge, given to `zsync plan`,
//! `zsync sync`, `zsync clone` and a sanoid.conf section, on the host without ZFS (`PATH` is an
//! empty directory). An invalid name is refused before any command runs: exit 2, one line naming
//! it. A valid one passes the checks and the run goes on to ZFS (absent here, so it fails there):
//! the lab test `lab_names_at_the_edges_work_end_to_end` replicates them on real pools.
//! Each case is counted with `zsync_lab::tally::hostile`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use zsync_lab::tally;

const BIN: &str = env!("CARGO_BIN_EXE_zsync");

/// Names ZFS accepts (the longest is exactly 255 bytes).
fn valid() -> Vec<String> {
    let long = format!("tank/{}", "x".repeat(255 - 5));
    vec![
        "tank".into(),
        "tank/a b".into(),
        "tank/-x".into(),
        "tank/a:b.c_d-e".into(),
        "tank/a/b/c/d/e/f/g".into(),
        "Tank9/UPPER".into(),
        long,
    ]
}

/// Names ZFS refuses, and why.
fn invalid() -> Vec<(String, &'static str)> {
    vec![
        (format!("tank/{}", "x".repeat(256 - 5)), "256 bytes"),
        ("tank/é".into(), "Unicode"),
        ("tank/a\u{200b}b".into(), "zero-width space"),
        ("-tank/x".into(), "leading -"),
        ("tank//x".into(), "empty component"),
        ("tank/x/".into(), "trailing /"),
        ("/tank".into(), "leading /"),
        ("tank/.".into(), "."),
        ("tank/..".into(), ".."),
        ("tank/x\n".into(), "newline"),
        ("tank/a\tb".into(), "tab"),
        ("tank/a*b".into(), "*"),
        ("tank/a\"b".into(), "quote"),
        ("tank/a$(x)".into(), "$( )"),
        ("".into(), "empty"),
        ("mirror/x".into(), "reserved pool name"),
        ("9tank/x".into(), "pool name not starting with a letter"),
        ("tank/x#b".into(), "a bookmark"),
    ]
}

/// Names a user may read but not create: `%` is ZFS's own (`ds/%recv`).
const RESERVED: &str = "tank/a%b";

/// Snapshot parts (after `tank/src@`) ZFS accepts and refuses.
fn snapshot_names() -> (Vec<String>, Vec<(String, &'static str)>) {
    let fits = 255 - "tank/src@".len();
    (
        vec![
            "-s".into(),
            "a b".into(),
            "a:b.c_d-e".into(),
            "x".repeat(fits),
        ],
        vec![
            ("x".repeat(fits + 1), "256 bytes"),
            ("".into(), "empty"),
            ("a@b".into(), "second @"),
            ("a/b".into(), "/"),
            ("é".into(), "Unicode"),
            ("a#b".into(), "#"),
        ],
    )
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("zsync-hostile-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("empty-path")).unwrap();
    d
}

fn run(dir: &Path, argv: &[&str]) -> Output {
    Command::new(BIN)
        .args(argv)
        .env_clear()
        .env("PATH", dir.join("empty-path"))
        .env("ZSYNC_BACKEND", "cli")
        .env("ZSYNC_TARGET_LOCK_DIR", dir.join("targets"))
        .env("ZSYNC_LOCK", dir.join("cron.lock"))
        .stdin(Stdio::null())
        .output()
        .expect("run zsync")
}

/// Refused before ZFS: exit 2, one line that names the name (or its escaped form).
fn refused(o: &Output, name: &str) -> bool {
    let err = String::from_utf8_lossy(&o.stderr);
    let escaped = name.escape_debug().to_string();
    // A word starting with '-' is read as an option: clap names its first letters.
    let as_option = name
        .strip_prefix('-')
        .and_then(|r| r.chars().next())
        .map(|c| format!("unexpected argument '-{c}'"));
    o.status.code() == Some(2)
        && err.lines().count() == 1
        && !err.contains("run zfs")
        && (name.is_empty()
            || err.contains(name)
            || err.contains(&escaped)
            || err.contains(&name.chars().take(40).collect::<String>())
            || as_option.is_some_and(|a| err.contains(&a)))
}

/// Went on to ZFS: the checks passed.
fn passed_checks(o: &Output) -> bool {
    let err = String::from_utf8_lossy(&o.stderr);
    err.contains("run zfs: No such file") && o.status.code() != Some(101)
}

#[test]
fn names_at_every_edge_are_refused_or_passed_before_any_command() {
    let dir = scratch();
    let mut bad = Vec::new();
    let mut cases = 0;
    let mut check = |what: String, ok: bool, o: &Output| {
        cases += 1;
        tally::hostile(&what, ok);
        if !ok {
            let err = String::from_utf8_lossy(&o.stderr);
            bad.push(format!(
                "{what}: exit {:?}: {}",
                o.status.code(),
                err.trim()
            ));
        }
    };
    for name in valid() {
        for (cmd, argv) in [
            ("plan source", vec!["plan", name.as_str(), "tank/dst"]),
            ("sync target", vec!["sync", "tank/src", name.as_str()]),
        ] {
            let o = run(&dir, &argv);
            check(
                format!("valid name {name:?} as {cmd}"),
                passed_checks(&o),
                &o,
            );
        }
    }
    for (name, why) in invalid() {
        for (cmd, argv) in [
            ("plan source", vec!["plan", name.as_str(), "tank/dst"]),
            ("sync target", vec!["sync", "tank/src", name.as_str()]),
            ("clone new", vec!["clone", "tank/src@s", name.as_str()]),
        ] {
            let o = run(&dir, &argv);
            check(
                format!("invalid name ({why}) as {cmd}"),
                refused(&o, &name),
                &o,
            );
        }
        // A sanoid.conf section naming it: its listing is refused naming it, before any
        // command runs for it.
        let conf = dir.join("sanoid.conf");
        std::fs::write(&conf, format!("[{name}]\n\thourly = 1\n")).unwrap();
        let o = run(
            &dir,
            &["snapshot", "--dry-run", "--config", conf.to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let ok = refused(&o, &name) || (err.contains("sanoid.conf:") && refused(&o, ""));
        // Names with a newline split the section header itself: any one-line refusal will do.
        let ok = ok || (name.contains('\n') && o.status.code() == Some(2));
        check(
            format!("invalid name ({why}) as a sanoid.conf section"),
            ok,
            &o,
        );
    }
    for (cmd, argv) in [
        ("sync target", vec!["sync", "tank/src", RESERVED]),
        ("clone new", vec!["clone", "tank/src@s", RESERVED]),
    ] {
        let o = run(&dir, &argv);
        check(
            format!("reserved name (%) as {cmd}"),
            refused(&o, RESERVED),
            &o,
        );
    }
    let (good, wrong) = snapshot_names();
    for snap in good {
        let full = format!("tank/src@{snap}");
        let o = run(&dir, &["clone", &full, "tank/new"]);
        check(
            format!("valid snapshot name {} bytes", full.len()),
            passed_checks(&o),
            &o,
        );
    }
    for (snap, why) in wrong {
        let full = format!("tank/src@{snap}");
        let o = run(&dir, &["clone", &full, "tank/new"]);
        let ok = refused(&o, &full) || refused(&o, &snap);
        check(format!("invalid snapshot name ({why})"), ok, &o);
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{cases} names");
    assert!(
        bad.is_empty(),
        "{} of {cases}:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
