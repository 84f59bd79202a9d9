//! Opening the ZFS backend of each endpoint: the local one through zfs-core (the only place with
//! ZFS side effects), a remote one as zfs-core's CLI backend over a zfs-ssh connection.

use crate::args::BackendArg;
use anyhow::{Context, Result};
use std::sync::Arc;
use zfs_core::{Backend, BackendChoice, Cli, Endpoint};
use zfs_ssh::SshOptions;

fn choice(arg: BackendArg) -> (BackendChoice, &'static str) {
    match arg {
        BackendArg::Auto => (BackendChoice::Auto, "auto"),
        BackendArg::Cli => (BackendChoice::Cli, "cli"),
        BackendArg::Lzc => (BackendChoice::Lzc, "lzc"),
    }
}

/// Opens the local backend chosen by `--backend`/`ZSYNC_BACKEND`; returns it and why it was chosen
/// (zfs-core's explanation, e.g. why `auto` fell back to the CLI).
pub fn open(arg: BackendArg) -> Result<(Box<dyn Backend>, String)> {
    let (c, label) = choice(arg);
    zfs_core::open(c).with_context(|| format!("cannot open the ZFS backend (--backend {label})"))
}

/// An opened endpoint: its backend, why that one, and notices for the user (a host key recorded,
/// a data path chosen).
pub struct Opened {
    /// The backend (for a remote host: the `zfs` CLI over its SSH connection).
    pub backend: Box<dyn Backend>,
    /// Why this backend (for `--debug`).
    pub why: String,
    /// Notices worth a warning line.
    pub notes: Vec<String>,
    /// What runs commands on the endpoint's host (for side effects that are no ZFS call, such as
    /// waiting for a volume's device): this machine, or the SSH connection the backend uses.
    pub runner: Arc<dyn zfs_core::Runner>,
    /// Whether the host's `zfs` commands run through `sudo -n` (a non-root login with privilege
    /// elevation on): other programs that need the same rights (the remote zsync of `verify`) too.
    pub elevated: bool,
}

/// Opens the backend of `endpoint`: the local one per `--backend`, or for `[user@]host:` one SSH
/// connection (host key checked, authenticated, `zfs` found) and the `zfs` CLI through it. A
/// failure is one line naming the host. `--backend lzc` applies to the local end only.
pub fn open_endpoint(arg: BackendArg, endpoint: &Endpoint, ssh: &SshOptions) -> Result<Opened> {
    let Some(remote) = &endpoint.remote else {
        let (backend, why) = open(arg)?;
        return Ok(Opened {
            backend,
            why,
            notes: Vec::new(),
            runner: Arc::new(zfs_core::LocalRunner),
            elevated: false,
        });
    };
    let conn = zfs_ssh::connect(remote, ssh)?;
    let why = format!(
        "cli over ssh to {} (streams: {:?}{})",
        conn.target().label,
        conn.data_path(),
        if conn.elevated() { ", sudo -n" } else { "" }
    );
    let notes = conn.notes().to_vec();
    let elevated = conn.elevated();
    // The backend's runner keeps the session alive; it ends with the last runner.
    let runner: Arc<dyn zfs_core::Runner> = conn.runner();
    Ok(Opened {
        backend: Box::new(Cli::new(runner.clone())),
        why,
        notes,
        runner,
        elevated,
    })
}
