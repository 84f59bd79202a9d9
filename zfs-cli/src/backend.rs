//! Opening the ZFS backend through zfs-core (the only place with ZFS side effects).

use crate::args::BackendArg;
use anyhow::{bail, Result};
use zfs_core::Backend;

/// Opens the backend chosen by `--backend`/`ZSYNC_BACKEND`; returns it and why it was chosen.
pub fn open(choice: BackendArg) -> Result<(Box<dyn Backend>, String)> {
    let _ = choice;
    bail!("zfs-core has no backend constructor yet (zfs_core::open is pending)")
}
