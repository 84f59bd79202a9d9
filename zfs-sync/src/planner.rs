//! The pure planner: per-dataset GUID diff and whole-tree planning. No I/O.

use crate::error::PlanError;
use crate::model;
use crate::options::{InitialReplication, PlanOptions, TreeSpec};
use crate::plan::{
    AbortReason, Conflict, DatasetPlan, Decision, Plan, PropertySkip, Step, VersionRef, PLAN_SCHEMA,
};
use crate::sync_property::{sync_property_skip, SYNC_PROPERTY};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use zfs_core::{
    Dataset, DatasetName, Listing, ResumeToken, SnapshotName, Version, VersionKind, VersionName,
};

/// What the planner knows about an existing target dataset.
#[derive(Debug, Clone, Copy)]
pub struct TargetState<'a> {
    /// Target dataset name.
    pub name: &'a DatasetName,
    /// Its snapshots and bookmarks (any order; bookmarks are ignored).
    pub versions: &'a [Version],
    /// Its decoded `receive_resume_token`, if it has one.
    pub resume_token: Option<&'a ResumeToken>,
}

/// A clone whose origin is (or will be) on the target: its first snapshot is sent incrementally from the
/// origin and received as a clone of the origin's replica.
#[derive(Debug, Clone)]
pub struct CloneBase {
    /// The origin snapshot on the source.
    pub origin: VersionRef,
    /// The origin's replica on the target.
    pub target_origin: SnapshotName,
}

/// Hasher for GUIDs: they are random 64-bit values already, so one multiply spreads them (much faster than
/// SipHash on 100,000-snapshot datasets).
#[derive(Default, Clone, Copy)]
struct GuidHasher(u64);

impl std::hash::Hasher for GuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type GuidMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<GuidHasher>>;

/// A dataset's snapshots (bookmarks dropped), ordered by createtxg. Sorts only when the input is unsorted.
fn snapshots_sorted(versions: &[Version]) -> Vec<&Version> {
    let mut v: Vec<&Version> = versions
        .iter()
        .filter(|v| v.name.kind() == VersionKind::Snapshot)
        .collect();
    if !v.windows(2).all(|w| w[0].createtxg <= w[1].createtxg) {
        v.sort_by_key(|x| x.createtxg);
    }
    v
}

fn short_of(v: &Version) -> &str {
    v.name.short()
}

/// Snapshot GUID → index in `src`.
fn guid_index(src: &[&Version]) -> GuidMap<usize> {
    let mut snap_idx: GuidMap<usize> =
        GuidMap::with_capacity_and_hasher(src.len(), Default::default());
    for (i, s) in src.iter().enumerate() {
        snap_idx.insert(s.guid, i);
    }
    snap_idx
}

/// A dataset's bookmarks by GUID.
fn bookmarks_by_guid(versions: &[Version]) -> GuidMap<&Version> {
    versions
        .iter()
        .filter(|v| v.name.kind() == VersionKind::Bookmark)
        .map(|v| (v.guid, v))
        .collect()
}

/// The common base rule: the newest target snapshot (`tsnaps`, by createtxg) whose GUID the source has
/// as a snapshot (`src` through `snap_idx`) or, when that snapshot is gone, as a bookmark (`src_bm`).
/// Returns the source version and the target snapshot's index in `tsnaps`.
fn find_common<'v>(
    tsnaps: &[&Version],
    src: &[&'v Version],
    snap_idx: &GuidMap<usize>,
    src_bm: &GuidMap<&'v Version>,
) -> Option<(&'v Version, usize)> {
    tsnaps.iter().enumerate().rev().find_map(|(ti, ts)| {
        snap_idx
            .get(&ts.guid)
            .map(|&si| src[si])
            .or_else(|| src_bm.get(&ts.guid).copied())
            .map(|base| (base, ti))
    })
}

/// The newest version a source and a target share ([`common_base`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonBase<'a> {
    /// On the source: the snapshot or, when it is gone, a bookmark with its GUID (an incremental
    /// starts from either).
    pub source: &'a Version,
    /// On the target: the snapshot with that GUID.
    pub target: &'a Version,
}

/// The newest version both sides share, by GUID (never by name): the newest target snapshot whose GUID
/// the source has as a snapshot or, when that snapshot was pruned, as a bookmark. Target bookmarks are
/// ignored (nothing can be received onto a bookmark); each side is ordered by its own `createtxg`, in
/// any input order. `None`: nothing shared. This is the base [`plan_dataset`] plans from (a resume
/// token aside).
pub fn common_base<'a>(source: &'a [Version], target: &'a [Version]) -> Option<CommonBase<'a>> {
    let src = snapshots_sorted(source);
    let tsnaps = snapshots_sorted(target);
    find_common(&tsnaps, &src, &guid_index(&src), &bookmarks_by_guid(source)).map(|(s, ti)| {
        CommonBase {
            source: s,
            target: tsnaps[ti],
        }
    })
}

/// Builds incremental steps from `from` over `candidates` (source snapshots newer than `from`, oldest first).
fn chain(from: &Version, candidates: &[&Version], opts: &PlanOptions) -> Vec<Step> {
    let filter = &opts.snapshots;
    let mut steps = Vec::new();
    if !opts.intermediates {
        if let Some(to) = candidates
            .iter()
            .rev()
            .find(|c| filter.selects(short_of(c)))
        {
            steps.push(Step::Incremental {
                from: from.into(),
                to: (*to).into(),
                intermediates: false,
                receives: vec![(*to).into()],
            });
        }
        return steps;
    }
    let mut from: &Version = from;
    let mut run: Vec<&Version> = Vec::new();
    let mut gap = false;
    fn flush<'v>(steps: &mut Vec<Step>, from: &mut &'v Version, run: &mut Vec<&'v Version>) {
        if let Some(last) = run.last().copied() {
            steps.push(Step::Incremental {
                from: (*from).into(),
                to: last.into(),
                intermediates: run.len() > 1,
                receives: run.iter().map(|v| (*v).into()).collect(),
            });
            *from = last;
            run.clear();
        }
    }
    let check = !filter.is_empty();
    for c in candidates {
        if check && !filter.selects(short_of(c)) {
            gap = true;
            continue;
        }
        let from_is_bookmark = run.is_empty() && from.name.kind() == VersionKind::Bookmark;
        if gap || from_is_bookmark {
            flush(&mut steps, &mut from, &mut run);
            // `-i` over the unselected snapshots (or from a bookmark, which `-I` cannot start from).
            steps.push(Step::Incremental {
                from: from.into(),
                to: (*c).into(),
                intermediates: false,
                receives: vec![(*c).into()],
            });
            from = c;
            gap = false;
        } else {
            run.push(c);
        }
    }
    flush(&mut steps, &mut from, &mut run);
    steps
}

/// Plans one dataset.
///
/// `source` are the source dataset's versions (snapshots and bookmarks, any order), `target` the existing
/// target (or `None` when it does not exist), `clone` set when the source is a clone whose origin is
/// replicated. The result lists steps in execution order, or a [`Conflict`].
///
/// `NoCommonBase` and `DestroyTarget` carry no descendants here; [`plan_tree`] fills them in.
pub fn plan_dataset(
    source: &[Version],
    target: Option<TargetState<'_>>,
    clone: Option<&CloneBase>,
    opts: &PlanOptions,
) -> Decision {
    let src = snapshots_sorted(source);
    let conflict = |c| Decision::Conflict { conflict: c };
    if src.is_empty() {
        return conflict(Conflict::NoSourceSnapshots {
            total: 0,
            selected: 0,
        });
    }
    let mut steps: Vec<Step> = Vec::new();
    let Some(t) = target else {
        return initial(&src, clone, opts, steps);
    };

    let snap_idx = guid_index(&src);
    let src_bm = bookmarks_by_guid(source);
    let tsnaps = snapshots_sorted(t.versions);

    // 1. A resume token: resume it, or abort it.
    let mut resumed: Option<usize> = None;
    if let Some(tok) = t.resume_token {
        if !opts.resume {
            steps.push(Step::AbortResume {
                reason: AbortReason::ResumeDisabled,
                token: tok.clone(),
            });
        } else {
            let to = snap_idx.get(&tok.toguid).copied();
            let from: Option<Option<&Version>> = match tok.fromguid {
                None => Some(None),
                Some(g) => snap_idx
                    .get(&g)
                    .map(|i| Some(src[*i]))
                    .or_else(|| src_bm.get(&g).map(|b| Some(*b))),
            };
            match (to, from) {
                (Some(i), Some(from)) => {
                    steps.push(Step::Resume {
                        token: tok.clone(),
                        to: src[i].into(),
                        from: from.map(VersionRef::from),
                    });
                    resumed = Some(i);
                }
                (to, _) => {
                    let missing = if to.is_none() {
                        format!("snapshot {} (guid {})", tok.toname, tok.toguid)
                    } else {
                        format!("incremental base (guid {})", tok.fromguid.unwrap_or(0))
                    };
                    if !opts.abort_stale_token {
                        return conflict(Conflict::StaleResumeToken {
                            token: tok.clone(),
                            missing,
                        });
                    }
                    steps.push(Step::AbortResume {
                        reason: AbortReason::Stale,
                        token: tok.clone(),
                    });
                }
            }
        }
    }

    // 2. The common base: the newest target snapshot whose GUID the source has (snapshot preferred).
    let (base, target_base_idx): (&Version, Option<usize>) = if let Some(i) = resumed {
        (src[i], None)
    } else {
        match find_common(&tsnaps, &src, &snap_idx, &src_bm) {
            Some((b, ti)) => (b, Some(ti)),
            None => {
                let lost: Vec<VersionRef> = tsnaps.iter().map(|v| (*v).into()).collect();
                if !opts.force_delete {
                    return conflict(Conflict::NoCommonBase {
                        target_snapshots: lost,
                        target_descendants: Vec::new(),
                        source_oldest: src[0].into(),
                        source_newest: src[src.len() - 1].into(),
                    });
                }
                steps.push(Step::DestroyTarget {
                    target: t.name.clone(),
                    snapshots: lost,
                    descendants: Vec::new(),
                });
                return initial(&src, clone, opts, steps);
            }
        }
    };

    // 3. Divergence: target snapshots newer than the base.
    let mut discarded: GuidMap<()> = GuidMap::default();
    if let Some(ti) = target_base_idx {
        let newer = &tsnaps[ti + 1..];
        if !newer.is_empty() {
            // `zfs rollback -r` also destroys the target's newer bookmarks: list them with the snapshots.
            let base_txg = tsnaps[ti].createtxg;
            let mut lost: Vec<&Version> = newer.to_vec();
            lost.extend(
                t.versions
                    .iter()
                    .filter(|v| v.name.kind() == VersionKind::Bookmark && v.createtxg > base_txg),
            );
            lost.sort_by_key(|v| (v.createtxg, v.name.kind() == VersionKind::Snapshot));
            if !opts.rollback {
                let source_newer = candidates_after(&src, base, &snap_idx)
                    .iter()
                    .filter(|v| opts.snapshots.selects(short_of(v)))
                    .map(|v| (*v).into())
                    .collect();
                return conflict(Conflict::Diverged {
                    common: base.into(),
                    target_only_newer: lost.iter().map(|v| (*v).into()).collect(),
                    source_newer,
                });
            }
            discarded.extend(newer.iter().map(|v| (v.guid, ())));
            steps.push(Step::Rollback {
                to: tsnaps[ti].into(),
                discards: lost.iter().map(|v| (*v).into()).collect(),
            });
        }
    }

    // 4. Incrementals from the base to the newest selected snapshot.
    let sends = chain(base, candidates_after(&src, base, &snap_idx), opts);
    let nothing_sent = sends.is_empty();
    // A name the sends bring that an older target snapshot (another GUID, not discarded) still has:
    // the source snapshot was destroyed and re-created. Replaced only with --force-delete.
    let (stale, incoming) = name_clashes(&sends, &tsnaps, &discarded);
    if !stale.is_empty() {
        if !opts.force_delete {
            return conflict(Conflict::NameTaken { stale, incoming });
        }
        discarded.extend(stale.iter().map(|v| (v.guid, ())));
        steps.push(Step::DestroyTargetSnapshots { snapshots: stale });
    }
    steps.extend(sends);

    // 5. Mirror source deletions (never the base, never what was just discarded).
    if opts.delete_target_snapshots {
        let base_guid = base.guid;
        let doomed: Vec<VersionRef> = tsnaps
            .iter()
            .filter(|v| {
                v.guid != base_guid
                    && !snap_idx.contains_key(&v.guid)
                    && !discarded.contains_key(&v.guid)
            })
            .map(|v| (*v).into())
            .collect();
        if !doomed.is_empty() {
            steps.push(Step::DestroyTargetSnapshots { snapshots: doomed });
        }
    }

    if nothing_sent && steps.is_empty() {
        return conflict(Conflict::UpToDate {
            newest: base.into(),
        });
    }
    Decision::Replicate { steps }
}

/// The target snapshots (not `discarded`) whose short names the snapshots `sends` receive bring with
/// another GUID, and those incoming snapshots; both oldest first.
fn name_clashes(
    sends: &[Step],
    tsnaps: &[&Version],
    discarded: &GuidMap<()>,
) -> (Vec<VersionRef>, Vec<VersionRef>) {
    let by_name: HashMap<&str, &Version> = tsnaps
        .iter()
        .filter(|v| !discarded.contains_key(&v.guid))
        .map(|v| (short_of(v), *v))
        .collect();
    let (mut stale, mut incoming) = (Vec::new(), Vec::new());
    for s in sends {
        let Step::Incremental { receives, .. } = s else {
            continue;
        };
        for r in receives {
            if let Some(t) = by_name.get(r.name.short()) {
                if t.guid != r.guid {
                    stale.push(VersionRef::from(*t));
                    incoming.push(r.clone());
                }
            }
        }
    }
    (stale, incoming)
}

/// Source snapshots strictly newer than `base` (a source snapshot or bookmark).
fn candidates_after<'s, 'v>(
    src: &'s [&'v Version],
    base: &Version,
    snap_idx: &GuidMap<usize>,
) -> &'s [&'v Version] {
    if base.name.kind() == VersionKind::Snapshot {
        if let Some(&i) = snap_idx.get(&base.guid) {
            return &src[i + 1..];
        }
    }
    let p = src.partition_point(|v| v.createtxg <= base.createtxg);
    &src[p..]
}

/// Steps for a target that does not exist (or is about to be destroyed): full (or clone), then incrementals.
fn initial(
    src: &[&Version],
    clone: Option<&CloneBase>,
    opts: &PlanOptions,
    mut steps: Vec<Step>,
) -> Decision {
    let selected: Vec<usize> = (0..src.len())
        .filter(|&i| opts.snapshots.selects(short_of(src[i])))
        .collect();
    let (Some(&oldest), Some(&newest)) = (selected.first(), selected.last()) else {
        return Decision::Conflict {
            conflict: Conflict::NoSourceSnapshots {
                total: src.len(),
                selected: 0,
            },
        };
    };
    let first = match opts.initial {
        InitialReplication::All => oldest,
        InitialReplication::Newest => newest,
    };
    steps.push(match clone {
        Some(c) => Step::Clone {
            origin: c.origin.clone(),
            target_origin: c.target_origin.clone(),
            to: src[first].into(),
        },
        None => Step::Full {
            snapshot: src[first].into(),
        },
    });
    if opts.initial == InitialReplication::All {
        steps.extend(chain(src[first], &src[first + 1..], opts));
    }
    Decision::Replicate { steps }
}

/// Why a [`TreeInput::decode_token`] decoder could not read a token (zfs-stream's `TokenError` in the
/// executor).
pub type TokenDecodeError = Box<dyn std::error::Error + Send + Sync>;

/// Inputs of a whole-tree plan: one listing per side, and the resume-token decoder.
pub struct TreeInput<'a> {
    /// Source listing (recursive from the source root, with versions).
    pub source: &'a Listing,
    /// Target listing (recursive from the target root, with versions; empty when the root does not exist).
    pub target: &'a Listing,
    /// Decodes a `receive_resume_token` string (the executor passes zfs-stream's decoder); a token it
    /// cannot read becomes the dataset's `unreadable_resume_token` conflict, with the error's text.
    pub decode_token: &'a dyn Fn(&str) -> Result<ResumeToken, TokenDecodeError>,
}

/// The source datasets a tree spec selects (listing order) and the ones it leaves out.
pub fn select_datasets<'l>(
    source: &'l Listing,
    spec: &TreeSpec,
) -> (Vec<&'l Dataset>, Vec<DatasetName>) {
    let mut sel: Vec<&Dataset> = Vec::new();
    let mut excluded = Vec::new();
    for d in &source.datasets {
        let within = if spec.recursive {
            d.name.is_within(&spec.source_root)
        } else {
            d.name == spec.source_root
        };
        if !within {
            continue;
        }
        let skip = (spec.skip_parent && d.name == spec.source_root)
            || spec
                .exclude_datasets
                .iter()
                .any(|r| r.is_match(d.name.as_str()))
            || property_skip(d, spec).is_some();
        if skip {
            excluded.push(d.name.clone());
        } else {
            sel.push(d);
        }
    }
    (sel, excluded)
}

/// Why `d`'s `syncoid:sync` property leaves it out of a run of `spec` (only when the spec honours
/// it, [`TreeSpec::sync_host`]).
fn property_skip(d: &Dataset, spec: &TreeSpec) -> Option<String> {
    let host = spec.sync_host.as_deref()?;
    let value = d.user_props.get(SYNC_PROPERTY).map(String::as_str);
    sync_property_skip(value, host)
}

/// Plans a whole tree: selection, target mapping, ordering, clones, and one [`plan_dataset`] per dataset.
pub fn plan_tree(
    input: &TreeInput<'_>,
    spec: &TreeSpec,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let src_all = &input.source.datasets;
    if !src_all.iter().any(|d| d.name == spec.source_root) {
        return Err(PlanError::SourceNotFound(spec.source_root.clone()));
    }
    let tgt_by_name: HashMap<&str, &Dataset> = input
        .target
        .datasets
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();

    let (sel, excluded) = select_datasets(input.source, spec);
    let property_skipped: Vec<PropertySkip> = src_all
        .iter()
        .filter(|d| excluded.contains(&d.name))
        .filter_map(|d| {
            property_skip(d, spec).map(|reason| PropertySkip {
                source: d.name.clone(),
                reason,
            })
        })
        .collect();
    let index: HashMap<&str, usize> = sel
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();

    // Dependencies: nearest selected ancestor; the origin's dataset for clones.
    let n = sel.len();
    let mut parent_dep: Vec<Option<usize>> = vec![None; n];
    let mut origin_dep: Vec<Option<usize>> = vec![None; n];
    for (i, d) in sel.iter().enumerate() {
        let mut p = d.name.parent();
        while let Some(pn) = p {
            if let Some(&j) = index.get(pn.as_str()) {
                parent_dep[i] = Some(j);
                break;
            }
            if !pn.is_within(&spec.source_root) {
                break;
            }
            p = pn.parent();
        }
        if let Some(o) = &d.origin {
            if let Some(&j) = index.get(o.dataset().as_str()) {
                if j != i {
                    origin_dep[i] = Some(j);
                }
            }
        }
    }
    let order = topo_order(&parent_dep, &mut origin_dep);

    // Plan each dataset in order.
    let mut pos: Vec<Option<usize>> = vec![None; n];
    let mut destroyed: Vec<DatasetName> = Vec::new();
    let mut will_exist: HashSet<DatasetName> = input
        .target
        .datasets
        .iter()
        .map(|d| d.name.clone())
        .collect();
    let mut out = Vec::with_capacity(n);
    for &i in &order {
        let d = sel[i];
        let target = spec.map(&d.name).ok_or_else(|| PlanError::BadMapping {
            dataset: d.name.clone(),
            target_root: spec.target_root.clone(),
            why: "the mapped name is not a valid dataset name".into(),
        })?;
        let is_destroyed = destroyed.iter().any(|x| target.is_within(x));
        let tds = if is_destroyed {
            None
        } else {
            tgt_by_name.get(target.as_str()).copied()
        };
        let encrypted = d.encryption.is_encrypted();
        let raw = encrypted && tds.map(|t| t.encryption.is_encrypted()).unwrap_or(true);
        let mut after: Vec<DatasetName> = Vec::new();
        if let Some(j) = parent_dep[i] {
            after.push(sel[j].name.clone());
        }
        if let Some(j) = origin_dep[i] {
            after.push(sel[j].name.clone());
        }

        let decision = 'decide: {
            // The target's parent must exist or be created by this plan.
            if tds.is_none() {
                if let Some(tp) = target.parent() {
                    if tp.is_within(&spec.target_root) && !will_exist.contains(&tp) {
                        break 'decide Decision::Conflict {
                            conflict: Conflict::TargetParentMissing { parent: tp },
                        };
                    }
                }
            }
            let token = match tds.and_then(|t| t.receive_resume_token.as_deref()) {
                None => None,
                Some(s) => match (input.decode_token)(s) {
                    Ok(t) => Some(t),
                    Err(error) => {
                        break 'decide Decision::Conflict {
                            conflict: Conflict::UnreadableResumeToken {
                                token: s.to_string(),
                                error: error.to_string(),
                            },
                        }
                    }
                },
            };
            let clone = if tds.is_none() {
                origin_dep[i]
                    .and_then(|j| Some((j, pos[j]?)))
                    .and_then(|(j, p)| clone_base(d, sel[j], &out[p], &tgt_by_name, &destroyed))
            } else {
                None
            };
            let ts = tds.map(|t| TargetState {
                name: &t.name,
                versions: &t.versions,
                resume_token: token.as_ref(),
            });
            plan_dataset(&d.versions, ts, clone.as_ref(), opts)
        };
        let mut decision = decision;
        fill_descendants(&mut decision, &target, &input.target.datasets);
        if let Decision::Replicate { steps } = &decision {
            if steps
                .iter()
                .any(|s| matches!(s, Step::DestroyTarget { .. }))
            {
                will_exist.retain(|x| !x.is_within(&target));
                destroyed.push(target.clone());
            }
            if steps.iter().any(|s| {
                matches!(
                    s,
                    Step::Full { .. } | Step::Clone { .. } | Step::Resume { .. }
                )
            }) {
                will_exist.insert(target.clone());
            }
        }
        let dp = DatasetPlan {
            source: d.name.clone(),
            target,
            kind: d.kind,
            encrypted,
            raw,
            after,
            decision,
            cleanup: Vec::new(),
        };
        pos[i] = Some(out.len());
        out.push(dp);
    }
    Ok(Plan {
        schema: PLAN_SCHEMA,
        source_root: spec.source_root.clone(),
        target_root: spec.target_root.clone(),
        datasets: out,
        excluded,
        property_skipped,
    })
}

/// Kahn's algorithm in listing order; origin edges inside a cycle are dropped (those clones go in full).
fn topo_order(parent_dep: &[Option<usize>], origin_dep: &mut [Option<usize>]) -> Vec<usize> {
    let n = parent_dep.len();
    let mut indeg = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for dep in [parent_dep[i], origin_dep[i]].into_iter().flatten() {
            indeg[i] += 1;
            children[dep].push(i);
        }
    }
    let mut heap: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indeg[i] == 0).map(Reverse).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(Reverse(i)) = heap.pop() else {
            // A cycle through an origin edge: drop the first remaining one.
            let Some(k) = (0..n).find(|&k| !done[k] && origin_dep[k].is_some()) else {
                break; // cannot happen: parent edges form a tree
            };
            if let Some(j) = origin_dep[k].take() {
                children[j].retain(|&c| c != k);
            }
            indeg[k] -= 1;
            if indeg[k] == 0 {
                heap.push(Reverse(k));
            }
            continue;
        };
        done[i] = true;
        order.push(i);
        for &c in &children[i] {
            indeg[c] -= 1;
            if indeg[c] == 0 {
                heap.push(Reverse(c));
            }
        }
    }
    order
}

/// The clone base for a clone whose origin dataset is planned earlier and ends up holding the origin snapshot.
fn clone_base(
    d: &Dataset,
    origin_ds: &Dataset,
    odp: &DatasetPlan,
    tgt_by_name: &HashMap<&str, &Dataset>,
    destroyed: &[DatasetName],
) -> Option<CloneBase> {
    let origin = d.origin.as_ref()?;
    let osrc = origin_ds
        .versions
        .iter()
        .find(|v| v.name == VersionName::Snapshot(origin.clone()))?;
    let otgt = if destroyed
        .iter()
        .any(|x| odp.target.is_within(x) && x != &odp.target)
    {
        None
    } else {
        tgt_by_name
            .get(odp.target.as_str())
            .map(|t| t.versions.as_slice())
    };
    let after = model::apply(otgt, &odp.decision).ok()??;
    let m = after.iter().find(|m| m.guid == osrc.guid)?;
    Some(CloneBase {
        origin: osrc.into(),
        target_origin: odp.target.snapshot(&m.short).ok()?,
    })
}

/// Fills the descendant lists of `NoCommonBase` / `DestroyTarget` from the target listing.
fn fill_descendants(decision: &mut Decision, target: &DatasetName, tgt: &[Dataset]) {
    let list = || -> Vec<DatasetName> {
        tgt.iter()
            .filter(|d| d.name.is_within(target) && &d.name != target)
            .map(|d| d.name.clone())
            .collect()
    };
    match decision {
        Decision::Conflict {
            conflict: Conflict::NoCommonBase {
                target_descendants, ..
            },
        } => *target_descendants = list(),
        Decision::Replicate { steps } => {
            for s in steps {
                if let Step::DestroyTarget { descendants, .. } = s {
                    *descendants = list();
                }
            }
        }
        _ => {}
    }
}
