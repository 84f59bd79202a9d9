//! Opening the ZFS backend through zfs-core (the only place with ZFS side effects).

use crate::args::BackendArg;
use anyhow::{Context, Result};
use zfs_core::{Backend, BackendChoice};

/// Opens the backend chosen by `--backend`/`ZSYNC_BACKEND`; returns it and why it was chosen
/// (zfs-core's explanation, e.g. why `auto` fell back to the CLI).
pub fn open(choice: BackendArg) -> Result<(Box<dyn Backend>, String)> {
    let c = match choice {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Cli => BackendChoice::Cli,
        BackendArg::Lzc => BackendChoice::Lzc,
    };
    let label = match choice {
        BackendArg::Auto => "auto",
        BackendArg::Cli => "cli",
        BackendArg::Lzc => "lzc",
    };
    zfs_core::open(c).with_context(|| format!("cannot open the ZFS backend (--backend {label})"))
}
