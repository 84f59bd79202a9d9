//! Installing the lab's SSH packages without leaving an sshd running or enabled on the HOST.
//!
//! The lab VM runs private sshd instances (`zsync_lab::ssh`) from the host's `/usr/sbin/sshd`, so
//! `openssh-server` must be installed on the host. Installing it normally starts and enables the
//! host's own `ssh` service; lab setup must not open the machine to logins. When (and only when)
//! lab setup itself installs `openssh-server`:
//!
//! 1. before the install it creates `/etc/ssh/sshd_not_to_be_run`, Debian's own switch that both
//!    `ssh.service`/`ssh.socket` (`ConditionPathExists=!…`) and `/etc/init.d/ssh` honour, so the
//!    package's postinst start is a no-op whatever `policy-rc.d` says, and no later boot starts it;
//! 2. after the install it disables the service: `systemctl disable --now ssh.service ssh.socket`
//!    when systemd runs, else `deb-systemd-helper disable ssh.service` and `update-rc.d ssh disable`.
//!
//! An `openssh-server` that was installed before is left exactly as its admin set it up.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// Debian's switch that keeps the packaged sshd from being started by the service manager.
pub const NOT_TO_BE_RUN: &str = "/etc/ssh/sshd_not_to_be_run";

/// The marker's text (says who wrote it and how to undo it).
const NOT_TO_BE_RUN_TEXT: &str = "\
Written by `cargo xtask lab setup` (zsync) when it installed openssh-server for the lab VM:
the host's own sshd stays off. Remove this file and `systemctl enable --now ssh` to use it.
";

/// Before installing `openssh-server`: write the marker so the install starts nothing.
pub fn before_install() -> Result<()> {
    fs::create_dir_all("/etc/ssh").context("cannot create /etc/ssh")?;
    if !Path::new(NOT_TO_BE_RUN).exists() {
        fs::write(NOT_TO_BE_RUN, NOT_TO_BE_RUN_TEXT)
            .with_context(|| format!("cannot write {NOT_TO_BE_RUN}"))?;
    }
    Ok(())
}

/// After installing `openssh-server`: disable the host's `ssh` service (and stop it, under
/// systemd). Returns what it did, for the setup summary.
pub fn after_install() -> Result<String> {
    let commands = disable_commands(Path::new("/run/systemd/system").is_dir());
    let mut done = Vec::new();
    for argv in &commands {
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]);
        util::run(&mut cmd)?;
        done.push(util::display(&cmd));
    }
    Ok(format!(
        "kept the host's sshd off ({NOT_TO_BE_RUN}; {})",
        done.join("; ")
    ))
}

/// The commands that leave the `ssh` service disabled (and stopped), with or without systemd.
fn disable_commands(systemd_running: bool) -> Vec<Vec<&'static str>> {
    if systemd_running {
        vec![vec![
            "systemctl",
            "disable",
            "--now",
            "ssh.service",
            "ssh.socket",
        ]]
    } else {
        vec![
            vec!["deb-systemd-helper", "disable", "ssh.service"],
            vec!["update-rc.d", "ssh", "disable"],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disables_through_systemd_when_it_runs() {
        assert_eq!(
            disable_commands(true),
            [["systemctl", "disable", "--now", "ssh.service", "ssh.socket"]]
        );
        let offline = disable_commands(false);
        assert_eq!(offline[0], ["deb-systemd-helper", "disable", "ssh.service"]);
        assert_eq!(offline[1], ["update-rc.d", "ssh", "disable"]);
    }
}
