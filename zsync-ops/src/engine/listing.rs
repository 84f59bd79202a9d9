//! The run's one listing: each configured root once, flattened into dataset → snapshots as the
//! policy sees them.

use crate::events::{Events, Level};
use crate::report::{Failure, Report};
use std::collections::{BTreeMap, BTreeSet};
use zfs_core::{Backend, DatasetName, Depth, ListOptions, ZfsError};
use zfs_policy::{Config, Snapshot};

/// One dataset's snapshots as the policy sees them, plus their ZFS names.
#[derive(Debug, Clone, Default)]
pub struct DatasetState {
    /// Filesystem or volume.
    pub kind: zfs_policy::DatasetKind,
    /// Snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
}

/// The listing of every configured root, flattened: dataset name → state.
pub type State = BTreeMap<String, DatasetState>;

/// The minimal set of roots to list: configured dataset paths with nested ones dropped.
pub fn listing_roots(config: &Config) -> Vec<String> {
    let paths: BTreeSet<&str> = config.datasets.iter().map(|s| s.path.as_str()).collect();
    paths
        .iter()
        .filter(|p| !paths.iter().any(|q| q != *p && is_under(p, q)))
        .map(|p| p.to_string())
        .collect()
}

/// What a failed listing of `root` is called in the report (`list ROOT`).
fn list_what(root: &str) -> String {
    format!("{LIST_PREFIX}{root}")
}

const LIST_PREFIX: &str = "list ";

/// The roots whose listing failed for a reason other than "does not exist" (their datasets are
/// unknown, not missing).
pub fn failed_roots(report: &Report) -> Vec<&str> {
    report
        .failures
        .iter()
        .filter_map(|f| f.what.strip_prefix(LIST_PREFIX))
        .collect()
}

/// Whether `dataset` is `root` or below it.
pub fn is_under(dataset: &str, root: &str) -> bool {
    dataset == root
        || (dataset.starts_with(root) && dataset.as_bytes().get(root.len()) == Some(&b'/'))
}

/// Lists the roots (one backend call each). A root that does not exist is simply absent from
/// the state; any other listing failure goes to `report.failures` and is told once per root as
/// [`Events::operation_failed`] (e.g. the ZFS module not loaded).
pub fn list_state(
    config: &Config,
    backend: &dyn Backend,
    report: &mut Report,
    events: &mut dyn Events,
) -> State {
    let mut state = State::new();
    let opts = ListOptions {
        depth: Depth::Recursive,
        versions: true,
        user_props: Vec::new(),
    };
    let mut fail = |root: &str, error: String, events: &mut dyn Events| {
        let f = Failure {
            what: list_what(root),
            error,
        };
        events.operation_failed(&f);
        report.failures.push(f);
    };
    for root in listing_roots(config) {
        let name = match DatasetName::parse(&root) {
            Ok(n) => n,
            Err(e) => {
                fail(&root, e.to_string(), events);
                continue;
            }
        };
        match backend.list(&name, &opts) {
            Ok(listing) => {
                events.message(
                    Level::Debug,
                    &format!("listed {root}: {} datasets", listing.datasets.len()),
                );
                for d in listing.datasets {
                    let kind = match d.kind {
                        zfs_core::DatasetKind::Filesystem => zfs_policy::DatasetKind::Filesystem,
                        zfs_core::DatasetKind::Volume => zfs_policy::DatasetKind::Volume,
                    };
                    let snapshots = d
                        .snapshots()
                        .map(|v| {
                            Snapshot::from_unix(v.name.short(), v.creation)
                                .with_hold(v.userrefs > 0)
                        })
                        .collect();
                    state.insert(
                        d.name.as_str().to_string(),
                        DatasetState { kind, snapshots },
                    );
                }
            }
            Err(ZfsError::NotFound { .. }) => {}
            Err(e) => fail(&root, e.to_string(), events),
        }
    }
    state
}

/// The listed datasets as zfs-policy's input, for resolving each one's policy.
pub fn policy_datasets(state: &State) -> Vec<zfs_policy::Dataset> {
    state
        .iter()
        .map(|(name, s)| zfs_policy::Dataset {
            name: name.clone(),
            kind: s.kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_drop_nested_paths() {
        let c = Config::parse(
            "[tank]\n[tank/a]\n[tank/a/b]\n[tankx]\n[other/x]\n[other/y]\n",
            "t.conf",
        )
        .unwrap();
        assert_eq!(
            listing_roots(&c),
            vec!["other/x", "other/y", "tank", "tankx"]
        );
    }

    #[test]
    fn policy_datasets_keep_names_and_kinds() {
        let mut state = State::new();
        state.insert("tank/a".into(), DatasetState::default());
        state.insert(
            "tank/vol".into(),
            DatasetState {
                kind: zfs_policy::DatasetKind::Volume,
                snapshots: Vec::new(),
            },
        );
        let d = policy_datasets(&state);
        assert_eq!(
            d,
            vec![
                zfs_policy::Dataset {
                    name: "tank/a".into(),
                    kind: zfs_policy::DatasetKind::Filesystem,
                },
                zfs_policy::Dataset {
                    name: "tank/vol".into(),
                    kind: zfs_policy::DatasetKind::Volume,
                },
            ]
        );
    }
}
