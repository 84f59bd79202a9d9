//! Command runners: how the Cli backend starts `zfs`/`zpool`.
//!
//! A [`Runner`] starts a [`Cmd`] (argv vectors with extra environment variables and chosen
//! stdin/stdout handling; one command or a pipeline of stages) and returns a [`Running`], which owns a
//! [`Process`]: stdin/stdout as file descriptors, `wait` for an [`Exit`] (code or signal), `kill`.
//! [`LocalRunner`] runs commands as local children. A remote runner (SSH) implements the same traits,
//! either by starting `ssh ... HOST -- <line>` locally, where `<line>` is [`remote_command_line`]
//! (`env K=V ... argv`, quoted by [`crate::quote::join`]; a pipeline as a POSIX `sh` script keeping
//! every stage's status) — the only place argv becomes a shell string — or with SSH channels as
//! processes.
//!
//! stderr is always captured: [`Running`] drains it on a thread (so a chatty process never blocks on a
//! full pipe) and keeps the last [`STDERR_KEEP`] bytes for error messages.
//!
//! Files: `cmd` (what to run), `process` (a started command), `local` (local children); this file
//! holds the [`Runner`] trait and [`LocalRunner`].

mod cmd;
mod local;
mod process;

pub use cmd::{remote_command_line, Cmd, Io, Stage};
pub use process::{Exit, Process, Running, STDERR_KEEP};

use std::io::{self, Read};

/// The finished result of [`Runner::run`].
#[derive(Debug, Clone)]
pub struct Output {
    /// How it ended.
    pub status: Exit,
    /// All of stdout.
    pub stdout: Vec<u8>,
    /// stderr (the last [`STDERR_KEEP`] bytes).
    pub stderr: String,
}

/// Starts commands somewhere (this machine, or a remote host through SSH).
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// Label for errors and logs (`localhost`, or the SSH destination).
    fn host(&self) -> &str;

    /// Starts `cmd` with stderr captured.
    fn spawn(&self, cmd: &Cmd) -> io::Result<Running>;

    /// Runs `cmd` to completion, capturing stdout and stderr. stdin is `/dev/null` unless piped (then
    /// it is closed at once).
    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        let mut cmd = cmd.clone();
        cmd.stdout = Io::Piped;
        let mut running = self.spawn(&cmd)?;
        drop(running.take_stdin());
        let mut stdout = Vec::new();
        if let Some(out) = running.take_stdout() {
            std::fs::File::from(out).read_to_end(&mut stdout)?;
        }
        let (status, stderr) = running.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Whether commands run on another host, so their streams cross a network (worth compressing).
    /// Local runners: no.
    fn is_remote(&self) -> bool {
        false
    }

    /// Whether `program` can be started there (`command -v PROGRAM` in a POSIX `sh`). Runners may
    /// remember the answer; this default asks every time.
    fn has_program(&self, program: &str) -> bool {
        let probe = Cmd::new([
            "sh",
            "-c",
            "command -v \"$1\" >/dev/null 2>&1",
            "sh",
            program,
        ]);
        self.run(&probe).is_ok_and(|out| out.status.success())
    }

    /// Whether `exit` of a command this runner started means the way to the host failed rather than
    /// the command: an `ssh` runner says so for status 255 (ssh's own errors, a lost connection). Local
    /// runners never do.
    fn transport_failed(&self, exit: Exit) -> bool {
        let _ = exit;
        false
    }
}

/// Runs commands on this machine: each stage a child process.
#[derive(Debug, Clone, Default)]
pub struct LocalRunner;

impl Runner for LocalRunner {
    fn host(&self) -> &str {
        crate::error::LOCALHOST
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Running> {
        let process = local::spawn(cmd)?;
        Ok(Running::new(Box::new(process), cmd.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn has_program_asks_the_shell() {
        let r = LocalRunner;
        assert!(!r.is_remote());
        assert!(r.has_program("sh"));
        assert!(!r.has_program("zsync-no-such-program"));
        // A name with shell characters is one argument, never code.
        assert!(!r.has_program("sh; true"));
    }

    #[test]
    fn run_captures_stdout_stderr_status_and_env() {
        let r = LocalRunner;
        let out = r
            .run(&Cmd::new([
                "sh",
                "-c",
                "printf '%s' \"$LC_ALL\"; echo oops >&2; exit 3",
            ]))
            .unwrap();
        assert_eq!(out.stdout, b"C");
        assert_eq!(out.stderr.trim(), "oops");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn argv_is_not_a_shell_string() {
        let out = LocalRunner
            .run(&Cmd::new(["printf", "%s|", "a b", "$(x)", "'"]))
            .unwrap();
        assert_eq!(out.stdout, b"a b|$(x)|'|");
    }

    #[test]
    fn piped_stdin_and_large_stderr_do_not_deadlock() {
        let cmd = Cmd::new(["sh", "-c", "head -c 300000 /dev/zero >&2; wc -c"]).stdin(Io::Piped);
        let mut running = LocalRunner.spawn(&cmd).unwrap();
        let mut stdin = std::fs::File::from(running.take_stdin().unwrap());
        stdin.write_all(&[7u8; 100_000]).unwrap();
        drop(stdin);
        let mut stdout = String::new();
        std::fs::File::from(running.take_stdout().unwrap())
            .read_to_string(&mut stdout)
            .unwrap();
        let (status, stderr) = running.wait().unwrap();
        assert!(status.success());
        assert_eq!(stdout.trim(), "100000");
        assert_eq!(stderr.len(), STDERR_KEEP);
    }

    #[test]
    fn missing_program_and_empty_argv_are_errors() {
        assert!(LocalRunner
            .run(&Cmd::new(["/nonexistent/zfs-binary"]))
            .is_err());
        assert!(LocalRunner.run(&Cmd::new(Vec::<String>::new())).is_err());
    }

    #[test]
    fn drop_kills_and_reaps() {
        let running = LocalRunner.spawn(&Cmd::new(["sleep", "30"])).unwrap();
        let pid = running.id().expect("a local process has a pid");
        drop(running);
        // The pid is reaped: signalling it fails (unless reused, which is very unlikely this fast).
        let alive = unsafe { libc::kill(pid as i32, 0) } == 0;
        assert!(!alive);
    }

    #[test]
    fn a_local_pipeline_connects_stages_and_captures_every_stderr() {
        let cmd = Cmd::new(["sh", "-c", "echo one >&2; printf 'a b'; exit 4"])
            .pipe(Cmd::new(["sh", "-c", "echo two >&2; tr a-z A-Z"]))
            .pipe(Cmd::new(["wc", "-c"]));
        assert_eq!(cmd.stages().count(), 3);
        let out = LocalRunner.run(&cmd).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "3");
        assert_eq!(out.status, Exit::Code(4));
        let mut lines: Vec<&str> = out.stderr.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["one", "two"]);
        // Piped stdin goes to the first stage.
        let mut running = LocalRunner
            .spawn(
                &Cmd::new(["tr", "a-z", "A-Z"])
                    .pipe(Cmd::new(["cat"]))
                    .stdin(Io::Piped),
            )
            .unwrap();
        std::fs::File::from(running.take_stdin().unwrap())
            .write_all(b"in")
            .unwrap();
        let mut got = String::new();
        std::fs::File::from(running.take_stdout().unwrap())
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "IN");
        assert!(running.wait().unwrap().0.success());
    }

    #[test]
    fn a_pipeline_stage_that_cannot_start_starts_nothing() {
        let cmd = Cmd::new(["sleep", "30"]).pipe(Cmd::new(["/nonexistent/zsync-stage"]));
        let t = std::time::Instant::now();
        assert!(LocalRunner.run(&cmd).is_err());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "the first stage was left running"
        );
        let empty = Cmd::new(["true"]).pipe(Cmd::new(Vec::<String>::new()));
        assert_eq!(
            LocalRunner.run(&empty).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn killed_is_a_signal_exit() {
        let running = LocalRunner
            .spawn(&Cmd::new(["sh", "-c", "kill -KILL $$"]))
            .unwrap();
        let (exit, _) = running.wait().unwrap();
        assert_eq!(exit, Exit::Signal(libc::SIGKILL));
        assert_eq!(exit.code(), None);
        assert!(!LocalRunner.transport_failed(Exit::Code(255)));
    }
}
