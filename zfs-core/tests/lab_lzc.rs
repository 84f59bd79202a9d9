//! Lab tests of the libzfs_core backend on real pools: every operation is checked by reading ZFS state back
//! with the real `zfs` CLI (guids, createtxg, holds, data). Names are deliberately hostile but valid
//! (spaces, leading `-`, `:` and `.`).
//!
//! Run: `cargo xtask lab test lzc_` (all tests here are named `lzc_*`).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zfs_core::backend::{Backend, RecvRequest, SendFlags, SendRequest};
use zfs_core::lzc::Lzc;
use zfs_core::{BookmarkName, DatasetName, SnapshotName, VersionName, ZfsError};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

type R = Result<(), Box<dyn std::error::Error>>;

/// The Lzc backend over the local CLI backend.
fn lzc() -> Lzc {
    match Lzc::new(Box::new(zfs_core::cli::Cli::local())) {
        Ok(l) => l,
        Err(why) => panic!("Lzc must be available in the lab: {why}"),
    }
}

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}
fn snap(s: &str) -> SnapshotName {
    SnapshotName::parse(s).unwrap()
}
fn bm(s: &str) -> BookmarkName {
    BookmarkName::parse(s).unwrap()
}

/// Pipes a send into a receive on this thread; returns both outcomes.
fn pipe_through(
    l: &Lzc,
    send: &SendRequest,
    recv: &RecvRequest,
) -> (Result<(), ZfsError>, Result<(), ZfsError>) {
    let mut s = l.send(send).expect("start send");
    let mut r = l.receive(recv).expect("start receive");
    let mut input = File::from(s.take_stream().expect("stream"));
    let mut output = File::from(r.take_input().expect("input"));
    let copied = std::io::copy(&mut input, &mut output);
    drop(output);
    drop(input);
    let recv_res = r.finish();
    let send_res = s.finish();
    if recv_res.is_ok() {
        copied.expect("copy stream");
    }
    (send_res, recv_res)
}

/// Whole stream of a send, in memory (tests keep data tiny).
fn send_to_vec(l: &Lzc, req: &SendRequest) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut s = l.send(req)?;
    let mut buf = Vec::new();
    File::from(s.take_stream().expect("stream")).read_to_end(&mut buf)?;
    s.finish()?;
    Ok(buf)
}

fn recv_from_slice(l: &Lzc, req: &RecvRequest, bytes: &[u8]) -> Result<(), ZfsError> {
    let mut r = l.receive(req)?;
    let mut w = File::from(r.take_input().expect("input"));
    let _ = w.write_all(bytes); // a failing receive closes its end early: the error comes from finish
    drop(w);
    r.finish()
}

fn no_mount(target: SnapshotName) -> RecvRequest {
    RecvRequest {
        no_mount: true,
        ..RecvRequest::new(target)
    }
}

/// The block device of a zvol, once udev has created its link (waits up to 20 s).
fn zvol_dev(vol: &str) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let path = std::path::Path::new("/dev/zvol").join(vol);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        if Instant::now() > deadline {
            return Err(format!("{} did not appear", path.display()).into());
        }
        let _ = Command::new("udevadm").args(["settle", "-t", "5"]).status();
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(path)
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_multi_dataset_snapshot_is_atomic_with_user_props() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcsnap")?;
    let a = pool.dataset("my data");
    let b = pool.dataset("-x");
    let v = pool.dataset(":v.ol");
    pool.zfs(&["create", &a])?;
    pool.zfs(&["create", &b])?;
    pool.zfs(&["create", "-V", "8M", &v])?;
    let l = lzc();
    let snaps = [a.as_str(), b.as_str(), v.as_str()].map(|d| snap(&format!("{d}@s 1")));
    l.snapshot(
        &snaps,
        &[
            ("zsync:kind".into(), "daily x".into()),
            ("zsync:n".into(), "1".into()),
        ],
    )?;
    let txgs = snaps
        .iter()
        .map(|s| pool.get_u64("createtxg", s.as_str()))
        .collect::<Result<BTreeSet<_>, _>>()?;
    assert_eq!(txgs.len(), 1, "one txg for all snapshots: {txgs:?}");
    for s in &snaps {
        assert_eq!(pool.get("zsync:kind", s.as_str())?, "daily x");
        assert_eq!(pool.get("zsync:n", s.as_str())?, "1");
        assert!(l.exists(s.as_str())?);
    }
    assert_eq!(pool.get("type", &format!("{v}@s 1"))?, "snapshot");

    // Taking one again fails as a whole and names the snapshot; nothing new appears.
    let again = [snap(&format!("{a}@s 2")), snaps[1].clone()];
    let e = l.snapshot(&again, &[]).unwrap_err();
    assert!(
        matches!(&e, ZfsError::AlreadyExists { name, .. } if name == snaps[1].as_str()),
        "{e}"
    );
    assert!(
        !pool.exists(again[0].as_str()),
        "atomic: {} must not exist",
        again[0]
    );

    // Two snapshots of one dataset in one atomic call: rejected before anything runs.
    let two = [snap(&format!("{a}@t1")), snap(&format!("{a}@t2"))];
    assert!(matches!(
        l.snapshot(&two, &[]),
        Err(ZfsError::InvalidArgument { .. })
    ));
    assert!(!pool.exists(two[0].as_str()) && !pool.exists(two[1].as_str()));

    // A missing dataset: NotFound naming it.
    let e = l
        .snapshot(&[snap(&format!("{}@s", pool.dataset("nope")))], &[])
        .unwrap_err();
    assert!(matches!(e, ZfsError::NotFound { .. }), "{e}");
    // Not a user property: rejected before anything runs.
    let e = l.snapshot(
        &[snap(&format!("{a}@p"))],
        &[("compression".into(), "lz4".into())],
    );
    assert!(matches!(e, Err(ZfsError::InvalidArgument { .. })));
    assert!(!pool.exists(&format!("{a}@p")));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_snapshot_recursive_one_txg() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcrec")?;
    let top = pool.dataset("t op");
    pool.zfs(&["create", &top])?;
    pool.zfs(&["create", &format!("{top}/-c1")])?;
    pool.zfs(&["create", &format!("{top}/-c1/.c2")])?;
    pool.zfs(&["create", "-V", "4M", &format!("{top}/vol")])?;
    let l = lzc();
    l.snapshot_recursive(&snap(&format!("{top}@r:1")))?;
    let out = pool.zfs(&[
        "list",
        "-Hp",
        "-t",
        "snapshot",
        "-o",
        "name,createtxg",
        "-r",
        &top,
    ])?;
    let rows: Vec<(&str, &str)> = out.lines().filter_map(|l| l.split_once('\t')).collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert!(rows.iter().all(|(n, _)| n.ends_with("@r:1")));
    assert_eq!(
        rows.iter().map(|r| r.1).collect::<BTreeSet<_>>().len(),
        1,
        "{out}"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_destroy_snapshots_batched_holds_clones_defer() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcdestroy")?;
    let d = pool.dataset("-d ata");
    pool.zfs(&["create", &d])?;
    for s in ["a", "b", "c", "held", "cloned"] {
        pool.zfs(&["snapshot", &format!("{d}@{s}")])?;
    }
    let l = lzc();
    l.destroy_snapshots(&[snap(&format!("{d}@a")), snap(&format!("{d}@b"))], false)?;
    assert!(!pool.exists(&format!("{d}@a")) && !pool.exists(&format!("{d}@b")));
    // Missing snapshots are ignored by lzc_destroy_snaps.
    l.destroy_snapshots(&[snap(&format!("{d}@a"))], false)?;

    pool.zfs(&["hold", "keep", &format!("{d}@held")])?;
    let e = l
        .destroy_snapshots(
            &[snap(&format!("{d}@c")), snap(&format!("{d}@held"))],
            false,
        )
        .unwrap_err();
    assert!(
        matches!(&e, ZfsError::HasHolds { name, .. } if name.ends_with("@held")),
        "{e}"
    );
    assert!(pool.exists(&format!("{d}@c")), "all or nothing");

    pool.zfs(&["clone", &format!("{d}@cloned"), &pool.dataset("clo ne")])?;
    let e = l
        .destroy_snapshots(&[snap(&format!("{d}@cloned"))], false)
        .unwrap_err();
    assert!(
        matches!(&e, ZfsError::HasClones { name, .. } if name.ends_with("@cloned")),
        "{e}"
    );

    // Deferred: @c goes now, @held is marked and goes when released.
    l.destroy_snapshots(&[snap(&format!("{d}@c")), snap(&format!("{d}@held"))], true)?;
    assert!(!pool.exists(&format!("{d}@c")));
    assert_eq!(pool.get("defer_destroy", &format!("{d}@held"))?, "on");
    l.release(&[(snap(&format!("{d}@held")), "keep".into())])?;
    assert!(!pool.exists(&format!("{d}@held")));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_holds_place_read_release() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzchold")?;
    let d = pool.dataset(".d");
    pool.zfs(&["create", &d])?;
    pool.zfs(&["snapshot", &format!("{d}@-1")])?;
    pool.zfs(&["snapshot", &format!("{d}@2 x")])?;
    let (s1, s2) = (snap(&format!("{d}@-1")), snap(&format!("{d}@2 x")));
    let l = lzc();
    l.hold(&[
        (s1.clone(), "zsync:a b".into()),
        (s1.clone(), "t2".into()),
        (s2.clone(), "zsync:a b".into()),
    ])?;
    assert_eq!(
        pool.holds(s1.as_str())?,
        BTreeSet::from(["zsync:a b".into(), "t2".into()])
    );
    assert_eq!(
        pool.holds(s2.as_str())?,
        BTreeSet::from(["zsync:a b".into()])
    );
    let h = l.holds(&s1)?;
    assert_eq!(h.keys().cloned().collect::<Vec<_>>(), ["t2", "zsync:a b"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    assert!(
        h.values().all(|t| (now - 3600..=now + 60).contains(t)),
        "{h:?}"
    );
    assert_eq!(pool.get_u64("userrefs", s1.as_str())?, 2);

    // The same tag again: AlreadyExists.
    let e = l.hold(&[(s2.clone(), "zsync:a b".into())]).unwrap_err();
    assert!(matches!(e, ZfsError::AlreadyExists { .. }), "{e}");
    // A missing snapshot in a batch: NotFound naming it, and the batch's other holds are undone.
    let missing = snap(&format!("{d}@missing"));
    let e = l
        .hold(&[(s2.clone(), "new".into()), (missing.clone(), "new".into())])
        .unwrap_err();
    assert!(
        matches!(&e, ZfsError::NotFound { name, .. } if name == missing.as_str()),
        "{e}"
    );
    assert!(!pool.holds(s2.as_str())?.contains("new"));
    assert!(
        pool.holds(s2.as_str())?.contains("zsync:a b"),
        "pre-existing hold kept"
    );

    l.release(&[
        (s1.clone(), "zsync:a b".into()),
        (s1.clone(), "t2".into()),
        (s2.clone(), "zsync:a b".into()),
    ])?;
    assert!(pool.holds(s1.as_str())?.is_empty());
    assert!(pool.holds(s2.as_str())?.is_empty());
    assert!(l.holds(&s1)?.is_empty());
    let e = l.release(&[(s1.clone(), "t2".into())]).unwrap_err();
    assert!(matches!(e, ZfsError::NotFound { .. }), "{e}");
    let e = l.holds(&missing).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_temporary_hold_released_on_drop() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzctmp")?;
    let d = pool.dataset("d");
    pool.zfs(&["create", &d])?;
    pool.zfs(&["snapshot", &format!("{d}@s")])?;
    let s = snap(&format!("{d}@s"));
    let l = lzc();
    let guard = l.hold_temporary(&[(s.clone(), "zsync-tmp".into())])?;
    assert_eq!(
        pool.holds(s.as_str())?,
        BTreeSet::from(["zsync-tmp".into()])
    );
    // While held, a plain destroy fails.
    assert!(matches!(
        l.destroy_snapshots(std::slice::from_ref(&s), false),
        Err(ZfsError::HasHolds { .. })
    ));
    drop(guard);
    assert!(pool.holds(s.as_str())?.is_empty());
    l.destroy_snapshots(std::slice::from_ref(&s), false)?;
    assert!(!pool.exists(s.as_str()));
    Ok(())
}

/// Child side of [`lzc_temporary_hold_released_after_sigkill`]: when `LZC_HOLD_CHILD=<snapshot>` is set,
/// takes a temporary hold, says `HELD` on stdout and sleeps until killed. Without the variable (a normal
/// test run) it checks that the variable really is absent and returns.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_helper_hold_child() {
    let Ok(target) = std::env::var("LZC_HOLD_CHILD") else {
        assert!(std::env::var_os("LZC_HOLD_CHILD").is_none());
        return;
    };
    let l = lzc();
    let _guard = l
        .hold_temporary(&[(snap(&target), "zsync-child".into())])
        .expect("hold");
    println!("HELD");
    std::io::stdout().flush().expect("flush");
    std::thread::sleep(Duration::from_secs(600));
    panic!("child was not killed");
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_temporary_hold_released_after_sigkill() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzckill")?;
    let d = pool.dataset("my data");
    pool.zfs(&["create", &d])?;
    let s = format!("{d}@s 1");
    pool.zfs(&["snapshot", &s])?;
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--ignored",
            "--exact",
            "lzc_helper_hold_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LZC_HOLD_CHILD", &s)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut out = child.stdout.take().expect("piped");
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    let start = Instant::now();
    while !seen.contains("HELD") {
        let n = out.read(&mut buf)?;
        assert!(n > 0, "child exited before holding: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "child never held: {seen}"
        );
    }
    assert_eq!(pool.holds(&s)?, BTreeSet::from(["zsync-child".into()]));
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    assert_eq!(rc, 0);
    let status = child.wait()?;
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    // The kernel releases the hold when the dead process's descriptor is closed.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let holds = pool.holds(&s)?;
        if holds.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "hold survived SIGKILL: {holds:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(pool.get_u64("userrefs", &s)?, 0);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_bookmarks_from_snapshot_and_bookmark() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcbm")?;
    let d = pool.dataset("-b m");
    pool.zfs(&["create", &d])?;
    pool.zfs(&["snapshot", &format!("{d}@s:1")])?;
    let l = lzc();
    let (b1, b2) = (bm(&format!("{d}#b 1")), bm(&format!("{d}#-b2")));
    l.bookmark(&[(b1.clone(), VersionName::Snapshot(snap(&format!("{d}@s:1"))))])?;
    l.bookmark(&[(b2.clone(), VersionName::Bookmark(b1.clone()))])?;
    let sguid = pool.get_u64("guid", &format!("{d}@s:1"))?;
    let stxg = pool.get_u64("createtxg", &format!("{d}@s:1"))?;
    for b in [&b1, &b2] {
        assert_eq!(pool.get_u64("guid", b.as_str())?, sguid);
        assert_eq!(pool.get_u64("createtxg", b.as_str())?, stxg);
        assert!(l.exists(b.as_str())?);
    }
    let listed = l.bookmarks(&ds(&d))?;
    assert_eq!(
        listed
            .iter()
            .map(|v| v.name.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([b1.as_str(), b2.as_str()])
    );
    assert!(listed
        .iter()
        .all(|v| v.guid == sguid && v.createtxg == stxg && v.creation > 0));
    assert!(!l.exists(&format!("{d}#nope"))?);
    assert!(!l.exists(&format!("{}#nope", pool.dataset("nods")))?);
    let e = l
        .bookmark(&[(b1.clone(), VersionName::Snapshot(snap(&format!("{d}@s:1"))))])
        .unwrap_err();
    assert!(matches!(e, ZfsError::AlreadyExists { .. }), "{e}");

    l.destroy_bookmarks(&[b1.clone(), b2.clone()])?;
    assert!(!pool.exists(b1.as_str()) && !pool.exists(b2.as_str()));
    assert!(l.bookmarks(&ds(&d))?.is_empty());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_send_receive_full_incremental_bookmark_clone_zvol() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcsend")?;
    let src = pool.dataset("src data");
    pool.zfs(&["create", &src])?;
    pool.write_file("src data/a.bin", &pattern(300_000, 1))?;
    pool.zfs(&["snapshot", &format!("{src}@-1")])?;
    pool.zfs(&["bookmark", &format!("{src}@-1"), &format!("{src}#b:1")])?;
    pool.write_file("src data/b.bin", &pattern(200_000, 2))?;
    pool.zfs(&["snapshot", &format!("{src}@2")])?;
    let l = lzc();
    let flags = SendFlags {
        large_block: true,
        embed: true,
        compressed: true,
        ..SendFlags::default()
    };

    // Full: lzc_send -> lzc_receive into a new, unmounted dataset.
    let dst = pool.dataset("dst .x");
    let full = SendRequest {
        flags,
        ..SendRequest::full(snap(&format!("{src}@-1")))
    };
    assert!(l.send_space(&full.to, None, &flags)? > 250_000);
    let (s, r) = pipe_through(&l, &full, &no_mount(snap(&format!("{dst}@-1"))));
    s?;
    r?;
    assert_eq!(
        pool.guid(&format!("{dst}@-1"))?,
        pool.guid(&format!("{src}@-1"))?
    );

    // Incremental from the bookmark (source snapshot @-1 no longer needed on the sender).
    pool.zfs(&["destroy", &format!("{src}@-1")])?;
    let from = VersionName::Bookmark(bm(&format!("{src}#b:1")));
    assert!(l.send_space(&snap(&format!("{src}@2")), Some(&from), &flags)? > 150_000);
    let inc = SendRequest {
        flags,
        ..SendRequest::incremental(from, snap(&format!("{src}@2")))
    };
    let (s, r) = pipe_through(&l, &inc, &RecvRequest::new(snap(&format!("{dst}@2"))));
    s?;
    r?;
    assert_eq!(
        pool.guid(&format!("{dst}@2"))?,
        pool.guid(&format!("{src}@2"))?
    );
    pool.zfs(&["mount", &dst])?;
    assert_eq!(pool.read_file("dst .x/a.bin")?, pattern(300_000, 1));
    assert_eq!(pool.read_file("dst .x/b.bin")?, pattern(200_000, 2));

    // The same incremental received as a clone of dst@-1 (origin).
    let clone = pool.dataset("-clone");
    let inc = SendRequest::incremental(
        VersionName::Bookmark(bm(&format!("{src}#b:1"))),
        snap(&format!("{src}@2")),
    );
    let req = RecvRequest {
        origin: Some(snap(&format!("{dst}@-1"))),
        ..no_mount(snap(&format!("{clone}@2")))
    };
    let (s, r) = pipe_through(&l, &inc, &req);
    s?;
    r?;
    assert_eq!(pool.get("origin", &clone)?, format!("{dst}@-1"));
    assert_eq!(
        pool.guid(&format!("{clone}@2"))?,
        pool.guid(&format!("{src}@2"))?
    );

    // Receiving over a modified target without force fails; with force it rolls back.
    pool.write_file("dst .x/junk", b"junk")?;
    pool.zfs(&["snapshot", &format!("{src}@3")])?;
    let inc3 = SendRequest::incremental(
        VersionName::Snapshot(snap(&format!("{src}@2"))),
        snap(&format!("{src}@3")),
    );
    let (s, r) = pipe_through(&l, &inc3, &RecvRequest::new(snap(&format!("{dst}@3"))));
    assert!(
        matches!(r, Err(ZfsError::TargetModified { .. })),
        "modified target must refuse: {r:?}"
    );
    drop(s); // a small stream may fit the pipe buffer and "succeed" before the receiver refuses
    let (s, r) = pipe_through(
        &l,
        &inc3,
        &RecvRequest {
            force: true,
            ..RecvRequest::new(snap(&format!("{dst}@3")))
        },
    );
    s?;
    r?;
    assert_eq!(
        pool.guid(&format!("{dst}@3"))?,
        pool.guid(&format!("{src}@3"))?
    );

    // A zvol: data written to the block device travels intact. (No space in zvol names here: udev
    // splits /dev/zvol link names at spaces.)
    let vol = pool.dataset("-vol.1");
    pool.zfs(&["create", "-V", "4M", &vol])?;
    let data = pattern(1 << 20, 9);
    {
        let mut dev = std::fs::OpenOptions::new()
            .write(true)
            .open(zvol_dev(&vol)?)?;
        dev.write_all(&data)?;
        dev.sync_all()?;
    }
    pool.zfs(&["snapshot", &format!("{vol}@v")])?;
    let vdst = pool.dataset("vol:copy");
    let (s, r) = pipe_through(
        &l,
        &SendRequest::full(snap(&format!("{vol}@v"))),
        &no_mount(snap(&format!("{vdst}@v"))),
    );
    s?;
    r?;
    assert_eq!(pool.get("type", &vdst)?, "volume");
    assert_eq!(pool.get("volsize", &vdst)?, pool.get("volsize", &vol)?);
    let mut back = vec![0u8; data.len()];
    File::open(zvol_dev(&vdst)?)?.read_exact(&mut back)?;
    assert!(back == data, "zvol data differs after send/receive");
    assert_eq!(
        pool.guid(&format!("{vdst}@v"))?,
        pool.guid(&format!("{vol}@v"))?
    );

    // Sending something missing fails in finish with NotFound.
    let mut s = l.send(&SendRequest::full(snap(&format!("{src}@nope"))))?;
    let mut sink = Vec::new();
    File::from(s.take_stream().expect("stream")).read_to_end(&mut sink)?;
    let e = s.finish().unwrap_err();
    assert!(e.is_not_found(), "{e}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_raw_send_of_encrypted_dataset() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcraw")?;
    let key = pool.create_encrypted("enc src", &[])?;
    let src = pool.dataset("enc src");
    pool.write_file("enc src/secret", b"secret data")?;
    pool.zfs(&["snapshot", &format!("{src}@1")])?;
    let l = lzc();
    let flags = SendFlags {
        raw: true,
        ..SendFlags::default()
    };
    let dst = pool.dataset("enc dst");
    let req = RecvRequest {
        raw: true,
        ..no_mount(snap(&format!("{dst}@1")))
    };
    let (s, r) = pipe_through(
        &l,
        &SendRequest {
            flags,
            ..SendRequest::full(snap(&format!("{src}@1")))
        },
        &req,
    );
    s?;
    r?;
    assert_eq!(
        pool.guid(&format!("{dst}@1"))?,
        pool.guid(&format!("{src}@1"))?
    );
    assert_eq!(pool.get("encryptionroot", &dst)?, dst);
    assert_eq!(pool.get("keystatus", &dst)?, "unavailable");
    pool.zfs(&["load-key", "-L", &format!("file://{}", key.display()), &dst])?;
    pool.zfs(&["mount", &dst])?;
    assert_eq!(pool.read_file("enc dst/secret")?, b"secret data");
    Ok(())
}

/// `object` and `offset` of a resume token as `zfs send -nvt` prints them (cross-check of zfs-stream's
/// decoder against OpenZFS's own).
fn cli_token_position(token: &str) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let out = Command::new("zfs")
        .args(["send", "-nvt", token])
        .env("LC_ALL", "C")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let num = |k: &str| -> Result<u64, String> {
        let v = text
            .lines()
            .map(str::trim)
            .find_map(|l| {
                l.strip_prefix(k)
                    .and_then(|r| r.trim_start().strip_prefix('='))
            })
            .map(str::trim)
            .ok_or_else(|| format!("no {k} in: {text}"))?;
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16),
            None => v.parse(),
        }
        .map_err(|_| format!("bad {k} {v:?}"))
    };
    Ok((num("object")?, num("offset")?))
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_truncated_resumable_receive_then_send_resume() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcresume")?;
    let src = pool.dataset("-src");
    pool.zfs(&["create", "-o", "recordsize=16K", &src])?;
    pool.write_file("-src/big", &pattern(3 << 20, 7))?;
    pool.zfs(&["snapshot", &format!("{src}@s 1")])?;
    let l = lzc();
    let flags = SendFlags {
        compressed: true,
        embed: true,
        ..SendFlags::default()
    };
    let stream = send_to_vec(
        &l,
        &SendRequest {
            flags,
            ..SendRequest::full(snap(&format!("{src}@s 1")))
        },
    )?;
    assert!(stream.len() > 3 << 20);

    let dst = pool.dataset("dst: r");
    let target = snap(&format!("{dst}@s 1"));
    let resumable = RecvRequest {
        resumable: true,
        ..no_mount(target.clone())
    };
    let e = recv_from_slice(&l, &resumable, &stream[..stream.len() * 2 / 3]).unwrap_err();
    assert!(
        matches!(&e, ZfsError::Io { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof),
        "{e}"
    );
    let token = pool.get("receive_resume_token", &dst)?;
    assert!(
        token.len() > 10 && token != "-",
        "no resume token: {token:?}"
    );
    assert!(!pool.exists(target.as_str()));

    // Starting over with a plain (non-resume) stream is refused while the partial state exists (the kernel
    // says EBUSY), and the token survives the attempt.
    let e = recv_from_slice(&l, &no_mount(target.clone()), &stream).unwrap_err();
    assert!(matches!(e, ZfsError::Busy { .. }), "{e}");
    assert_eq!(pool.get("receive_resume_token", &dst)?, token);

    let t = zfs_stream::resume::decode(&token)?;
    assert_eq!(t.toname, format!("{src}@s 1"));
    assert_eq!(t.toguid, pool.get_u64("guid", &t.toname)?);
    assert_eq!(t.fromguid, None);
    assert_eq!(
        cli_token_position(&token)?,
        (t.object, t.offset),
        "decoder agrees with zfs send -nvt"
    );
    assert!(t.compressed && t.embed && !t.raw);

    let resume = SendRequest {
        to: snap(&t.toname),
        from: None,
        intermediates: false,
        flags: SendFlags {
            large_block: t.large_block,
            embed: t.embed,
            compressed: t.compressed,
            raw: t.raw,
            ..SendFlags::default()
        },
        resume: Some(t.clone()),
        wire: zfs_core::Wire::Plain,
        bulk: true,
    };
    let rest = send_to_vec(&l, &resume)?;
    assert!(
        rest.len() < stream.len(),
        "resumed stream is shorter ({} vs {})",
        rest.len(),
        stream.len()
    );
    recv_from_slice(&l, &resumable, &rest)?;
    assert_eq!(
        pool.guid(target.as_str())?,
        pool.guid(&format!("{src}@s 1"))?
    );
    assert_eq!(pool.get("receive_resume_token", &dst)?, "-");
    pool.zfs(&["mount", &dst])?;
    assert_eq!(pool.read_file("dst: r/big")?, pattern(3 << 20, 7));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_rollback_to_latest_only() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcroll")?;
    let d = pool.dataset("r b");
    pool.zfs(&["create", &d])?;
    pool.write_file("r b/keep", b"1")?;
    pool.zfs(&["snapshot", &format!("{d}@1")])?;
    pool.write_file("r b/two", b"2")?;
    pool.zfs(&["snapshot", &format!("{d}@-2")])?;
    pool.write_file("r b/after", b"3")?;
    let l = lzc();
    let e = l.rollback_to(&snap(&format!("{d}@1")), false).unwrap_err();
    assert!(
        matches!(&e, ZfsError::HasNewerVersions { name, .. } if name == &format!("{d}@1")),
        "{e}"
    );
    assert!(
        pool.exists(&format!("{d}@-2")),
        "newer snapshot must survive"
    );
    l.rollback_to(&snap(&format!("{d}@-2")), false)?;
    assert!(
        pool.read_file("r b/after").is_err(),
        "data after @-2 rolled back"
    );
    assert_eq!(pool.read_file("r b/two")?, b"2");
    let e = l
        .rollback_to(&snap(&format!("{d}@nope")), false)
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_exists_and_input_errors() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcexists")?;
    let d = pool.dataset("-e x");
    pool.zfs(&["create", &d])?;
    pool.zfs(&["snapshot", &format!("{d}@:s")])?;
    let l = lzc();
    assert!(l.exists(&d)?);
    assert!(l.exists(&format!("{d}@:s"))?);
    assert!(!l.exists(&format!("{d}@nope"))?);
    assert!(!l.exists(&pool.dataset("nope"))?);
    for bad in ["p/it's", "p/a;b", "p/$x", "p/a\nb", "", "p//a", "p@"] {
        assert!(
            matches!(l.exists(bad), Err(ZfsError::InvalidName(_))),
            "{bad:?} must be rejected"
        );
    }
    assert!(l
        .hold(&[(snap(&format!("{d}@:s")), String::new())])
        .is_err());
    assert!(l
        .hold(&[(snap(&format!("{d}@:s")), "a\0b".into())])
        .is_err());
    assert!(pool.holds(&format!("{d}@:s"))?.is_empty());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lzc_delegated_operations_go_through_the_cli() -> R {
    use zfs_core::backend::{CreateKind, Depth, ListOptions};
    zsync_lab::require_lab();
    let pool = TestPool::new("lzcdeleg")?;
    let l = lzc();
    assert_eq!(l.name(), "lzc");
    // create (filesystem and volume) and set_user_props.
    let fs = ds(&pool.dataset("-f s"));
    l.create(
        &fs,
        CreateKind::Filesystem,
        &[("compression".into(), "lz4".into())],
    )?;
    assert_eq!(pool.get("compression", fs.as_str())?, "lz4");
    let vol = ds(&pool.dataset("v:1"));
    l.create(
        &vol,
        CreateKind::Volume {
            size: 4 << 20,
            sparse: true,
        },
        &[],
    )?;
    assert_eq!(pool.get_u64("volsize", vol.as_str())?, 4 << 20);
    l.set_user_props(fs.as_str(), &[("zsync:x".into(), "y z".into())])?;
    assert_eq!(pool.get("zsync:x", fs.as_str())?, "y z");

    // list sees what lzc made, with guid and createtxg equal to the CLI's.
    pool.write_file("-f s/f", b"payload")?;
    let s1 = snap(&format!("{fs}@1"));
    l.snapshot(std::slice::from_ref(&s1), &[])?;
    let listing = l.list(
        &fs,
        &ListOptions {
            depth: Depth::Recursive,
            versions: true,
            user_props: vec![],
        },
    )?;
    let d = listing.get(&fs).ok_or("listed")?;
    let v = d.snapshots().next().ok_or("snapshot listed")?;
    assert_eq!(v.guid, pool.get_u64("guid", s1.as_str())?);
    assert_eq!(v.createtxg, pool.get_u64("createtxg", s1.as_str())?);

    // A receive of a new filesystem to be mounted, and one with -o: delegated, and the result is right.
    let dst = ds(&pool.dataset("dst x"));
    let req = RecvRequest {
        props: vec![("zsync:r".into(), "1".into())],
        ..RecvRequest::new(dst.snapshot("1")?)
    };
    let (s, r) = pipe_through(&l, &SendRequest::full(s1.clone()), &req);
    s?;
    r?;
    assert_eq!(pool.get("zsync:r", dst.as_str())?, "1");
    assert_eq!(pool.get("mounted", dst.as_str())?, "yes");
    assert_eq!(pool.read_file("dst x/f")?, b"payload");

    // receive_abort of an interrupted resumable receive (CLI `receive -A`).
    let stream = send_to_vec(&l, &SendRequest::full(s1.clone()))?;
    let part = ds(&pool.dataset("part"));
    let resumable = RecvRequest {
        resumable: true,
        ..no_mount(part.snapshot("1")?)
    };
    assert!(recv_from_slice(&l, &resumable, &stream[..stream.len() / 2]).is_err());
    assert_ne!(pool.get("receive_resume_token", part.as_str())?, "-");
    l.receive_abort(&part)?;
    assert!(!pool.exists(part.as_str()));

    // rollback with destroy_newer (CLI `rollback -r`) and destroy_dataset.
    l.snapshot(&[snap(&format!("{fs}@2"))], &[])?;
    l.rollback_to(&s1, true)?;
    assert!(!pool.exists(&format!("{fs}@2")));
    l.destroy_dataset(&dst, true)?;
    assert!(!pool.exists(dst.as_str()));
    Ok(())
}
