//! Runs one command with a [`BackupHost`] up: for scripts (benches) in the lab VM that need "a
//! second host over SSH" and are easier to write in bash than as a lab test.
//!
//! The host is started with the defaults (its own network namespace, port 22, root and the
//! backup user log in with a generated key) and described to the command in the environment:
//!
//! | variable | value |
//! |---|---|
//! | `BACKUP_HOST` | the host's address (`10.251.x.y`) |
//! | `BACKUP_PORT` | its sshd port |
//! | `BACKUP_SSHKEY` | the client private key root and the backup user accept |
//! | `BACKUP_KNOWN_HOSTS` | a `known_hosts` file holding the host's key |
//! | `BACKUP_SSH_CONFIG` | an `ssh_config` with a `Host` entry named `BACKUP_NAME` |
//! | `BACKUP_NAME` | that alias |
//! | `BACKUP_USER` | the non-root user |
//!
//! The host (sshd, its sessions, the namespace) is torn down when the command exits; the exit
//! status is the command's.
//!
//! ```text
//! cargo build --release -p zsync-lab --example with_backup_host
//! cargo xtask lab run -- $PWD/target/release/examples/with_backup_host bash -c 'ssh ...'
//! ```

use std::process::{Command, ExitCode};

use zsync_lab::ssh::{BackupHost, BACKUP_USER};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, args)) = argv.split_first() else {
        eprintln!("usage: with_backup_host COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let host = match BackupHost::start("backup") {
        Ok(h) => h,
        Err(e) => {
            eprintln!("with_backup_host: cannot start the backup host: {e}");
            return ExitCode::from(2);
        }
    };
    let status = Command::new(program)
        .args(args)
        .env("BACKUP_HOST", host.address().to_string())
        .env("BACKUP_PORT", host.port().to_string())
        .env("BACKUP_SSHKEY", host.client_key())
        .env("BACKUP_KNOWN_HOSTS", host.known_hosts())
        .env("BACKUP_SSH_CONFIG", host.ssh_config_path())
        .env("BACKUP_NAME", host.name())
        .env("BACKUP_USER", BACKUP_USER)
        .status();
    drop(host);
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("with_backup_host: {program} {s}");
            ExitCode::from(s.code().map_or(1, |c| c.clamp(1, 255) as u8))
        }
        Err(e) => {
            eprintln!("with_backup_host: cannot run {program}: {e}");
            ExitCode::from(2)
        }
    }
}
