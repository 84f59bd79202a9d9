//! The `Cli` backend: every operation is a `zfs` argv vector run through a [`Runner`](crate::Runner)
//! with `LC_ALL=C`.
//!
//! Nothing here builds a shell string; remote runners quote argv with [`crate::quote::join`]. Names arrive
//! validated as types; free-form inputs (property names and values, hold tags, names given as `&str`) are
//! validated before anything runs.
//!
//! Files: [`argv`] builds every command line, `command` runs one command to a typed error, `child` is
//! the life of a send or receive process, `zpool` reads pool status, [`parse`] reads what the commands
//! print; this file is the [`Backend`] implementation that puts them together.

pub mod argv;
mod child;
mod command;
pub mod parse;
mod zpool;

pub use argv::{
    compress_argv, decompress_argv, destroy_batches, receive_args, send_args, DestroyBatch,
    MAX_BATCH_ARG,
};
pub use command::Cli;
pub use parse::parse_send_size;

use crate::backend::{
    Backend, Capabilities, CreateKind, ListOptions, RecvRequest, RecvSink, SendFlags, SendRequest,
    SendStream, TemporaryHolds,
};
use crate::error::{Cause, ZfsError};
use crate::listing::Listing;
use crate::name::{
    check_creatable, validate_any, BookmarkName, DatasetName, PoolName, SnapshotName, VersionName,
};
use crate::pool::PoolStatus;
use crate::props::{PropQuery, PropertyMap};
use crate::runner::Cmd;
use crate::validate::UserProp;
use child::{Direction, ZfsChild};
use std::collections::BTreeMap;

impl Cli {
    /// The command of a send: `zfs send ...`, piped into the compressor of `req.wire` when there is
    /// one (`zfs send ... | zstd -c -q -3`, one pipeline: its exit is the send's unless the send
    /// succeeded, see [`crate::runner::Exit::of_pipeline`]).
    pub(crate) fn send_cmd(&self, req: &SendRequest) -> Cmd {
        let send = self.cmd(send_args(req));
        match argv::compress_argv(req.wire) {
            Some(c) => send.pipe(Cmd::new(c)),
            None => send,
        }
    }

    /// The command of a receive: `zfs receive ...`, after the decompressor of `req.wire` when there is
    /// one (`zstd -dc -q | zfs receive ...`). When the receive fails, the decompressor it stopped
    /// reading from dies of SIGPIPE: the pipeline then reports the receive's own exit, and its stderr
    /// (kept with every stage's) is what the error is classified from.
    pub(crate) fn receive_cmd(&self, req: &RecvRequest) -> Result<Cmd, ZfsError> {
        let receive = self.cmd(receive_args(req)?);
        Ok(match argv::decompress_argv(req.wire) {
            Some(d) => Cmd::new(d).pipe(receive),
            None => receive,
        })
    }

    /// A snapshot destroy failed as busy: report holds when that is why.
    fn busy_reason(&self, names: &[&str], name: String, host: String, cause: Cause) -> ZfsError {
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

impl Backend for Cli {
    fn name(&self) -> &'static str {
        "cli"
    }

    fn host(&self) -> &str {
        self.runner().host()
    }

    /// Every stream is a `zfs` process; `send -I` is native; no temporary holds. Remote when the
    /// runner is; then whether the host runs `zstd` and `lz4` is asked the first time (two
    /// `command -v` through the runner) and remembered.
    fn capabilities(&self) -> Capabilities {
        let remote = self.runner().is_remote();
        let (zstd, lz4) = if remote {
            self.wire_tools()
        } else {
            (false, false)
        };
        Capabilities {
            in_process_streams: false,
            temporary_holds: false,
            native_intermediates: true,
            remote,
            zstd,
            lz4,
        }
    }

    /// One `zfs version` run (OpenZFS 0.8 and later): it succeeds only when the `zfs` program starts,
    /// libzfs opens `/dev/zfs` and the kernel module reports its version. Through a remote runner it
    /// also proves the host answers (one connection; a failed one is [`ZfsError::Transport`]).
    fn ping(&self) -> Result<(), ZfsError> {
        self.run(vec!["version".into()], &[self.zfs_program()])
            .map(|_| ())
    }

    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        for p in &opts.user_props {
            UserProp::parse(p)?;
        }
        self.run_text(argv::list_args(root, opts), root.as_str(), |text| {
            parse::parse_listing(text, root, opts)
        })
    }

    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        validate_any(name)?;
        match self.run(argv::exists_args(name), &[name]) {
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
        let args = argv::create_args(ds, kind, props)?;
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
        let args = argv::snapshot_args(snaps, user_props)?;
        let names: Vec<&str> = snaps.iter().map(SnapshotName::as_str).collect();
        self.run(args, &names).map(|_| ())
    }

    fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        new: &DatasetName,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        let args = argv::clone_args(snap, new, props)?;
        // `cannot create 'NEW': dataset already exists` or `cannot open 'SNAP': dataset does not
        // exist`: the error names whichever of the two zfs complained about.
        self.run(args, &[new.as_str(), snap.as_str()]).map(|_| ())
    }

    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        check_creatable(snap.as_str())?;
        self.run(argv::snapshot_recursive_args(snap), &[snap.as_str()])
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
        self.run(argv::destroy_dataset_args(ds, recursive), &[ds.as_str()])
            .map(|_| ())
    }

    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        for (tag, snaps) in argv::by_tag(holds, true)? {
            self.run(argv::hold_args("hold", tag, &snaps), &snaps)?;
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
        for (tag, snaps) in argv::by_tag(holds, false)? {
            self.run(argv::hold_args("release", tag, &snaps), &snaps)?;
        }
        Ok(())
    }

    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        match self.run(argv::holds_args(snap), &[snap.as_str()]) {
            Ok(out) => {
                let what = format!("zfs holds -Hp {snap}");
                parse::parse_holds(&String::from_utf8_lossy(&out.stdout))
                    .map_err(|e| self.parse_err(&what, e))
            }
            // OpenZFS 2.1 has no `zfs holds -p` (2.2+): its text times, in UTC, to the minute.
            Err(e) if argv::holds_lacks_p(&e) => {
                let out = self.run_env(
                    argv::holds_args_text(snap),
                    &[("TZ", "UTC")],
                    &[snap.as_str()],
                )?;
                let what = format!("zfs holds -H {snap}");
                parse::parse_holds_text(&String::from_utf8_lossy(&out.stdout))
                    .map_err(|e| self.parse_err(&what, e))
            }
            Err(e) => Err(e),
        }
    }

    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        for (bm, _) in pairs {
            check_creatable(bm.as_str())?;
        }
        for (bm, src) in pairs {
            self.run(argv::bookmark_args(bm, src), &[bm.as_str(), src.as_str()])?;
        }
        Ok(())
    }

    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        for bm in bms {
            match self.run(argv::destroy_bookmark_args(bm), &[bm.as_str()]) {
                // Like lzc_destroy_bookmarks: a missing bookmark is not an error.
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream + '_>, ZfsError> {
        argv::check_send(req)?;
        let cmd = self.send_cmd(req);
        let child = ZfsChild::start(
            self,
            cmd,
            Direction::Send,
            vec![req.to.to_string()],
            req.bulk,
        )?;
        Ok(Box::new(child))
    }

    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        let args = argv::send_space_args(to, from, flags);
        let what = self.display(&args);
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

    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink + '_>, ZfsError> {
        let cmd = self.receive_cmd(req)?;
        let names = vec![req.target.to_string(), req.target.dataset().to_string()];
        let child = ZfsChild::start(self, cmd, Direction::Receive, names, req.bulk)?;
        Ok(Box::new(child))
    }

    fn receive_abort(&self, ds: &DatasetName) -> Result<(), ZfsError> {
        self.run(argv::receive_abort_args(ds), &[ds.as_str()])
            .map(|_| ())
    }

    /// One `ps -Ao args=` through the runner (not elevated: it is no `zfs` command).
    fn receiving(&self) -> Result<Vec<String>, ZfsError> {
        let cmd = Cmd::new(["ps", "-Ao", "args="]);
        let out = self
            .runner()
            .run(&cmd)
            .map_err(|e| self.io_err("run ps", "ps", e))?;
        if !out.status.success() {
            return Err(self.failure(&["ps"], cmd.display(), out.status, &out.stderr));
        }
        Ok(parse::receive_targets(&String::from_utf8_lossy(
            &out.stdout,
        )))
    }

    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        self.run(argv::rollback_args(snap, destroy_newer), &[snap.as_str()])
            .map(|_| ())
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
        let args = argv::set_args(target, props)?;
        self.run(args, &[target]).map(|_| ())
    }

    fn properties(&self, root: &DatasetName, query: &PropQuery) -> Result<PropertyMap, ZfsError> {
        argv::check_query_names(&query.names)?;
        // Values first, then the value-free row list they must match (see `parse::verify_rows`). A
        // dataset created or destroyed in the tree, or a property changing source, between the two
        // reads also makes them differ: both are read once more before that is an error.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let map = self.run_text(
                argv::get_args(root, query),
                root.as_str(),
                parse::parse_props,
            )?;
            match self.run_text(argv::rows_args(root, query), root.as_str(), |text| {
                parse::verify_rows(&map, text)
            }) {
                Ok(()) => return Ok(map),
                Err(ZfsError::Parse { .. }) if attempt < 2 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn pools(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
        zpool::pools(self, names)
    }

    fn pool_status(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
        zpool::pool_status(self, names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Wire;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
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
            cli.clone_snapshot(&snap("p/a@s"), &DatasetName::parse("q/c").unwrap(), &[])
                .unwrap_err()
        ));
        assert!(is_validation(
            cli.clone_snapshot(&snap("p/a@s"), &DatasetName::parse("p/%c").unwrap(), &[])
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

    /// `zfs` as a script in a fresh temporary directory, for tests of what the backend makes of its
    /// exit and output.
    fn fake_zfs(name: &str, script: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("zfs-core-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zfs");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// Stands in for an `ssh` runner: runs locally, and says status 255 is the connection's failure.
    #[derive(Debug)]
    struct Ssh255;

    impl crate::runner::Runner for Ssh255 {
        fn host(&self) -> &str {
            "backup1"
        }
        fn spawn(&self, cmd: &crate::runner::Cmd) -> std::io::Result<crate::runner::Running> {
            crate::runner::LocalRunner.spawn(cmd)
        }
        fn transport_failed(&self, exit: crate::runner::Exit) -> bool {
            exit == crate::runner::Exit::Code(255)
        }
    }

    #[test]
    fn ping_runs_zfs_version_and_reports_the_transport() {
        let ok = fake_zfs("ping-ok", "test \"$1\" = version");
        Cli::local().with_zfs_program(&ok).ping().unwrap();
        let no_module = fake_zfs(
            "ping-fail",
            "echo 'The ZFS modules are not loaded.' >&2; exit 1",
        );
        match Cli::local().with_zfs_program(&no_module).ping() {
            Err(ZfsError::Command { cause, .. }) => {
                assert!(
                    cause.to_string().contains("modules are not loaded"),
                    "{cause}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Cli::local()
                .with_zfs_program("/nonexistent/zfs-must-not-run")
                .ping(),
            Err(ZfsError::Io { .. })
        ));
        // Through a runner for which 255 is the connection's status: a transport error naming the host.
        let lost = fake_zfs(
            "ping-255",
            "echo 'client_loop: send disconnect' >&2; exit 255",
        );
        let remote = Cli::new(std::sync::Arc::new(Ssh255)).with_zfs_program(&lost);
        match remote.ping() {
            Err(e @ ZfsError::Transport { .. }) => {
                assert_eq!(e.host(), Some("backup1"));
                assert!(e.to_string().contains("send disconnect"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // The same exit from a local runner is the command's own failure.
        assert!(!Cli::local()
            .with_zfs_program(&lost)
            .ping()
            .unwrap_err()
            .is_transport());
    }

    #[test]
    fn a_lost_connection_is_a_transport_error() {
        let cli = Cli::new(std::sync::Arc::new(Ssh255));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(cli.io_err("run zfs", "p/a", reset).is_transport());
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert!(matches!(
            cli.io_err("run zfs", "p/a", missing),
            ZfsError::Io { .. }
        ));
    }

    /// Runs locally, says it is remote, and records which programs it was asked about.
    #[derive(Debug, Default)]
    struct PretendRemote {
        probes: std::sync::Mutex<Vec<String>>,
        missing: &'static [&'static str],
    }

    impl crate::runner::Runner for PretendRemote {
        fn host(&self) -> &str {
            "backup1"
        }
        fn spawn(&self, cmd: &Cmd) -> std::io::Result<crate::runner::Running> {
            crate::runner::LocalRunner.spawn(cmd)
        }
        fn is_remote(&self) -> bool {
            true
        }
        fn has_program(&self, program: &str) -> bool {
            self.probes.lock().unwrap().push(program.to_owned());
            !self.missing.contains(&program)
        }
    }

    #[test]
    fn a_remote_cli_asks_its_host_once_which_codecs_it_runs() {
        let runner = std::sync::Arc::new(PretendRemote {
            missing: &["lz4"],
            ..Default::default()
        });
        let cli = Cli::new(runner.clone());
        let c = cli.capabilities();
        assert!(c.remote && c.zstd && !c.lz4, "{c:?}");
        assert!(c.runs_wire(Wire::Plain) && c.runs_wire(Wire::ZSTD) && !c.runs_wire(Wire::Lz4));
        // Remembered, also by clones (the executor may hold either).
        assert_eq!(cli.clone().capabilities(), c);
        assert_eq!(*runner.probes.lock().unwrap(), ["zstd", "lz4"]);
    }

    #[test]
    fn stream_commands_are_one_pipeline_per_wire() {
        let cli = Cli::local();
        let stages = |cmd: &Cmd| -> Vec<String> {
            assert!(
                cmd.stages()
                    .all(|(_, env)| env == [("LC_ALL".into(), "C".into())]),
                "every stage runs with LC_ALL=C: {cmd:?}"
            );
            cmd.stages().map(|(argv, _)| argv.join(" ")).collect()
        };
        let mut send =
            SendRequest::incremental(VersionName::Snapshot(snap("p/a@1")), snap("p/a@2"));
        send.flags.raw = true;
        let mut recv = RecvRequest::new(snap("p/b@2"));
        recv.resumable = true;
        recv.no_mount = true;
        let cases: [(Wire, &[&str], &[&str]); 4] = [
            (
                Wire::Plain,
                &["zfs send -w -i p/a@1 p/a@2"],
                &["zfs receive -s -u p/b@2"],
            ),
            (
                Wire::ZSTD,
                &["zfs send -w -i p/a@1 p/a@2", "zstd -c -q -3"],
                &["zstd -dc -q", "zfs receive -s -u p/b@2"],
            ),
            (
                Wire::Zstd { level: 19 },
                &["zfs send -w -i p/a@1 p/a@2", "zstd -c -q -19"],
                &["zstd -dc -q", "zfs receive -s -u p/b@2"],
            ),
            (
                Wire::Lz4,
                &["zfs send -w -i p/a@1 p/a@2", "lz4 -c -q"],
                &["lz4 -dc -q", "zfs receive -s -u p/b@2"],
            ),
        ];
        for (wire, want_send, want_recv) in cases {
            send.wire = wire;
            recv.wire = wire;
            assert_eq!(stages(&cli.send_cmd(&send)), want_send, "{wire}");
            assert_eq!(
                stages(&cli.receive_cmd(&recv).unwrap()),
                want_recv,
                "{wire}"
            );
        }
        // A resume keeps its token and still compresses.
        send.resume = Some(crate::resume::ResumeToken::new(
            "1-abc".into(),
            "p/a@2".into(),
            2,
            None,
        ));
        send.wire = Wire::ZSTD;
        assert_eq!(
            stages(&cli.send_cmd(&send)),
            ["zfs send -t 1-abc", "zstd -c -q -3"]
        );
    }

    /// The in-process codec of `wire`, to check what the tools wrote or read.
    fn codec(wire: Wire) -> zfs_stream::Codec {
        match wire {
            Wire::Lz4 => zfs_stream::Codec::Lz4,
            _ => zfs_stream::Codec::Zstd { level: 1 },
        }
    }

    /// The compressed wires whose tool this host has (the others are skipped, with a line saying so).
    fn wires_with_tools() -> Vec<Wire> {
        [Wire::ZSTD, Wire::Lz4]
            .into_iter()
            .filter(|w| {
                let p = w.program().unwrap();
                let have = crate::runner::Runner::has_program(&crate::runner::LocalRunner, p);
                if !have {
                    eprintln!("skipping {w}: no `{p}` on this host");
                }
                have
            })
            .collect()
    }

    #[test]
    fn compressed_streams_run_through_the_tools_both_ways() {
        use std::io::{Read, Write};
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        for wire in wires_with_tools() {
            // Send: what "zfs send" prints comes out compressed.
            let dir = std::env::temp_dir().join(format!("zfs-core-wire-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let plain = dir.join("plain");
            std::fs::write(&plain, &data).unwrap();
            let zfs = fake_zfs("wire-send", &format!("cat '{}'", plain.display()));
            let cli = Cli::local().with_zfs_program(&zfs);
            let mut req = SendRequest::full(snap("p/a@s"));
            req.wire = wire;
            let mut s = cli.send(&req).unwrap();
            let mut packed = Vec::new();
            std::fs::File::from(s.take_stream().unwrap())
                .read_to_end(&mut packed)
                .unwrap();
            s.finish().unwrap();
            assert!(packed.len() < data.len() / 4, "{wire}: not compressed");
            let unpacked =
                zfs_stream::compress::decompress_all(codec(wire), &packed, data.len()).unwrap();
            assert!(unpacked == data, "{wire}: the send's bytes differ");
            // Receive: what goes in compressed reaches "zfs receive" plain.
            let got = dir.join("received");
            let zfs = fake_zfs("wire-recv", &format!("cat > '{}'", got.display()));
            let cli = Cli::local().with_zfs_program(&zfs);
            let mut req = RecvRequest::new(snap("p/b@s"));
            req.wire = wire;
            let mut r = cli.receive(&req).unwrap();
            std::fs::File::from(r.take_input().unwrap())
                .write_all(&packed)
                .unwrap();
            r.finish().unwrap();
            assert!(
                std::fs::read(&got).unwrap() == data,
                "{wire}: received bytes differ"
            );
        }
    }

    #[test]
    fn a_compressed_stream_fails_as_its_zfs_stage_says() {
        use std::io::Write;
        for wire in wires_with_tools() {
            // The send fails: the compressor sees an empty stream and succeeds; the send's error wins.
            let zfs = fake_zfs(
                "wire-send-fails",
                "echo \"cannot open 'p/a@s': dataset does not exist\" >&2; exit 1",
            );
            let cli = Cli::local().with_zfs_program(&zfs);
            let mut req = SendRequest::full(snap("p/a@s"));
            req.wire = wire;
            let mut s = cli.send(&req).unwrap();
            drop(s.take_stream());
            match s.finish() {
                Err(e @ ZfsError::NotFound { .. }) => assert!(
                    e.to_string().contains(wire.program().unwrap()),
                    "the error shows the pipeline: {e}"
                ),
                other => panic!("{wire}: {other:?}"),
            }
            // The receive refuses without reading: the decompressor dies of SIGPIPE writing to it,
            // and the receive's own complaint is still what the error says.
            let zfs = fake_zfs(
                "wire-recv-refuses",
                "echo \"cannot receive incremental stream: destination p/a has been modified \
                 since most recent snapshot\" >&2; exit 1",
            );
            let cli = Cli::local().with_zfs_program(&zfs);
            let mut req = RecvRequest::new(snap("p/a@s"));
            req.wire = wire;
            let mut r = cli.receive(&req).unwrap();
            let zeros = vec![0u8; 32 << 20];
            let packed = zfs_stream::compress::compress_all(codec(wire), &zeros).unwrap();
            // The write fails once the pipeline is gone: that is expected.
            let _ = std::fs::File::from(r.take_input().unwrap()).write_all(&packed);
            match r.finish() {
                Err(ZfsError::TargetModified { .. }) => {}
                other => panic!("{wire}: {other:?}"),
            }
        }
    }

    #[test]
    fn capabilities_are_by_ability() {
        let c = Cli::local().capabilities();
        assert!(!c.in_process_streams && !c.temporary_holds && c.native_intermediates);
        assert_eq!(
            Capabilities::default(),
            Capabilities {
                in_process_streams: false,
                temporary_holds: false,
                native_intermediates: false,
                remote: false,
                zstd: false,
                lz4: false,
            }
        );
        assert!(
            !c.remote && !c.zstd && !c.lz4,
            "a local Cli asks for no tools"
        );
    }
}
