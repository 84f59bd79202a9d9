//! The life of a `zfs send` or `zfs receive` child: started with one end piped to the caller, waited for
//! by `finish`, its exit status and stderr mapped to a typed error. One type serves both directions.

use super::command::Cli;
use crate::backend::{RecvSink, SendStream};
use crate::error::ZfsError;
use crate::runner::{Cmd, Io, Running};
use std::os::fd::OwnedFd;

/// Which end of the child the caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// A send: the caller reads the child's stdout.
    Send,
    /// A receive: the caller writes the child's stdin.
    Receive,
}

/// A running `zfs send` (stdout piped to the caller) or `zfs receive` (stdin piped from the caller).
#[derive(Debug)]
pub(super) struct ZfsChild {
    running: Running,
    pipe: Option<OwnedFd>,
    /// The names a failure is classified against; the first one names I/O errors.
    names: Vec<String>,
    /// The backend that started it, which classifies its failure.
    cli: Cli,
    direction: Direction,
}

impl ZfsChild {
    /// Starts `cmd` with the pipe for `direction` (the other standard stream is `/dev/null`), marked as
    /// bulk (it moves a send stream) unless the request said the stream is small (`bulk` false).
    pub(super) fn start(
        cli: &Cli,
        cmd: Cmd,
        direction: Direction,
        names: Vec<String>,
        bulk: bool,
    ) -> Result<ZfsChild, ZfsError> {
        let (stdin, stdout) = match direction {
            Direction::Send => (Io::Null, Io::Piped),
            Direction::Receive => (Io::Piped, Io::Null),
        };
        let first = names.first().map_or("", String::as_str);
        let mut running = cli.spawn(&cmd.stdin(stdin).stdout(stdout).bulk(bulk), first)?;
        let pipe = match direction {
            Direction::Send => running.take_stdout(),
            Direction::Receive => running.take_stdin(),
        };
        Ok(ZfsChild {
            running,
            pipe,
            names,
            cli: cli.clone(),
            direction,
        })
    }

    /// Closes the caller's end if still held, waits, and maps a failure.
    fn finish(self) -> Result<(), ZfsError> {
        let ZfsChild {
            running,
            pipe,
            names,
            cli,
            direction,
        } = self;
        drop(pipe);
        let display = running.display.clone();
        let verb = match direction {
            Direction::Send => "send",
            Direction::Receive => "receive",
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let first = names.first().copied().unwrap_or("");
        let (exit, stderr) = running
            .wait()
            .map_err(|source| cli.io_err(&format!("wait for zfs {verb}"), first, source))?;
        if exit.success() {
            Ok(())
        } else {
            Err(cli.failure(&names, display, exit, &stderr))
        }
    }
}

impl SendStream for ZfsChild {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.pipe.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        ZfsChild::finish(*self)
    }
}

impl RecvSink for ZfsChild {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.pipe.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        ZfsChild::finish(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A `Cli` whose "zfs" is `sh`, so `cmd(["-c", SCRIPT])` runs a script standing in for zfs.
    fn sh() -> Cli {
        Cli::local().with_zfs_program("sh")
    }

    fn script(cli: &Cli, s: &str) -> Cmd {
        cli.cmd(vec!["-c".into(), s.into()])
    }

    #[test]
    fn send_child_streams_stdout_and_maps_its_failure() {
        let cli = sh();
        let cmd = script(&cli, "printf 'stream'; echo 'something broke' >&2; exit 1");
        let mut child =
            ZfsChild::start(&cli, cmd, Direction::Send, vec!["p/a@s".into()], true).unwrap();
        let mut got = Vec::new();
        std::fs::File::from(SendStream::take_stream(&mut child).unwrap())
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, b"stream");
        assert!(SendStream::take_stream(&mut child).is_none());
        match SendStream::finish(Box::new(child)) {
            Err(ZfsError::Command { name, cause, .. }) => {
                assert_eq!(name, "p/a@s");
                assert!(cause.to_string().contains("something broke"), "{cause}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Starts commands locally and remembers whether each was marked bulk.
    #[derive(Debug, Default)]
    struct Recording(std::sync::Mutex<Vec<bool>>);

    impl crate::runner::Runner for Recording {
        fn host(&self) -> &str {
            "recording"
        }
        fn spawn(&self, cmd: &Cmd) -> std::io::Result<Running> {
            self.0.lock().unwrap().push(cmd.bulk);
            crate::LocalRunner.spawn(cmd)
        }
    }

    #[test]
    fn stream_children_are_bulk_and_other_commands_are_not() {
        let rec = std::sync::Arc::new(Recording::default());
        let cli = Cli::new(rec.clone()).with_zfs_program("sh");
        for direction in [Direction::Send, Direction::Receive] {
            let child = ZfsChild::start(
                &cli,
                script(&cli, "true"),
                direction,
                vec!["p/a".into()],
                true,
            )
            .unwrap();
            child.finish().unwrap();
        }
        let _ = cli.runner().run(&script(&cli, "true"));
        assert_eq!(*rec.0.lock().unwrap(), [true, true, false]);
    }

    #[test]
    fn a_request_for_a_small_stream_is_not_bulk() {
        use crate::backend::{Backend, RecvRequest, SendRequest};
        let rec = std::sync::Arc::new(Recording::default());
        let cli = Cli::new(rec.clone()).with_zfs_program("true");
        let snap = crate::SnapshotName::parse("p/a@s").unwrap();
        for bulk in [true, false] {
            let mut send = SendRequest::full(snap.clone());
            send.bulk = bulk;
            let _ = cli.send(&send).map(|s| s.finish());
            let mut recv = RecvRequest::new(snap.clone());
            recv.bulk = bulk;
            let _ = cli.receive(&recv).map(|r| r.finish());
        }
        assert_eq!(*rec.0.lock().unwrap(), [true, true, false, false]);
    }

    #[test]
    fn receive_child_reads_stdin_and_names_the_dataset() {
        let cli = sh();
        let names = || vec!["p/a@s".to_owned(), "p/a".to_owned()];
        let ok = script(&cli, "test \"$(cat)\" = 'the stream'");
        let mut child = ZfsChild::start(&cli, ok, Direction::Receive, names(), true).unwrap();
        std::fs::File::from(RecvSink::take_input(&mut child).unwrap())
            .write_all(b"the stream")
            .unwrap();
        RecvSink::finish(Box::new(child)).unwrap();
        // Not taken: finish closes the input itself. The message quotes the dataset, which is reported.
        let exists = script(
            &cli,
            "cat >/dev/null; echo \"cannot receive new filesystem stream: destination 'p/a' exists\" >&2; exit 1",
        );
        let child = ZfsChild::start(&cli, exists, Direction::Receive, names(), true).unwrap();
        match RecvSink::finish(Box::new(child)) {
            Err(ZfsError::AlreadyExists { name, .. }) => assert_eq!(name, "p/a"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_child_that_cannot_start_is_an_io_error_naming_the_object() {
        let cli = Cli::local().with_zfs_program("/nonexistent/zfs-must-not-run");
        let cmd = cli.cmd(vec!["send".into()]);
        match ZfsChild::start(&cli, cmd, Direction::Send, vec!["p/a@s".into()], true) {
            Err(ZfsError::Io { name, op, .. }) => {
                assert_eq!(name, "p/a@s");
                assert!(op.contains("start"), "{op}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started"),
        }
    }
}
