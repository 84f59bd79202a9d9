//! A configured hook script inside a run: its timeout, its events and its report entry.

use crate::events::Events;
use crate::hooks::{HookContext, HookKind, HookRunner};
use crate::report::{HookReport, Report};
use std::time::Duration;

/// `script_timeout` as a limit (`0` = none).
pub(crate) fn script_timeout(p: &zfs_policy::Policy) -> Option<Duration> {
    (p.script_timeout > 0).then(|| Duration::from_secs(p.script_timeout as u64))
}

/// Runs one hook, records it in the report; returns whether it succeeded.
pub(crate) fn run_hook(
    runner: &HookRunner,
    kind: HookKind,
    command: &str,
    ctx: &HookContext,
    timeout: Option<Duration>,
    report: &mut Report,
    events: &mut dyn Events,
) -> bool {
    events.hook_started(kind, &ctx.targets);
    let outcome = runner.run(command, &ctx.env(kind), timeout);
    let ok = outcome.ok();
    let hook = HookReport {
        script: kind.key().to_string(),
        targets: ctx.targets.clone(),
        outcome: outcome.to_string(),
        ok,
    };
    events.hook_finished(&hook);
    report.hooks.push(hook);
    ok
}
