//! `zsync plan` / `zsync sync` / syncoid mode.

use crate::app::Fail;
use crate::args::{BackendArg, SyncArgs};

/// Runs a plan (`plan_only`) or a sync; `syncoid_mode` selects syncoid's naming and defaults.
pub fn run(
    _choice: BackendArg,
    args: &SyncArgs,
    _plan_only: bool,
    _syncoid_mode: bool,
) -> Result<u8, Fail> {
    for ep in [&args.source, &args.target] {
        check_local(ep)?;
    }
    Err(Fail::failure("replication is not available yet"))
}

/// Rejects remote endpoints (`[user@]host:pool/ds`): remote replication is a later issue.
pub fn check_local(endpoint: &str) -> Result<(), Fail> {
    let first = endpoint.split('/').next().unwrap_or("");
    if first.contains(':') {
        return Err(Fail::failure(format!(
            "remote endpoint '{endpoint}' is not supported yet: zsync replicates local datasets only \
             (remote replication is planned)"
        )));
    }
    Ok(())
}
