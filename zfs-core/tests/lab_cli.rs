//! Lab tests of the `Cli` backend on real pools: every operation is checked by reading ZFS state back with
//! the real `zfs` CLI (guids, createtxg, holds, file data). Names are deliberately hostile but valid
//! (spaces, components starting with `-`, `:` and `.`).
//!
//! Run: `cargo xtask lab test lab_cli` (all tests here are named `cli_*`).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use zfs_core::backend::{
    Backend, CreateKind, Depth, ListOptions, RecvRequest, SendFlags, SendRequest,
};
use zfs_core::cli::Cli;
use zfs_core::{BookmarkName, DatasetKind, DatasetName, VersionKind, VersionName, ZfsError};
use zsync_lab::data::pattern;
use zsync_lab::TestPool;

type R = Result<(), Box<dyn std::error::Error>>;

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}
fn bm(s: &str) -> BookmarkName {
    BookmarkName::parse(s).unwrap()
}

/// Sends `req` and receives it with `recv`, all through zfs-core; returns both results.
fn transfer(b: &dyn Backend, req: &SendRequest, recv: &RecvRequest) -> Result<(), ZfsError> {
    let mut send = b.send(req)?;
    let mut sink = b.receive(recv)?;
    let mut from = File::from(send.take_stream().expect("send stream"));
    let mut to = File::from(sink.take_input().expect("receive input"));
    let copied = std::io::copy(&mut from, &mut to);
    drop(to);
    drop(from);
    let r = sink.finish();
    let s = send.finish();
    // The receive's verdict first (a refused receive breaks the sender's pipe), then the sender's.
    r?;
    s?;
    copied.map_err(|source| ZfsError::Io {
        op: "copy".into(),
        name: req.to.to_string(),
        host: "lab".into(),
        source,
    })?;
    Ok(())
}

/// Reads a whole send stream into memory.
fn capture(b: &dyn Backend, req: &SendRequest) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut send = b.send(req)?;
    let mut bytes = Vec::new();
    File::from(send.take_stream().expect("stream")).read_to_end(&mut bytes)?;
    send.finish()?;
    Ok(bytes)
}

/// Feeds `bytes` into a receive.
fn feed(b: &dyn Backend, recv: &RecvRequest, bytes: &[u8]) -> Result<(), ZfsError> {
    let mut sink = b.receive(recv)?;
    let mut to = File::from(sink.take_input().expect("input"));
    let w = to.write_all(bytes);
    drop(to);
    let r = sink.finish();
    // A receive that fails early closes the pipe; its own error is the interesting one.
    r?;
    w.map_err(|source| ZfsError::Io {
        op: "write".into(),
        name: recv.target.to_string(),
        host: "lab".into(),
        source,
    })
}

/// The Foundation done-criterion: create a pool, snapshot a dataset, send/receive it through zfs-core
/// code, check the received data and identity.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_foundation_snapshot_send_receive() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-found")?;
    let b = Cli::local();
    let src = ds(&pool.dataset("src"));
    b.create(&src, CreateKind::Filesystem, &[])?;
    let data = pattern(300_000, 1);
    pool.write_file("src/hello.bin", &data)?;
    pool.zfs(&["snapshot", "-r", &format!("{}@warmup", pool.name())])?; // unrelated, must not matter
    let s1 = src.snapshot("s1")?;
    b.snapshot(std::slice::from_ref(&s1), &[])?;
    assert!(pool.exists(s1.as_str()));

    let dst = ds(&pool.dataset("dst"));
    transfer(
        &b,
        &SendRequest::full(s1.clone()),
        &RecvRequest::new(dst.snapshot("s1")?),
    )?;

    assert_eq!(
        pool.read_file("dst/hello.bin")?,
        data,
        "received file differs"
    );
    assert_eq!(pool.guid(&format!("{dst}@s1"))?, pool.guid(s1.as_str())?);
    let listing = b.list(&dst, &ListOptions::default())?;
    let d = listing.get(&dst).ok_or("dst missing from listing")?;
    assert_eq!(d.versions.len(), 1);
    assert_eq!(d.versions[0].guid, pool.get_u64("guid", s1.as_str())?);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_list_matches_zfs_get() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-list")?;
    let b = Cli::local();
    let root = ds(pool.name());
    let a = ds(&pool.dataset("my data"));
    let child = ds(&pool.dataset("my data/-x"));
    let vol = ds(&pool.dataset("vol:1.0"));
    b.create(&a, CreateKind::Filesystem, &[])?;
    b.create(
        &child,
        CreateKind::Filesystem,
        &[("compression".into(), "off".into())],
    )?;
    b.create(
        &vol,
        CreateKind::Volume {
            size: 4 << 20,
            sparse: true,
        },
        &[],
    )?;
    b.snapshot(
        &[
            a.snapshot("s 1")?,
            child.snapshot("s 1")?,
            vol.snapshot("s 1")?,
        ],
        &[("zsync:job".into(), "j 1".into())],
    )?;
    b.bookmark(&[(
        a.bookmark("b 1")?,
        VersionName::Snapshot(a.snapshot("s 1")?),
    )])?;
    b.snapshot(&[a.snapshot("-s2")?], &[])?;
    b.set_user_props(a.as_str(), &[("zsync:note".into(), "hello world".into())])?;

    let opts = ListOptions {
        user_props: vec!["zsync:job".into(), "zsync:note".into()],
        ..Default::default()
    };
    let l = b.list(&root, &opts)?;
    let names: Vec<&str> = l.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for d in &l.datasets {
        assert_eq!(d.guid, pool.get_u64("guid", d.name.as_str())?, "{}", d.name);
        assert_eq!(
            d.createtxg,
            pool.get_u64("createtxg", d.name.as_str())?,
            "{}",
            d.name
        );
        for v in &d.versions {
            assert_eq!(v.guid, pool.get_u64("guid", v.name.as_str())?, "{}", v.name);
            assert_eq!(
                v.createtxg,
                pool.get_u64("createtxg", v.name.as_str())?,
                "{}",
                v.name
            );
            assert_eq!(
                v.creation,
                pool.get_u64("creation", v.name.as_str())? as i64,
                "{}",
                v.name
            );
        }
    }
    let da = l.get(&a).ok_or("a missing")?;
    let order: Vec<&str> = da.versions.iter().map(|v| v.name.short()).collect();
    assert_eq!(order, ["b 1", "s 1", "-s2"]);
    assert_eq!(da.versions[0].name.kind(), VersionKind::Bookmark);
    assert_eq!(da.versions[0].guid, da.versions[1].guid);
    assert_eq!(
        da.user_props.get("zsync:note").map(String::as_str),
        Some("hello world")
    );
    assert_eq!(
        da.versions[1]
            .user_props
            .get("zsync:job")
            .map(String::as_str),
        Some("j 1")
    );
    assert_eq!(l.get(&vol).ok_or("vol missing")?.kind, DatasetKind::Volume);
    // Multi-dataset snapshot in one call: one txg.
    let txgs: BTreeSet<u64> = [&a, &child, &vol]
        .iter()
        .map(|d| pool.get_u64("createtxg", &format!("{d}@s 1")).unwrap())
        .collect();
    assert_eq!(
        txgs.len(),
        1,
        "snapshots of one call must share a txg: {txgs:?}"
    );

    // Depth: root only (with its versions), and one level.
    let zero = b.list(
        &a,
        &ListOptions {
            depth: Depth::Zero,
            ..Default::default()
        },
    )?;
    assert_eq!(zero.datasets.len(), 1);
    assert_eq!(zero.datasets[0].versions.len(), 3);
    let one = b.list(
        &root,
        &ListOptions {
            depth: Depth::Levels(1),
            ..Default::default()
        },
    )?;
    assert_eq!(one.datasets.len(), 3);
    let nov = b.list(
        &root,
        &ListOptions {
            versions: false,
            ..Default::default()
        },
    )?;
    assert!(nov.datasets.iter().all(|d| d.versions.is_empty()));

    // Missing root: NotFound naming it; exists() agrees.
    let missing = ds(&pool.dataset("nope"));
    match b.list(&missing, &ListOptions::default()) {
        Err(ZfsError::NotFound { name, .. }) => assert_eq!(name, missing.as_str()),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(!b.exists(missing.as_str())?);
    assert!(b.exists(&format!("{a}#b 1"))?);
    assert!(b.exists(&format!("{a}@-s2"))?);
    assert!(b.exists(vol.as_str())?);
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_hostile_names_every_operation() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-hostile")?;
    let b = Cli::local();
    let d = ds(&pool.dataset("my data"));
    let x = ds(&pool.dataset("my data/-x"));
    b.create(&d, CreateKind::Filesystem, &[])?;
    b.create(&x, CreateKind::Filesystem, &[])?;
    pool.write_file("my data/-x/f", b"dash")?;
    let s1 = x.snapshot("-s")?;
    let s2 = x.snapshot("s 1:.")?;
    b.snapshot(std::slice::from_ref(&s1), &[])?;
    pool.write_file("my data/-x/g", b"second")?;
    b.snapshot(std::slice::from_ref(&s2), &[])?;
    assert!(pool.exists(s1.as_str()) && pool.exists(s2.as_str()));

    // hold / holds / release
    b.hold(&[(s1.clone(), "zsync keep".into())])?;
    assert_eq!(
        pool.holds(s1.as_str())?,
        BTreeSet::from(["zsync keep".to_owned()])
    );
    assert!(b.holds(&s1)?.contains_key("zsync keep"));
    match b.destroy_snapshots(std::slice::from_ref(&s1), false) {
        Err(ZfsError::HasHolds { name, .. }) => assert_eq!(name, s1.as_str()),
        other => panic!("expected HasHolds, got {other:?}"),
    }
    b.release(&[(s1.clone(), "zsync keep".into())])?;
    assert!(b.holds(&s1)?.is_empty());

    // bookmark from snapshot and from bookmark
    let b1 = x.bookmark("-b .1")?;
    let b2 = x.bookmark("copy:2")?;
    b.bookmark(&[(b1.clone(), VersionName::Snapshot(s1.clone()))])?;
    b.bookmark(&[(b2.clone(), VersionName::Bookmark(b1.clone()))])?;
    assert_eq!(pool.guid(b2.as_str())?, pool.guid(s1.as_str())?);

    // send (full + incremental from a bookmark) into a hostile target
    let t = ds(&pool.dataset("re cv/-y:.z"));
    b.create(&ds(&pool.dataset("re cv")), CreateKind::Filesystem, &[])?;
    transfer(
        &b,
        &SendRequest::full(s1.clone()),
        &RecvRequest::new(t.snapshot("-s")?),
    )?;
    transfer(
        &b,
        &SendRequest::incremental(VersionName::Bookmark(b1.clone()), s2.clone()),
        &RecvRequest::new(t.snapshot("s 1:.")?),
    )?;
    assert_eq!(pool.read_file("re cv/-y:.z/g")?, b"second");
    assert_eq!(pool.guid(&format!("{t}@s 1:."))?, pool.guid(s2.as_str())?);
    let size = b.send_space(
        &s2,
        Some(&VersionName::Snapshot(s1.clone())),
        &SendFlags::default(),
    )?;
    assert!(size > 0);

    // rollback, destroy
    pool.write_file("re cv/-y:.z/h", b"scratch")?;
    b.rollback_to(&t.snapshot("s 1:.")?, false)?;
    assert!(
        pool.read_file("re cv/-y:.z/h").is_err(),
        "rollback must drop the new file"
    );
    b.destroy_bookmarks(&[b1.clone(), b2.clone()])?;
    assert!(!pool.exists(b1.as_str()) && !pool.exists(b2.as_str()));
    b.destroy_snapshots(&[s1.clone(), s2.clone()], false)?;
    assert!(!pool.exists(s1.as_str()) && !pool.exists(s2.as_str()));
    b.destroy_dataset(&t, true)?;
    assert!(!pool.exists(t.as_str()));
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_invalid_names_rejected_before_running() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-invalid")?;
    let b = Cli::local();
    for bad in ["a'b", "a;b", "a$b", "a\nb", "a\"b", "a\\b", "a*b", "a`b"] {
        let name = format!("{}/{bad}", pool.name());
        assert!(DatasetName::parse(&name).is_err(), "{name:?}");
        assert!(
            matches!(b.exists(&name), Err(ZfsError::InvalidName(_))),
            "{name:?}"
        );
        assert!(matches!(
            b.set_user_props(&name, &[("a:b".into(), "c".into())]),
            Err(ZfsError::InvalidName(_))
        ));
    }
    let listed = pool.zfs(&["list", "-H", "-o", "name", "-r", "-t", "all", pool.name()])?;
    assert_eq!(listed.trim(), pool.name(), "nothing may have been created");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_resume_truncated_receive_then_abort() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-resume")?;
    let b = Cli::local();
    let src = ds(&pool.dataset("src"));
    b.create(
        &src,
        CreateKind::Filesystem,
        &[("compression".into(), "off".into())],
    )?;
    let data = pattern(2 << 20, 7);
    pool.write_file("src/big.bin", &data)?;
    let s = src.snapshot("s1")?;
    b.snapshot(std::slice::from_ref(&s), &[])?;
    let stream = capture(&b, &SendRequest::full(s.clone()))?;
    assert!(stream.len() > 1 << 20, "stream {} bytes", stream.len());

    let dst = ds(&pool.dataset("dst"));
    let mut recv = RecvRequest::new(dst.snapshot("s1")?);
    recv.resumable = true;
    // Truncated: the receive fails but keeps state.
    let cut = stream.len() * 6 / 10;
    assert!(
        feed(&b, &recv, &stream[..cut]).is_err(),
        "a truncated stream must fail"
    );
    let l = b.list(
        &dst,
        &ListOptions {
            depth: Depth::Zero,
            ..Default::default()
        },
    )?;
    let token = l.datasets[0]
        .receive_resume_token
        .clone()
        .ok_or("no resume token after truncated receive")?;
    assert_eq!(token, pool.get("receive_resume_token", dst.as_str())?);
    // A new full receive into it is refused while the partial state exists.
    match feed(&b, &RecvRequest::new(dst.snapshot("s1")?), &stream) {
        Err(e @ (ZfsError::PartialReceive { .. } | ZfsError::AlreadyExists { .. })) => {
            assert!(e.to_string().contains(dst.as_str()), "{e}")
        }
        other => panic!("expected PartialReceive, got {other:?}"),
    }

    // Resume with `zfs send -t`, finish.
    let mut req = SendRequest::full(s.clone());
    // The CLI sends from the token string alone (`zfs send -t`).
    req.resume = Some(zfs_stream::resume::decode(&token)?);
    transfer(&b, &req, &recv)?;
    assert_eq!(pool.get("receive_resume_token", dst.as_str())?, "-");
    assert_eq!(pool.read_file("dst/big.bin")?, data);
    assert_eq!(pool.guid(&format!("{dst}@s1"))?, pool.guid(s.as_str())?);

    // Truncate again into a second target, then abort: the partial state disappears.
    let dst2 = ds(&pool.dataset("dst2"));
    let mut recv2 = RecvRequest::new(dst2.snapshot("s1")?);
    recv2.resumable = true;
    assert!(feed(&b, &recv2, &stream[..cut]).is_err());
    assert_ne!(pool.get("receive_resume_token", dst2.as_str())?, "-");
    b.receive_abort(&dst2)?;
    assert!(
        !pool.exists(dst2.as_str()),
        "aborting a new filesystem's partial receive removes it"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_rollback_and_errors() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-rollback")?;
    let b = Cli::local();
    let d = ds(&pool.dataset("d"));
    b.create(&d, CreateKind::Filesystem, &[])?;
    pool.write_file("d/a", b"1")?;
    let a = d.snapshot("a")?;
    let bb = d.snapshot("b")?;
    b.snapshot(std::slice::from_ref(&a), &[])?;
    pool.write_file("d/b", b"2")?;
    b.snapshot(std::slice::from_ref(&bb), &[])?;
    match b.snapshot(std::slice::from_ref(&a), &[]) {
        Err(ZfsError::AlreadyExists { name, .. }) => assert_eq!(name, a.as_str()),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    match b.rollback_to(&a, false) {
        Err(ZfsError::HasNewerVersions { name, .. }) => assert_eq!(name, a.as_str()),
        other => panic!("expected HasNewerVersions, got {other:?}"),
    }
    assert!(pool.exists(bb.as_str()));
    b.rollback_to(&a, true)?;
    assert!(!pool.exists(bb.as_str()));
    assert!(pool.read_file("d/b").is_err());
    assert!(b.holds(&d.snapshot("nope")?).unwrap_err().is_not_found());
    assert!(matches!(
        b.create(&d, CreateKind::Filesystem, &[]),
        Err(ZfsError::AlreadyExists { .. })
    ));
    // Destroying what is already gone is not an error (like lzc_destroy_snaps).
    b.destroy_snapshots(&[d.snapshot("gone")?], false)?;
    b.destroy_bookmarks(&[bm(&format!("{d}#gone"))])?;
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_batched_destroy_and_defer() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-batch")?;
    let b = Cli::local();
    let d = ds(&pool.dataset("d"));
    let e = ds(&pool.dataset("e e"));
    b.create(&d, CreateKind::Filesystem, &[])?;
    b.create(&e, CreateKind::Filesystem, &[])?;
    let mut snaps = Vec::new();
    for i in 0..40 {
        let pair = [
            d.snapshot(&format!("auto_{i:03}"))?,
            e.snapshot(&format!("auto {i:03}"))?,
        ];
        b.snapshot(&pair, &[])?;
        snaps.extend(pair);
    }
    let keep = d.snapshot("auto_039")?;
    b.hold(&[(keep.clone(), "keep".into())])?;
    b.destroy_snapshots(&snaps, true)?; // deferred: the held one stays until released
    let l = b.list(&ds(pool.name()), &ListOptions::default())?;
    let left: Vec<&str> = l
        .datasets
        .iter()
        .flat_map(|x| x.versions.iter().map(|v| v.name.as_str()))
        .collect();
    assert_eq!(left, [keep.as_str()]);
    assert_eq!(pool.get("defer_destroy", keep.as_str())?, "on");
    b.release(&[(keep.clone(), "keep".into())])?;
    assert!(
        !pool.exists(keep.as_str()),
        "deferred destroy completes on release"
    );
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_zvol_send_receive() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-zvol")?;
    let b = Cli::local();
    let v = ds(&pool.dataset("vm-100-disk-0"));
    b.create(
        &v,
        CreateKind::Volume {
            size: 8 << 20,
            sparse: true,
        },
        &[("volblocksize".into(), "16384".into())],
    )?;
    assert_eq!(pool.get("volsize", v.as_str())?, (8u64 << 20).to_string());
    let s1 = v.snapshot("s1")?;
    let s2 = v.snapshot("s2")?;
    b.snapshot(std::slice::from_ref(&s1), &[])?;
    b.snapshot(std::slice::from_ref(&s2), &[])?;
    let t = ds(&pool.dataset("copy"));
    let flags = SendFlags {
        large_block: true,
        embed: true,
        compressed: true,
        ..Default::default()
    };
    let mut full = SendRequest::full(s1.clone());
    full.flags = flags;
    transfer(&b, &full, &RecvRequest::new(t.snapshot("s1")?))?;
    let mut inc = SendRequest::incremental(VersionName::Snapshot(s1.clone()), s2.clone());
    inc.flags = flags;
    transfer(&b, &inc, &RecvRequest::new(t.snapshot("s2")?))?;
    let l = b.list(&t, &ListOptions::default())?;
    assert_eq!(l.datasets[0].kind, DatasetKind::Volume);
    assert_eq!(l.datasets[0].versions.len(), 2);
    assert_eq!(pool.guid(&format!("{t}@s2"))?, pool.guid(s2.as_str())?);
    assert_eq!(pool.get("volsize", t.as_str())?, (8u64 << 20).to_string());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_receive_errors_are_typed() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-recverr")?;
    let b = Cli::local();
    let d = ds(&pool.dataset("d"));
    b.create(&d, CreateKind::Filesystem, &[])?;
    let a = d.snapshot("a")?;
    let c = d.snapshot("c")?;
    b.snapshot(std::slice::from_ref(&a), &[])?;
    b.snapshot(std::slice::from_ref(&c), &[])?;
    let t = ds(&pool.dataset("t"));
    transfer(
        &b,
        &SendRequest::full(a.clone()),
        &RecvRequest::new(t.snapshot("a")?),
    )?;
    // Modify the target, then an incremental receive without -F is refused.
    b.set_user_props(t.as_str(), &[("zsync:x".into(), "1".into())])?;
    pool.zfs(&["set", "readonly=off", t.as_str()])?;
    pool.write_file("t/new", b"x")?;
    let inc = SendRequest::incremental(VersionName::Snapshot(a.clone()), c.clone());
    match transfer(&b, &inc, &RecvRequest::new(t.snapshot("c")?)) {
        Err(e @ ZfsError::TargetModified { .. }) => {
            assert!(e.to_string().contains(t.as_str()), "{e}")
        }
        other => panic!("expected TargetModified, got {other:?}"),
    }
    // With force it goes through.
    let mut forced = RecvRequest::new(t.snapshot("c")?);
    forced.force = true;
    transfer(&b, &inc, &forced)?;
    assert_eq!(pool.guid(&format!("{t}@c"))?, pool.guid(c.as_str())?);
    // A full stream into an existing filesystem without -F: AlreadyExists naming it.
    match transfer(
        &b,
        &SendRequest::full(a.clone()),
        &RecvRequest::new(t.snapshot("again")?),
    ) {
        Err(ZfsError::AlreadyExists { .. }) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    // Sending a missing snapshot: NotFound at finish.
    assert!(transfer(
        &b,
        &SendRequest::full(d.snapshot("missing")?),
        &RecvRequest::new(ds(&pool.dataset("u")).snapshot("x")?)
    )
    .is_err());
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_open_reports_backend() -> R {
    zsync_lab::require_lab();
    let (b, why) = zfs_core::open(zfs_core::BackendChoice::Auto)?;
    assert!(why.starts_with(b.name()), "{why}");
    let (c, _) = zfs_core::open(zfs_core::BackendChoice::Cli)?;
    assert_eq!(c.name(), "cli");
    Ok(())
}

/// `ping` answers on both backends (and through the remote quoting), and the capabilities tell the
/// backends apart by ability.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_ping_and_capabilities() -> R {
    zsync_lab::require_lab();
    let cli = Cli::local();
    cli.ping()?;
    let c = cli.capabilities();
    assert!(!c.in_process_streams && !c.temporary_holds && c.native_intermediates);
    Cli::new(std::sync::Arc::new(ShellRunner)).ping()?;
    let lzc = zfs_core::lzc::Lzc::new(Box::new(Cli::local()))?;
    lzc.ping()?;
    let c = lzc.capabilities();
    assert!(c.in_process_streams && c.temporary_holds && !c.native_intermediates);
    // A `zfs` that cannot run is not a working host.
    assert!(Cli::local()
        .with_zfs_program("/nonexistent/zfs")
        .ping()
        .is_err());
    Ok(())
}

/// Stands in for an SSH runner: every command goes through `sh -c <remote_command_line>`, exactly the
/// string a remote shell would get, so hostile names must survive the quoting to work.
#[derive(Debug)]
struct ShellRunner;

impl zfs_core::runner::Runner for ShellRunner {
    fn host(&self) -> &str {
        "sh-c"
    }
    fn spawn(&self, cmd: &zfs_core::runner::Cmd) -> std::io::Result<zfs_core::runner::Running> {
        let line = zfs_core::runner::remote_command_line(cmd);
        let mut wrapped = zfs_core::runner::Cmd::new(["sh", "-c", line.as_str()]);
        wrapped.stdin = cmd.stdin;
        wrapped.stdout = cmd.stdout;
        zfs_core::runner::LocalRunner.spawn(&wrapped)
    }
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_hostile_names_through_remote_quoting() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-remote")?;
    let b = Cli::new(std::sync::Arc::new(ShellRunner));
    let d = ds(&pool.dataset("my data"));
    let x = ds(&pool.dataset("my data/-x:.y"));
    b.create(&d, CreateKind::Filesystem, &[])?;
    b.create(
        &x,
        CreateKind::Filesystem,
        &[("zsync:note".into(), "it's $(id) `x`".into())],
    )?;
    pool.write_file("my data/-x:.y/f", b"remote")?;
    let s = x.snapshot("-s 1")?;
    b.snapshot(
        std::slice::from_ref(&s),
        &[("zsync:job".into(), "a;b".into())],
    )?;
    assert_eq!(pool.get("zsync:note", x.as_str())?, "it's $(id) `x`");
    assert_eq!(pool.get("zsync:job", s.as_str())?, "a;b");
    b.hold(&[(s.clone(), "keep it".into())])?;
    assert!(b.holds(&s)?.contains_key("keep it"));
    b.release(&[(s.clone(), "keep it".into())])?;
    let t = ds(&pool.dataset("t -1"));
    transfer(
        &b,
        &SendRequest::full(s.clone()),
        &RecvRequest::new(t.snapshot("-s 1")?),
    )?;
    assert_eq!(pool.read_file("t -1/f")?, b"remote");
    let l = b.list(&ds(pool.name()), &ListOptions::default())?;
    assert_eq!(
        l.get(&t).ok_or("t missing")?.versions[0].guid,
        pool.get_u64("guid", s.as_str())?
    );
    match b.list(&ds(&pool.dataset("no such")), &ListOptions::default()) {
        Err(ZfsError::NotFound { host, .. }) => assert_eq!(host, "sh-c"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    b.destroy_dataset(&t, true)?;
    assert!(!pool.exists(t.as_str()));
    Ok(())
}

/// `-I`: one stream lands every intermediate snapshot with its guid, through the Cli backend and through
/// Lzc (which hands it to its CLI backend); a bookmark base is refused before anything runs.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_send_with_intermediates() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("cli-inter")?;
    let src = ds(&pool.dataset("src"));
    pool.zfs(&["create", src.as_str()])?;
    for i in 1..=4u32 {
        pool.write_file(&format!("src/f{i}.bin"), &pattern(20_000, i))?;
        pool.zfs(&["snapshot", &format!("{src}@s{i}")])?;
    }
    let lzc = zfs_core::lzc::Lzc::new(Box::new(Cli::local()))
        .map_err(|why| format!("Lzc must be available in the lab: {why}"))?;
    let backends: [(&str, &dyn Backend); 2] = [("cli", &Cli::local()), ("lzc", &lzc)];
    for (label, b) in backends {
        let dst = ds(&pool.dataset(&format!("dst-{label}")));
        let mut recv = RecvRequest::new(dst.snapshot("s1")?);
        recv.no_mount = true;
        transfer(b, &SendRequest::full(src.snapshot("s1")?), &recv)?;
        // An -I package is received into the dataset (`zfs receive DS`): given `DS@s4`, zfs receive
        // names the first snapshot of the package s4 and stops. RecvRequest takes a snapshot name, so
        // the receive here is the plain CLI.
        let req = SendRequest::with_intermediates(src.snapshot("s1")?, src.snapshot("s4")?);
        let bytes = capture(b, &req)?;
        let mut child = std::process::Command::new("zfs")
            .args(["receive", "-u", dst.as_str()])
            .stdin(std::process::Stdio::piped())
            .spawn()?;
        child.stdin.take().ok_or("stdin")?.write_all(&bytes)?;
        assert!(
            child.wait()?.success(),
            "{label}: zfs receive of the -I stream"
        );
        for i in 1..=4 {
            assert_eq!(
                pool.guid(&format!("{dst}@s{i}"))?,
                pool.guid(&format!("{src}@s{i}"))?,
                "{label}: @s{i}"
            );
        }
        pool.zfs(&["mount", dst.as_str()])?;
        assert_eq!(
            pool.read_file(&format!("dst-{label}/f3.bin"))?,
            pattern(20_000, 3)
        );

        pool.zfs(&["bookmark", &format!("{src}@s1"), &format!("{src}#b1")])?;
        let mut bad = req.clone();
        bad.from = Some(VersionName::Bookmark(bm(&format!("{src}#b1"))));
        match b.send(&bad) {
            Err(ZfsError::InvalidArgument { .. }) => {}
            Err(e) => panic!("{label}: wrong error {e}"),
            Ok(_) => panic!("{label}: -I from a bookmark was accepted"),
        }
        pool.zfs(&["destroy", &format!("{src}#b1")])?;
    }
    Ok(())
}

/// Overwrites the middle of a vdev file (past the front labels, before the back ones) with junk.
fn corrupt_vdev(path: &std::path::Path) -> R {
    use std::io::{Seek, SeekFrom};
    let len = std::fs::metadata(path)?.len();
    let (start, end) = (4 << 20, len.saturating_sub(2 << 20));
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.seek(SeekFrom::Start(start))?;
    f.write_all(&pattern((end - start) as usize, 99))?;
    f.sync_all()?;
    Ok(())
}

fn pool_name(p: &TestPool) -> zfs_core::PoolName {
    zfs_core::PoolName::parse(p.name()).unwrap()
}

/// `pools` and `pool_status` on a healthy pool match `zpool list`; a missing pool is NotFound naming it.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_pool_status_healthy() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::with_size("pst-ok", 64 << 20)?;
    let b = Cli::local();
    let name = pool_name(&pool);
    let list = b.pools(std::slice::from_ref(&name))?;
    assert_eq!(list.len(), 1);
    let p = &list[0];
    assert_eq!(p.name, name);
    assert_eq!(p.health, zfs_core::PoolHealth::Online);
    assert!(p.detail.is_none());
    let size: u64 = pool
        .zpool(&["list", "-Hp", "-o", "size", pool.name()])?
        .trim()
        .parse()?;
    assert_eq!(p.size, size);
    assert!(p.allocated > 0 && p.allocated + p.free <= p.size, "{p:?}");
    assert!(p.capacity < 5, "{p:?}");
    // Every pool, one spawn: ours is among them.
    assert!(b.pools(&[])?.iter().any(|x| x.name == name));
    let st = b.pool_status(std::slice::from_ref(&name))?;
    let d = st[0].detail.as_ref().expect("zpool status detail");
    assert_eq!(d.state, Some(zfs_core::PoolHealth::Online));
    assert_eq!(d.data_errors, Some(0));
    assert_eq!(d.vdevs.len(), 2, "{d:?}");
    assert_eq!(d.vdevs[1].name, pool.file().to_string_lossy());
    assert_eq!(d.problem_vdevs().count(), 0);
    let missing = zfs_core::PoolName::parse("zsync-no-such-pool")?;
    let e = b.pools(&[missing]).unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(e.name(), Some("zsync-no-such-pool"));
    assert_eq!(e.host(), Some("localhost"));
    Ok(())
}

/// Listing every pool while other pools are created and destroyed: `zpool list` prints a row named
/// `-` for a pool that goes away mid-listing (seen in CI); `pools` must ride that out, never fail.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_pools_while_pools_come_and_go() -> R {
    zsync_lab::require_lab();
    let b = Cli::local();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (listings, dashes) = std::thread::scope(|s| {
        let churn = s.spawn(|| {
            let r = (0..6).try_for_each(|_| TestPool::with_size("pst-churn", 64 << 20).map(drop));
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            r
        });
        let (mut listings, mut dashes) = (0u32, 0u32);
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let pools = b.pools(&[]).expect("zpool list while pools come and go");
            assert!(pools.iter().all(|p| p.name.as_str() != "-"));
            let raw = std::process::Command::new("zpool")
                .args(["list", "-Hp", "-o", "name"])
                .output()
                .expect("zpool list");
            dashes += String::from_utf8_lossy(&raw.stdout)
                .lines()
                .filter(|l| *l == "-")
                .count() as u32;
            listings += 1;
        }
        churn
            .join()
            .expect("churn thread")
            .expect("create/destroy pools");
        (listings, dashes)
    });
    println!("{listings} listings; raw `zpool list` printed {dashes} rows named `-`");
    assert!(listings > 0);
    Ok(())
}

/// A mirror with one side offlined is DEGRADED and the detail names the OFFLINE device; the Lzc
/// backend answers the same through its CLI.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_pool_status_degraded_mirror() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::mirror("pst-deg", 64 << 20)?;
    let b = Cli::local();
    let name = pool_name(&pool);
    let second = pool.files()[1].to_string_lossy().into_owned();
    pool.zpool(&["offline", pool.name(), &second])?;
    let st = b.pool_status(std::slice::from_ref(&name))?;
    assert_eq!(st[0].health, zfs_core::PoolHealth::Degraded);
    let d = st[0].detail.as_ref().expect("detail");
    let bad: Vec<_> = d.problem_vdevs().collect();
    assert!(bad
        .iter()
        .any(|v| v.name.starts_with("mirror-") && v.state == zfs_core::PoolHealth::Degraded));
    let dev = bad
        .iter()
        .find(|v| v.name == second)
        .unwrap_or_else(|| panic!("{second} not reported: {d:?}"));
    assert_eq!(dev.state, zfs_core::PoolHealth::Offline);
    assert!(
        d.status.as_deref().unwrap_or("").contains("offline"),
        "{d:?}"
    );
    if let Ok(lzc) = zfs_core::lzc::open() {
        let l = lzc.pool_status(std::slice::from_ref(&name))?;
        assert_eq!((&l[0].health, &l[0].detail), (&st[0].health, &st[0].detail));
    }
    Ok(())
}

/// Junk written over one side of a mirror: a scrub repairs it and the device shows checksum errors;
/// on a single-vdev pool the same damage is permanent data errors.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn cli_pool_status_checksum_errors() -> R {
    zsync_lab::require_lab();
    let b = Cli::local();
    let mirror = TestPool::mirror("pst-ck", 64 << 20)?;
    let single = TestPool::with_size("pst-ck1", 64 << 20)?;
    for p in [&mirror, &single] {
        p.write_file("junk", &pattern(10 << 20, 7))?;
        p.zpool(&["sync", p.name()])?;
    }
    corrupt_vdev(mirror.files()[1])?;
    corrupt_vdev(single.file())?;
    mirror.zpool(&["scrub", "-w", mirror.name()])?;
    single.zpool(&["scrub", "-w", single.name()])?;
    let st = b.pool_status(&[pool_name(&mirror), pool_name(&single)])?;
    let m = st
        .iter()
        .find(|p| p.name.as_str() == mirror.name())
        .unwrap();
    let d = m.detail.as_ref().expect("detail");
    let second = mirror.files()[1].to_string_lossy().into_owned();
    let dev = d
        .vdevs
        .iter()
        .find(|v| v.name == second)
        .expect("second side listed");
    assert!(dev.errors().checksum > 0, "{d:?}");
    assert_eq!(d.scan_errors, Some(0), "{d:?}");
    assert_eq!(d.data_errors, Some(0), "{d:?}");
    assert!(d.scan.as_deref().unwrap_or("").contains("scrub repaired"));
    let s = st
        .iter()
        .find(|p| p.name.as_str() == single.name())
        .unwrap();
    let d = s.detail.as_ref().expect("detail");
    assert!(d.scan_errors.unwrap_or(0) > 0, "{d:?}");
    assert!(d.data_errors.unwrap_or(0) > 0, "{d:?}");
    assert!(d.problem_vdevs().any(|v| v.errors().checksum > 0), "{d:?}");
    Ok(())
}
