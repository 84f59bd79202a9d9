//! Opening the ZFS backend of each endpoint through zfs-core (the only place with ZFS side effects).

use crate::args::BackendArg;
use anyhow::{anyhow, Context, Result};
use zfs_core::{Backend, BackendChoice, Endpoint, ZfsError};

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

/// Opens the backend of `endpoint` (the local one per `--backend`, or the remote host's); returns it
/// and why it was chosen. A remote endpoint zfs-core cannot open yet fails with its reason alone.
pub fn open_endpoint(arg: BackendArg, endpoint: &Endpoint) -> Result<(Box<dyn Backend>, String)> {
    if endpoint.is_local() {
        return open(arg);
    }
    match zfs_core::open_endpoint(endpoint, choice(arg).0) {
        Ok(opened) => Ok(opened),
        Err(ZfsError::Unsupported { why, .. }) => Err(anyhow!(why)),
        Err(e) => Err(anyhow!(e).context(format!("cannot reach {endpoint}"))),
    }
}
