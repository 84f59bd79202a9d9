//! syncoid mode's log lines: the `INFO:`, `WARNING:`, `CRITICAL ERROR:` and `DEBUG:` lines syncoid
//! prints (and log greps look for), built from the plan, the steps and the dataset reports. `INFO:`
//! and `DEBUG:` lines go to stdout, `WARNING:` and `CRITICAL ERROR:` to stderr, as syncoid's.
//! `--quiet` drops `INFO:` and `WARNING:` lines; `DEBUG:` lines print only under `--debug`.

use zfs_sync::{AbortReason, Conflict, DatasetPlan, DatasetReport, Outcome, PropertySkip, Step};

/// A syncoid log level: where its lines go and when they print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `CRITICAL ERROR: ` on stderr, always.
    Critical,
    /// `WARNING: ` on stderr, unless `--quiet`.
    Warn,
    /// `INFO: ` on stdout, unless `--quiet`.
    Info,
    /// `DEBUG: ` on stdout, only with `--debug`.
    Debug,
}

/// One syncoid log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its level.
    pub level: Level,
    /// The text after the level's prefix.
    pub text: String,
}

impl Line {
    fn new(level: Level, text: String) -> Line {
        Line { level, text }
    }

    /// The line as printed, prefix included.
    pub fn render(&self) -> String {
        let prefix = match self.level {
            Level::Critical => "CRITICAL ERROR: ",
            Level::Warn => "WARNING: ",
            Level::Info => "INFO: ",
            Level::Debug => "DEBUG: ",
        };
        format!("{prefix}{}", self.text)
    }

    /// Whether it prints at these verbosity flags.
    pub fn shown(&self, quiet: bool, debug: bool) -> bool {
        match self.level {
            Level::Critical => true,
            Level::Warn | Level::Info => !quiet,
            Level::Debug => debug,
        }
    }

    /// Prints it where syncoid would (stdout or stderr), when it is shown.
    pub fn print(&self, quiet: bool, debug: bool) {
        if !self.shown(quiet, debug) {
            return;
        }
        match self.level {
            Level::Critical | Level::Warn => errln!("{}", self.render()),
            Level::Info | Level::Debug => outln!("{}", self.render()),
        }
    }
}

/// `INFO: Skipping dataset (REASON): DATASET...` for a dataset its `syncoid:sync` property leaves out.
pub fn property_skipped(s: &PropertySkip) -> Line {
    Line::new(
        Level::Info,
        format!("Skipping dataset ({}): {}...", s.reason, s.source),
    )
}

/// The size syncoid shows in `(~ SIZE)`: zsync does not estimate streams for these lines.
const SIZE: &str = "UNKNOWN";

/// The lines syncoid prints as `step` of `dp` starts; `no_stream`: `--no-stream` was given.
pub fn step_started(dp: &DatasetPlan, step: &Step, no_stream: bool) -> Vec<Line> {
    let (src, dst) = (&dp.source, &dp.target);
    match step {
        Step::AbortResume { reason, .. } => {
            let mut v = Vec::new();
            if *reason == AbortReason::Stale {
                v.push(Line::new(
                    Level::Warn,
                    format!(
                        "resetting partial receive state of {dst} because the snapshot source no \
                         longer exists"
                    ),
                ));
            }
            v.push(Line::new(
                Level::Debug,
                format!("reset partial receive state of {dst}..."),
            ));
            v
        }
        Step::Resume { .. } => vec![Line::new(
            Level::Info,
            format!(
                "Resuming interrupted zfs send/receive from {src} to {dst} (~ {SIZE} remaining):"
            ),
        )],
        Step::Full { snapshot } if no_stream => vec![Line::new(
            Level::Info,
            format!(
                "--no-stream selected; sending newest full snapshot {} to new target filesystem \
                 {dst}: (~ {SIZE})",
                snapshot.name
            ),
        )],
        Step::Full { snapshot } => vec![Line::new(
            Level::Info,
            format!(
                "Sending oldest full snapshot {} to new target filesystem {dst} (~ {SIZE}):",
                snapshot.name
            ),
        )],
        Step::Clone { origin, .. } => vec![Line::new(
            Level::Info,
            format!(
                "Clone is recreated on target {dst} based on {} (~ {SIZE}):",
                origin.name
            ),
        )],
        Step::Incremental { from, to, .. } => vec![Line::new(
            Level::Info,
            format!(
                "Sending incremental {} ... {} to {dst} (~ {SIZE}):",
                from.name,
                to.name.short()
            ),
        )],
        Step::DestroyTarget { target, .. } => vec![Line::new(
            Level::Info,
            format!("Removing {target} because no matching snapshots were found"),
        )],
        Step::DestroyTargetSnapshots { snapshots } => {
            // Before a receive that brings their names: syncoid's --force-delete replacement.
            let incoming: Vec<&str> = dp
                .decision
                .steps()
                .iter()
                .flat_map(|s| match s {
                    Step::Incremental { receives, .. } => receives.as_slice(),
                    _ => &[],
                })
                .map(|r| r.name.short())
                .collect();
            snapshots
                .iter()
                .map(|s| match incoming.contains(&s.name.short()) {
                    true => Line::new(
                        Level::Warn,
                        format!("removing existing destination: {}", s.name),
                    ),
                    false => Line::new(Level::Debug, format!("destroying {}", s.name)),
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The lines syncoid prints for a dataset whose plan is a conflict, as it starts.
pub fn dataset_started(dp: &DatasetPlan) -> Vec<Line> {
    let (src, dst) = (&dp.source, &dp.target);
    match dp.decision.conflict() {
        Some(Conflict::UpToDate { newest }) => vec![Line::new(
            Level::Info,
            format!(
                "no snapshots on source newer than {} on target. Nothing to do, not syncing.",
                newest.name.short()
            ),
        )],
        Some(Conflict::NoCommonBase { .. }) => vec![Line::new(
            Level::Critical,
            format!(
                "Target {dst} exists but has no snapshots matching with {src}! Replication to \
                 target would require destroying existing target. Cowardly refusing to destroy \
                 your existing target."
            ),
        )],
        _ => Vec::new(),
    }
}

/// The lines syncoid prints for a finished dataset: a target busy with another receive.
pub fn dataset_finished(d: &DatasetReport) -> Vec<Line> {
    match &d.outcome {
        Outcome::Skipped { reason } if reason.starts_with(zfs_sync::BUSY) => {
            vec![Line::new(Level::Warn, reason.clone())]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::{DatasetKind, DatasetName, SnapshotName, VersionName};
    use zfs_sync::{Decision, VersionRef};

    fn v(name: &str, guid: u64) -> VersionRef {
        VersionRef {
            name: VersionName::Snapshot(SnapshotName::parse(name).unwrap()),
            guid,
            createtxg: guid,
            creation: 0,
        }
    }

    fn plan(decision: Decision) -> DatasetPlan {
        DatasetPlan {
            source: DatasetName::parse("tank/a").unwrap(),
            target: DatasetName::parse("bk/a").unwrap(),
            kind: DatasetKind::Filesystem,
            encrypted: false,
            raw: false,
            after: vec![],
            decision,
            cleanup: vec![],
        }
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::render).collect()
    }

    #[test]
    fn step_lines_in_syncoids_words() {
        let full = Step::Full {
            snapshot: v("tank/a@s0", 1),
        };
        let incr = Step::Incremental {
            from: v("tank/a@s0", 1),
            to: v("tank/a@s2", 3),
            intermediates: true,
            receives: vec![v("tank/a@s1", 2), v("tank/a@s2", 3)],
        };
        let dp = plan(Decision::Replicate {
            steps: vec![full.clone(), incr.clone()],
        });
        assert_eq!(
            texts(&step_started(&dp, &full, false)),
            ["INFO: Sending oldest full snapshot tank/a@s0 to new target filesystem bk/a (~ UNKNOWN):"]
        );
        assert_eq!(
            texts(&step_started(&dp, &full, true)),
            ["INFO: --no-stream selected; sending newest full snapshot tank/a@s0 to new target filesystem bk/a: (~ UNKNOWN)"]
        );
        assert_eq!(
            texts(&step_started(&dp, &incr, false)),
            ["INFO: Sending incremental tank/a@s0 ... s2 to bk/a (~ UNKNOWN):"]
        );
        // A stale same-name snapshot replaced (--force-delete), and one only gone from the source.
        let prune = Step::DestroyTargetSnapshots {
            snapshots: vec![v("bk/a@s1", 9), v("bk/a@old", 8)],
        };
        let dp = plan(Decision::Replicate {
            steps: vec![prune.clone(), incr],
        });
        let lines = step_started(&dp, &prune, false);
        assert_eq!(
            texts(&lines),
            [
                "WARNING: removing existing destination: bk/a@s1",
                "DEBUG: destroying bk/a@old"
            ]
        );
        assert!(lines[0].shown(false, false) && !lines[1].shown(false, false));
    }

    #[test]
    fn conflict_and_busy_lines() {
        let up = plan(Decision::Conflict {
            conflict: Conflict::UpToDate {
                newest: v("tank/a@s1", 1),
            },
        });
        assert_eq!(
            texts(&dataset_started(&up)),
            ["INFO: no snapshots on source newer than s1 on target. Nothing to do, not syncing."]
        );
        let none = plan(Decision::Conflict {
            conflict: Conflict::NoCommonBase {
                target_snapshots: vec![],
                target_descendants: vec![],
                source_oldest: v("tank/a@s0", 1),
                source_newest: v("tank/a@s1", 2),
            },
        });
        let l = dataset_started(&none);
        assert!(
            l[0].shown(true, false),
            "critical lines print under --quiet"
        );
        assert!(l[0].render().starts_with(
            "CRITICAL ERROR: Target bk/a exists but has no snapshots matching with tank/a!"
        ));
        assert!(l[0]
            .render()
            .ends_with("Cowardly refusing to destroy your existing target."));
        let busy = DatasetReport {
            source: up.source.clone(),
            target: up.target.clone(),
            outcome: Outcome::Skipped {
                reason: format!(
                    "{}: bk/a is already target of a zfs receive process.",
                    zfs_sync::BUSY
                ),
            },
            steps: vec![],
            bytes: 0,
            seconds: 0.0,
            warnings: vec![],
        };
        assert_eq!(
            texts(&dataset_finished(&busy)),
            ["WARNING: Cannot sync now: bk/a is already target of a zfs receive process."]
        );
    }

    #[test]
    fn levels_print_where_and_when_syncoid_prints_them() {
        let skip = property_skipped(&PropertySkip {
            source: DatasetName::parse("tank/a").unwrap(),
            reason: "syncoid:sync=false".into(),
        });
        assert_eq!(
            skip.render(),
            "INFO: Skipping dataset (syncoid:sync=false): tank/a..."
        );
        assert!(skip.shown(false, false) && !skip.shown(true, false));
        let crit = Line::new(Level::Critical, "x".into());
        assert!(crit.shown(true, false));
        assert_eq!(crit.render(), "CRITICAL ERROR: x");
        let debug = Line::new(Level::Debug, "y".into());
        assert!(!debug.shown(false, false) && debug.shown(true, true));
        assert_eq!(Line::new(Level::Warn, "z".into()).render(), "WARNING: z");
    }
}
