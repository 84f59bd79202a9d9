//! The `Cli` backend: every operation is a `zfs` argv vector run through a [`Runner`] with `LC_ALL=C`.
//!
//! Nothing here builds a shell string; remote runners quote argv with [`crate::quote::join`]. Names arrive
//! validated as types; free-form inputs (property names and values, hold tags, names given as `&str`) are
//! validated before anything runs.

use crate::backend::{
    Backend, CreateKind, ListOptions, RecvRequest, RecvSink, SendFlags, SendRequest, SendStream,
    TemporaryHolds,
};
use crate::error::ZfsError;
use crate::list::{list_args, parse_listing};
use crate::name::{
    check_creatable, validate_any, validate_user_prop, BookmarkName, DatasetName, SnapshotName,
};
use crate::runner::{Cmd, Io, LocalRunner, Output, Runner, Running};
use crate::version::{Listing, VersionName};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Longest single argument built by batching (`ds@a,b,c`), well below Linux's 128 KiB per argument.
pub const MAX_BATCH_ARG: usize = 32 * 1024;

/// Longest user property value OpenZFS stores (ZAP_MAXVALUELEN).
pub const MAX_USER_PROP_VALUE: usize = 8192;

/// The CLI backend.
#[derive(Debug, Clone)]
pub struct Cli {
    runner: Arc<dyn Runner>,
    zfs: String,
    zpool: String,
}

impl Cli {
    /// A backend running `zfs` from `PATH` on this machine.
    pub fn local() -> Cli {
        Cli::new(Arc::new(LocalRunner))
    }

    /// A backend over any runner (local or remote).
    pub fn new(runner: Arc<dyn Runner>) -> Cli {
        Cli {
            runner,
            zfs: "zfs".into(),
            zpool: "zpool".into(),
        }
    }

    /// Uses this `zfs` program (path or name) instead of `zfs`.
    pub fn with_zfs_program(mut self, program: impl Into<String>) -> Cli {
        self.zfs = program.into();
        self
    }

    /// Uses this `zpool` program (path or name) instead of `zpool`.
    pub fn with_zpool_program(mut self, program: impl Into<String>) -> Cli {
        self.zpool = program.into();
        self
    }

    /// The runner commands go through.
    pub fn runner(&self) -> &Arc<dyn Runner> {
        &self.runner
    }

    fn cmd(&self, args: Vec<String>) -> Cmd {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(self.zfs.clone());
        argv.extend(args);
        Cmd::new(argv)
    }

    fn io_err(&self, op: &str, name: &str, source: std::io::Error) -> ZfsError {
        ZfsError::Io {
            op: op.to_owned(),
            name: name.to_owned(),
            host: self.runner.host().to_owned(),
            source,
        }
    }

    /// Runs `zfs ARGS` to completion; a failure is classified against `names`.
    fn run(&self, args: Vec<String>, names: &[&str]) -> Result<Output, ZfsError> {
        let cmd = self.cmd(args);
        let first = names.first().copied().unwrap_or("");
        let out = self
            .runner
            .run(&cmd)
            .map_err(|e| self.io_err(&format!("run {}", self.zfs), first, e))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(ZfsError::from_cli(
                names,
                self.runner.host(),
                cmd.display(),
                out.status.code(),
                &out.stderr,
            ))
        }
    }

    /// Runs a `zfs` command about `root` and parses its UTF-8 output; a parse failure (1-based line,
    /// detail) becomes [`ZfsError::Parse`] naming the command and host.
    fn run_text<T>(
        &self,
        args: Vec<String>,
        root: &DatasetName,
        parse: impl FnOnce(&str) -> Result<T, (usize, String)>,
    ) -> Result<T, ZfsError> {
        let what = format!("{} {}", self.zfs, crate::quote::join(&args));
        let out = self.run(args, &[root.as_str()])?;
        let err = |line, detail| ZfsError::Parse {
            what: what.clone(),
            host: self.host().to_owned(),
            line,
            detail,
        };
        let text = std::str::from_utf8(&out.stdout).map_err(|e| {
            let line = 1 + out.stdout[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            err(line, "output is not UTF-8 (a user property value?)".into())
        })?;
        parse(text).map_err(|(line, detail)| err(line, detail))
    }

    fn spawn(&self, cmd: &Cmd, name: &str) -> Result<Running, ZfsError> {
        self.runner
            .spawn(cmd)
            .map_err(|e| self.io_err(&format!("start {}", self.zfs), name, e))
    }

    /// A snapshot destroy failed as busy: report holds when that is why.
    fn busy_reason(
        &self,
        names: &[&str],
        name: String,
        host: String,
        cause: crate::error::Cause,
    ) -> ZfsError {
        for n in names {
            if let Ok(snap) = SnapshotName::parse(n) {
                if let Ok(h) = self.holds(&snap) {
                    if !h.is_empty() {
                        return ZfsError::HasHolds {
                            name: snap.to_string(),
                            host,
                            cause,
                        };
                    }
                }
            }
        }
        ZfsError::Busy { name, host, cause }
    }
}

fn check_prop_name(name: &str) -> Result<(), ZfsError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '.' | '_' | '+' | '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ZfsError::InvalidArgument {
            op: "property",
            detail: format!(
                "invalid property name {name:?} (lowercase letters, digits and : . _ + - only)"
            ),
        })
    }
}

fn check_prop_value(name: &str, value: &str) -> Result<(), ZfsError> {
    if let Some(c) = value.chars().find(|&c| c == '\0' || c == '\n' || c == '\t') {
        return Err(ZfsError::InvalidArgument {
            op: "property",
            detail: format!(
                "value of {name} contains {c:?} (NUL, tab and newline are not allowed)"
            ),
        });
    }
    if value.len() > MAX_USER_PROP_VALUE {
        return Err(ZfsError::InvalidArgument {
            op: "property",
            detail: format!("value of {name} is longer than {MAX_USER_PROP_VALUE} bytes"),
        });
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
            validate_user_prop(k)?;
        } else {
            check_prop_name(k)?;
        }
        check_prop_value(k, v)?;
        args.push(flag.to_owned());
        args.push(format!("{k}={v}"));
    }
    Ok(args)
}

fn check_tag(tag: &str) -> Result<(), ZfsError> {
    let bad = tag.is_empty()
        || tag.len() > 255
        || tag.starts_with('-')
        || tag.chars().any(|c| c.is_control() || !c.is_ascii());
    if bad {
        return Err(ZfsError::InvalidArgument {
            op: "hold",
            detail: format!(
                "invalid hold tag {tag:?} (1-255 printable ASCII characters, not starting with '-')"
            ),
        });
    }
    Ok(())
}

/// Groups (snapshot, tag) pairs by tag, keeping first-seen order.
fn by_tag(holds: &[(SnapshotName, String)]) -> Result<Vec<(&str, Vec<&str>)>, ZfsError> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (snap, tag) in holds {
        check_tag(tag)?;
        match groups.iter_mut().find(|(t, _)| *t == tag.as_str()) {
            Some((_, v)) => v.push(snap.as_str()),
            None => groups.push((tag.as_str(), vec![snap.as_str()])),
        }
    }
    Ok(groups)
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
        check_prop_name(k)?;
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

/// A running `zfs send`.
#[derive(Debug)]
struct CliSend {
    running: Running,
    stdout: Option<OwnedFd>,
    name: String,
    host: String,
}

impl SendStream for CliSend {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.stdout.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let CliSend {
            running,
            stdout,
            name,
            host,
        } = *self;
        drop(stdout);
        let display = running.display.clone();
        let (status, stderr) = running.wait().map_err(|source| ZfsError::Io {
            op: "wait for zfs send".into(),
            name: name.clone(),
            host: host.clone(),
            source,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(ZfsError::from_cli(
                &[&name],
                &host,
                display,
                status.code(),
                &stderr,
            ))
        }
    }
}

/// A running `zfs receive`.
#[derive(Debug)]
struct CliRecv {
    running: Running,
    stdin: Option<OwnedFd>,
    name: String,
    host: String,
}

impl RecvSink for CliRecv {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.stdin.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        let CliRecv {
            running,
            stdin,
            name,
            host,
        } = *self;
        drop(stdin);
        let display = running.display.clone();
        let dataset = name.split('@').next().unwrap_or(&name).to_owned();
        let (status, stderr) = running.wait().map_err(|source| ZfsError::Io {
            op: "wait for zfs receive".into(),
            name: name.clone(),
            host: host.clone(),
            source,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(ZfsError::from_cli(
                &[&name, &dataset],
                &host,
                display,
                status.code(),
                &stderr,
            ))
        }
    }
}

impl Backend for Cli {
    fn name(&self) -> &'static str {
        "cli"
    }

    fn host(&self) -> &str {
        self.runner.host()
    }

    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        for p in &opts.user_props {
            validate_user_prop(p)?;
        }
        let args = list_args(root, opts);
        self.run_text(args, root, |text| {
            parse_listing(text, root, opts).map_err(|e| (e.line, e.detail))
        })
    }

    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        validate_any(name)?;
        let args = [
            "list",
            "-H",
            "-o",
            "name",
            "-t",
            "filesystem,volume,snapshot,bookmark",
            name,
        ];
        match self.run(args.iter().map(|s| s.to_string()).collect(), &[name]) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn create(
        &self,
        ds: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        check_creatable(ds.as_str())?;
        let mut args = vec!["create".to_owned()];
        if let CreateKind::Volume { size, sparse } = kind {
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
        self.run(args, &[ds.as_str()]).map(|_| ())
    }

    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        let Some(first) = snaps.first() else {
            return Ok(());
        };
        let pool = first.dataset().pool();
        let mut seen = std::collections::HashSet::new();
        for s in snaps {
            if !seen.insert(s.dataset()) {
                return Err(ZfsError::InvalidArgument {
                    op: "snapshot",
                    detail: format!(
                        "two snapshots of {} in one atomic call; ZFS allows one per dataset per call",
                        s.dataset()
                    ),
                });
            }
            check_creatable(s.as_str())?;
            if s.dataset().pool() != pool {
                return Err(ZfsError::InvalidArgument {
                    op: "snapshot",
                    detail: format!(
                        "{s} and {first} are in different pools; an atomic snapshot needs one pool"
                    ),
                });
            }
        }
        let mut args = vec!["snapshot".to_owned()];
        args.extend(prop_args("-o", user_props, true)?);
        args.extend(snaps.iter().map(|s| s.as_str().to_owned()));
        let names: Vec<&str> = snaps.iter().map(SnapshotName::as_str).collect();
        self.run(args, &names).map(|_| ())
    }

    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        check_creatable(snap.as_str())?;
        self.run(
            vec!["snapshot".into(), "-r".into(), snap.as_str().into()],
            &[snap.as_str()],
        )
        .map(|_| ())
    }

    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError> {
        for (args, batch) in destroy_batches(snaps, defer)? {
            let names: Vec<&str> = batch.iter().map(String::as_str).collect();
            match self.run(args, &names) {
                Ok(_) => {}
                // Like lzc_destroy_snaps: snapshots that are already gone are not an error.
                Err(e) if e.is_not_found() => {}
                Err(ZfsError::Busy { name, host, cause }) => {
                    return Err(self.busy_reason(&names, name, host, cause))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn destroy_dataset(&self, ds: &DatasetName, recursive: bool) -> Result<(), ZfsError> {
        let mut args = vec!["destroy".to_owned()];
        if recursive {
            args.push("-r".into());
        }
        args.push(ds.as_str().to_owned());
        self.run(args, &[ds.as_str()]).map(|_| ())
    }

    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        for (tag, snaps) in by_tag(holds)? {
            let mut args = vec!["hold".to_owned(), tag.to_owned()];
            args.extend(snaps.iter().map(|s| s.to_string()));
            self.run(args, &snaps)?;
        }
        Ok(())
    }

    fn hold_temporary(
        &self,
        _holds: &[(SnapshotName, String)],
    ) -> Result<TemporaryHolds, ZfsError> {
        Err(ZfsError::Unsupported {
            op: "hold_temporary",
            backend: "cli",
            why: "`zfs hold` has no cleanup descriptor; temporary holds need libzfs_core (Lzc backend)".into(),
        })
    }

    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        for (tag, snaps) in by_tag(holds)? {
            let mut args = vec!["release".to_owned(), tag.to_owned()];
            args.extend(snaps.iter().map(|s| s.to_string()));
            self.run(args, &snaps)?;
        }
        Ok(())
    }

    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        let out = self.run(
            vec!["holds".into(), "-Hp".into(), snap.as_str().into()],
            &[snap.as_str()],
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            // NAME \t TAG \t TIMESTAMP; the name has no tabs, the timestamp is last.
            let parsed = line
                .split_once('\t')
                .and_then(|(_, rest)| rest.rsplit_once('\t'))
                .and_then(|(tag, ts)| ts.trim().parse::<i64>().ok().map(|ts| (tag.to_owned(), ts)));
            match parsed {
                Some((tag, ts)) => {
                    map.insert(tag, ts);
                }
                None => {
                    return Err(ZfsError::Parse {
                        what: format!("zfs holds -Hp {snap}"),
                        host: self.host().to_owned(),
                        line: i + 1,
                        detail: format!("expected NAME<tab>TAG<tab>SECONDS, got {line:?}"),
                    })
                }
            }
        }
        Ok(map)
    }

    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        for (bm, _) in pairs {
            check_creatable(bm.as_str())?;
        }
        for (bm, src) in pairs {
            self.run(
                vec!["bookmark".into(), src.as_str().into(), bm.as_str().into()],
                &[bm.as_str(), src.as_str()],
            )?;
        }
        Ok(())
    }

    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        for bm in bms {
            match self.run(vec!["destroy".into(), bm.as_str().into()], &[bm.as_str()]) {
                // Like lzc_destroy_bookmarks: a missing bookmark is not an error.
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream>, ZfsError> {
        check_send(req)?;
        let cmd = self.cmd(send_args(req)).stdin(Io::Null).stdout(Io::Piped);
        let mut running = self.spawn(&cmd, req.to.as_str())?;
        let stdout = running.take_stdout().map(OwnedFd::from);
        Ok(Box::new(CliSend {
            running,
            stdout,
            name: req.to.to_string(),
            host: self.host().to_owned(),
        }))
    }

    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        let mut args = vec!["send".to_owned(), "-nvP".to_owned()];
        send_flag_args(flags, &mut args);
        if let Some(from) = from {
            args.push("-i".into());
            args.push(from.as_str().to_owned());
        }
        args.push(to.as_str().to_owned());
        let what = format!("{} {}", self.zfs, crate::quote::join(&args));
        let out = self.run(args, &[to.as_str()])?;
        // With -n the parsable lines go to stdout; look at stderr too for older releases.
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + "\n" + &out.stderr;
        parse_send_size(&text).ok_or_else(|| ZfsError::Parse {
            what,
            host: self.host().to_owned(),
            line: 0,
            detail: format!("no `size<TAB>N` line in output {:?}", text.trim()),
        })
    }

    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink>, ZfsError> {
        let cmd = self
            .cmd(receive_args(req)?)
            .stdin(Io::Piped)
            .stdout(Io::Null);
        let mut running = self.spawn(&cmd, req.target.as_str())?;
        let stdin = running.take_stdin().map(OwnedFd::from);
        Ok(Box::new(CliRecv {
            running,
            stdin,
            name: req.target.to_string(),
            host: self.host().to_owned(),
        }))
    }

    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        self.run(
            vec!["receive".into(), "-A".into(), ds.as_str().into()],
            &[ds.as_str()],
        )
        .map(|_| ())
    }

    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        let mut args = vec!["rollback".to_owned()];
        if destroy_newer {
            args.push("-r".into());
        }
        args.push(snap.as_str().to_owned());
        self.run(args, &[snap.as_str()]).map(|_| ())
    }

    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError> {
        validate_any(target)?;
        if target.contains('#') {
            return Err(ZfsError::InvalidArgument {
                op: "set_user_props",
                detail: format!("{target}: bookmarks have no user properties"),
            });
        }
        if props.is_empty() {
            return Ok(());
        }
        let mut args = vec!["set".to_owned()];
        for (k, v) in props {
            validate_user_prop(k)?;
            check_prop_value(k, v)?;
            args.push(format!("{k}={v}"));
        }
        args.push(target.to_owned());
        self.run(args, &[target]).map(|_| ())
    }

    fn properties(
        &self,
        root: &DatasetName,
        query: &crate::props::PropQuery,
    ) -> Result<crate::props::PropertyMap, ZfsError> {
        for p in &query.names {
            check_prop_name(p)?;
        }
        // Values first, then the value-free row list they must match (see `props::verify_rows`). A
        // dataset created or destroyed in the tree, or a property changing source, between the two
        // reads also makes them differ: both are read once more before that is an error.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let map = self.run_text(crate::props::get_args(root, query), root, |text| {
                crate::props::parse_props(text).map_err(|e| (e.line, e.detail))
            })?;
            match self.run_text(crate::props::rows_args(root, query), root, |text| {
                crate::props::verify_rows(&map, text).map_err(|e| (e.line, e.detail))
            }) {
                Ok(()) => return Ok(map),
                Err(ZfsError::Parse { .. }) if attempt < 2 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn pools(
        &self,
        names: &[crate::name::PoolName],
    ) -> Result<Vec<crate::pool::PoolStatus>, ZfsError> {
        // A pool exported or destroyed while `zpool list` runs is printed as a row named `-`; a later
        // listing no longer has it (pools of a busy host may come and go more than once, hence a few
        // tries, a moment apart). A row still unreadable then is a pool whose properties cannot be
        // read: an error, never a pool silently left out.
        const TRIES: u32 = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (what, text) = self.run_zpool(crate::pool::pools_args(names), names)?;
            let parse_err = |line, detail| ZfsError::Parse {
                what: what.clone(),
                host: self.host().to_owned(),
                line,
                detail,
            };
            let list =
                crate::pool::parse_pool_list(&text).map_err(|e| parse_err(e.line, e.detail))?;
            match list.unreadable.first() {
                None => return Ok(list.pools),
                Some(_) if attempt < TRIES => {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Some(&line) => {
                    return Err(parse_err(
                        line,
                        format!(
                            "zpool printed `-` for the name of {} pool(s) in {TRIES} listings in a \
                             row: it cannot read their properties (`zpool status` may say why)",
                            list.unreadable.len()
                        ),
                    ))
                }
            }
        }
    }

    fn pool_status(
        &self,
        names: &[crate::name::PoolName],
    ) -> Result<Vec<crate::pool::PoolStatus>, ZfsError> {
        let mut pools = self.pools(names)?;
        let (_, text) = self.run_zpool(crate::pool::status_args(names), names)?;
        let mut details = crate::pool::parse_pool_status(&text);
        for p in &mut pools {
            if let Some(i) = details.iter().position(|(n, _)| n == p.name.as_str()) {
                p.detail = Some(details.swap_remove(i).1);
            }
        }
        Ok(pools)
    }
}

impl Cli {
    /// Runs `zpool ARGS` (failures classified against the pool names); returns the command for display
    /// and stdout as text (lossy: pool and device names are ASCII in practice).
    fn run_zpool(
        &self,
        args: Vec<String>,
        names: &[crate::name::PoolName],
    ) -> Result<(String, String), ZfsError> {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(self.zpool.clone());
        argv.extend(args);
        let cmd = Cmd::new(argv);
        let display = cmd.display();
        let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        let first = names.first().copied().unwrap_or(&self.zpool);
        let out = self
            .runner
            .run(&cmd)
            .map_err(|e| self.io_err(&format!("run {}", self.zpool), first, e))?;
        if !out.status.success() {
            let candidates: Vec<&str> = if names.is_empty() {
                vec![self.zpool.as_str()]
            } else {
                names
            };
            return Err(ZfsError::from_cli(
                &candidates,
                self.runner.host(),
                display,
                out.status.code(),
                &out.stderr,
            ));
        }
        Ok((display, String::from_utf8_lossy(&out.stdout).into_owned()))
    }
}

/// Finds the `size<TAB>N` line of `zfs send -nvP` output.
pub fn parse_send_size(text: &str) -> Option<u64> {
    text.lines().rev().find_map(|l| {
        let mut it = l.split('\t');
        match (it.next(), it.next(), it.next()) {
            (Some("size"), Some(n), None) => n.trim().parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ResumePoint;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
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
        req.resume = Some(ResumePoint {
            token: "1-abc".into(),
            object: 1,
            offset: 2,
        });
        assert_eq!(send_args(&req), ["send", "-t", "1-abc"]);
        assert_eq!(
            send_args(&SendRequest::full(snap("p/-x@-s"))),
            ["send", "p/-x@-s"]
        );
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
        bad.resume = Some(ResumePoint {
            token: "1-abc".into(),
            object: 1,
            offset: 2,
        });
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
    fn send_size_parsing() {
        let out = "full\tp/a@s\t12345\nsize\t12345\n";
        assert_eq!(parse_send_size(out), Some(12345));
        let inc = "incremental\tp/a@a\tp/a@b\t4096\nsize\t4096\n";
        assert_eq!(parse_send_size(inc), Some(4096));
        assert_eq!(parse_send_size("garbage"), None);
        assert_eq!(parse_send_size("size\tx"), None);
    }

    #[test]
    fn tags_are_checked() {
        assert!(check_tag("zsync_job").is_ok());
        assert!(check_tag("keep me").is_ok());
        for bad in ["", "-r", "a\nb", "é", &"x".repeat(256)] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
        let holds = vec![
            (snap("p/a@1"), "t1".to_owned()),
            (snap("p/a@2"), "t2".into()),
            (snap("p/b@1"), "t1".into()),
        ];
        let g = by_tag(&holds).unwrap();
        assert_eq!(
            g,
            vec![("t1", vec!["p/a@1", "p/b@1"]), ("t2", vec!["p/a@2"])]
        );
    }

    /// Invalid input is rejected before anything runs: the zfs program does not even exist here.
    #[test]
    fn invalid_input_runs_nothing() {
        let cli = Cli::local().with_zfs_program("/nonexistent/zfs-must-not-run");
        let is_validation = |e: ZfsError| {
            matches!(
                e,
                ZfsError::InvalidName(_) | ZfsError::InvalidArgument { .. }
            )
        };
        assert!(is_validation(cli.exists("p/a;rm").unwrap_err()));
        assert!(is_validation(cli.exists("p/a'b@s").unwrap_err()));
        assert!(is_validation(cli.set_user_props("p/a$b", &[]).unwrap_err()));
        assert!(is_validation(
            cli.set_user_props("p/a", &[("nocolon".into(), "v".into())])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.set_user_props("p/a", &[("a:b".into(), "v\tw".into())])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.set_user_props("p/a#b", &[("a:b".into(), "v".into())])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.hold(&[(snap("p/a@s"), "-x".into())]).unwrap_err()
        ));
        assert!(is_validation(
            cli.release(&[(snap("p/a@s"), "".into())]).unwrap_err()
        ));
        assert!(is_validation(
            cli.create(
                &DatasetName::parse("p/%x").unwrap(),
                CreateKind::Filesystem,
                &[]
            )
            .unwrap_err()
        ));
        assert!(is_validation(
            cli.create(
                &DatasetName::parse("p/x").unwrap(),
                CreateKind::Volume {
                    size: 0,
                    sparse: true
                },
                &[]
            )
            .unwrap_err()
        ));
        assert!(is_validation(
            cli.create(
                &DatasetName::parse("p/x").unwrap(),
                CreateKind::Filesystem,
                &[("Bad".into(), "1".into())]
            )
            .unwrap_err()
        ));
        assert!(is_validation(
            cli.snapshot(&[snap("p/a@s"), snap("q/a@s")], &[])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.snapshot(&[snap("p/a@s"), snap("p/a@t")], &[])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.snapshot(&[snap("p/a@s")], &[("x".into(), "y".into())])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.destroy_snapshots(&[snap("p/a@x%y")], false)
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.bookmark(&[(
                BookmarkName::parse("p/a#%b").unwrap(),
                VersionName::Snapshot(snap("p/a@s"))
            )])
            .unwrap_err()
        ));
        let opts = ListOptions {
            user_props: vec!["BAD".into()],
            ..Default::default()
        };
        assert!(is_validation(
            cli.list(&DatasetName::parse("p").unwrap(), &opts)
                .unwrap_err()
        ));
        assert!(matches!(
            cli.hold_temporary(&[]),
            Err(ZfsError::Unsupported { .. })
        ));
        // Empty requests are no-ops.
        cli.snapshot(&[], &[]).unwrap();
        cli.destroy_snapshots(&[], false).unwrap();
        cli.hold(&[]).unwrap();
        // A valid request does try to run, and the missing program is an Io error naming the dataset.
        match cli.exists("p/a") {
            Err(ZfsError::Io { name, host, .. }) => {
                assert_eq!(name, "p/a");
                assert_eq!(host, "localhost");
            }
            other => panic!("{other:?}"),
        }
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
}
