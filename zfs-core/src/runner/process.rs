//! A started command, whatever runs it: the [`Process`] trait (its standard streams as file
//! descriptors, `wait` for an [`Exit`], `kill`), and [`Running`], which owns one and drains its stderr.
//!
//! A local child implements [`Process`] (see `LocalRunner`); so can an `ssh` child, or an SSH channel
//! whose streams are bridged to pipes. Everything above (the `Cli` backend, the movers) only sees file
//! descriptors and an [`Exit`].

use std::fmt;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

/// How many trailing bytes of stderr are kept for error messages.
pub const STDERR_KEEP: usize = 64 * 1024;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It exited with this status code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl Exit {
    /// Exited with status 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }

    /// The exit status code; `None` when killed by a signal.
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            Exit::Signal(_) => None,
        }
    }

    /// The signal that killed it, if one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            Exit::Signal(s) => Some(s),
            Exit::Code(_) => None,
        }
    }

    /// The outcome of a pipeline from its stages' exits, in pipeline order: the first stage that failed
    /// other than by SIGPIPE, else the first that failed, else success (an empty list is success). So
    /// the first stage's status is kept whenever it failed, a pipeline with a failed stage never
    /// reports success, and a stage that died writing to a later one that failed and stopped reading
    /// (`zstd -dc | zfs receive` when the receive refuses) does not hide that later stage's status.
    /// Every stage's stderr is kept.
    pub fn of_pipeline(stages: &[Exit]) -> Exit {
        let failed = |e: &&Exit| !e.success();
        stages
            .iter()
            .filter(failed)
            .find(|e| !e.is_broken_pipe())
            .or_else(|| stages.iter().find(failed))
            .copied()
            .unwrap_or(Exit::Code(0))
    }

    /// Killed by SIGPIPE: it wrote to a pipe nobody reads any more.
    pub fn is_broken_pipe(self) -> bool {
        self == Exit::Signal(libc::SIGPIPE)
    }
}

impl From<std::process::ExitStatus> for Exit {
    fn from(s: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(sig)) => Exit::Signal(sig),
            // Neither exited nor signalled (stopped): not an end; report it as a failure.
            (None, None) => Exit::Code(-1),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// A started command somewhere: a local child or pipeline, an `ssh` child, an SSH channel.
///
/// The streams the command was started with as piped are handed out once each, as file descriptors;
/// `wait` may be called again after it returned (it returns the same exit).
pub trait Process: Send + fmt::Debug {
    /// Its stdin, when piped; `None` once taken.
    fn take_stdin(&mut self) -> Option<OwnedFd>;
    /// Its stdout, when piped; `None` once taken.
    fn take_stdout(&mut self) -> Option<OwnedFd>;
    /// Its stderr (always piped by runners); `None` once taken.
    fn take_stderr(&mut self) -> Option<OwnedFd>;
    /// Waits for it to end.
    fn wait(&mut self) -> io::Result<Exit>;
    /// Stops it, if still running (it must still be waited for).
    fn kill(&mut self) -> io::Result<()>;
    /// The local process id, when there is one (for logs; an SSH channel has none).
    fn id(&self) -> Option<u32>;
}

/// Reads `stderr` to its end on a thread, keeping the last [`STDERR_KEEP`] bytes.
fn drain(stderr: OwnedFd) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut e = std::fs::File::from(stderr);
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match e.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * STDERR_KEEP {
                        kept.drain(..kept.len() - STDERR_KEEP);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if kept.len() > STDERR_KEEP {
            kept.drain(..kept.len() - STDERR_KEEP);
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// A started command with stderr being drained in the background.
#[derive(Debug)]
pub struct Running {
    process: Box<dyn Process>,
    stderr: Option<JoinHandle<String>>,
    ended: bool,
    /// The command line for display.
    pub display: String,
}

impl Running {
    /// Wraps a started process, starting the drain of its stderr (so a chatty process never blocks on a
    /// full pipe).
    pub fn new(mut process: Box<dyn Process>, display: String) -> Self {
        let stderr = process.take_stderr().map(drain);
        Running {
            process,
            stderr,
            ended: false,
            display,
        }
    }
    /// The local process id, when there is one.
    pub fn id(&self) -> Option<u32> {
        self.process.id()
    }
    /// Takes the stdin pipe (when [`Io::Piped`](super::Io::Piped)).
    pub fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.process.take_stdin()
    }
    /// Takes the stdout pipe (when [`Io::Piped`](super::Io::Piped)).
    pub fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.process.take_stdout()
    }
    /// Closes stdin, waits for the end and returns the exit and the captured stderr.
    pub fn wait(mut self) -> io::Result<(Exit, String)> {
        drop(self.process.take_stdin());
        let exit = self.process.wait()?;
        self.ended = true;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((exit, stderr))
    }
    /// Kills the process (if still running) and waits for it.
    pub fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.ended = true;
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached when neither wait() nor kill() consumed the value: never leave a zombie.
        if !self.ended {
            drop(self.process.take_stdin());
            drop(self.process.take_stdout());
            let _ = self.process.kill();
            let _ = self.process.wait();
            if let Some(h) = self.stderr.take() {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_reads_like_an_exit_status() {
        assert!(Exit::Code(0).success());
        assert!(!Exit::Code(1).success() && !Exit::Signal(9).success());
        assert_eq!(
            (Exit::Code(3).code(), Exit::Code(3).signal()),
            (Some(3), None)
        );
        assert_eq!(
            (Exit::Signal(9).code(), Exit::Signal(9).signal()),
            (None, Some(9))
        );
        assert_eq!(Exit::Code(2).to_string(), "exit status 2");
        assert_eq!(Exit::Signal(13).to_string(), "killed by signal 13");
        let status = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .status()
            .unwrap();
        assert_eq!(Exit::from(status), Exit::Code(7));
        let status = std::process::Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .unwrap();
        assert_eq!(Exit::from(status), Exit::Signal(libc::SIGTERM));
    }

    #[test]
    fn a_pipeline_reports_its_first_failing_stage() {
        let ok = Exit::Code(0);
        assert_eq!(Exit::of_pipeline(&[]), ok);
        assert_eq!(Exit::of_pipeline(&[ok, ok, ok]), ok);
        // The first stage failed: its status, even when a later one failed too.
        assert_eq!(
            Exit::of_pipeline(&[Exit::Code(1), Exit::Code(2)]),
            Exit::Code(1)
        );
        assert_eq!(Exit::of_pipeline(&[Exit::Signal(13), ok]), Exit::Signal(13));
        // Only a later one failed: never hidden.
        assert_eq!(
            Exit::of_pipeline(&[ok, Exit::Code(5), Exit::Code(6)]),
            Exit::Code(5)
        );
        // A stage killed by SIGPIPE yields to a later one that failed (it stopped reading)...
        let pipe = Exit::Signal(libc::SIGPIPE);
        assert!(pipe.is_broken_pipe() && !Exit::Signal(9).is_broken_pipe());
        assert_eq!(Exit::of_pipeline(&[pipe, Exit::Code(1)]), Exit::Code(1));
        assert_eq!(
            Exit::of_pipeline(&[pipe, pipe, Exit::Code(2), Exit::Code(3)]),
            Exit::Code(2)
        );
        // ... but counts when nothing else failed, and never hides a real failure before it.
        assert_eq!(Exit::of_pipeline(&[pipe, ok]), pipe);
        assert_eq!(Exit::of_pipeline(&[ok, pipe, pipe]), pipe);
        assert_eq!(
            Exit::of_pipeline(&[Exit::Code(4), pipe, Exit::Code(1)]),
            Exit::Code(4)
        );
    }
}
