//! Host tests of the pure planner: every step and conflict kind, tree planning, and the JSON schema.

mod common;
use common::*;

use zfs_core::{DatasetKind, Encryption, Listing, VersionName};
use zfs_sync::{
    model, plan_dataset, plan_tree, AbortReason, Conflict, Decision, InitialReplication, Pattern,
    PlanError, PlanOptions, ResumeToken, SnapshotFilter, Step, TargetState, TokenDecodeError,
    TreeInput, TreeSpec,
};

const S: &str = "src/d";
const T: &str = "dst/d";

fn tgt<'a>(name: &'a zfs_core::DatasetName, v: &'a [zfs_core::Version]) -> Option<TargetState<'a>> {
    Some(TargetState {
        name,
        versions: v,
        resume_token: None,
    })
}

fn steps(d: &Decision) -> &[Step] {
    match d {
        Decision::Replicate { steps } => steps,
        Decision::Conflict { conflict } => panic!("unexpected conflict: {conflict:?}"),
    }
}

fn conflict(d: &Decision) -> &Conflict {
    d.conflict()
        .unwrap_or_else(|| panic!("expected a conflict, got {d:?}"))
}

/// `(kind, from, to, intermediates)` as short names.
fn sig(s: &Step) -> (String, String, String, bool) {
    match s {
        Step::Full { snapshot } => (
            "full".into(),
            String::new(),
            snapshot.name.to_string(),
            false,
        ),
        Step::Incremental {
            from,
            to,
            intermediates,
            ..
        } => (
            "incr".into(),
            from.name.to_string(),
            to.name.to_string(),
            *intermediates,
        ),
        Step::Clone { origin, to, .. } => (
            "clone".into(),
            origin.name.to_string(),
            to.name.to_string(),
            false,
        ),
        Step::Resume { to, .. } => ("resume".into(), String::new(), to.name.to_string(), false),
        Step::Rollback { to, .. } => ("rollback".into(), String::new(), to.name.to_string(), false),
        Step::AbortResume { .. } => ("abort".into(), String::new(), String::new(), false),
        Step::DestroyTarget { target, .. } => {
            ("destroy".into(), String::new(), target.to_string(), false)
        }
        Step::DestroyTargetSnapshots { .. } => {
            ("prune".into(), String::new(), String::new(), false)
        }
        other => (other.kind().into(), String::new(), String::new(), false),
    }
}

fn sigs(d: &Decision) -> Vec<(String, String, String, bool)> {
    steps(d).iter().map(sig).collect()
}

fn t(kind: &str, from: &str, to: &str, i: bool) -> (String, String, String, bool) {
    (kind.into(), from.into(), to.into(), i)
}

fn four() -> Vec<zfs_core::Version> {
    snaps(
        S,
        &[
            ("s1", 11, 10),
            ("s2", 12, 20),
            ("s3", 13, 30),
            ("s4", 14, 40),
        ],
    )
}

#[test]
fn initial_all_is_full_oldest_then_intermediates() {
    let d = plan_dataset(&four(), None, None, &PlanOptions::default());
    assert_eq!(
        sigs(&d),
        vec![
            t("full", "", "src/d@s1", false),
            t("incr", "src/d@s1", "src/d@s4", true)
        ]
    );
    let Step::Incremental { receives, .. } = &steps(&d)[1] else {
        panic!()
    };
    let r: Vec<_> = receives.iter().map(|r| r.guid).collect();
    assert_eq!(r, vec![12, 13, 14]);
}

#[test]
fn initial_newest_is_one_full() {
    let opts = PlanOptions {
        initial: InitialReplication::Newest,
        ..Default::default()
    };
    let d = plan_dataset(&four(), None, None, &opts);
    assert_eq!(sigs(&d), vec![t("full", "", "src/d@s4", false)]);
}

#[test]
fn incremental_from_newest_common_with_intermediates() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5), ("s2", 12, 6)]);
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &PlanOptions::default());
    assert_eq!(sigs(&d), vec![t("incr", "src/d@s2", "src/d@s4", true)]);
}

#[test]
fn no_stream_sends_only_newest() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5)]);
    let opts = PlanOptions {
        intermediates: false,
        ..Default::default()
    };
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &opts);
    assert_eq!(sigs(&d), vec![t("incr", "src/d@s1", "src/d@s4", false)]);
}

#[test]
fn up_to_date_names_the_common_newest() {
    let name = ds(T);
    let tv = snaps(T, &[("s3", 13, 5), ("s4", 14, 6)]);
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &PlanOptions::default());
    let Conflict::UpToDate { newest } = conflict(&d) else {
        panic!("{d:?}")
    };
    assert_eq!(newest.guid, 14);
    assert!(conflict(&d).is_benign());
}

#[test]
fn base_is_matched_by_guid_not_name() {
    let name = ds(T);
    // Same names, different GUIDs: not a common base.
    let tv = snaps(T, &[("s1", 99, 5), ("s2", 98, 6)]);
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &PlanOptions::default());
    let Conflict::NoCommonBase {
        target_snapshots,
        source_oldest,
        source_newest,
        ..
    } = conflict(&d)
    else {
        panic!("{d:?}")
    };
    assert_eq!(target_snapshots.len(), 2);
    assert_eq!(target_snapshots[0].name.as_str(), "dst/d@s1");
    assert_eq!((source_oldest.guid, source_newest.guid), (11, 14));

    // A different name with the same GUID is a base.
    let tv = snaps(T, &[("renamed", 12, 6)]);
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &PlanOptions::default());
    assert_eq!(sigs(&d), vec![t("incr", "src/d@s2", "src/d@s4", true)]);
}

#[test]
fn force_delete_destroys_then_sends_full() {
    let name = ds(T);
    let tv = snaps(T, &[("old", 99, 5)]);
    let opts = PlanOptions {
        force_delete: true,
        ..Default::default()
    };
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &opts);
    assert_eq!(
        sigs(&d),
        vec![
            t("destroy", "", "dst/d", false),
            t("full", "", "src/d@s1", false),
            t("incr", "src/d@s1", "src/d@s4", true)
        ]
    );
    let Step::DestroyTarget { snapshots, .. } = &steps(&d)[0] else {
        panic!()
    };
    assert_eq!(snapshots[0].name.as_str(), "dst/d@old");
    assert!(steps(&d)[0].is_destructive());
}

#[test]
fn empty_existing_target_has_no_common_base() {
    let name = ds(T);
    let d = plan_dataset(&four(), tgt(&name, &[]), None, &PlanOptions::default());
    assert_eq!(conflict(&d).kind(), "no_common_base");
}

#[test]
fn divergence_is_refused_listing_losses_and_rollback_fixes_it() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5), ("s2", 12, 6), ("local", 77, 7)]);
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &PlanOptions::default());
    let Conflict::Diverged {
        common,
        target_only_newer,
        source_newer,
    } = conflict(&d)
    else {
        panic!("{d:?}")
    };
    assert_eq!(common.guid, 12);
    assert_eq!(target_only_newer.len(), 1);
    assert_eq!(target_only_newer[0].name.as_str(), "dst/d@local");
    assert_eq!(
        source_newer.iter().map(|v| v.guid).collect::<Vec<_>>(),
        vec![13, 14]
    );
    assert!(conflict(&d).describe().contains("dst/d@local"));

    let opts = PlanOptions {
        rollback: true,
        ..Default::default()
    };
    let d = plan_dataset(&four(), tgt(&name, &tv), None, &opts);
    assert_eq!(
        sigs(&d),
        vec![
            t("rollback", "", "dst/d@s2", false),
            t("incr", "src/d@s2", "src/d@s4", true)
        ]
    );
    let Step::Rollback { discards, .. } = &steps(&d)[0] else {
        panic!()
    };
    assert_eq!(discards[0].guid, 77);
}

#[test]
fn no_source_snapshots() {
    let d = plan_dataset(&[], None, None, &PlanOptions::default());
    assert_eq!(
        conflict(&d),
        &Conflict::NoSourceSnapshots {
            total: 0,
            selected: 0
        }
    );
    let opts = PlanOptions {
        snapshots: SnapshotFilter::new(&["^nomatch"], &[]).unwrap(),
        ..Default::default()
    };
    let d = plan_dataset(&four(), None, None, &opts);
    assert_eq!(
        conflict(&d),
        &Conflict::NoSourceSnapshots {
            total: 4,
            selected: 0
        }
    );
}

#[test]
fn bookmark_serves_as_base_when_snapshot_is_gone() {
    let name = ds(T);
    let mut sv = snaps(S, &[("s1", 11, 10), ("s3", 13, 30), ("s4", 14, 40)]);
    sv.push(bm(S, "s2", 12, 20));
    let tv = snaps(T, &[("s1", 11, 5), ("s2", 12, 6)]);
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &PlanOptions::default());
    assert_eq!(
        sigs(&d),
        vec![
            t("incr", "src/d#s2", "src/d@s3", false),
            t("incr", "src/d@s3", "src/d@s4", false)
        ]
    );
    // Applying to the model works (the bookmark's GUID is the target's newest).
    let after = model::apply(Some(&tv), &d).unwrap().unwrap();
    assert_eq!(after.last().unwrap().guid, 14);
}

#[test]
fn filters_restrict_what_is_sent_not_the_base() {
    let name = ds(T);
    let sv = snaps(
        S,
        &[
            ("d1", 1, 10),
            ("h1", 2, 20),
            ("d2", 3, 30),
            ("d3", 4, 40),
            ("h2", 5, 50),
        ],
    );
    // The base h1 is excluded by the filter but still the base.
    let tv = snaps(T, &[("d1", 1, 5), ("h1", 2, 6)]);
    let opts = PlanOptions {
        snapshots: SnapshotFilter::new(&[] as &[&str], &["^h"]).unwrap(),
        ..Default::default()
    };
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &opts);
    assert_eq!(sigs(&d), vec![t("incr", "src/d@h1", "src/d@d3", true)]);

    // A gap in the middle becomes a -i over it.
    let tv = snaps(T, &[("d1", 1, 5)]);
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &opts);
    assert_eq!(
        sigs(&d),
        vec![
            t("incr", "src/d@d1", "src/d@d2", false),
            t("incr", "src/d@d2", "src/d@d3", false)
        ]
    );
    let after = model::apply(Some(&tv), &d).unwrap().unwrap();
    let g: Vec<_> = after.iter().map(|m| m.guid).collect();
    assert_eq!(g, vec![1, 3, 4]);

    // Include wins only when exclude does not match.
    let f = SnapshotFilter::new(&["^d"], &["3$"]).unwrap();
    assert!(f.selects("d1") && !f.selects("d3") && !f.selects("h1"));
}

fn token(toguid: u64, fromguid: Option<u64>) -> ResumeToken {
    ResumeToken {
        token: "1-abc-def".into(),
        toguid,
        fromguid,
        toname: "src/d@s3".into(),
        object: 5,
        offset: 1024,
        bytes: 4096,
        raw: false,
        large_block: false,
        embed: false,
        compressed: false,
        saved: false,
    }
}

#[test]
fn resume_first_then_continue() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5), ("s2", 12, 6)]);
    let tok = token(13, Some(12));
    let ts = TargetState {
        name: &name,
        versions: &tv,
        resume_token: Some(&tok),
    };
    let d = plan_dataset(&four(), Some(ts), None, &PlanOptions::default());
    assert_eq!(
        sigs(&d),
        vec![
            t("resume", "", "src/d@s3", false),
            t("incr", "src/d@s3", "src/d@s4", false)
        ]
    );
    // A full stream's token on a target without snapshots.
    let tok = token(11, None);
    let ts = TargetState {
        name: &name,
        versions: &[],
        resume_token: Some(&tok),
    };
    let d = plan_dataset(&four(), Some(ts), None, &PlanOptions::default());
    assert_eq!(
        sigs(&d),
        vec![
            t("resume", "", "src/d@s1", false),
            t("incr", "src/d@s1", "src/d@s4", true)
        ]
    );
    assert!(model::apply(Some(&[]), &d).is_ok());
}

#[test]
fn stale_token_is_aborted_or_reported() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5)]);
    let tok = token(999, Some(11));
    let ts = TargetState {
        name: &name,
        versions: &tv,
        resume_token: Some(&tok),
    };
    let d = plan_dataset(&four(), Some(ts), None, &PlanOptions::default());
    assert_eq!(
        sigs(&d),
        vec![
            t("abort", "", "", false),
            t("incr", "src/d@s1", "src/d@s4", true)
        ]
    );
    let Step::AbortResume { reason, .. } = &steps(&d)[0] else {
        panic!()
    };
    assert_eq!(*reason, AbortReason::Stale);

    let opts = PlanOptions {
        abort_stale_token: false,
        ..Default::default()
    };
    let d = plan_dataset(&four(), Some(ts), None, &opts);
    let Conflict::StaleResumeToken { missing, .. } = conflict(&d) else {
        panic!("{d:?}")
    };
    assert!(missing.contains("src/d@s3"), "{missing}");

    // Stale because the incremental base is gone.
    let tok = token(13, Some(555));
    let ts = TargetState {
        resume_token: Some(&tok),
        ..ts
    };
    let d = plan_dataset(&four(), Some(ts), None, &opts);
    assert_eq!(conflict(&d).kind(), "stale_resume_token");
}

#[test]
fn resume_disabled_aborts_partial_state() {
    let name = ds(T);
    let tv = snaps(T, &[("s1", 11, 5)]);
    let tok = token(13, Some(11));
    let ts = TargetState {
        name: &name,
        versions: &tv,
        resume_token: Some(&tok),
    };
    let opts = PlanOptions {
        resume: false,
        ..Default::default()
    };
    let d = plan_dataset(&four(), Some(ts), None, &opts);
    let Step::AbortResume { reason, .. } = &steps(&d)[0] else {
        panic!()
    };
    assert_eq!(*reason, AbortReason::ResumeDisabled);
}

#[test]
fn delete_target_snapshots_mirrors_source_deletions_but_keeps_base() {
    let name = ds(T);
    let mut sv = snaps(S, &[("s3", 13, 30), ("s4", 14, 40)]);
    sv.push(bm(S, "s2", 12, 20));
    // gone0 and s1 are no longer on the source; s2 is the base (via the bookmark) and must stay.
    let tv = snaps(T, &[("gone0", 10, 4), ("s1", 11, 5), ("s2", 12, 6)]);
    let opts = PlanOptions {
        delete_target_snapshots: true,
        ..Default::default()
    };
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &opts);
    let last = steps(&d).last().unwrap();
    let Step::DestroyTargetSnapshots { snapshots } = last else {
        panic!("{d:?}")
    };
    let g: Vec<_> = snapshots.iter().map(|v| v.guid).collect();
    assert_eq!(g, vec![10, 11]);

    // Up to date but with deletions to mirror: only the deletion step.
    let tv = snaps(T, &[("gone0", 10, 4), ("s3", 13, 5), ("s4", 14, 6)]);
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &opts);
    assert_eq!(sigs(&d), vec![t("prune", "", "", false)]);
}

// ---- trees ----

fn no_tokens(s: &str) -> Result<ResumeToken, TokenDecodeError> {
    Err(format!("no decoder in this test ({s})").into())
}

fn tree_fixture() -> (Listing, Listing) {
    let mut root = dataset("tank/src", snaps("tank/src", &[("a", 1, 10), ("b", 2, 20)]));
    root.encryption = Encryption::default();
    let mut child = dataset(
        "tank/src/child",
        snaps("tank/src/child", &[("a", 3, 10), ("b", 4, 20)]),
    );
    child.encryption = Encryption {
        algorithm: "aes-256-gcm".into(),
        root: Some(ds("tank/src/child")),
        key_status: Some("available".into()),
    };
    let mut vol = dataset(
        "tank/src/vol",
        snaps("tank/src/vol", &[("a", 5, 10), ("b", 6, 20)]),
    );
    vol.kind = DatasetKind::Volume;
    let mut clone = dataset(
        "tank/src/aclone",
        snaps("tank/src/aclone", &[("c1", 7, 30)]),
    );
    clone.origin = Some(zfs_core::SnapshotName::parse("tank/src/vol@a").unwrap());
    let skip = dataset(
        "tank/src/scratch",
        snaps("tank/src/scratch", &[("a", 8, 10)]),
    );
    let under_skip = dataset(
        "tank/src/scratch/x",
        snaps("tank/src/scratch/x", &[("a", 9, 10)]),
    );
    // The clone is listed before its origin (alphabetical), so ordering must move it.
    let src = Listing::new(vec![root, clone, child, skip, under_skip, vol]);
    // Target: root already has @a.
    let tgt = Listing::new(vec![dataset(
        "backup/dst",
        snaps("backup/dst", &[("a", 1, 3)]),
    )]);
    (src, tgt)
}

fn tree_plan() -> zfs_sync::Plan {
    let (src, tgt) = tree_fixture();
    let mut spec = TreeSpec::recursive(ds("tank/src"), ds("backup/dst"));
    spec.exclude_datasets = vec![Pattern::new("/scratch$").unwrap()];
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    plan_tree(&input, &spec, &PlanOptions::default()).unwrap()
}

#[test]
fn tree_orders_maps_excludes_and_clones() {
    let plan = tree_plan();
    let order: Vec<_> = plan.datasets.iter().map(|d| d.source.as_str()).collect();
    assert_eq!(
        order,
        vec![
            "tank/src",
            "tank/src/child",
            "tank/src/scratch/x",
            "tank/src/vol",
            "tank/src/aclone"
        ]
    );
    assert_eq!(plan.excluded, vec![ds("tank/src/scratch")]);
    let root = &plan.datasets[0];
    assert_eq!(root.target.as_str(), "backup/dst");
    assert_eq!(
        sigs(&root.decision),
        vec![t("incr", "tank/src@a", "tank/src@b", false)]
    );

    let child = plan.get(&ds("tank/src/child")).unwrap();
    assert_eq!(child.target.as_str(), "backup/dst/child");
    assert!(child.encrypted && child.raw);
    assert_eq!(child.after, vec![ds("tank/src")]);

    // The excluded parent means the target parent will not exist.
    let x = plan.get(&ds("tank/src/scratch/x")).unwrap();
    assert_eq!(
        x.decision.conflict(),
        Some(&Conflict::TargetParentMissing {
            parent: ds("backup/dst/scratch")
        })
    );

    let vol = plan.get(&ds("tank/src/vol")).unwrap();
    assert_eq!(vol.kind, DatasetKind::Volume);
    assert_eq!(
        sigs(&vol.decision),
        vec![
            t("full", "", "tank/src/vol@a", false),
            t("incr", "tank/src/vol@a", "tank/src/vol@b", false)
        ]
    );

    let clone = plan.get(&ds("tank/src/aclone")).unwrap();
    assert_eq!(clone.after, vec![ds("tank/src"), ds("tank/src/vol")]);
    let Step::Clone {
        origin,
        target_origin,
        to,
    } = &steps(&clone.decision)[0]
    else {
        panic!("{:?}", clone.decision)
    };
    assert_eq!(origin.name.as_str(), "tank/src/vol@a");
    assert_eq!(target_origin.as_str(), "backup/dst/vol@a");
    assert_eq!(to.name.as_str(), "tank/src/aclone@c1");
}

#[test]
fn clone_whose_origin_is_not_sent_goes_full() {
    let (src, tgt) = tree_fixture();
    let mut spec = TreeSpec::recursive(ds("tank/src"), ds("backup/dst"));
    spec.exclude_datasets = vec![Pattern::new("scratch").unwrap()];
    // Only @b is sent, so the origin @a never reaches the target.
    let opts = PlanOptions {
        snapshots: SnapshotFilter::new(&["^b$", "^c"], &[]).unwrap(),
        ..Default::default()
    };
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    let plan = plan_tree(&input, &spec, &opts).unwrap();
    let clone = plan.get(&ds("tank/src/aclone")).unwrap();
    assert_eq!(
        sigs(&clone.decision),
        vec![t("full", "", "tank/src/aclone@c1", false)]
    );
}

#[test]
fn skip_parent_and_single_and_missing_root() {
    let (src, tgt) = tree_fixture();
    let mut spec = TreeSpec::recursive(ds("tank/src"), ds("backup/dst"));
    spec.skip_parent = true;
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    assert!(plan.get(&ds("tank/src")).is_none());
    assert!(plan.excluded.contains(&ds("tank/src")));
    // The target root exists, so children can be created below it.
    assert!(plan
        .get(&ds("tank/src/child"))
        .unwrap()
        .decision
        .conflict()
        .is_none());

    let spec = TreeSpec::single(ds("tank/src/vol"), ds("backup/vol"));
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    assert_eq!(plan.datasets.len(), 1);
    assert_eq!(plan.datasets[0].target.as_str(), "backup/vol");

    let spec = TreeSpec::single(ds("tank/none"), ds("backup/x"));
    assert_eq!(
        plan_tree(&input, &spec, &PlanOptions::default()),
        Err(PlanError::SourceNotFound(ds("tank/none")))
    );
}

#[test]
fn force_delete_of_a_parent_recreates_children() {
    let src = Listing::new(vec![
        dataset("p/s", snaps("p/s", &[("a", 1, 10)])),
        dataset("p/s/c", snaps("p/s/c", &[("a", 2, 10)])),
    ]);
    let tgt = Listing::new(vec![
        dataset("q/t", snaps("q/t", &[("x", 50, 10)])),
        dataset("q/t/c", snaps("q/t/c", &[("a", 2, 10)])),
    ]);
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    let spec = TreeSpec::recursive(ds("p/s"), ds("q/t"));
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    let Some(Conflict::NoCommonBase {
        target_descendants, ..
    }) = plan.datasets[0].decision.conflict()
    else {
        panic!()
    };
    assert_eq!(target_descendants, &vec![ds("q/t/c")]);
    assert!(plan.datasets[1].decision.conflict().unwrap().is_benign());

    let opts = PlanOptions {
        force_delete: true,
        ..Default::default()
    };
    let plan = plan_tree(&input, &spec, &opts).unwrap();
    let Step::DestroyTarget { descendants, .. } = &steps(&plan.datasets[0].decision)[0] else {
        panic!()
    };
    assert_eq!(descendants, &vec![ds("q/t/c")]);
    // The child is gone with its parent, so it is sent in full again.
    assert_eq!(
        sigs(&plan.datasets[1].decision),
        vec![t("full", "", "p/s/c@a", false)]
    );
    assert!(plan.is_destructive());
}

#[test]
fn unreadable_and_decoded_tokens_in_trees() {
    let src = Listing::new(vec![dataset(
        "p/s",
        snaps("p/s", &[("a", 1, 10), ("b", 2, 20)]),
    )]);
    let mut t = dataset("q/t", snaps("q/t", &[("a", 1, 10)]));
    t.receive_resume_token = Some("1-zzz".into());
    let tgt = Listing::new(vec![t]);
    let spec = TreeSpec::single(ds("p/s"), ds("q/t"));
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    assert_eq!(
        plan.datasets[0].decision.conflict().map(|c| c.kind()),
        Some("unreadable_resume_token")
    );
    let decode = |s: &str| -> Result<ResumeToken, TokenDecodeError> {
        Ok(ResumeToken::new(s.to_string(), "p/s@b".into(), 2, Some(1)))
    };
    let input = TreeInput {
        decode_token: &decode,
        ..input
    };
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    let Step::Resume { token, to, .. } = &steps(&plan.datasets[0].decision)[0] else {
        panic!()
    };
    assert_eq!(token.token, "1-zzz");
    assert_eq!(to.name, VersionName::Snapshot("p/s@b".parse().unwrap()));
}

#[test]
fn plan_json_is_stable() {
    let plan = tree_plan();
    let json = plan.to_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &json).unwrap();
    }
    let want =
        std::fs::read_to_string(path).expect("run with UPDATE_SNAPSHOTS=1 to create the snapshot");
    assert_eq!(
        json, want,
        "plan JSON changed; review and run with UPDATE_SNAPSHOTS=1"
    );
    // And it round-trips.
    let back: zfs_sync::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    // GUIDs are strings.
    assert!(json.contains("\"guid\": \"1\""));
}

#[test]
fn syncoid_sync_property_leaves_datasets_out_when_honoured() {
    let (mut src, tgt) = tree_fixture();
    let set = |src: &mut Listing, name: &str, v: &str| {
        let d = src.datasets.iter_mut().find(|d| d.name.as_str() == name);
        d.unwrap()
            .user_props
            .insert("syncoid:sync".into(), v.into());
    };
    // As `zfs list` reports it: the value is inherited by scratch/x.
    set(&mut src, "tank/src/scratch", "false");
    set(&mut src, "tank/src/scratch/x", "false");
    set(&mut src, "tank/src/vol", "nas1,nas2");
    set(&mut src, "tank/src/child", "other");
    let input = TreeInput {
        source: &src,
        target: &tgt,
        decode_token: &no_tokens,
    };
    let mut spec = TreeSpec::recursive(ds("tank/src"), ds("backup/dst"));
    // Not honoured (zsync sync): every dataset is planned.
    let all = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    assert_eq!(all.datasets.len(), 6);
    assert!(all.property_skipped.is_empty());
    spec.sync_host = Some("nas2".into());
    let plan = plan_tree(&input, &spec, &PlanOptions::default()).unwrap();
    let order: Vec<_> = plan.datasets.iter().map(|d| d.source.as_str()).collect();
    assert_eq!(order, vec!["tank/src", "tank/src/vol", "tank/src/aclone"]);
    let skipped: Vec<(&str, &str)> = plan
        .property_skipped
        .iter()
        .map(|s| (s.source.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("tank/src/child", "syncoid:sync doesn't include nas2"),
            ("tank/src/scratch", "syncoid:sync=false"),
            ("tank/src/scratch/x", "syncoid:sync=false"),
        ]
    );
    assert_eq!(plan.excluded.len(), 3);
}

#[test]
fn recreated_snapshot_name_is_refused_or_replaced_with_force_delete() {
    let name = ds(T);
    // s1 was replicated (guid 11), then destroyed on the source and taken again (guid 21) after s2.
    let sv = snaps(S, &[("s0", 10, 10), ("s2", 12, 30), ("s1", 21, 40)]);
    let tv = snaps(T, &[("s0", 10, 5), ("s1", 11, 6), ("s2", 12, 7)]);
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &PlanOptions::default());
    let Conflict::NameTaken { stale, incoming } = conflict(&d) else {
        panic!("{d:?}")
    };
    assert_eq!((stale[0].guid, incoming[0].guid), (11, 21));
    assert_eq!(stale[0].name.to_string(), "dst/d@s1");
    assert!(conflict(&d).describe().contains("--force-delete"), "{d:?}");
    assert!(!conflict(&d).is_benign());
    let opts = PlanOptions {
        force_delete: true,
        delete_target_snapshots: true,
        ..Default::default()
    };
    let d = plan_dataset(&sv, tgt(&name, &tv), None, &opts);
    assert_eq!(
        sigs(&d),
        vec![
            t("prune", "", "", false),
            t("incr", "src/d@s2", "src/d@s1", false)
        ]
    );
    let Step::DestroyTargetSnapshots { snapshots } = &steps(&d)[0] else {
        panic!("{d:?}")
    };
    // Destroyed once, before the receive (not again by --delete-target-snapshots).
    assert_eq!(snapshots.iter().map(|v| v.guid).collect::<Vec<_>>(), [11]);
    // The target after the plan holds the source's snapshots.
    let after = model::apply(Some(&tv), &d).unwrap().unwrap();
    let guids: Vec<u64> = after.iter().map(|m| m.guid).collect();
    assert_eq!(guids, [10, 12, 21]);
}
