//! The manifest of a snapshot on another host: that host runs zsync itself (`zsync
//! verify-manifest SNAP`, a hidden subcommand printing the wire form) through the endpoint's
//! runner, with `sudo -n` when the host's `zfs` commands get it; only the manifest comes back.

use super::manifest::Manifest;
use super::VerifyError;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use zfs_core::runner::{Cmd, Io};
use zfs_core::{Runner, SnapshotName};

/// The hidden subcommand the remote zsync runs.
pub const SUBCOMMAND: &str = "verify-manifest";

/// Tells the remote zsync to stop (and destroy its temporary clone) when its stdin ends: the
/// verifying zsync holds it open until the manifest has arrived, so a verify that dies or is
/// interrupted ends the remote hashing too (the connection closing ends the remote stdin).
pub const WATCH_STDIN: &str = "--watch-stdin";

/// The argv run on the host (before the runner's quoting): `[sudo -n --] ZSYNC verify-manifest
/// --watch-stdin -- SNAP`.
pub fn remote_argv(zsync: &str, sudo: bool, snap: &SnapshotName) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    if sudo {
        argv.extend(["sudo".into(), "-n".into(), "--".into()]);
    }
    argv.extend([
        zsync.to_owned(),
        SUBCOMMAND.to_owned(),
        WATCH_STDIN.to_owned(),
        "--".to_owned(),
        snap.to_string(),
    ]);
    argv
}

/// Runs the remote zsync and parses its manifest. A host without `zsync` is
/// [`VerifyError::NoZsync`]; a manifest that does not parse is refused naming the host.
pub fn remote_manifest(
    runner: &dyn Runner,
    zsync: &str,
    sudo: bool,
    snap: &SnapshotName,
    cancel: &AtomicBool,
) -> Result<Manifest, VerifyError> {
    let host = runner.host().to_owned();
    let fail = |detail: String| VerifyError::Other {
        host: host.clone(),
        snapshot: snap.to_string(),
        detail,
    };
    if !runner.has_program(zsync) {
        return Err(VerifyError::NoZsync {
            host,
            program: zsync.to_owned(),
        });
    }
    let cmd = Cmd::new(remote_argv(zsync, sudo, snap))
        .stdin(Io::Piped)
        .stdout(Io::Piped)
        .bulk(false);
    let mut running = runner
        .spawn(&cmd)
        .map_err(|e| fail(format!("cannot run {}: {e}", cmd.display())))?;
    // Held open until the manifest is read (see WATCH_STDIN).
    let stdin = running.take_stdin();
    let out = running.take_stdout();
    let text = match out.map(|fd| read_all(fd, cancel)) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            running.kill();
            return Err(match e.kind() {
                std::io::ErrorKind::Interrupted => VerifyError::Cancelled,
                _ => fail(format!("reading the manifest: {e}")),
            });
        }
        None => Vec::new(),
    };
    drop(stdin);
    let (exit, stderr) = running
        .wait()
        .map_err(|e| fail(format!("waiting for {}: {e}", cmd.display())))?;
    let said = stderr.trim().lines().last().unwrap_or("").trim();
    let said = said.strip_prefix("zsync: ").unwrap_or(said);
    if runner.transport_failed(exit) {
        return Err(fail(format!("the connection failed ({exit}): {said}")));
    }
    if exit.code() == Some(127) {
        return Err(VerifyError::NoZsync {
            host,
            program: zsync.to_owned(),
        });
    }
    if !exit.success() {
        return Err(VerifyError::Remote {
            host,
            detail: match (said.is_empty(), sudo && said.starts_with("sudo")) {
                (true, _) => format!("{} failed ({exit})", cmd.display()),
                (false, true) => format!(
                    "{said} (verify runs `sudo -n {zsync} {SUBCOMMAND} ...` there: allow it \
                     without a password as for zfs, or log in as root)"
                ),
                (false, false) => said.to_owned(),
            },
        });
    }
    Manifest::from_wire(&text).map_err(|e| fail(format!("the remote zsync's {e}")))
}

/// Reads `fd` to its end, checking `cancel` every 200 ms (`Interrupted` when set).
fn read_all(fd: OwnedFd, cancel: &AtomicBool) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::from(fd);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::from(std::io::ErrorKind::Interrupted));
        }
        let mut p = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut p, 1, 200) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            continue;
        }
        match f.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::runner::remote_command_line;

    #[test]
    fn the_remote_argv_is_elevated_like_zfs() {
        let snap = SnapshotName::parse("tank/my vm@s 1").unwrap();
        assert_eq!(
            remote_argv("/opt/zsync", true, &snap),
            [
                "sudo",
                "-n",
                "--",
                "/opt/zsync",
                "verify-manifest",
                "--watch-stdin",
                "--",
                "tank/my vm@s 1"
            ]
        );
        let line = remote_command_line(&Cmd::new(remote_argv("zsync", false, &snap)));
        assert!(line.contains("'tank/my vm@s 1'"), "{line}");
    }
}
