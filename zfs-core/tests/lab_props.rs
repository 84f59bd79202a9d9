//! Lab tests of `Backend::properties` (one `zfs get` for a tree) on both backends, read against real
//! OpenZFS 2.3 output: every source kind, a value with a tab, a missing root, a property name that is
//! refused before anything runs, and a value that imitates another dataset's row.
//!
//! Run: `cargo xtask lab test lab_props`.

use zfs_core::{Backend, BackendChoice, DatasetName, PropQuery, PropSource, SourceKind, ZfsError};
use zsync_lab::TestPool;

type R = Result<(), Box<dyn std::error::Error>>;

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}

fn scenario(be: &dyn Backend, tag: &str) -> R {
    let pool = TestPool::new(tag)?;
    let p = |d: &str| pool.dataset(d);
    pool.zfs(&[
        "create",
        "-o",
        "compression=lz4",
        "-o",
        "user:note=a\tb",
        &p("top"),
    ])?;
    pool.zfs(&["create", "-o", "recordsize=16K", &p("top/fs")])?;
    pool.zfs(&["create", "-s", "-V", "4M", &p("top/vol")])?;
    pool.zfs(&["snapshot", "-r", &format!("{}@s", p("top"))])?;

    // Local values of the whole tree, in one call; snapshots are not listed.
    let local = be.properties(&ds(&p("top")), &PropQuery::local(true))?;
    assert_eq!(
        local
            .keys()
            .map(|d| d.as_str().to_owned())
            .collect::<Vec<_>>(),
        [p("top"), p("top/fs"), p("top/vol")]
    );
    let top = &local[&ds(&p("top"))];
    assert_eq!(top["compression"].value, "lz4");
    assert_eq!(top["compression"].source, PropSource::Local);
    assert_eq!(
        top["user:note"].value, "a\tb",
        "a tab inside a value survives"
    );
    assert_eq!(local[&ds(&p("top/fs"))]["recordsize"].value, "16384");
    assert!(local[&ds(&p("top/vol"))].contains_key("volsize"));
    assert!(local
        .values()
        .flat_map(|m| m.values())
        .all(|v| v.source == PropSource::Local));

    // Named properties from every source: inherited, default, none.
    let named = be.properties(
        &ds(&p("top")),
        &PropQuery::named(&["compression", "recordsize", "used"], true),
    )?;
    let fs = &named[&ds(&p("top/fs"))];
    assert_eq!(
        fs["compression"].source,
        PropSource::Inherited(ds(&p("top")))
    );
    assert_eq!(fs["recordsize"].source, PropSource::Local);
    assert_eq!(fs["used"].source, PropSource::None);
    assert!(
        fs["used"].value.bytes().all(|b| b.is_ascii_digit()),
        "-p gives bytes"
    );
    assert_eq!(named[&ds(&p("top"))]["recordsize"].value, "131072");
    assert_eq!(
        named[&ds(&p("top"))]["recordsize"].source.kind(),
        SourceKind::Default
    );

    // Not recursive: the root only.
    let one = be.properties(&ds(&p("top")), &PropQuery::named(&["compression"], false))?;
    assert_eq!(one.len(), 1);

    // A missing root is NotFound naming it; a bad property name runs nothing.
    let missing = ds(&p("nope"));
    match be.properties(&missing, &PropQuery::local(false)) {
        Err(ZfsError::NotFound { name, .. }) => assert_eq!(name, missing.as_str()),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        be.properties(&ds(&p("top")), &PropQuery::named(&["Bad Name"], false)),
        Err(ZfsError::InvalidArgument { .. })
    ));

    // A user property value that imitates a row of the next dataset is refused, not read as a property.
    let forged = format!("user:x=a\tlocal\n{}\tmountpoint\t/etc", p("top/vol"));
    pool.zfs(&["set", &forged, &p("top/fs")])?;
    match be.properties(&ds(&p("top")), &PropQuery::local(true)) {
        Err(ZfsError::Parse { detail, .. }) => assert!(detail.contains("imitating"), "{detail}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_props_cli() -> R {
    zsync_lab::require_lab();
    let (be, why) = zfs_core::open(BackendChoice::Cli)?;
    assert_eq!(be.name(), "cli", "{why}");
    scenario(be.as_ref(), "props-cli")
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_props_lzc() -> R {
    zsync_lab::require_lab();
    let (be, why) = zfs_core::open(BackendChoice::Lzc)?;
    assert_eq!(be.name(), "lzc", "{why}");
    scenario(be.as_ref(), "props-lzc")
}

/// The local runner, plus: after each `zfs get` of values (while `changes` lasts) it creates a child
/// of `parent` with a local property, so the tree changes between the two reads of `properties`, as
/// a concurrent `zfs create` would.
#[derive(Debug)]
struct ChangeBetweenReads {
    parent: String,
    changes: std::sync::atomic::AtomicU32,
    made: std::sync::atomic::AtomicU32,
}

impl zfs_core::Runner for ChangeBetweenReads {
    fn host(&self) -> &str {
        "localhost"
    }
    fn spawn(&self, cmd: &zfs_core::runner::Cmd) -> std::io::Result<zfs_core::runner::Running> {
        zfs_core::LocalRunner.spawn(cmd)
    }
    fn run(&self, cmd: &zfs_core::runner::Cmd) -> std::io::Result<zfs_core::runner::Output> {
        let out = zfs_core::LocalRunner.run(cmd)?;
        let values_read = cmd.argv.iter().any(|a| a == "name,property,value,source");
        let left = self.changes.load(std::sync::atomic::Ordering::SeqCst);
        if values_read && left > 0 {
            self.changes
                .store(left - 1, std::sync::atomic::Ordering::SeqCst);
            let n = 1 + self.made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let child = format!("{}/new{n}", self.parent);
            zsync_lab::zfs(&["create", "-o", "compression=zle", &child])
                .map_err(std::io::Error::other)?;
        }
        Ok(out)
    }
}

/// A dataset created between the value read and the row read: read again, and the answer holds the
/// new dataset. A tree that changes between every pair of reads is an error that says why.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_props_tree_changing_between_the_reads() -> R {
    zsync_lab::require_lab();
    let pool = TestPool::new("props-race")?;
    let top = pool.dataset("top");
    pool.zfs(&["create", "-o", "compression=lz4", &top])?;
    let runner = std::sync::Arc::new(ChangeBetweenReads {
        parent: top.clone(),
        changes: 1.into(),
        made: 0.into(),
    });
    let be = zfs_core::cli::Cli::new(runner.clone());
    let map = be.properties(&ds(&top), &PropQuery::local(true))?;
    assert!(map.contains_key(&ds(&format!("{top}/new1"))), "{map:?}");
    assert_eq!(map[&ds(&top)]["compression"].value, "lz4");
    assert_eq!(map[&ds(&format!("{top}/new1"))]["compression"].value, "zle");

    runner.changes.store(2, std::sync::atomic::Ordering::SeqCst);
    match be.properties(&ds(&top), &PropQuery::local(true)) {
        Err(ZfsError::Parse { detail, .. }) => {
            assert!(detail.contains("changed between the two reads"), "{detail}")
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert_eq!(runner.changes.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(runner.made.load(std::sync::atomic::Ordering::SeqCst), 3);
    Ok(())
}
