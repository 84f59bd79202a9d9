//! Hook runner with a real `sh`: environment, exit status, timeout killing the process group.

use std::path::PathBuf;
use std::time::Duration;
use zsync_ops::hooks::{HookContext, HookKind, HookOutcome, HookRunner};

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zsync-hooks-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn hook_sees_sanoid_environment() {
    let d = tmpdir("env");
    let out = d.join("env.txt");
    let ctx = HookContext {
        targets: vec!["tank/a".into(), "tank/b c".into()],
        snapnames: vec!["autosnap_2026-01-01_00:00:00_daily".into()],
        types: vec!["daily".into()],
        pre_failure: Some(false),
    };
    let cmd = format!(
        "printf '%s|%s|%s|%s|%s|%s|%s\\n' \"$SANOID_SCRIPT\" \"$SANOID_TARGET\" \"$SANOID_TARGETS\" \
         \"$SANOID_SNAPNAME\" \"$SANOID_SNAPNAMES\" \"$SANOID_TYPES\" \"$SANOID_PRE_FAILURE\" > '{}'",
        out.display()
    );
    let r = HookRunner::default().run(&cmd, &ctx.env(HookKind::PostSnapshot), None);
    assert!(r.ok(), "{r}");
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        got,
        "post|tank/a|tank/a,tank/b c|autosnap_2026-01-01_00:00:00_daily|\
         autosnap_2026-01-01_00:00:00_daily|daily|0\n"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn hook_failure_is_reported_with_status() {
    let r = HookRunner::default().run("exit 3", &[], Some(Duration::from_secs(60)));
    match r {
        HookOutcome::Failed(st) => assert_eq!(st.code(), Some(3)),
        other => panic!("expected failure, got {other}"),
    }
    assert!(HookRunner::default().run("true", &[], None).ok());
}

fn alive(pid: i32) -> bool {
    // A process that is gone, or a zombie awaiting its reaper, no longer runs.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
    }
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let d = tmpdir("timeout");
    let pidfile = d.join("pid");
    // A background grandchild in the same group, and the shell itself waiting: both must die.
    let cmd = format!(
        "sleep 1000 & echo $! > '{p}.tmp' && mv '{p}.tmp' '{p}'; wait",
        p = pidfile.display()
    );
    let runner = HookRunner {
        kill_grace: Duration::from_millis(200),
        ..HookRunner::default()
    };
    let r = runner.run(&cmd, &[], Some(Duration::from_millis(500)));
    assert!(matches!(r, HookOutcome::TimedOut(_)), "{r}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the hook wrote its child's pid before the timeout")
        .trim()
        .parse()
        .unwrap();
    // The grandchild got SIGTERM (or SIGKILL); allow the kernel a moment to deliver it.
    let mut gone = false;
    for _ in 0..100 {
        if !alive(pid) {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        gone,
        "grandchild {pid} still running after the hook timed out"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn term_ignoring_script_is_killed_after_grace() {
    let d = tmpdir("ignore-term");
    let pidfile = d.join("pid");
    let cmd = format!(
        "trap '' TERM; echo $$ > '{p}.tmp' && mv '{p}.tmp' '{p}'; while :; do sleep 1; done",
        p = pidfile.display()
    );
    let runner = HookRunner {
        kill_grace: Duration::from_millis(200),
        ..HookRunner::default()
    };
    let r = runner.run(&cmd, &[], Some(Duration::from_millis(500)));
    assert!(matches!(r, HookOutcome::TimedOut(_)), "{r}");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !alive(pid),
        "shell {pid} ignored SIGTERM and was not killed"
    );
    let _ = std::fs::remove_dir_all(d);
}
