//! The [`Cli`] value (which `zfs` and `zpool` programs, started through which [`Runner`]) and running one
//! of its commands to completion, its failure classified into a typed error.

use super::parse::ParseError;
use crate::error::ZfsError;
use crate::name::PoolName;
use crate::runner::{Cmd, Exit, LocalRunner, Output, Runner, Running};
use std::sync::{Arc, OnceLock};

/// The CLI backend: every operation is a `zfs`/`zpool` argv run through a [`Runner`] with `LC_ALL=C`.
#[derive(Debug, Clone)]
pub struct Cli {
    runner: Arc<dyn Runner>,
    zfs: String,
    zpool: String,
    /// Whether the host runs `zstd` and `lz4`: asked once (for a remote runner), shared by clones.
    tools: Arc<OnceLock<(bool, bool)>>,
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
            tools: Arc::default(),
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

    /// Whether the host runs (`zstd`, `lz4`): [`Runner::has_program`] the first time, remembered
    /// after (a failed probe is a no).
    pub(super) fn wire_tools(&self) -> (bool, bool) {
        *self.tools.get_or_init(|| {
            (
                self.runner.has_program("zstd"),
                self.runner.has_program("lz4"),
            )
        })
    }

    /// The `zfs` program (name or path), for errors about no particular dataset.
    pub(super) fn zfs_program(&self) -> &str {
        &self.zfs
    }

    /// `zfs ARGS` as a command.
    pub(super) fn cmd(&self, args: Vec<String>) -> Cmd {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(self.zfs.clone());
        argv.extend(args);
        Cmd::new(argv)
    }

    /// `zfs ARGS` for display in errors.
    pub(super) fn display(&self, args: &[String]) -> String {
        format!("{} {}", self.zfs, crate::quote::join(args))
    }

    /// An I/O error starting or talking to a command: [`ZfsError::Transport`] when it says the
    /// connection to the host failed (refused, reset, aborted, timed out, unreachable), else
    /// [`ZfsError::Io`].
    pub(super) fn io_err(&self, op: &str, name: &str, source: std::io::Error) -> ZfsError {
        use std::io::ErrorKind as K;
        let host = self.runner.host().to_owned();
        match source.kind() {
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::TimedOut
            | K::HostUnreachable
            | K::NetworkUnreachable => ZfsError::Transport {
                host,
                op: op.to_owned(),
                detail: source.to_string(),
            },
            _ => ZfsError::Io {
                op: op.to_owned(),
                name: name.to_owned(),
                host,
                source,
            },
        }
    }

    /// The error for a command (shown as `display`, about `names`) that ended with `exit`:
    /// [`ZfsError::Transport`] when the runner says the way to the host failed, else classified from
    /// the exit and stderr by [`ZfsError::from_cli`].
    pub(super) fn failure(
        &self,
        names: &[&str],
        display: String,
        exit: Exit,
        stderr: &str,
    ) -> ZfsError {
        if self.runner.transport_failed(exit) {
            return ZfsError::Transport {
                host: self.runner.host().to_owned(),
                op: display,
                detail: format!("{exit}: {}", stderr.trim()),
            };
        }
        ZfsError::from_cli(names, self.runner.host(), display, exit.code(), stderr)
    }

    /// Runs `zfs ARGS` to completion; a failure is classified against `names`.
    pub(super) fn run(&self, args: Vec<String>, names: &[&str]) -> Result<Output, ZfsError> {
        self.run_env(args, &[], names)
    }

    /// [`Self::run`] with more environment for `zfs` (e.g. `TZ=UTC`).
    pub(super) fn run_env(
        &self,
        args: Vec<String>,
        env: &[(&str, &str)],
        names: &[&str],
    ) -> Result<Output, ZfsError> {
        let mut cmd = self.cmd(args);
        cmd.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let first = names.first().copied().unwrap_or("");
        let out = self
            .runner
            .run(&cmd)
            .map_err(|e| self.io_err(&format!("run {}", self.zfs), first, e))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(self.failure(names, cmd.display(), out.status, &out.stderr))
        }
    }

    /// A parse failure of the output of `what` as a typed error naming the command and host.
    pub(super) fn parse_err(&self, what: &str, e: ParseError) -> ZfsError {
        ZfsError::Parse {
            what: what.to_owned(),
            host: self.runner.host().to_owned(),
            line: e.line,
            detail: e.detail,
        }
    }

    /// Runs a `zfs` command about `root` and parses its UTF-8 output; a parse failure becomes
    /// [`ZfsError::Parse`] naming the command and host.
    pub(super) fn run_text<T>(
        &self,
        args: Vec<String>,
        root: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, ZfsError> {
        let what = self.display(&args);
        let out = self.run(args, &[root])?;
        let text = std::str::from_utf8(&out.stdout).map_err(|e| {
            let line = 1 + out.stdout[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            let detail = "output is not UTF-8 (a user property value?)".into();
            self.parse_err(&what, ParseError { line, detail })
        })?;
        parse(text).map_err(|e| self.parse_err(&what, e))
    }

    /// Starts `cmd` (a `zfs` command about `name`).
    pub(super) fn spawn(&self, cmd: &Cmd, name: &str) -> Result<Running, ZfsError> {
        self.runner
            .spawn(cmd)
            .map_err(|e| self.io_err(&format!("start {}", self.zfs), name, e))
    }

    /// Runs `zpool ARGS` (failures classified against the pool names); returns the command for display
    /// and stdout as text (lossy: pool and device names are ASCII in practice).
    pub(super) fn run_zpool(
        &self,
        args: Vec<String>,
        names: &[PoolName],
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
            return Err(self.failure(&candidates, display, out.status, &out.stderr));
        }
        Ok((display, String::from_utf8_lossy(&out.stdout).into_owned()))
    }
}
