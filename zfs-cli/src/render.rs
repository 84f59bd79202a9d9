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

/// The plan for humans: one block per dataset, then the excluded datasets (with the reason when
/// their `syncoid:sync` property left them out).
pub fn render_plan(p: &Plan) -> String {
    let mut s = String::new();
    for d in &p.datasets {
        s.push_str(&dataset_plan_lines(d));
    }
    for e in &p.excluded {
        match p.property_skipped.iter().find(|k| &k.source == e) {
            Some(k) => s.push_str(&format!("{e}: excluded ({})\n", k.reason)),
            None => s.push_str(&format!("{e}: excluded\n")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::DatasetName;

    #[test]
    fn excluded_datasets_say_why_when_syncoid_sync_left_them_out() {
        let ds = |s: &str| DatasetName::parse(s).unwrap();
        let p = Plan {
            schema: zfs_sync::PLAN_SCHEMA,
            source_root: ds("tank"),
            target_root: ds("bk/tank"),
            datasets: vec![],
            excluded: vec![ds("tank/scratch"), ds("tank/off")],
            property_skipped: vec![zfs_sync::PropertySkip {
                source: ds("tank/off"),
                reason: "syncoid:sync=false".into(),
            }],
        };
        assert_eq!(
            render_plan(&p),
            "tank/scratch: excluded\ntank/off: excluded (syncoid:sync=false)\n"
        );
    }
}
