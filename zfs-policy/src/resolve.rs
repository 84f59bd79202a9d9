//! Resolution: from a parsed [`Config`] and the existing datasets to one effective
//! [`DatasetPolicy`] per managed dataset.
//!
//! # The inheritance rule (independent of section order)
//!
//! For every dataset `D` (existing, or named by a section):
//!
//! 1. **Propagating ancestor.** Walk up `D`'s ancestors, nearest first, looking only at ancestors that
//!    have a section. The first whose effective `recursive` is `yes` or `zfs`, or whose `skip_children`
//!    is on, is `D`'s propagating ancestor `A`. Sections in between that are neither recursive nor
//!    skip children do not pass anything on (as in sanoid, where only recursive sections copy their
//!    configuration down).
//! 2. **Base.** If `A` exists and does not cut its children (`skip_children` on and `recursive` not
//!    `zfs`), the base is `A`'s effective settings. Otherwise the base is sanoid's defaults overlaid with
//!    the user's `[template_default]`.
//! 3. **Own section.** If `D` has a section, its templates are applied in `use_template` order, then its own
//!    keys; the result is `D`'s effective settings. A child's explicit keys therefore always win over what
//!    it inherits, wherever the sections appear in the file (sanoid overwrites a child section that is
//!    placed before its recursive parent; zsync does not).
//! 4. **No section.** `D` inherits `A`'s effective settings unchanged. Without `A`, or when `A` cuts its
//!    children, `D` is not managed.
//!
//! The structural keys (`recursive`, `process_children_only`, `skip_children`, `path`, `use_template`)
//! are never inherited.
//!
//! # Taking and pruning
//!
//! * `recursive = zfs`: the dataset takes one recursive snapshot ([`TakeMode::Recursive`]; the caller
//!   snapshots it and all its descendants in one atomic call). Its descendants are
//!   [`TakeMode::ByAncestor`]: they take nothing themselves, even with an explicit `autosnap = yes`, but are
//!   pruned individually with their own settings. `skip_children` has no effect with `zfs` (the
//!   recursive snapshot includes the children anyway).
//! * `recursive = zfs` with `process_children_only`: sanoid takes nothing at all in this case. zsync
//!   skips the parent itself and lets each child take its own snapshots ([`TakeMode::Own`]); a caller that
//!   batches all snapshots of a pool into one call keeps them atomic.
//! * `process_children_only`: the dataset itself is neither snapshotted nor pruned.
//! * `autosnap = no`: nothing is taken; `autoprune = no`: nothing is pruned.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{Config, Policy, Recursive, Section, Structure};
use crate::types::{Dataset, DatasetKind};

/// Where a dataset's policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum Origin {
    /// The dataset has its own section (named `section`).
    Section {
        /// Section name as written.
        section: String,
    },
    /// Inherited unchanged from a recursive ancestor's section.
    Inherited {
        /// The ancestor dataset.
        from: String,
    },
}

/// How snapshots are taken for a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(tag = "mode", rename_all = "snake_case"))]
pub enum TakeMode {
    /// Snapshot this dataset alone.
    Own,
    /// Snapshot this dataset and all its descendants atomically (`recursive = zfs`).
    Recursive,
    /// An ancestor's recursive snapshot covers this dataset.
    ByAncestor {
        /// The `recursive = zfs` ancestor.
        root: String,
    },
    /// Nothing is taken (`autosnap = no` or `process_children_only`).
    Never,
}

/// The effective policy of one dataset.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DatasetPolicy {
    /// The dataset.
    pub dataset: String,
    /// Filesystem or volume (as passed in; `Filesystem` for configured datasets that do not exist).
    pub kind: DatasetKind,
    /// Where the settings come from.
    pub origin: Origin,
    /// How snapshots are taken.
    pub take: TakeMode,
    /// Whether snapshots are pruned (`autoprune` and not `process_children_only`).
    pub prune: bool,
    /// The effective `recursive` of the dataset's own section (`No` when inherited).
    pub recursive: Recursive,
    /// `process_children_only`: the dataset itself is neither snapshotted nor pruned.
    pub process_children_only: bool,
    /// The effective settings.
    pub settings: Policy,
}

impl DatasetPolicy {
    /// The pool: the first component of the dataset name (used for `prune_defer` and capacity checks).
    pub fn pool(&self) -> &str {
        self.dataset.split('/').next().unwrap_or(&self.dataset)
    }

    /// Whether this dataset takes snapshots itself (own or recursive).
    pub fn takes_snapshots(&self) -> bool {
        matches!(self.take, TakeMode::Own | TakeMode::Recursive)
    }
}

/// The result of [`Config::resolve`].
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Resolution {
    /// Effective policies of the managed existing datasets, sorted by dataset name.
    pub policies: Vec<DatasetPolicy>,
    /// Datasets named by a section that do not exist (the caller should warn).
    pub missing: Vec<String>,
}

impl Resolution {
    /// The policy of one dataset.
    pub fn get(&self, dataset: &str) -> Option<&DatasetPolicy> {
        self.policies
            .binary_search_by(|p| p.dataset.as_str().cmp(dataset))
            .ok()
            .map(|i| &self.policies[i])
    }
}

#[derive(Debug, Clone)]
struct Effective {
    policy: Policy,
    structure: Structure,
    origin: Origin,
}

impl Effective {
    fn propagates(&self) -> bool {
        self.structure.recursive.is_some_and(|r| r != Recursive::No)
            || self.structure.skip_children == Some(true)
    }

    fn cuts_children(&self) -> bool {
        self.structure.skip_children == Some(true)
            && self.structure.recursive != Some(Recursive::Zfs)
    }
}

fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut cur = path;
    std::iter::from_fn(move || {
        let idx = cur.rfind('/')?;
        cur = &cur[..idx];
        Some(cur)
    })
}

struct Resolver<'c> {
    config: &'c Config,
    sections: HashMap<&'c str, &'c Section>,
    base: Policy,
    effective: HashMap<String, Option<Effective>>,
    take: HashMap<String, TakeMode>,
}

impl<'c> Resolver<'c> {
    fn layered(&self, section: &Section, base: Policy) -> (Policy, Structure) {
        let mut policy = base;
        let mut structure = Structure::default();
        for t in &section.use_template {
            if let Some(tpl) = self.config.templates.get(&t.name) {
                tpl.settings.apply_to(&mut policy);
                structure.overlay(&tpl.structure);
            }
        }
        section.settings.apply_to(&mut policy);
        structure.overlay(&section.structure);
        (policy, structure)
    }

    fn propagating_ancestor(&mut self, path: &str) -> Option<(String, Effective)> {
        for anc in ancestors(path) {
            if self.sections.contains_key(anc) {
                if let Some(eff) = self.effective(anc) {
                    if eff.propagates() {
                        return Some((anc.to_string(), eff));
                    }
                }
            }
        }
        None
    }

    fn effective(&mut self, path: &str) -> Option<Effective> {
        if let Some(e) = self.effective.get(path) {
            return e.clone();
        }
        let parent = self.propagating_ancestor(path);
        let result = match (self.sections.get(path).copied(), parent) {
            (Some(section), parent) => {
                let base = match parent {
                    Some((_, a)) if !a.cuts_children() => a.policy,
                    _ => self.base.clone(),
                };
                let (policy, structure) = self.layered(section, base);
                Some(Effective {
                    policy,
                    structure,
                    origin: Origin::Section {
                        section: section.name.clone(),
                    },
                })
            }
            (None, Some((from, a))) if !a.cuts_children() => Some(Effective {
                policy: a.policy,
                structure: Structure::default(),
                origin: Origin::Inherited { from },
            }),
            (None, _) => None,
        };
        self.effective.insert(path.to_string(), result.clone());
        result
    }

    fn take_mode(&mut self, path: &str, eff: &Effective) -> TakeMode {
        if let Some(t) = self.take.get(path) {
            return t.clone();
        }
        let mut covered = None;
        for anc in ancestors(path) {
            let Some(anc_eff) = self.effective(anc) else {
                continue;
            };
            match self.take_mode(anc, &anc_eff) {
                TakeMode::Recursive => covered = Some(anc.to_string()),
                TakeMode::ByAncestor { root } => covered = Some(root),
                _ => {}
            }
            if covered.is_some() {
                break;
            }
        }
        let mode = if let Some(root) = covered {
            TakeMode::ByAncestor { root }
        } else if eff.structure.process_children_only == Some(true) || !eff.policy.autosnap {
            TakeMode::Never
        } else if eff.structure.recursive == Some(Recursive::Zfs) {
            TakeMode::Recursive
        } else {
            TakeMode::Own
        };
        self.take.insert(path.to_string(), mode.clone());
        mode
    }
}

impl Config {
    /// Resolves the effective policy of every managed dataset among `datasets` (all existing filesystems
    /// and volumes; snapshots must not be included). See the module docs for the rule.
    pub fn resolve(&self, datasets: &[Dataset]) -> Resolution {
        let sections: HashMap<&str, &Section> =
            self.datasets.iter().map(|s| (s.path.as_str(), s)).collect();
        let mut r = Resolver {
            config: self,
            sections,
            base: self.base_policy(),
            effective: HashMap::new(),
            take: HashMap::new(),
        };
        let existing: BTreeMap<&str, DatasetKind> =
            datasets.iter().map(|d| (d.name.as_str(), d.kind)).collect();
        let mut policies = Vec::new();
        for (&name, &kind) in &existing {
            let Some(eff) = r.effective(name) else {
                continue;
            };
            let take = r.take_mode(name, &eff);
            policies.push(DatasetPolicy {
                dataset: name.to_string(),
                kind,
                prune: eff.policy.autoprune && eff.structure.process_children_only != Some(true),
                recursive: eff.structure.recursive.unwrap_or_default(),
                process_children_only: eff.structure.process_children_only == Some(true),
                origin: eff.origin,
                take,
                settings: eff.policy,
            });
        }
        let missing: BTreeSet<String> = self
            .datasets
            .iter()
            .filter(|s| !existing.contains_key(s.path.as_str()))
            .map(|s| s.path.clone())
            .collect();
        Resolution {
            policies,
            missing: missing.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(names: &[&str]) -> Vec<Dataset> {
        names.iter().map(|n| Dataset::filesystem(*n)).collect()
    }

    #[test]
    fn ancestors_walk_up() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a/b", "a"]);
        assert_eq!(ancestors("a").count(), 0);
    }

    #[test]
    fn zfs_recursive_covers_children_and_children_only_fixes_sanoid_noop() {
        let c = Config::parse(
            "[tank]\nrecursive = zfs\nhourly = 5\n[tank/a]\nautosnap = yes\nhourly = 2\n\
             [pool]\nrecursive = zfs\nprocess_children_only = yes\n",
            "x",
        )
        .unwrap();
        let r = c.resolve(&fs(&["tank", "tank/a", "tank/a/b", "pool", "pool/x"]));
        assert_eq!(r.get("tank").unwrap().take, TakeMode::Recursive);
        let a = r.get("tank/a").unwrap();
        assert_eq!(
            a.take,
            TakeMode::ByAncestor {
                root: "tank".into()
            }
        );
        assert_eq!(a.settings.hourly, 2);
        assert!(a.prune);
        let b = r.get("tank/a/b").unwrap();
        assert_eq!(
            b.take,
            TakeMode::ByAncestor {
                root: "tank".into()
            }
        );
        assert_eq!(b.settings.hourly, 5);
        assert_eq!(
            b.origin,
            Origin::Inherited {
                from: "tank".into()
            }
        );
        let pool = r.get("pool").unwrap();
        assert_eq!(pool.take, TakeMode::Never);
        assert!(!pool.prune);
        assert_eq!(r.get("pool/x").unwrap().take, TakeMode::Own);
    }

    #[test]
    fn skip_children_cuts_inheritance() {
        let c = Config::parse(
            "[tank]\nrecursive = yes\nhourly = 5\n[tank/a]\nskip_children = yes\n[tank/a/c]\ndaily = 1\n",
            "x",
        )
        .unwrap();
        let r = c.resolve(&fs(&["tank", "tank/a", "tank/a/b", "tank/a/c", "tank/d"]));
        assert_eq!(r.get("tank/a").unwrap().settings.hourly, 5);
        assert!(r.get("tank/a/b").is_none());
        // explicit section under a skip_children parent starts from the defaults
        let c2 = r.get("tank/a/c").unwrap();
        assert_eq!((c2.settings.hourly, c2.settings.daily), (48, 1));
        assert_eq!(r.get("tank/d").unwrap().settings.hourly, 5);
    }

    #[test]
    fn non_recursive_intermediate_sections_do_not_propagate() {
        let c = Config::parse(
            "[tank]\nrecursive = yes\nhourly = 5\n[tank/a]\nhourly = 7\n",
            "x",
        )
        .unwrap();
        let r = c.resolve(&fs(&["tank", "tank/a", "tank/a/b", "other"]));
        assert_eq!(r.get("tank/a").unwrap().settings.hourly, 7);
        assert_eq!(r.get("tank/a/b").unwrap().settings.hourly, 5);
        assert!(r.get("other").is_none());
        assert!(r.missing.is_empty());
        let r = c.resolve(&fs(&["tank"]));
        assert_eq!(r.missing, vec!["tank/a".to_string()]);
    }
}
