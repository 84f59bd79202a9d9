//! `zsync verify`: proves two snapshots hold the same data without moving the data between hosts.
//! Each side hashes its snapshot in chunks ([`hash`]) through a readable view of it ([`source`]:
//! the `.zfs/snapshot` directory, or a temporary read-only clone destroyed afterwards), on its own
//! host ([`remote`]: a remote host runs zsync itself); only the [`manifest`]s cross, and
//! [`compare`] names the first difference.
//!
//! ```no_run
//! use std::sync::Arc;
//! use zsync_ops::verify::{verify, Side, VerifyOptions};
//! use zfs_core::SnapshotName;
//!
//! let backend = zfs_core::open(zfs_core::BackendChoice::Auto)?.0;
//! let src = SnapshotName::parse("tank/vm@daily")?;
//! let dst = SnapshotName::parse("backup/vm@daily")?;
//! let verdict = verify(
//!     &Side::Local { backend: backend.as_ref(), snapshot: src },
//!     &Side::Local { backend: backend.as_ref(), snapshot: dst },
//!     &VerifyOptions::default(),
//! )?;
//! match &verdict.difference {
//!     None => println!("equal ({} bytes)", verdict.source.bytes),
//!     Some(d) => println!("different: {d}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compare;
pub mod hash;
pub mod manifest;
pub mod remote;
pub mod source;

pub use compare::{first_difference, Difference};
pub use manifest::{Content, Entry, EntryKind, Manifest, WireError, CHUNK};

use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zfs_core::{Backend, Runner, SnapshotName, ZfsError};

/// One side of a verification: where its snapshot is and how to hash it there.
pub enum Side<'a> {
    /// On this machine: hashed in this process through `backend`.
    Local {
        /// This machine's backend (clones and destroys the temporary clone, if one is needed).
        backend: &'a dyn Backend,
        /// The snapshot.
        snapshot: SnapshotName,
    },
    /// On another host: hashed there by zsync (`ZSYNC verify-manifest SNAP`) run through `runner`.
    Remote {
        /// The host's runner (zfs-ssh's connection).
        runner: Arc<dyn Runner>,
        /// The zsync program on the host (`zsync`, or a path).
        zsync: String,
        /// Run it through `sudo -n` (as the host's `zfs` commands are).
        sudo: bool,
        /// The snapshot.
        snapshot: SnapshotName,
    },
}

impl Side<'_> {
    /// The host label.
    pub fn host(&self) -> String {
        match self {
            Side::Local { backend, .. } => backend.host().to_owned(),
            Side::Remote { runner, .. } => runner.host().to_owned(),
        }
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &SnapshotName {
        match self {
            Side::Local { snapshot, .. } | Side::Remote { snapshot, .. } => snapshot,
        }
    }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Hashing threads per side (files, or a volume's chunks).
    pub threads: usize,
    /// How long to wait for a temporary volume clone's device.
    pub device_wait: Duration,
    /// Set (e.g. from a SIGINT handler) to stop hashing; temporary clones are still destroyed.
    pub cancel: Arc<AtomicBool>,
}

impl Default for VerifyOptions {
    /// Up to 4 threads (fewer on a smaller machine), 30 s for a device, not cancelled.
    fn default() -> Self {
        VerifyOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            device_wait: Duration::from_secs(30),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What one side hashed.
#[derive(Debug, Clone, Serialize)]
pub struct SideSummary {
    /// The host label.
    pub host: String,
    /// The snapshot.
    pub snapshot: String,
    /// Filesystem or volume.
    pub content: Content,
    /// Entries in its manifest.
    pub entries: usize,
    /// Content bytes hashed.
    pub bytes: u64,
    /// Seconds spent (making it readable, hashing, and for a remote side the transfer).
    pub seconds: f64,
}

/// The outcome of a verification that ran.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Whether both hold the same data.
    pub equal: bool,
    /// The chunk size hashed.
    pub chunk: u64,
    /// The source side.
    pub source: SideSummary,
    /// The target side.
    pub target: SideSummary,
    /// The first difference (`None` when equal).
    pub difference: Option<Difference>,
}

/// Why a verification could not run (exit 2): each names the host and, where known, the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The snapshot does not exist.
    #[error("{host}: snapshot {snapshot} does not exist")]
    NoSnapshot {
        /// The host label.
        host: String,
        /// The snapshot.
        snapshot: String,
    },
    /// A ZFS call failed.
    #[error("{host}: {snapshot}: {source}")]
    Zfs {
        /// The host label.
        host: String,
        /// The snapshot.
        snapshot: String,
        /// What ZFS said.
        source: Box<ZfsError>,
    },
    /// Reading the data failed.
    #[error("{host}: {snapshot}: {source}")]
    Read {
        /// The host label.
        host: String,
        /// The snapshot.
        snapshot: String,
        /// What failed.
        source: hash::HashError,
    },
    /// The host has no zsync to hash there.
    #[error(
        "{host}: verify needs zsync on that host: {program:?} was not found there (install it, or \
         name it with --remote-zsync PATH)"
    )]
    NoZsync {
        /// The host label.
        host: String,
        /// The program looked for.
        program: String,
    },
    /// The remote zsync failed; its own one-line message.
    #[error("{host}: {detail}")]
    Remote {
        /// The host label.
        host: String,
        /// What it said.
        detail: String,
    },
    /// The temporary clone could not be destroyed (it is left behind, named).
    #[error("{host}: the temporary clone {dataset} could not be destroyed: {source}")]
    Cleanup {
        /// The host label.
        host: String,
        /// The clone left behind.
        dataset: String,
        /// What ZFS said.
        source: Box<ZfsError>,
    },
    /// Interrupted (the cancel flag was set).
    #[error("interrupted")]
    Cancelled,
    /// Anything else, said in words.
    #[error("{host}: {snapshot}: {detail}")]
    Other {
        /// The host label.
        host: String,
        /// The snapshot.
        snapshot: String,
        /// What is wrong.
        detail: String,
    },
}

/// The manifest of `snap` on this machine: made readable ([`source::open_view`]), hashed in
/// [`CHUNK`]-byte chunks, the temporary clone (if any) destroyed before returning, also on error.
/// What `zsync verify-manifest` prints, and a local side's half of [`verify`].
pub fn manifest_of(
    backend: &dyn Backend,
    snap: &SnapshotName,
    opts: &VerifyOptions,
) -> Result<Manifest, VerifyError> {
    let view = source::open_view(backend, snap, opts.device_wait)?;
    let hashed = match &view.readable {
        source::Readable::Tree(dir) => hash::hash_tree(dir, CHUNK, opts.threads, &opts.cancel),
        source::Readable::Device(dev) => hash::hash_device(dev, CHUNK, opts.threads, &opts.cancel),
    };
    // A clone left behind matters more than why hashing stopped: it is named.
    view.close()?;
    hashed.map_err(|e| match e {
        hash::HashError::Cancelled => VerifyError::Cancelled,
        e => VerifyError::Read {
            host: backend.host().to_owned(),
            snapshot: snap.to_string(),
            source: e,
        },
    })
}

/// The manifest of one side, on its host.
pub fn side_manifest(side: &Side<'_>, opts: &VerifyOptions) -> Result<Manifest, VerifyError> {
    match side {
        Side::Local { backend, snapshot } => manifest_of(*backend, snapshot, opts),
        Side::Remote {
            runner,
            zsync,
            sudo,
            snapshot,
        } => remote::remote_manifest(runner.as_ref(), zsync, *sudo, snapshot, &opts.cancel),
    }
}

/// Hashes both sides at once (one thread each) and compares: `Ok` with the verdict when both
/// manifests were made, else the first side's error (the source's when both failed). When one side
/// fails, the other is cancelled.
pub fn verify(
    source: &Side<'_>,
    target: &Side<'_>,
    opts: &VerifyOptions,
) -> Result<Verdict, VerifyError> {
    // One flag per run, set by the caller's flag or by a side that failed.
    let run = VerifyOptions {
        cancel: Arc::new(AtomicBool::new(false)),
        ..opts.clone()
    };
    let timed = |side: &Side<'_>| {
        let t = Instant::now();
        let r = side_manifest(side, &run);
        if r.is_err() {
            run.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        (r, t.elapsed().as_secs_f64())
    };
    let watch_done = AtomicBool::new(false);
    let ((a, ta), (b, tb)) = std::thread::scope(|s| {
        // Forward the caller's flag to this run's.
        let watcher = s.spawn(|| {
            use std::sync::atomic::Ordering::Relaxed;
            while !watch_done.load(Relaxed) {
                if opts.cancel.load(Relaxed) {
                    run.cancel.store(true, Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let ha = s.spawn(|| timed(source));
        let b = timed(target);
        let a = ha.join().unwrap_or_else(|_| {
            (
                Err(VerifyError::Other {
                    host: source.host(),
                    snapshot: source.snapshot().to_string(),
                    detail: "hashing panicked".into(),
                }),
                0.0,
            )
        });
        watch_done.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = watcher.join();
        (a, b)
    });
    // A side cancelled because the other failed reports the other's error.
    let (a, b) = match (a, b) {
        (Err(VerifyError::Cancelled), Err(e)) if !opts_cancelled(opts) => {
            (Err(e), Err(VerifyError::Cancelled))
        }
        other => other,
    };
    let a = a?;
    let b = b?;
    let summary = |side: &Side<'_>, m: &Manifest, seconds: f64| SideSummary {
        host: side.host(),
        snapshot: side.snapshot().to_string(),
        content: m.content,
        entries: m.entries.len(),
        bytes: m.bytes(),
        seconds,
    };
    let difference = first_difference(&a, &b);
    Ok(Verdict {
        equal: difference.is_none(),
        chunk: a.chunk,
        source: summary(source, &a, ta),
        target: summary(target, &b, tb),
        difference,
    })
}

fn opts_cancelled(opts: &VerifyOptions) -> bool {
    opts.cancel.load(std::sync::atomic::Ordering::Relaxed)
}
