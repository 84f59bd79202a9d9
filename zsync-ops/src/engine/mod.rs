//! The snapshot/prune engine (`zsync snapshot` / `prune` / `cron`, sanoid's `--cron`): one listing,
//! policy decisions from zfs-policy, batched ZFS calls.
//!
//! Order of a run:
//! 1. **List** each configured root once (recursive, with snapshots; roots nested in other roots
//!    are covered by their ancestor's listing).
//! 2. **Resolve** every existing dataset's effective policy (zfs-policy; section order does not matter).
//! 3. **Take**: per dataset, the due types (zfs-policy's schedule in the local time zone) share one
//!    timestamp. Per pool, the due snapshots of the datasets WITHOUT snapshot scripts are
//!    taken with ONE [`Backend::snapshot`] call per type (ZFS allows one snapshot per dataset in an
//!    atomic call): every dataset's hourly in one txg, every daily in one txg, ... (one txg with the
//!    Lzc backend; `zfs snapshot a@x b@x` with the Cli backend, also atomic). A `recursive = zfs`
//!    dataset uses [`Backend::snapshot_recursive`].
//!    A failed batch is retried one snapshot at a time, so one bad dataset does not cost the
//!    others their snapshots. Then each dataset WITH a `pre_snapshot_script` or
//!    `post_snapshot_script` in turn, in sanoid's order: its pre script, its snapshots, its post
//!    script (a freeze window covers one dataset, not the whole pool).
//! 4. **Prune**: per dataset, zfs-policy's retention decides; held snapshots (`userrefs > 0`) and the
//!    newest snapshot of each type with a count above 0 are never destroyed (checked again here; `TYPE = 0` destroys them all, as sanoid does, and a held one kept is said as a warning). `pre_pruning_script`
//!    runs per snapshot (non-zero exit keeps it, as in sanoid), then ONE
//!    [`Backend::destroy_snapshots`] call per dataset, then `pruning_script` per destroyed snapshot.
//!    Snapshots taken in the same run count as existing. When some dataset has `prune_defer` set, ONE
//!    [`Backend::pools`] call reads every pool's capacity; such a dataset is pruned only when its
//!    pool's capacity is above `prune_defer` (sanoid's rule), else it is reported as deferred with the
//!    capacity.
//!
//! A dry run performs steps 1–2 and reports what 3–4 would do; it runs no hooks (sanoid's
//! `--readonly` runs none either).
//!
//! Nothing is printed: what happens is told to an [`Events`] sink as it happens and returned as
//! a [`Report`].

mod failure;
pub mod listing;
pub mod options;
pub mod prune;
mod script;
mod take;

pub use listing::{list_state, listing_roots, policy_datasets, DatasetState, State};
pub use options::RunOptions;
pub use prune::guard_set;

use crate::events::{Events, Level, Phase};
use crate::hooks::HookRunner;
use crate::report::Report;
use zfs_core::Backend;
use zfs_policy::Config;

/// Runs a snapshot/prune job over `config`; never panics on ZFS state; returns the report.
pub fn run(
    config: &Config,
    backend: &dyn Backend,
    opts: &RunOptions,
    events: &mut dyn Events,
) -> Report {
    let mut report = Report {
        dry_run: opts.dry_run,
        now: opts.now.to_rfc3339(),
        ..Report::default()
    };
    let mut state = list_state(config, backend, &mut report, events);
    let resolution = config.resolve(&policy_datasets(&state));
    let failed: Vec<String> = listing::failed_roots(&report)
        .into_iter()
        .map(str::to_owned)
        .collect();
    for m in &resolution.missing {
        // Under a root whose listing failed the dataset is unknown, not missing: the failure
        // itself was already told once.
        if failed.iter().any(|r| listing::is_under(m, r)) {
            continue;
        }
        events.message(
            Level::Warn,
            &format!("configured dataset {m} does not exist; skipped"),
        );
        report.missing.push(m.clone());
    }
    let runner = HookRunner {
        stdout_to_stderr: opts.hook_stdout_to_stderr,
        ..HookRunner::default()
    };
    if opts.take {
        events.phase_started(Phase::Take);
        take::take(
            backend,
            &resolution.policies,
            &mut state,
            opts,
            &runner,
            &mut report,
            events,
        );
    }
    if opts.prune {
        events.phase_started(Phase::Prune);
        prune::prune(
            backend,
            &resolution.policies,
            &state,
            opts,
            &runner,
            &mut report,
            events,
        );
    }
    report
}
