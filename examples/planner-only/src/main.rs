//! Plans one dataset's replication with zfs-sync's planner alone (`default-features = false`: no
//! executor, no backends, no C code) from snapshot lists it is given, and prints the steps or the
//! conflict.
//!
//! Usage: `zsync-planner-only [FILE]`. Each line of FILE (default: a built-in example) is
//! `source|target SNAPSHOT GUID CREATETXG CREATION`, e.g. `target backup/data@a 101 7 1700000010`;
//! `#` starts a comment. No `target` line: the target does not exist yet. Exit code 0 when there is
//! a plan, 1 for a conflict, 2 for unreadable input.

use std::process::ExitCode;
use zfs_core::{DatasetName, SnapshotName, Version};
use zfs_sync::{common_base, plan_dataset, Decision, PlanOptions, TargetState};

/// The target has `@a`; the source has `@a`, `@b` and `@c`.
const EXAMPLE: &str = "\
# side  snapshot        guid createtxg creation
source  tank/data@a     101  10        1700000010
source  tank/data@b     102  20        1700000020
source  tank/data@c     103  30        1700000030
target  backup/data@a   101  7         1700000010
";

/// One side's snapshots, and its dataset (from the first one).
#[derive(Default)]
struct Side {
    dataset: Option<DatasetName>,
    versions: Vec<Version>,
}

fn main() -> ExitCode {
    let text = match std::env::args_os().nth(1) {
        None => EXAMPLE.to_string(),
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("zsync-planner-only: {}: {e}", path.to_string_lossy());
                return ExitCode::from(2);
            }
        },
    };
    let (source, target) = match read_lists(&text) {
        Ok(sides) => sides,
        Err(e) => {
            eprintln!("zsync-planner-only: {e}");
            return ExitCode::from(2);
        }
    };
    plan(&source, &target)
}

/// Reads the two snapshot lists; every snapshot of a side must be of one dataset.
fn read_lists(text: &str) -> Result<(Side, Side), String> {
    let (mut source, mut target) = (Side::default(), Side::default());
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = |why: String| format!("line {}: {why}: {line}", i + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        let [side, name, guid, createtxg, creation] = words[..] else {
            return Err(at(
                "expected `source|target SNAPSHOT GUID CREATETXG CREATION`".into(),
            ));
        };
        let side = match side {
            "source" => &mut source,
            "target" => &mut target,
            other => return Err(at(format!("unknown side {other:?}"))),
        };
        let name = SnapshotName::parse(name).map_err(|e| at(e.to_string()))?;
        let number = |what: &str, s: &str| s.parse().map_err(|_| at(format!("bad {what} {s:?}")));
        let (guid, createtxg) = (number("guid", guid)?, number("createtxg", createtxg)?);
        let creation = creation
            .parse()
            .map_err(|_| at(format!("bad creation {creation:?}")))?;
        let dataset = side.dataset.get_or_insert_with(|| name.dataset());
        if *dataset != name.dataset() {
            return Err(at(format!("not a snapshot of {dataset}")));
        }
        side.versions
            .push(Version::snapshot(name, guid, createtxg, creation));
    }
    if source.versions.is_empty() {
        return Err("no source snapshots".into());
    }
    Ok((source, target))
}

/// Plans with the default options (`-I`, resume, never destroy anything) and prints the result.
fn plan(source: &Side, target: &Side) -> ExitCode {
    let target_state = target.dataset.as_ref().map(|name| TargetState {
        name,
        versions: &target.versions,
        resume_token: None,
    });
    match target.dataset.as_ref() {
        None => println!("target: does not exist yet"),
        Some(name) => match common_base(&source.versions, &target.versions) {
            Some(base) => println!(
                "common base: {} = {} (guid {})",
                base.source.name, base.target.name, base.source.guid
            ),
            None => println!("common base: none with {name}"),
        },
    }
    match plan_dataset(
        &source.versions,
        target_state,
        None,
        &PlanOptions::default(),
    ) {
        Decision::Replicate { steps } => {
            for step in &steps {
                println!("step: {}", step.describe());
            }
            ExitCode::SUCCESS
        }
        Decision::Conflict { conflict } => {
            println!("conflict ({}): {}", conflict.kind(), conflict.describe());
            ExitCode::from(1)
        }
    }
}
