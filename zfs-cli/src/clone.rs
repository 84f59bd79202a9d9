//! `zsync clone`: the resolved args ([`crate::args::clone`]) go to zsync-ops'
//! [`zsync_ops::clone::clone_snapshot`] over the snapshot host's backend, and a
//! volume's device is waited for through that host's runner (zfs-core's
//! [`wait_for_device`](zfs_core::zvol::wait_for_device)).
//!
//! Prints the new dataset, then for a volume its device path, one per line (or one JSON object).
//! Exit 0; 1 when a volume's device did not appear in time; 2 when refused or failed (nothing
//! created, unless the message says it was).

use crate::args::clone::{resolve, CloneArgs, ResolvedClone};
use crate::args::BackendArg;
use crate::backend;
use crate::exit::{Fail, EXIT_OK, EXIT_PARTIAL};
use zsync_ops::clone::clone_snapshot;

/// Runs `zsync clone`; returns the exit code.
pub fn run(choice: BackendArg, args: &CloneArgs) -> Result<u8, Fail> {
    let ResolvedClone {
        endpoint,
        request,
        device_wait,
    } = resolve(args)?;
    let warn = |m: &str| {
        if !args.quiet {
            crate::logging::warn(m);
        }
    };
    let ssh = if endpoint.is_local() {
        if args.ssh.given() {
            warn("SSH flags ignored: the snapshot is local");
        }
        zfs_ssh::SshOptions::default()
    } else {
        args.ssh.options()?
    };
    let opened = backend::open_endpoint(choice, &endpoint, &ssh)?;
    for n in &opened.notes {
        warn(n);
    }
    let runner = opened.runner.clone();
    let cloned = clone_snapshot(opened.backend.as_ref(), &request, |vol| {
        zfs_core::zvol::wait_for_device(runner.as_ref(), vol, device_wait)
            .map(|d| d.map(|d| d.link))
    })
    .map_err(|e| Fail::failure(format!("clone: {e}")))?;
    if args.json {
        let text = serde_json::to_string(&cloned)
            .map_err(|e| Fail::failure(format!("clone: JSON: {e}")))?;
        outln!("{text}");
    } else {
        outln!("{}", cloned.dataset);
        if let Some(dev) = &cloned.device {
            outln!("{dev}");
        }
    }
    if cloned.device_missing() {
        errln!(
            "zsync: clone: {}: the device {} of {} did not appear within {} s (is udev running? \
             volmode=none?)",
            cloned.host,
            zfs_core::zvol::device_link(&request.new),
            cloned.dataset,
            device_wait.as_secs_f64()
        );
        return Ok(EXIT_PARTIAL);
    }
    Ok(EXIT_OK)
}
