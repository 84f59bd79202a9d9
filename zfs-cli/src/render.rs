//! The text `zsync plan` and `zsync sync` print: a plan, dataset by dataset with its steps and the
//! cleanup that follows them, and one result line per dataset.

use zfs_sync::{DatasetPlan, DatasetReport, Decision, Outcome, Plan};

/// One line per dataset: `synced tank/a -> backup/a (2 steps, 1.2 MiB, 0.8 s)`.
pub fn result_line(d: &DatasetReport) -> String {
    let arrow = format!("{} -> {}", d.source, d.target);
    match &d.outcome {
        Outcome::Synced => format!(
            "synced {arrow} ({} step{}, {}, {:.1} s)",
            d.steps.len(),
            if d.steps.len() == 1 { "" } else { "s" },
            crate::progress::human_bytes(d.bytes),
            d.seconds
        ),
        Outcome::UpToDate => format!("up to date {arrow}"),
        Outcome::Skipped { reason } => format!("skipped {arrow}: {reason}"),
        Outcome::Refused { conflict } => format!("REFUSED {arrow}: {}", conflict.describe()),
        Outcome::Failed { error } => format!("FAILED {arrow}: {error}"),
        Outcome::Cancelled => format!("cancelled {arrow}"),
        other => format!("{other:?} {arrow}"),
    }
}

fn dataset_plan_lines(d: &DatasetPlan) -> String {
    let mut s = format!("{} -> {}", d.source, d.target);
    if d.raw {
        s.push_str(" [raw]");
    }
    match &d.decision {
        Decision::Replicate { steps } => {
            s.push('\n');
            for st in steps {
                s.push_str(&format!("    {}\n", st.describe()));
            }
        }
        Decision::Conflict { conflict } => {
            s.push_str(&format!(": {}\n", conflict.describe()));
        }
    }
    for c in &d.cleanup {
        s.push_str(&format!("    then {}\n", c.describe()));
    }
    s
}

/// The plan for humans: one block per dataset, then the excluded datasets.
pub fn render_plan(p: &Plan) -> String {
    let mut s = String::new();
    for d in &p.datasets {
        s.push_str(&dataset_plan_lines(d));
    }
    for e in &p.excluded {
        s.push_str(&format!("{e}: excluded\n"));
    }
    s
}
