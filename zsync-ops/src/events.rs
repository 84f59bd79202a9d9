//! What a run tells its caller while it goes, instead of printing: the facts (a snapshot created
//! or destroyed, a ZFS operation failed, a hook started or finished) and leveled messages
//! (decisions, internals, warnings), in the order they happen. Every method has a no-op default,
//! so a caller implements only what it shows; [`NoEvents`] ignores everything.

use crate::hooks::HookKind;
use crate::report::{Failure, HookReport};

/// How much a [`Events::message`] matters; the caller decides what to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Internals: listing and batch sizes, pool capacities.
    Debug,
    /// A decision: what is due, what is kept, why a dataset is not pruned.
    Info,
    /// A problem the run works around or reports: a missing dataset, a batch retried one by one.
    Warn,
}

/// A phase of a snapshot/prune run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Taking the due snapshots.
    Take,
    /// Pruning expired snapshots.
    Prune,
}

/// Receives a snapshot/prune run's events. The same facts also end up in the run's
/// [`Report`](crate::Report); events give them as they happen.
pub trait Events {
    /// A phase starts (sanoid's `INFO: taking snapshots...` / `INFO: pruning snapshots...`).
    fn phase_started(&mut self, phase: Phase) {
        let _ = phase;
    }

    /// A snapshot was taken (`dry_run`: would be). `recursive`: with its descendants
    /// (`recursive = zfs`).
    fn snapshot_created(&mut self, snapshot: &str, recursive: bool, dry_run: bool) {
        let _ = (snapshot, recursive, dry_run);
    }

    /// A snapshot was destroyed (`dry_run`: would be); `reason` is why retention let it go.
    fn snapshot_destroyed(&mut self, snapshot: &str, reason: &str, dry_run: bool) {
        let _ = (snapshot, reason, dry_run);
    }

    /// Listing a configured root, taking or destroying a snapshot failed (the failure is in the
    /// report too).
    fn operation_failed(&mut self, failure: &Failure) {
        let _ = failure;
    }

    /// A hook script is about to run for `targets`.
    fn hook_started(&mut self, kind: HookKind, targets: &[String]) {
        let _ = (kind, targets);
    }

    /// A hook script ended (`hook.ok` says whether it succeeded).
    fn hook_finished(&mut self, hook: &HookReport) {
        let _ = hook;
    }

    /// Anything else worth telling, at its level.
    fn message(&mut self, level: Level, text: &str) {
        let _ = (level, text);
    }
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {}
