//! Lab tests (real ZFS in the lab VM) of syncoid mode as a syncoid user runs it: the
//! `syncoid:sync` property, re-created snapshots, partial receives, bookmarks, a busy target and
//! syncoid's `INFO:` lines. Run with `cargo xtask lab test lab_cli_syncoid`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use zsync_lab::{LabError, TestPool};

mod common;
use common::{scratch as scratch_in, text, zsync};

fn scratch(pool: &TestPool, tag: &str) -> PathBuf {
    scratch_in(pool, "clisyncoid", tag)
}

/// A test pool named after `tag`, a scratch directory, and `pool/src` (created) and `pool/dst`.
fn setup(tag: &str) -> Result<(TestPool, PathBuf, String, String), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new(tag)?;
    let dir = scratch(&pool, tag);
    let (src, dst) = (pool.dataset("src"), pool.dataset("dst"));
    pool.zfs(&["create", &src])?;
    Ok((pool, dir, src, dst))
}

/// `zsync syncoid ARGS` to completion; stdout and stderr together.
fn syncoid(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut v = vec!["syncoid"];
    v.extend_from_slice(args);
    let o: Output = zsync(dir, None, &v);
    (
        o.status.code(),
        format!("{}{}", text(&o.stdout), text(&o.stderr)),
    )
}

/// `sh -c SCRIPT` (the test's own shell pipelines: an interrupted `zfs send | zfs recv -s`).
fn sh(script: &str) -> Output {
    let o = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("run sh");
    eprintln!(
        "$ {script}\n-> {:?}\n{}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

/// The host name syncoid matches `syncoid:sync` against (`gethostname`, as Perl's `hostname()`).
fn raw_hostname() -> String {
    let o = Command::new("hostname").output().expect("hostname");
    text(&o.stdout).trim().to_string()
}

/// The target's `receive_resume_token` (`-` when it has none).
fn token(pool: &TestPool, ds: &str) -> String {
    pool.get("receive_resume_token", ds).unwrap_or_default()
}

/// Writes 4 MiB into `src` (file `name`), snapshots `src@to` and leaves the incremental from `@from`
/// half received on `dst`: the stream cut after 512 KiB, received with `-s`.
fn leave_partial(pool: &TestPool, (src, dst): (&str, &str), from: &str, to: &str, seed: u32) {
    let rel = format!("{}/{to}", src.split_once('/').map_or("", |(_, r)| r));
    pool.write_file(&rel, &zsync_lab::data::pattern(4 << 20, seed))
        .unwrap();
    pool.zfs(&["snapshot", &format!("{src}@{to}")]).unwrap();
    sh(&format!(
        "zfs send -i @{from} {src}@{to} | head -c 524288 | zfs receive -s {dst}"
    ));
    assert_ne!(token(pool, dst), "-", "no partial state left");
}

/// The syncoid run went through, said `said`, left no partial state and the same snapshots.
fn synced_saying(
    pool: &TestPool,
    (src, dst): (&str, &str),
    run: (Option<i32>, String),
    said: &str,
) {
    let (code, out) = run;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(said), "{said:?} not in: {out}");
    assert_eq!(token(pool, dst), "-", "{out}");
    assert_eq!(
        pool.snapshot_guids(dst).unwrap(),
        pool.snapshot_guids(src).unwrap()
    );
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_sync_property_excludes_datasets() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("sprop")?;
    let dir = scratch(&pool, "sprop");
    let p = pool.name().to_string();
    let src = format!("{p}/src");
    let host = raw_hostname();
    for (ds, prop) in [
        ("", None),
        ("/keep", None),
        ("/off", Some("false".to_string())),
        ("/off/kid", None),
        ("/elsewhere", Some("nas9,backup7".to_string())),
        ("/mine", Some(format!("nas9,{host}"))),
    ] {
        pool.zfs(&["create", &format!("{src}{ds}")])?;
        if let Some(v) = prop {
            pool.zfs(&["set", &format!("syncoid:sync={v}"), &format!("{src}{ds}")])?;
        }
    }
    pool.zfs(&["snapshot", "-r", &format!("{src}@base")])?;

    // Recursive, with sync snapshots (syncoid's default).
    let dst = format!("{p}/dst");
    let (code, out) = syncoid(&dir, &["-r", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    for ds in ["", "/keep", "/mine"] {
        assert!(pool.exists(&format!("{dst}{ds}")), "{ds} replicated: {out}");
    }
    for ds in ["/off", "/off/kid", "/elsewhere"] {
        assert!(
            !pool.exists(&format!("{dst}{ds}")),
            "{ds} replicated: {out}"
        );
    }
    assert!(
        out.contains(&format!(
            "INFO: Skipping dataset (syncoid:sync=false): {src}/off..."
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "INFO: Skipping dataset (syncoid:sync doesn't include {host}): {src}/elsewhere..."
        )),
        "{out}"
    );
    // No sync snapshot was taken of an excluded dataset.
    for ds in ["/off", "/off/kid", "/elsewhere"] {
        assert_eq!(
            pool.snapshot_names(&format!("{src}{ds}"))?,
            ["base"],
            "{ds}: {out}"
        );
    }
    // One dataset, not recursive: nothing is created, exit 0 as syncoid.
    let (code, out) = syncoid(
        &dir,
        &["--no-sync-snap", &format!("{src}/off"), &format!("{p}/one")],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(!pool.exists(&format!("{p}/one")), "{out}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_recreated_snapshot_replaced_with_force_delete() -> Result<(), LabError> {
    let (pool, dir, src, dst) = setup("recreate")?;
    for s in ["s0", "s1", "s2"] {
        pool.write_file(&format!("src/{s}"), s.as_bytes())?;
        pool.zfs(&["snapshot", &format!("{src}@{s}")])?;
    }
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    // s1 destroyed and re-created under the same name: newer than s2 now, a new guid.
    pool.zfs(&["destroy", &format!("{src}@s1")])?;
    pool.write_file("src/again", b"again")?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let stale = pool.guid(&format!("{dst}@s1"))?;
    // Without --force-delete: refused, naming the snapshot and the flag; the target keeps it.
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("{dst}@s1")) && out.contains("--force-delete"),
        "{out}"
    );
    assert_eq!(pool.guid(&format!("{dst}@s1"))?, stale, "{out}");
    // With it: the stale snapshot is destroyed (said so) and the new one received.
    let (code, out) = syncoid(&dir, &["--no-sync-snap", "--force-delete", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&format!("{dst}@s1")), "{out}");
    assert_eq!(pool.snapshot_guids(&dst)?, pool.snapshot_guids(&src)?);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_partial_receive_with_sendoptions_pw() -> Result<(), LabError> {
    let (pool, dir, src, dst) = setup("partial")?;
    pool.write_file("src/a", &zsync_lab::data::pattern(64 << 10, 1))?;
    pool.zfs(&["snapshot", &format!("{src}@s0")])?;
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    // Something else interrupted an incremental into the target.
    leave_partial(&pool, (&src, &dst), "s0", "s1", 2);
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    let pw = ["--no-sync-snap", "--sendoptions=pw", &src, &dst];
    let run = syncoid(&dir, &pw);
    synced_saying(
        &pool,
        (&src, &dst),
        run,
        "INFO: Resuming interrupted zfs send/receive",
    );

    // A token the source cannot serve (its snapshot is gone): aborted, saying so, then received.
    leave_partial(&pool, (&src, &dst), "s2", "s3", 3);
    pool.zfs(&["destroy", &format!("{src}@s3")])?;
    pool.zfs(&["snapshot", &format!("{src}@s4")])?;
    let run = syncoid(&dir, &pw);
    let said = format!("WARNING: resetting partial receive state of {dst}");
    synced_saying(&pool, (&src, &dst), run, &said);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_no_resume_resets_partial_state() -> Result<(), LabError> {
    let (pool, dir, src, dst) = setup("noresume")?;
    pool.zfs(&["snapshot", &format!("{src}@s0")])?;
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    leave_partial(&pool, (&src, &dst), "s0", "s1", 5);
    let args = ["--no-sync-snap", "--no-resume", "--debug", &src, &dst];
    let run = syncoid(&dir, &args);
    let said = format!("DEBUG: reset partial receive state of {dst}...");
    synced_saying(&pool, (&src, &dst), run, &said);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_create_bookmark_named_after_the_snapshot() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("bookmark")?;
    let dir = scratch(&pool, "bookmark");
    let (src, dst, dst2) = (
        pool.dataset("src"),
        pool.dataset("dst"),
        pool.dataset("two"),
    );
    pool.zfs(&["create", &src])?;
    pool.zfs(&["snapshot", &format!("{src}@s0")])?;
    let args = |t: &str| -> Vec<String> {
        ["--no-sync-snap", "--create-bookmark", &src, t]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let run = |t: &str| {
        let a = args(t);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        syncoid(&dir, &a)
    };
    let (code, out) = run(&dst);
    assert_eq!(code, Some(0), "{out}");
    assert!(pool.exists(&format!("{src}#s0")), "{out}");
    // A second target from the same snapshot: the bookmark exists already; fine.
    let (code, out) = run(&dst2);
    assert_eq!(code, Some(0), "{out}");
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let (code, out) = run(&dst);
    assert_eq!(code, Some(0), "{out}");
    // Earlier bookmarks are kept.
    assert!(
        pool.exists(&format!("{src}#s0")) && pool.exists(&format!("{src}#s1")),
        "{out}"
    );
    // A bookmark named `s2` of another snapshot: the fallback name, guid prefix appended.
    pool.zfs(&["bookmark", &format!("{src}@s1"), &format!("{src}#s2")])?;
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    let (code, out) = run(&dst);
    assert_eq!(code, Some(0), "{out}");
    let guid = pool.guid(&format!("{src}@s2"))?;
    let fallback = format!("{src}#s2{}", &guid[..6]);
    assert!(pool.exists(&fallback), "{fallback}: {out}");
    // The second target, last synced at s0, continues from the bookmark once s0 and s1 are gone.
    pool.zfs(&["destroy", &format!("{src}@s0")])?;
    pool.zfs(&["destroy", &format!("{src}@s1")])?;
    let (code, out) = run(&dst2);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        pool.snapshot_names(&dst2)?.contains(&"s2".to_string()),
        "{out}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_busy_target_is_skipped() -> Result<(), LabError> {
    let (pool, dir, src, dst) = setup("busy")?;
    pool.zfs(&["snapshot", &format!("{src}@s0")])?;
    // A receive into the target held open: it waits on a pipe this test keeps open.
    let mut held = Command::new("zfs")
        .args(["receive", &dst])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn the held receive");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    let _ = held.kill();
    let _ = held.wait();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "Cannot sync now: {dst} is already target of a zfs receive process."
        )),
        "{out}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_cli_syncoid_info_lines() -> Result<(), LabError> {
    let (pool, dir, src, dst) = setup("info")?;
    pool.zfs(&["snapshot", &format!("{src}@s0")])?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "INFO: Sending oldest full snapshot {src}@s0 to new target filesystem {dst} (~ "
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "INFO: Sending incremental {src}@s0 ... s1 to {dst} (~ "
        )),
        "{out}"
    );
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "INFO: no snapshots on source newer than s1 on target. Nothing to do, not syncing."
        ),
        "{out}"
    );
    // --quiet: no INFO lines.
    pool.zfs(&["snapshot", &format!("{src}@s2")])?;
    let (code, out) = syncoid(&dir, &["--no-sync-snap", "--quiet", &src, &dst]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("INFO:"), "{out}");
    // A target sharing nothing: syncoid's refusal, exit 2.
    let other = pool.dataset("other");
    pool.zfs(&["create", &other])?;
    pool.zfs(&["snapshot", &format!("{other}@x")])?;
    let (code, out) = syncoid(&dir, &["--no-sync-snap", &src, &other]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("CRITICAL ERROR: ")
            && out.contains("Cowardly refusing to destroy your existing target."),
        "{out}"
    );
    Ok(())
}
