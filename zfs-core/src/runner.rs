//! Command runners: how the Cli backend starts `zfs`/`zpool`.
//!
//! A [`Runner`] starts an argv vector with extra environment variables and chosen stdin/stdout handling,
//! and returns a [`std::process::Child`]. [`LocalRunner`] runs it directly. A remote runner (SSH) implements
//! the same trait by starting `ssh ... HOST -- <line>` locally, where `<line>` is
//! [`remote_command_line`] (`env K=V ... argv`, quoted by [`crate::quote::join`]) — the only place argv
//! becomes a shell string.
//!
//! stderr is always captured: [`Running`] drains it on a thread (so a chatty process never blocks on a
//! full pipe) and keeps the last [`STDERR_KEEP`] bytes for error messages.

use std::io::{self, Read};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// How many trailing bytes of stderr are kept for error messages.
pub const STDERR_KEEP: usize = 64 * 1024;

/// What a child's stdin or stdout is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Io {
    /// `/dev/null`.
    #[default]
    Null,
    /// A pipe to this process.
    Piped,
    /// Inherited from this process.
    Inherit,
}

impl Io {
    fn stdio(self) -> Stdio {
        match self {
            Io::Null => Stdio::null(),
            Io::Piped => Stdio::piped(),
            Io::Inherit => Stdio::inherit(),
        }
    }
}

/// A command to run: argv (program first), extra environment, stdin/stdout handling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cmd {
    /// Program and arguments; never a shell string.
    pub argv: Vec<String>,
    /// Extra environment variables (e.g. `LC_ALL=C`).
    pub env: Vec<(String, String)>,
    /// stdin handling.
    pub stdin: Io,
    /// stdout handling (captured by [`Runner::run`] regardless).
    pub stdout: Io,
}

impl Cmd {
    /// A command from argv with `LC_ALL=C` (so messages can be read), stdin from `/dev/null`, stdout piped.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![("LC_ALL".into(), "C".into())],
            stdin: Io::Null,
            stdout: Io::Piped,
        }
    }
    /// Sets stdin handling.
    pub fn stdin(mut self, io: Io) -> Self {
        self.stdin = io;
        self
    }
    /// Sets stdout handling.
    pub fn stdout(mut self, io: Io) -> Self {
        self.stdout = io;
        self
    }
    /// The command for display (POSIX-quoted; never executed as a string).
    pub fn display(&self) -> String {
        crate::quote::join(&self.argv)
    }
}

/// The one-string form of `cmd` for a remote shell (what an SSH runner passes after `ssh HOST --`):
/// `env K=V ... argv...`, every word quoted with [`crate::quote::shell_quote`]. The remote `sh` splits it
/// back into exactly `cmd`'s argv with `cmd`'s environment; nothing in it is expanded.
pub fn remote_command_line(cmd: &Cmd) -> String {
    let mut words: Vec<String> = Vec::with_capacity(cmd.argv.len() + cmd.env.len() + 1);
    if !cmd.env.is_empty() {
        words.push("env".into());
        words.extend(cmd.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(cmd.argv.iter().cloned());
    crate::quote::join(&words)
}

/// The finished result of [`Runner::run`].
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// All of stdout.
    pub stdout: Vec<u8>,
    /// stderr (the last [`STDERR_KEEP`] bytes).
    pub stderr: String,
}

/// A started command with stderr being drained in the background.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stderr: Option<JoinHandle<String>>,
    reaped: bool,
    /// The command line for display.
    pub display: String,
}

impl Running {
    /// Wraps a child whose stderr is piped, starting the drain thread.
    pub fn new(mut child: Child, display: String) -> Self {
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
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
        });
        Running {
            child,
            stderr,
            reaped: false,
            display,
        }
    }
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
    /// Takes the stdin pipe (when [`Io::Piped`]).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }
    /// Takes the stdout pipe (when [`Io::Piped`]).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }
    /// Closes stdin, waits for exit and returns the status and the captured stderr.
    pub fn wait(mut self) -> io::Result<(ExitStatus, String)> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        self.reaped = true;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((status, stderr))
    }
    /// Kills the process (if still running) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached when neither wait() nor kill() consumed the value: never leave a zombie.
        if !self.reaped {
            drop(self.child.stdin.take());
            drop(self.child.stdout.take());
            let _ = self.child.kill();
            let _ = self.child.wait();
            if let Some(h) = self.stderr.take() {
                let _ = h.join();
            }
        }
    }
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
        if let Some(mut out) = running.take_stdout() {
            out.read_to_end(&mut stdout)?;
        }
        let (status, stderr) = running.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Runs commands on this machine.
#[derive(Debug, Clone, Default)]
pub struct LocalRunner;

impl Runner for LocalRunner {
    fn host(&self) -> &str {
        crate::error::LOCALHOST
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Running> {
        let Some((program, args)) = cmd.argv.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
        };
        let mut c = Command::new(program);
        c.args(args)
            .envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(cmd.stdin.stdio())
            .stdout(cmd.stdout.stdio())
            .stderr(Stdio::piped());
        let child = c.spawn()?;
        Ok(Running::new(child, cmd.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
        let mut stdin = running.take_stdin().unwrap();
        stdin.write_all(&[7u8; 100_000]).unwrap();
        drop(stdin);
        let mut stdout = String::new();
        running
            .take_stdout()
            .unwrap()
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
    fn remote_command_line_runs_the_same_argv_through_a_shell() {
        let argv = [
            "printf",
            "%s|",
            "pool/my data@s 1",
            "pool/-x",
            "it's",
            "$(id)",
            "a\nb",
        ];
        let mut cmd = Cmd::new(argv);
        cmd.env.push(("ZSYNC_T".into(), "x y'z".into()));
        let line = remote_command_line(&cmd);
        assert!(
            line.starts_with("env 'LC_ALL=C' 'ZSYNC_T=x y'\\''z' printf"),
            "{line}"
        );
        // `sh -c LINE` stands in for the remote shell that `ssh HOST -- LINE` starts.
        let remote = LocalRunner.run(&Cmd::new(["sh", "-c", &line])).unwrap();
        let local = LocalRunner.run(&cmd).unwrap();
        assert!(remote.status.success(), "{}", remote.stderr);
        assert_eq!(remote.stdout, local.stdout);
        assert_eq!(
            remote.stdout,
            "pool/my data@s 1|pool/-x|it's|$(id)|a\nb|".as_bytes()
        );
        let env = LocalRunner
            .run(&Cmd::new([
                "sh",
                "-c",
                &remote_command_line(&Cmd {
                    argv: vec!["sh".into(), "-c".into(), "printf %s \"$ZSYNC_T\"".into()],
                    ..cmd.clone()
                }),
            ]))
            .unwrap();
        assert_eq!(env.stdout, b"x y'z");
    }

    #[test]
    fn drop_kills_and_reaps() {
        let running = LocalRunner.spawn(&Cmd::new(["sleep", "30"])).unwrap();
        let pid = running.id();
        drop(running);
        // The pid is reaped: signalling it fails (unless reused, which is very unlikely this fast).
        let alive = unsafe { libc::kill(pid as i32, 0) } == 0;
        assert!(!alive);
    }
}
