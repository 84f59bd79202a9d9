//! Commands as local child processes: one per stage, each stage's stdout piped into the next one's
//! stdin, the stderr of every stage into one pipe (drained by [`Running`](super::Running)).

use super::cmd::{Cmd, Io};
use super::process::{Exit, Process};
use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};

impl Io {
    fn stdio(self) -> Stdio {
        match self {
            Io::Null => Stdio::null(),
            Io::Piped => Stdio::piped(),
            Io::Inherit => Stdio::inherit(),
        }
    }
}

/// A local command: one child, or one per stage of a pipeline.
#[derive(Debug)]
pub(super) struct LocalProcess {
    children: Vec<Child>,
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
}

/// Starts every stage of `cmd`. If one cannot start, those already started are killed and reaped.
pub(super) fn spawn(cmd: &Cmd) -> io::Result<LocalProcess> {
    if cmd.stages().any(|(argv, _)| argv.is_empty()) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
    }
    let (err_read, err_write) = io::pipe()?;
    let count = cmd.then.len() + 1;
    let mut children: Vec<Child> = Vec::with_capacity(count);
    let mut previous: Option<Stdio> = None;
    for (i, (argv, env)) in cmd.stages().enumerate() {
        let last = i + 1 == count;
        let started = err_write.try_clone().and_then(|stderr| {
            Command::new(&argv[0])
                .args(&argv[1..])
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(previous.take().unwrap_or_else(|| cmd.stdin.stdio()))
                .stdout(if last {
                    cmd.stdout.stdio()
                } else {
                    Stdio::piped()
                })
                .stderr(stderr)
                .spawn()
        });
        match started {
            Ok(mut child) => {
                if !last {
                    previous = child.stdout.take().map(Stdio::from);
                }
                children.push(child);
            }
            Err(e) => {
                for mut c in children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(e);
            }
        }
    }
    // Only the children may hold the write end now, so the drain ends when the last of them does.
    drop(err_write);
    let stdin = children[0].stdin.take().map(OwnedFd::from);
    let stdout = children
        .last_mut()
        .and_then(|c| c.stdout.take())
        .map(OwnedFd::from);
    Ok(LocalProcess {
        children,
        stdin,
        stdout,
        stderr: Some(err_read.into()),
    })
}

impl Process for LocalProcess {
    fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.stdin.take()
    }
    fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.stdout.take()
    }
    fn take_stderr(&mut self) -> Option<OwnedFd> {
        self.stderr.take()
    }
    /// Waits for every stage; the exit is [`Exit::of_pipeline`] of theirs.
    fn wait(&mut self) -> io::Result<Exit> {
        let mut exits = Vec::with_capacity(self.children.len());
        for c in &mut self.children {
            exits.push(Exit::from(c.wait()?));
        }
        Ok(Exit::of_pipeline(&exits))
    }
    fn kill(&mut self) -> io::Result<()> {
        let mut first_err = None;
        for c in &mut self.children {
            if let Err(e) = c.kill() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
    fn id(&self) -> Option<u32> {
        self.children.first().map(Child::id)
    }
}
