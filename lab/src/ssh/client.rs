//! Client files for several backup hosts at once (one `ssh_config` and one `known_hosts`), for a
//! run that reaches two hosts, e.g. a remote→remote relay with `--sshconfig`.

use std::fs;
use std::path::{Path, PathBuf};

use super::slot::io;
use super::BackupHost;
use crate::LabError;

/// An `ssh_config` with every host's `Host` entry and a `known_hosts` with every host's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    /// The `ssh_config` file (`ssh -F`, `--sshconfig`).
    pub config: PathBuf,
    /// The `known_hosts` file.
    pub known_hosts: PathBuf,
}

/// Writes `dir/ssh_config` and `dir/known_hosts` for `hosts` (their names must differ). Each entry
/// keeps its own host's key and `known_hosts` file; the combined `known_hosts` is for clients
/// that take one file.
pub fn client_files(hosts: &[&BackupHost], dir: &Path) -> Result<ClientFiles, LabError> {
    for (i, a) in hosts.iter().enumerate() {
        if hosts[..i].iter().any(|b| b.name() == a.name()) {
            return Err(LabError::Invalid(format!(
                "two backup hosts are named {:?}: their ssh_config aliases would clash",
                a.name()
            )));
        }
    }
    fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let config = dir.join("ssh_config");
    let known_hosts = dir.join("known_hosts");
    let entries: Vec<&str> = hosts.iter().map(|h| h.ssh_config_entry()).collect();
    fs::write(&config, entries.join("\n")).map_err(io("cannot write", &config))?;
    let lines: String = hosts
        .iter()
        .map(|h| format!("{}\n", h.known_hosts_line()))
        .collect();
    fs::write(&known_hosts, lines).map_err(io("cannot write", &known_hosts))?;
    Ok(ClientFiles {
        config,
        known_hosts,
    })
}
