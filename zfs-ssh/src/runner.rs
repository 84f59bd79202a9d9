//! [`SshRunner`]: zfs-core's `Runner` over one host's SSH connection. Each command becomes one
//! string only through zfs-core's `remote_command_line` (after `zfs`/`zpool` stages got their path
//! and, for a non-root user, `sudo -n`); bulk commands (`Cmd::bulk`: `zfs send`, `zfs receive`) go
//! over the OpenSSH data path when there is one, everything else over the ssh2 session.

use crate::openssh::OpenSsh;
use crate::session::Ssh2Session;
use crate::sudo::Elevation;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use zfs_core::runner::{remote_command_line, Cmd, Exit, Running};
use zfs_core::Runner;

/// This runner without its memory: `Runner::has_program`'s default asks the host.
#[derive(Debug)]
struct Uncached<'a>(&'a SshRunner);

impl Runner for Uncached<'_> {
    fn host(&self) -> &str {
        self.0.host()
    }
    fn spawn(&self, cmd: &Cmd) -> io::Result<Running> {
        self.0.spawn(cmd)
    }
}

/// Which transport carries the send streams of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPath {
    /// Channels on the ssh2 session.
    Ssh2,
    /// The system `ssh` client on a multiplexed master connection.
    OpenSsh,
}

/// Runs commands on one remote host. Made by [`crate::connect`]; share it as `Arc<dyn Runner>`
/// ([`crate::Connection::runner`]).
#[derive(Debug)]
pub struct SshRunner {
    label: String,
    session: Arc<Ssh2Session>,
    openssh: Option<Arc<OpenSsh>>,
    elevation: Mutex<Elevation>,
    programs: Mutex<HashMap<String, bool>>,
}

impl SshRunner {
    pub(crate) fn new(
        label: String,
        session: Arc<Ssh2Session>,
        openssh: Option<Arc<OpenSsh>>,
    ) -> SshRunner {
        SshRunner {
            label,
            session,
            openssh,
            elevation: Mutex::new(Elevation::default()),
            programs: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn set_elevation(&self, e: Elevation) {
        *self.elevation.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }

    fn elevation(&self) -> Elevation {
        self.elevation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether `zfs`/`zpool` run through `sudo -n`.
    pub fn elevated(&self) -> bool {
        self.elevation().sudo
    }

    /// The transport of send streams.
    pub fn data_path(&self) -> DataPath {
        if self.openssh.is_some() {
            DataPath::OpenSsh
        } else {
            DataPath::Ssh2
        }
    }

    /// The exact remote command line `cmd` becomes (with the path of `zfs`/`zpool` and `sudo -n`
    /// when elevating); for logs and tests.
    pub fn command_line(&self, cmd: &Cmd) -> String {
        remote_command_line(&self.elevation().apply(cmd))
    }

    /// The OpenSSH master's process id, once it runs (for logs and CPU accounting).
    pub fn openssh_master_pid(&self) -> Option<u32> {
        self.openssh.as_ref().and_then(|o| o.master_pid())
    }

    /// Ends the ssh2 session and the OpenSSH master; later commands fail at once.
    pub(crate) fn close(&self) {
        self.session.shutdown();
        if let Some(o) = &self.openssh {
            o.close();
        }
    }
}

impl Runner for SshRunner {
    /// `[user@]host[:port]` as written in the endpoint.
    fn host(&self) -> &str {
        &self.label
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Running> {
        if cmd.stages().any(|(argv, _)| argv.is_empty()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
        }
        let line = self.command_line(cmd);
        if cmd.bulk {
            if let Some(o) = &self.openssh {
                let mut running = o.spawn(&line, cmd.stdin, cmd.stdout)?;
                running.display = cmd.display();
                return Ok(running);
            }
        }
        let process = self.session.exec(line, cmd.stdin, cmd.stdout)?;
        Ok(Running::new(Box::new(process), cmd.display()))
    }

    fn is_remote(&self) -> bool {
        true
    }

    /// `command -v PROGRAM` on the host (as the login user), remembered per program; `zfs` and
    /// `zpool` are known from connecting.
    fn has_program(&self, program: &str) -> bool {
        let e = self.elevation();
        if (program == "zfs" && e.zfs.is_some()) || (program == "zpool" && e.zpool.is_some()) {
            return true;
        }
        if let Some(&known) = self
            .programs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(program)
        {
            return known;
        }
        // zfs-core's own probe (`command -v`), through this runner; only a command that ran
        // gives an answer worth remembering (a lost connection is no answer).
        if self.session.lost().is_some() {
            return false;
        }
        let found = Uncached(self).has_program(program);
        if self.session.lost().is_none() {
            self.programs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(program.to_owned(), found);
        }
        found
    }

    /// Status 255 from the OpenSSH client is its own failure (connection refused or lost). Over the
    /// ssh2 session a lost connection is an I/O error instead, so no exit status is ambiguous there
    /// (`zfs` and `zpool` never exit with 255).
    fn transport_failed(&self, exit: Exit) -> bool {
        self.openssh.is_some() && exit == Exit::Code(255)
    }
}
