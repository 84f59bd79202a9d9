//! `zsync verify`: the resolved args ([`crate::args::verify`]) become two sides of zsync-ops'
//! [`verify`] — a local snapshot hashed in this process, a remote one by
//! zsync on its host through the endpoint's runner — and the verdict is printed (a line, or one
//! JSON object). Exit 0 equal, 1 different, 2 error (one line naming the host and snapshot).
//!
//! Also the hidden `zsync verify-manifest SNAP` a remote host runs: the manifest on stdout.
//! SIGINT, SIGTERM and SIGHUP stop the hashing; temporary clones are destroyed before exiting.

use crate::args::verify::{resolve, ResolvedVerify, VerifyArgs, VerifyManifestArgs};
use crate::args::BackendArg;
use crate::backend;
use crate::exit::{Fail, EXIT_OK, EXIT_PARTIAL};
use std::sync::atomic::Ordering;
use zsync_ops::verify::{manifest_of, verify, Side, Verdict, VerifyOptions};

/// Verify options with a cancel flag that SIGINT, SIGTERM and SIGHUP set.
pub(crate) fn options(threads: Option<usize>, device_wait: std::time::Duration) -> VerifyOptions {
    let mut opts = VerifyOptions {
        device_wait,
        cancel: crate::signals::flag(),
        ..VerifyOptions::default()
    };
    if let Some(n) = threads {
        opts.threads = n;
    }
    opts
}

/// One side of a verify: hashed in this process when `local`, else by zsync on the host.
pub(crate) fn side<'o>(
    opened: &'o backend::Opened,
    snapshot: zfs_core::SnapshotName,
    local: bool,
    zsync: &str,
) -> Side<'o> {
    if local {
        Side::Local {
            backend: opened.backend.as_ref(),
            snapshot,
        }
    } else {
        Side::Remote {
            runner: opened.runner.clone(),
            zsync: zsync.to_owned(),
            sudo: opened.elevated,
            snapshot,
        }
    }
}

/// Runs `zsync verify`; returns the exit code.
pub fn run(choice: BackendArg, args: &VerifyArgs) -> Result<u8, Fail> {
    let ResolvedVerify {
        source,
        target,
        threads,
        device_wait,
    } = resolve(args)?;
    let warn = |m: &str| {
        if !args.quiet {
            crate::logging::warn(m);
        }
    };
    let remote = !source.0.is_local() || !target.0.is_local();
    let ssh = if remote {
        args.ssh.options()?
    } else {
        if args.ssh.given() {
            warn("SSH flags ignored: both snapshots are local");
        }
        zfs_ssh::SshOptions::default()
    };
    let a = backend::open_endpoint(choice, &source.0, &ssh)?;
    let b = backend::open_endpoint(choice, &target.0, &ssh)?;
    for n in a.notes.iter().chain(&b.notes) {
        warn(n);
    }
    let src = side(&a, source.1, source.0.is_local(), &args.hash.remote_zsync);
    let dst = side(&b, target.1, target.0.is_local(), &args.hash.remote_zsync);
    let verdict = verify(&src, &dst, &options(threads, device_wait))
        .map_err(|e| Fail::failure(format!("verify: {e}")))?;
    if args.json {
        let text = serde_json::to_string(&verdict)
            .map_err(|e| Fail::failure(format!("verify: JSON: {e}")))?;
        outln!("{text}");
    } else {
        outln!("{}", human(&verdict));
    }
    Ok(if verdict.equal { EXIT_OK } else { EXIT_PARTIAL })
}

/// One line for people.
pub fn human(v: &Verdict) -> String {
    let pair = format!(
        "{} on {} and {} on {}",
        v.source.snapshot, v.source.host, v.target.snapshot, v.target.host
    );
    match &v.difference {
        None => format!(
            "equal: {pair} hold the same data ({} entries, {} bytes, hashed in {}-byte chunks)",
            v.source.entries, v.source.bytes, v.chunk
        ),
        Some(d) => format!("different: {pair}: first difference: {d}"),
    }
}

/// Runs the hidden `zsync verify-manifest SNAP`: the manifest's wire form on stdout.
pub fn manifest(choice: BackendArg, args: &VerifyManifestArgs) -> Result<u8, Fail> {
    // Errors are read by the verifying zsync, which names this host itself.
    let fail = |m: String| {
        let m = m
            .strip_prefix("localhost: ")
            .map(str::to_owned)
            .unwrap_or(m);
        Fail::failure(m)
    };
    let snap = zfs_core::SnapshotName::parse(&args.snapshot)
        .map_err(|e| fail(format!("invalid snapshot {:?}: {}", args.snapshot, e.rule)))?;
    let (be, _) = backend::open(choice).map_err(|e| fail(format!("{e:#}")))?;
    let opts = options(args.threads, std::time::Duration::from_secs(30));
    if args.watch_stdin {
        let cancel = opts.cancel.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            cancel.store(true, Ordering::SeqCst);
        });
    }
    let m = manifest_of(be.as_ref(), &snap, &opts).map_err(|e| fail(e.to_string()))?;
    out!("{}", m.to_wire());
    Ok(EXIT_OK)
}
