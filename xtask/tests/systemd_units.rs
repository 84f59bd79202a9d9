//! The shipped systemd units (contrib/systemd/): the schedules and settings the README promises,
//! and `systemd-analyze verify` clean when the host has systemd-analyze.

use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/systemd")
}

/// `(section, key, value)` of every assignment in a unit file.
fn entries(name: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(unit_dir().join(name)).unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        } else {
            panic!("{name}: not an assignment: {line:?}");
        }
    }
    out
}

fn value(name: &str, section: &str, key: &str) -> String {
    entries(name)
        .into_iter()
        .find(|(s, k, _)| s == section && k == key)
        .map(|(_, _, v)| v)
        .unwrap_or_else(|| panic!("{name}: no {key}= in [{section}]"))
}

#[test]
fn cron_timer_runs_every_15_minutes() {
    assert_eq!(value("zsync.timer", "Timer", "OnCalendar"), "*:0/15");
    assert_eq!(value("zsync.timer", "Timer", "Persistent"), "true");
    assert!(value("zsync.service", "Service", "ExecStart").ends_with("zsync cron --quiet"));
}

#[test]
fn run_timer_is_daily_randomized_persistent_and_idle() {
    assert_eq!(value("zsync-run.timer", "Timer", "OnCalendar"), "daily");
    assert_eq!(value("zsync-run.timer", "Timer", "Persistent"), "true");
    assert!(!value("zsync-run.timer", "Timer", "RandomizedDelaySec").is_empty());
    assert_eq!(
        value("zsync-run.timer", "Install", "WantedBy"),
        "timers.target"
    );
    assert!(value("zsync-run.service", "Service", "ExecStart").ends_with("/zsync run"));
    assert_eq!(value("zsync-run.service", "Service", "Type"), "oneshot");
    assert_eq!(
        value("zsync-run.service", "Service", "IOSchedulingClass"),
        "idle"
    );
    let nice: i32 = value("zsync-run.service", "Service", "Nice")
        .parse()
        .unwrap();
    assert!(nice > 0, "Nice={nice}");
}

#[test]
fn units_verify_with_systemd_analyze() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze not installed; skipping the verify check");
        return;
    }
    // verify needs ExecStart's binary to exist: check copies pointing at /bin/true.
    let tmp = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(unit_dir()).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(file.ends_with(".service") || file.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let copy = file.replace("@.", "@x.");
        std::fs::write(
            tmp.path().join(&copy),
            text.replace("/usr/local/bin/zsync", "/bin/true"),
        )
        .unwrap();
        names.push(format!("./{copy}"));
    }
    assert!(names.len() >= 6, "{names:?}");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&names)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys are only warnings (exit 0): any output at all is a finding.
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{names:?}: {stderr}"
    );
}
