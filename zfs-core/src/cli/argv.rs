//! Every argv the `Cli` backend runs, after the program name (`zfs ...` or `zpool ...`).
//!
//! Pure functions: nothing here runs anything, so every command line is host-tested. Names arrive
//! validated as types; the free-form words that go into argv (property names and values, hold tags) are
//! checked here before they become words.

use crate::backend::{Depth, ListOptions, RecvRequest, SendFlags, SendRequest};
use crate::error::{Cause, ZfsError};
use crate::name::{
    check_creatable, BookmarkName, DatasetName, PoolName, SnapshotName, VersionName,
};
use crate::props::PropQuery;
use crate::validate::{self, HoldTag, UserProp};
use crate::wire::Wire;

/// Longest single argument built by batching (`ds@a,b,c`), well below Linux's 128 KiB per argument.
pub const MAX_BATCH_ARG: usize = 32 * 1024;

/// The fixed columns a listing asks for, in order (see [`list_args`]).
pub const COLUMNS: [&str; 11] = [
    "name",
    "type",
    "guid",
    "createtxg",
    "creation",
    "origin",
    "receive_resume_token",
    "encryption",
    "encryptionroot",
    "keystatus",
    "userrefs",
];

/// The columns [`pools_args`] asks for, in order.
pub const LIST_COLUMNS: [&str; 7] = [
    "name",
    "health",
    "size",
    "allocated",
    "free",
    "capacity",
    "fragmentation",
];

/// `word` as one argv word of `what`: it must not begin with `-`, or `zfs` would read it as an option
/// (the argv-only rule; everything else is [`crate::validate`]'s).
fn not_an_option(what: &'static str, word: &str) -> Result<(), ZfsError> {
    if word.starts_with('-') {
        return Err(ZfsError::InvalidArgument {
            op: what,
            detail: format!("{word:?} begins with '-': zfs would read it as an option"),
        });
    }
    Ok(())
}

/// Checks the property names of a query ([`validate::property_name`]); they become the argument
/// before the dataset, so none may begin with `-` either.
pub(crate) fn check_query_names(names: &[String]) -> Result<(), ZfsError> {
    for n in names {
        validate::property_name(n)?;
        not_an_option("property", n)?;
    }
    Ok(())
}

fn prop_args(
    flag: &str,
    props: &[(String, String)],
    user_only: bool,
) -> Result<Vec<String>, ZfsError> {
    let mut args = Vec::with_capacity(props.len() * 2);
    for (k, v) in props {
        if user_only {
            UserProp::parse(k)?;
        } else {
            validate::property_name(k)?;
        }
        validate::property_value(k, v)?;
        args.push(flag.to_owned());
        args.push(format!("{k}={v}"));
    }
    Ok(args)
}

/// Checks a tag for `zfs hold` (`holding`) or `zfs release`: [`HoldTag`]'s rule, plus two of the
/// command line: not beginning with `-` (an option), and for `zfs hold` not with `.` (the command refuses
/// those: libzfs reserves them for its own holds).
fn check_tag(tag: &str, holding: bool) -> Result<(), ZfsError> {
    HoldTag::parse(tag)?;
    not_an_option("hold tag", tag)?;
    if holding && tag.starts_with('.') {
        return Err(ZfsError::InvalidArgument {
            op: "hold tag",
            detail: format!(
                "{tag:?} begins with '.': zfs hold refuses those (reserved for libzfs)"
            ),
        });
    }
    Ok(())
}

/// Groups (snapshot, tag) pairs by tag, keeping first-seen order, for `zfs hold` (`holding`) or
/// `zfs release`; every tag is checked first.
pub(crate) fn by_tag(
    holds: &[(SnapshotName, String)],
    holding: bool,
) -> Result<Vec<(&str, Vec<&str>)>, ZfsError> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (snap, tag) in holds {
        check_tag(tag, holding)?;
        match groups.iter_mut().find(|(t, _)| *t == tag.as_str()) {
            Some((_, v)) => v.push(snap.as_str()),
            None => groups.push((tag.as_str(), vec![snap.as_str()])),
        }
    }
    Ok(groups)
}

/// `zfs hold TAG SNAP...` (`verb` `hold`) or `zfs release TAG SNAP...` (`verb` `release`).
pub(crate) fn hold_args(verb: &str, tag: &str, snaps: &[&str]) -> Vec<String> {
    let mut args = vec![verb.to_owned(), tag.to_owned()];
    args.extend(snaps.iter().map(|s| (*s).to_owned()));
    args
}

fn send_flag_args(flags: &SendFlags, args: &mut Vec<String>) {
    for (on, f) in [
        (flags.large_block, "-L"),
        (flags.embed, "-e"),
        (flags.compressed, "-c"),
        (flags.raw, "-w"),
        (flags.props, "-p"),
        (flags.saved, "-S"),
    ] {
        if on {
            args.push(f.into());
        }
    }
}

/// The argv for listing `root` with `opts`.
pub fn list_args(root: &DatasetName, opts: &ListOptions) -> Vec<String> {
    let mut cols = COLUMNS.join(",");
    for p in &opts.user_props {
        cols.push(',');
        cols.push_str(p);
    }
    let types = if opts.versions {
        "filesystem,volume,snapshot,bookmark"
    } else {
        "filesystem,volume"
    };
    let mut args: Vec<String> = vec![
        "list".into(),
        "-Hp".into(),
        "-o".into(),
        cols,
        "-t".into(),
        types.into(),
    ];
    // Versions sit one level below their dataset in `zfs list -d` terms, so ask one level deeper and
    // drop the extra datasets while parsing (see `parse_listing`).
    let extra = u32::from(opts.versions);
    match opts.depth {
        Depth::Recursive => args.push("-r".into()),
        Depth::Zero => {
            if opts.versions {
                args.push("-d".into());
                args.push("1".into());
            }
        }
        Depth::Levels(n) => {
            args.push("-d".into());
            args.push(n.saturating_add(extra).to_string());
        }
    }
    args.push(root.as_str().to_owned());
    args
}

/// `zfs list -H -o name` of one dataset, snapshot or bookmark (does it exist?).
pub(crate) fn exists_args(name: &str) -> Vec<String> {
    [
        "list",
        "-H",
        "-o",
        "name",
        "-t",
        "filesystem,volume,snapshot,bookmark",
        name,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `zfs create [-s] [-V SIZE] [-o k=v]... DS`.
pub(crate) fn create_args(
    ds: &DatasetName,
    kind: crate::backend::CreateKind,
    props: &[(String, String)],
) -> Result<Vec<String>, ZfsError> {
    check_creatable(ds.as_str())?;
    let mut args = vec!["create".to_owned()];
    if let crate::backend::CreateKind::Volume { size, sparse } = kind {
        if size == 0 {
            return Err(ZfsError::InvalidArgument {
                op: "create",
                detail: format!("{ds}: volume size 0"),
            });
        }
        if sparse {
            args.push("-s".into());
        }
        args.push("-V".into());
        args.push(size.to_string());
    }
    args.extend(prop_args("-o", props, false)?);
    args.push(ds.as_str().to_owned());
    Ok(args)
}

/// `zfs clone [-o k=v]... SNAP NEW`; `NEW` must be creatable and in the snapshot's pool.
pub(crate) fn clone_args(
    snap: &SnapshotName,
    new: &DatasetName,
    props: &[(String, String)],
) -> Result<Vec<String>, ZfsError> {
    check_clone(snap, new)?;
    let mut args = vec!["clone".to_owned()];
    args.extend(prop_args("-o", props, false)?);
    args.push(snap.as_str().to_owned());
    args.push(new.as_str().to_owned());
    Ok(args)
}

/// What every backend checks of a clone before anything runs: `new` is a creatable name in the
/// snapshot's pool (ZFS clones never leave their pool).
pub(crate) fn check_clone(snap: &SnapshotName, new: &DatasetName) -> Result<(), ZfsError> {
    check_creatable(new.as_str())?;
    let (from, to) = (snap.dataset(), new.pool());
    if from.pool() != to {
        return Err(ZfsError::InvalidArgument {
            op: "clone",
            detail: format!("{new} is not in the pool of {snap}: a clone stays in its pool"),
        });
    }
    Ok(())
}

/// `zfs snapshot [-o k=v]... SNAP...` with user properties only.
pub(crate) fn snapshot_args(
    snaps: &[SnapshotName],
    user_props: &[(String, String)],
) -> Result<Vec<String>, ZfsError> {
    let mut args = vec!["snapshot".to_owned()];
    args.extend(prop_args("-o", user_props, true)?);
    args.extend(snaps.iter().map(|s| s.as_str().to_owned()));
    Ok(args)
}

/// `zfs set k=v... TARGET` with user properties only.
pub(crate) fn set_args(target: &str, props: &[(String, String)]) -> Result<Vec<String>, ZfsError> {
    let mut args = vec!["set".to_owned()];
    for (k, v) in props {
        UserProp::parse(k)?;
        validate::property_value(k, v)?;
        not_an_option("user property", k)?;
        args.push(format!("{k}={v}"));
    }
    args.push(target.to_owned());
    Ok(args)
}

/// One `zfs destroy` command: its argv (after the program) and the snapshots it covers.
pub type DestroyBatch = (Vec<String>, Vec<String>);

/// The `zfs destroy [-d] ds@a,b,c` commands (argv after the program, and the snapshots each covers) for
/// destroying `snaps`: one per dataset, split so no argument exceeds [`MAX_BATCH_ARG`].
pub fn destroy_batches(snaps: &[SnapshotName], defer: bool) -> Result<Vec<DestroyBatch>, ZfsError> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for s in snaps {
        if s.as_str().contains('%') {
            // `%` means a range in `zfs destroy ds@a%b`; never let an internal name become one.
            check_creatable(s.as_str())?;
        }
        let ds = s.dataset().to_string();
        match groups.iter_mut().find(|(d, _)| *d == ds) {
            Some((_, v)) => v.push(s.short()),
            None => groups.push((ds, vec![s.short()])),
        }
    }
    let mut out = Vec::new();
    for (ds, shorts) in &groups {
        let mut arg = String::new();
        let mut batch: Vec<String> = Vec::new();
        for (i, short) in shorts.iter().enumerate() {
            if arg.is_empty() {
                arg.push_str(ds);
                arg.push('@');
            } else {
                arg.push(',');
            }
            arg.push_str(short);
            batch.push(format!("{ds}@{short}"));
            let next_too_long = shorts
                .get(i + 1)
                .is_some_and(|n| arg.len() + 1 + n.len() > MAX_BATCH_ARG);
            if next_too_long || i + 1 == shorts.len() {
                let mut args = vec!["destroy".to_owned()];
                if defer {
                    args.push("-d".into());
                }
                args.push(std::mem::take(&mut arg));
                out.push((args, std::mem::take(&mut batch)));
            }
        }
    }
    Ok(out)
}

/// `zfs destroy [-r] DS`.
pub(crate) fn destroy_dataset_args(ds: &DatasetName, recursive: bool) -> Vec<String> {
    let mut args = vec!["destroy".to_owned()];
    if recursive {
        args.push("-r".into());
    }
    args.push(ds.as_str().to_owned());
    args
}

/// `zfs snapshot -r SNAP`.
pub(crate) fn snapshot_recursive_args(snap: &SnapshotName) -> Vec<String> {
    vec!["snapshot".into(), "-r".into(), snap.as_str().into()]
}

/// `zfs holds -Hp SNAP`.
pub(crate) fn holds_args(snap: &SnapshotName) -> Vec<String> {
    vec!["holds".into(), "-Hp".into(), snap.as_str().into()]
}

/// `zfs holds -H SNAP`: for OpenZFS before 2.2, whose `zfs holds` has no `-p` (times as text).
pub(crate) fn holds_args_text(snap: &SnapshotName) -> Vec<String> {
    vec!["holds".into(), "-H".into(), snap.as_str().into()]
}

/// Whether `err` is `zfs holds` refusing `-p` (OpenZFS 2.1 and older: usage error, exit 2).
pub(crate) fn holds_lacks_p(err: &ZfsError) -> bool {
    matches!(
        err,
        ZfsError::Command {
            cause: Cause::Exit { status: Some(2), stderr, .. },
            ..
        } if stderr.contains("invalid option 'p'")
    )
}

/// `zfs bookmark SOURCE BOOKMARK`.
pub(crate) fn bookmark_args(bm: &BookmarkName, src: &VersionName) -> Vec<String> {
    vec!["bookmark".into(), src.as_str().into(), bm.as_str().into()]
}

/// `zfs destroy DS#BOOKMARK`.
pub(crate) fn destroy_bookmark_args(bm: &BookmarkName) -> Vec<String> {
    vec!["destroy".into(), bm.as_str().into()]
}

/// `zfs receive -A DS`: discard the partial state of an interrupted receive.
pub(crate) fn receive_abort_args(ds: &DatasetName) -> Vec<String> {
    vec!["receive".into(), "-A".into(), ds.as_str().into()]
}

/// `zfs rollback [-r] SNAP`.
pub(crate) fn rollback_args(snap: &SnapshotName, destroy_newer: bool) -> Vec<String> {
    let mut args = vec!["rollback".to_owned()];
    if destroy_newer {
        args.push("-r".into());
    }
    args.push(snap.as_str().to_owned());
    args
}

/// `zfs send` argv (after the program) for a request.
pub fn send_args(req: &SendRequest) -> Vec<String> {
    let mut args = vec!["send".to_owned()];
    if let Some(resume) = &req.resume {
        // The token carries the flags and the from/to snapshots.
        args.push("-t".into());
        args.push(resume.token.clone());
        return args;
    }
    send_flag_args(&req.flags, &mut args);
    if let Some(from) = &req.from {
        args.push(if req.intermediates { "-I" } else { "-i" }.into());
        args.push(from.as_str().to_owned());
    }
    args.push(req.to.as_str().to_owned());
    args
}

/// The full argv (program first) of the stage that compresses a stream into `wire` on the sending
/// host, reading stdin and writing stdout, quiet unless it fails: `zstd -c -q -3` (`--ultra -20`,
/// `--fast=5` for the levels that need them; no level flag for 0), `lz4 -c -q`. `None` for plain.
pub fn compress_argv(wire: Wire) -> Option<Vec<String>> {
    let mut argv: Vec<String> = vec![wire.program()?.into(), "-c".into(), "-q".into()];
    if let Wire::Zstd { level } = wire {
        match level {
            0 => {}
            l if l < 0 => argv.push(format!("--fast={}", l.unsigned_abs())),
            l if l >= 20 => argv.extend(["--ultra".to_owned(), format!("-{l}")]),
            l => argv.push(format!("-{l}")),
        }
    }
    Some(argv)
}

/// The full argv of the stage that decompresses `wire` on the receiving host: `zstd -dc -q`,
/// `lz4 -dc -q`. A truncated or corrupt frame fails it (and the receive after it). `None` for plain.
pub fn decompress_argv(wire: Wire) -> Option<Vec<String>> {
    Some(vec![wire.program()?.into(), "-dc".into(), "-q".into()])
}

/// `zfs send -nvP [FLAGS] [-i FROM] TO`: the size estimate of a send.
pub(crate) fn send_space_args(
    to: &SnapshotName,
    from: Option<&VersionName>,
    flags: &SendFlags,
) -> Vec<String> {
    let mut args = vec!["send".to_owned(), "-nvP".to_owned()];
    send_flag_args(flags, &mut args);
    if let Some(from) = from {
        args.push("-i".into());
        args.push(from.as_str().to_owned());
    }
    args.push(to.as_str().to_owned());
    args
}

/// Refuses requests ZFS would refuse for a reason we can name before anything runs: `-I` from a bookmark
/// or from another dataset's snapshot.
pub(crate) fn check_send(req: &SendRequest) -> Result<(), ZfsError> {
    if !req.intermediates || req.resume.is_some() {
        return Ok(());
    }
    match &req.from {
        Some(VersionName::Snapshot(from)) if from.dataset() == req.to.dataset() => Ok(()),
        Some(from) => Err(ZfsError::InvalidArgument {
            op: "send -I",
            detail: format!(
                "{from} cannot be the base of a stream with intermediates to {}: it must be a snapshot of the same dataset",
                req.to
            ),
        }),
        None => Err(ZfsError::InvalidArgument {
            op: "send -I",
            detail: format!("a stream with intermediates to {} needs a base snapshot", req.to),
        }),
    }
}

/// `zfs receive` argv (after the program) for a request.
pub fn receive_args(req: &RecvRequest) -> Result<Vec<String>, ZfsError> {
    check_creatable(req.target.as_str())?;
    let mut args = vec!["receive".to_owned()];
    if req.resumable {
        args.push("-s".into());
    }
    if req.force {
        args.push("-F".into());
    }
    if req.no_mount {
        args.push("-u".into());
    }
    if let Some(origin) = &req.origin {
        args.push("-o".into());
        args.push(format!("origin={origin}"));
    }
    args.extend(prop_args("-o", &req.props, false)?);
    for k in &req.exclude_props {
        validate::property_name(k)?;
        args.push("-x".into());
        args.push(k.clone());
    }
    if req.into_dataset {
        args.push(req.target.dataset().as_str().to_owned());
    } else {
        args.push(req.target.as_str().to_owned());
    }
    Ok(args)
}

/// The argv for reading `q` on `root` (`zfs get`, four columns). Property names are not validated here
/// (the backend does that before running anything).
pub fn get_args(root: &DatasetName, q: &PropQuery) -> Vec<String> {
    args_with_columns(root, q, "name,property,value,source")
}

/// The argv of the same query without the value column: its output holds only names and sources, which
/// cannot contain a tab or newline, so nothing in it can be forged by a property value. See
/// [`verify_rows`](super::parse::verify_rows).
pub fn rows_args(root: &DatasetName, q: &PropQuery) -> Vec<String> {
    args_with_columns(root, q, "name,property,source")
}

fn args_with_columns(root: &DatasetName, q: &PropQuery, columns: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "get".into(),
        "-Hp".into(),
        "-o".into(),
        columns.into(),
        "-t".into(),
        "filesystem,volume".into(),
    ];
    if q.recursive {
        args.push("-r".into());
    }
    if !q.sources.is_empty() {
        let mut kinds = q.sources.clone();
        kinds.sort();
        kinds.dedup();
        args.push("-s".into());
        args.push(
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    // Native properties first, as `zfs get all` prints them: `parse_props` relies on that order.
    let (user, native): (Vec<&String>, Vec<&String>) =
        q.names.iter().partition(|n| n.contains(':'));
    args.push(if q.names.is_empty() {
        "all".into()
    } else {
        native
            .into_iter()
            .chain(user)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",")
    });
    args.push(root.as_str().to_owned());
    args
}

/// `zpool list -Hp -o COLUMNS [POOL...]` argv (after the program); no names lists every pool.
pub fn pools_args(names: &[PoolName]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "list".into(),
        "-Hp".into(),
        "-o".into(),
        LIST_COLUMNS.join(","),
    ];
    args.extend(names.iter().map(|n| n.as_str().to_owned()));
    args
}

/// `zpool status -p [POOL...]` argv (after the program).
pub fn status_args(names: &[PoolName]) -> Vec<String> {
    let mut args: Vec<String> = vec!["status".into(), "-p".into()];
    args.extend(names.iter().map(|n| n.as_str().to_owned()));
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::SourceKind;
    use crate::resume::ResumeToken;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    fn ds(s: &str) -> DatasetName {
        DatasetName::parse(s).unwrap()
    }

    /// A decoded token for `p/a@5` stopped at object 1, offset 2.
    fn token(token: &str) -> ResumeToken {
        ResumeToken {
            object: 1,
            offset: 2,
            ..ResumeToken::new(token.into(), "p/a@5".into(), 5, None)
        }
    }

    #[test]
    fn send_argv() {
        let mut req = SendRequest::incremental(
            VersionName::Bookmark(BookmarkName::parse("p/my data#b 1").unwrap()),
            snap("p/my data@s 2"),
        );
        req.flags = SendFlags {
            large_block: true,
            embed: true,
            compressed: true,
            raw: true,
            props: false,
            saved: false,
        };
        assert_eq!(
            send_args(&req),
            [
                "send",
                "-L",
                "-e",
                "-c",
                "-w",
                "-i",
                "p/my data#b 1",
                "p/my data@s 2"
            ]
        );
        req.resume = Some(token("1-abc"));
        assert_eq!(send_args(&req), ["send", "-t", "1-abc"]);
        assert_eq!(
            send_args(&SendRequest::full(snap("p/-x@-s"))),
            ["send", "p/-x@-s"]
        );
    }

    #[test]
    fn codec_stage_argv() {
        let words = |v: Option<Vec<String>>| v.map(|v| v.join(" "));
        let cases = [
            (Wire::Plain, None, None),
            (Wire::ZSTD, Some("zstd -c -q -3"), Some("zstd -dc -q")),
            (
                Wire::Zstd { level: 19 },
                Some("zstd -c -q -19"),
                Some("zstd -dc -q"),
            ),
            (
                Wire::Zstd { level: 22 },
                Some("zstd -c -q --ultra -22"),
                Some("zstd -dc -q"),
            ),
            (
                Wire::Zstd { level: -5 },
                Some("zstd -c -q --fast=5"),
                Some("zstd -dc -q"),
            ),
            (
                Wire::Zstd { level: 0 },
                Some("zstd -c -q"),
                Some("zstd -dc -q"),
            ),
            (Wire::Lz4, Some("lz4 -c -q"), Some("lz4 -dc -q")),
        ];
        for (wire, c, d) in cases {
            assert_eq!(words(compress_argv(wire)).as_deref(), c, "{wire}");
            assert_eq!(words(decompress_argv(wire)).as_deref(), d, "{wire}");
        }
    }

    #[test]
    fn send_with_intermediates() {
        let req = SendRequest::with_intermediates(snap("p/a@1"), snap("p/a@5"));
        check_send(&req).unwrap();
        assert_eq!(send_args(&req), ["send", "-I", "p/a@1", "p/a@5"]);
        // From a bookmark, from another dataset, or from nothing: refused before anything runs.
        let mut bad = req.clone();
        bad.from = Some(VersionName::Bookmark(BookmarkName::parse("p/a#1").unwrap()));
        let e = check_send(&bad).unwrap_err().to_string();
        assert!(e.contains("p/a#1") && e.contains("p/a@5"), "{e}");
        bad.from = Some(VersionName::Snapshot(snap("p/b@1")));
        assert!(check_send(&bad).is_err());
        bad.from = None;
        assert!(check_send(&bad).is_err());
        // A resume carries its own range in the token.
        bad.resume = Some(token("1-abc"));
        check_send(&bad).unwrap();
    }

    #[test]
    fn receive_argv_and_validation() {
        let mut req = RecvRequest::new(snap("p/-x@s"));
        req.resumable = true;
        req.force = true;
        req.no_mount = true;
        req.origin = Some(snap("p/o@s"));
        req.props = vec![("canmount".into(), "off".into())];
        req.exclude_props = vec!["mountpoint".into()];
        assert_eq!(
            receive_args(&req).unwrap(),
            [
                "receive",
                "-s",
                "-F",
                "-u",
                "-o",
                "origin=p/o@s",
                "-o",
                "canmount=off",
                "-x",
                "mountpoint",
                "p/-x@s"
            ]
        );
        req.props = vec![("bad name".into(), "x".into())];
        assert!(matches!(
            receive_args(&req),
            Err(ZfsError::InvalidArgument { .. })
        ));
        req.props = vec![("a:b".into(), "x\ny".into())];
        assert!(matches!(
            receive_args(&req),
            Err(ZfsError::InvalidArgument { .. })
        ));
        assert!(receive_args(&RecvRequest::new(snap("p/%recv@s"))).is_err());
        let mut pkg = RecvRequest::new(snap("p/a/b@last"));
        pkg.into_dataset = true;
        assert_eq!(receive_args(&pkg).unwrap(), ["receive", "p/a/b"]);
    }

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("zsync_job", true).is_ok());
        assert!(check_tag("keep me", true).is_ok());
        for bad in ["", "-r", "a\nb", &"x".repeat(256)] {
            assert!(check_tag(bad, true).is_err(), "{bad:?}");
        }
        // ZFS takes any non-control text; only the command line's own rules are added.
        assert!(check_tag("é", true).is_ok());
        assert!(check_tag(".x", true).is_err());
        assert!(check_tag(".x", false).is_ok());
        assert!(check_tag("-x", false).is_err());
        let holds = vec![
            (snap("p/a@1"), "t1".to_owned()),
            (snap("p/a@2"), "t2".into()),
            (snap("p/b@1"), "t1".into()),
        ];
        let g = by_tag(&holds, true).unwrap();
        assert_eq!(
            g,
            vec![("t1", vec!["p/a@1", "p/b@1"]), ("t2", vec!["p/a@2"])]
        );
    }

    #[test]
    fn destroy_batches_split_long_argv() {
        let mut snaps: Vec<SnapshotName> = (0..3000)
            .map(|i| snap(&format!("p/a@autosnap_{i:05}_daily")))
            .collect();
        snaps.push(snap("p/my data@s 1"));
        snaps.push(snap("p/a@last"));
        let batches = destroy_batches(&snaps, true).unwrap();
        assert!(batches.len() >= 3, "{}", batches.len());
        let mut seen = 0;
        for (args, names) in &batches {
            assert_eq!(args.len(), 3);
            assert_eq!(args[..2], ["destroy", "-d"]);
            assert!(args[2].len() <= MAX_BATCH_ARG);
            assert_eq!(args[2].matches(',').count() + 1, names.len());
            seen += names.len();
        }
        assert_eq!(seen, snaps.len());
        assert!(batches.iter().any(|(a, _)| a[2] == "p/my data@s 1"));
        assert!(batches.iter().any(|(a, _)| a[2].ends_with(",last")));
        let one = destroy_batches(&[snap("p/a@x")], false).unwrap();
        assert_eq!(
            one,
            vec![(
                vec!["destroy".to_owned(), "p/a@x".into()],
                vec!["p/a@x".to_owned()]
            )]
        );
    }

    #[test]
    fn get_argv() {
        let q = PropQuery {
            names: vec![],
            sources: vec![SourceKind::Received, SourceKind::Local, SourceKind::Local],
            recursive: true,
        };
        assert_eq!(
            get_args(&ds("tank/a"), &q).join(" "),
            "get -Hp -o name,property,value,source -t filesystem,volume -r -s local,received all tank/a"
        );
        assert_eq!(
            get_args(
                &ds("tank"),
                &PropQuery::named(&["user:x", "recordsize"], false)
            )
            .join(" "),
            "get -Hp -o name,property,value,source -t filesystem,volume recordsize,user:x tank"
        );
    }

    #[test]
    fn small_commands() {
        let s = snap("p/-x@-s 1");
        assert_eq!(snapshot_recursive_args(&s), ["snapshot", "-r", "p/-x@-s 1"]);
        assert_eq!(holds_args(&s), ["holds", "-Hp", "p/-x@-s 1"]);
        assert_eq!(holds_args_text(&s), ["holds", "-H", "p/-x@-s 1"]);
        let usage = |status, stderr: &str| ZfsError::Command {
            name: "p/a@s".into(),
            host: "localhost".into(),
            cause: Cause::Exit {
                argv: "zfs holds -Hp p/a@s".into(),
                status,
                stderr: stderr.into(),
            },
        };
        // OpenZFS 2.1's answer to -p; anything else is a real error.
        assert!(holds_lacks_p(&usage(
            Some(2),
            "invalid option 'p'\nusage:\n\tholds [-rH] <snapshot> ..."
        )));
        assert!(!holds_lacks_p(&usage(Some(1), "invalid option 'p'")));
        assert!(!holds_lacks_p(&usage(Some(2), "dataset does not exist")));
        assert_eq!(rollback_args(&s, false), ["rollback", "p/-x@-s 1"]);
        assert_eq!(rollback_args(&s, true), ["rollback", "-r", "p/-x@-s 1"]);
        let bm = BookmarkName::parse("p/-x#b").unwrap();
        let from = VersionName::Snapshot(s.clone());
        assert_eq!(
            bookmark_args(&bm, &from),
            ["bookmark", "p/-x@-s 1", "p/-x#b"]
        );
        assert_eq!(destroy_bookmark_args(&bm), ["destroy", "p/-x#b"]);
        assert_eq!(receive_abort_args(&ds("p/-x")), ["receive", "-A", "p/-x"]);
        assert_eq!(
            destroy_dataset_args(&ds("p/a"), true),
            ["destroy", "-r", "p/a"]
        );
        assert_eq!(destroy_dataset_args(&ds("p/a"), false), ["destroy", "p/a"]);
        assert_eq!(exists_args("p/a#b")[..2], ["list", "-H"]);
        assert_eq!(exists_args("p/a#b").last().unwrap(), "p/a#b");
        assert_eq!(
            hold_args("release", "t 1", &["p/a@1", "p/b@1"]),
            ["release", "t 1", "p/a@1", "p/b@1"]
        );
        let flags = SendFlags {
            compressed: true,
            ..SendFlags::default()
        };
        assert_eq!(
            send_space_args(&s, Some(&from), &flags),
            ["send", "-nvP", "-c", "-i", "p/-x@-s 1", "p/-x@-s 1"]
        );
        assert_eq!(
            create_args(
                &ds("p/v"),
                crate::backend::CreateKind::Volume {
                    size: 4096,
                    sparse: true
                },
                &[("volblocksize".into(), "16384".into())]
            )
            .unwrap(),
            [
                "create",
                "-s",
                "-V",
                "4096",
                "-o",
                "volblocksize=16384",
                "p/v"
            ]
        );
        assert_eq!(
            snapshot_args(
                std::slice::from_ref(&s),
                &[("zsync:job".into(), "a b".into())]
            )
            .unwrap(),
            ["snapshot", "-o", "zsync:job=a b", "p/-x@-s 1"]
        );
        assert_eq!(
            set_args("p/a", &[("zsync:k".into(), "v".into())]).unwrap(),
            ["set", "zsync:k=v", "p/a"]
        );
        assert_eq!(status_args(&[]), ["status", "-p"]);
        assert_eq!(
            clone_args(&s, &ds("p/-x clone"), &[("volmode".into(), "dev".into())]).unwrap(),
            ["clone", "-o", "volmode=dev", "p/-x@-s 1", "p/-x clone"]
        );
        let refused = |r: Result<Vec<String>, ZfsError>| {
            assert!(
                matches!(
                    r,
                    Err(ZfsError::InvalidArgument { .. } | ZfsError::InvalidName(_))
                ),
                "{r:?}"
            )
        };
        refused(clone_args(&s, &ds("q/c"), &[]));
        refused(clone_args(&s, &ds("p/%c"), &[]));
        refused(clone_args(&s, &ds("p/c"), &[("-o".into(), "x".into())]));
        refused(clone_args(&s, &ds("p/c"), &[("a:b".into(), "x\ny".into())]));
    }
}
