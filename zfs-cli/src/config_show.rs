//! `zsync config show [--json]` and sanoid mode's `--debug` dump: the resolved configuration of
//! every dataset (templates applied, recursive sections expanded over the datasets ZFS lists),
//! with where each dataset's settings come from.
//!
//! When ZFS cannot be listed (no module, no permission), the configured sections are resolved
//! on their own (recursive children are then not expanded) and a note says so.

use crate::config::LoadedConfig;
use serde_json::{json, Value};
use zfs_core::Backend;
use zfs_policy::{DatasetPolicy, Origin, Resolution, TakeMode};
use zsync_ops::engine::{list_state, policy_datasets};
use zsync_ops::{NoEvents, Report};

/// The resolved configuration and how it was obtained.
#[derive(Debug)]
pub struct Shown {
    /// Every managed dataset's effective policy, by name.
    pub resolution: Resolution,
    /// Why ZFS was not used (the sections were resolved alone), if so.
    pub not_listed: Option<String>,
}

/// Resolves `config` over what `backend` lists (`None`, or a failed listing: over the configured
/// sections themselves).
pub fn resolve(config: &zfs_policy::Config, backend: Result<&dyn Backend, String>) -> Shown {
    let sections = || {
        let ds: Vec<zfs_policy::Dataset> = config
            .datasets
            .iter()
            .map(|s| zfs_policy::Dataset::filesystem(&s.path))
            .collect();
        config.resolve(&ds)
    };
    let be = match backend {
        Ok(be) => be,
        Err(why) => {
            let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
            return Shown {
                resolution: sections(),
                not_listed: Some(why),
            };
        }
    };
    let mut report = Report::default();
    let state = list_state(config, be, &mut report, &mut NoEvents);
    if let Some(f) = report.failures.first() {
        let error: Vec<&str> = f.error.split_whitespace().collect();
        return Shown {
            resolution: sections(),
            not_listed: Some(format!("{}: {}", f.what, error.join(" "))),
        };
    }
    Shown {
        resolution: config.resolve(&policy_datasets(&state)),
        not_listed: None,
    }
}

/// A setting's value as sanoid.conf writes it.
fn conf_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn origin_text(p: &DatasetPolicy) -> String {
    let from = match &p.origin {
        Origin::Section { section } => format!("section [{section}]"),
        Origin::Inherited { from } => format!("inherited from [{from}] (recursive)"),
    };
    let take = match &p.take {
        TakeMode::Own => "takes its own snapshots".to_string(),
        TakeMode::Recursive => "takes recursive (zfs) snapshots".to_string(),
        TakeMode::ByAncestor { root } => format!("snapshots come from {root} (recursive = zfs)"),
        TakeMode::Never => "takes no snapshots".to_string(),
    };
    let prune = if p.prune { "prunes" } else { "does not prune" };
    format!("{from}; {take}; {prune}")
}

/// The text form: one sanoid.conf-like block per dataset, every effective key.
pub fn text(config: &LoadedConfig, shown: &Shown) -> String {
    let mut s = format!("# resolved configuration of {}\n", config.path.display());
    if let Some(why) = &shown.not_listed {
        s.push_str(&format!(
            "# ZFS not listed ({why}): configured sections only, recursive children not expanded\n"
        ));
    }
    for p in &shown.resolution.policies {
        s.push_str(&format!("\n[{}]\n\t# {}\n", p.dataset, origin_text(p)));
        if let Ok(Value::Object(m)) = serde_json::to_value(&p.settings) {
            for (k, v) in m {
                if let Some(v) = conf_value(&v) {
                    s.push_str(&format!("\t{k} = {v}\n"));
                }
            }
        }
    }
    if !shown.resolution.missing.is_empty() {
        s.push_str(&format!(
            "\n# configured but not found in ZFS: {}\n",
            shown.resolution.missing.join(", ")
        ));
    }
    s
}

/// The JSON form: `{config, listed, not_listed, datasets: [DatasetPolicy...], missing}`.
pub fn json(config: &LoadedConfig, shown: &Shown) -> Value {
    json!({
        "config": config.path.display().to_string(),
        "listed": shown.not_listed.is_none(),
        "not_listed": shown.not_listed,
        "datasets": shown.resolution.policies,
        "missing": shown.resolution.missing,
        "warnings": config
            .config
            .warnings
            .iter()
            .map(|w| w.located())
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn loaded(text: &str) -> LoadedConfig {
        LoadedConfig {
            path: PathBuf::from("t.conf"),
            config: zfs_policy::Config::parse(text, "t.conf").unwrap(),
        }
    }

    #[test]
    fn sections_resolved_with_templates_and_origin() {
        let c = loaded(
            "[tank]\n\tuse_template = prod\n\trecursive = yes\n[tank/vm]\n\thourly = 3\n\
             [template_prod]\n\thourly = 24\n\tyearly = 0\n\tdaily = 7\n",
        );
        let shown = resolve(&c.config, Err("no ZFS here".into()));
        let t = text(&c, &shown);
        assert!(t.contains("# ZFS not listed (no ZFS here)"), "{t}");
        let tank = t.split("\n[tank]\n").nth(1).unwrap();
        assert!(tank.contains("\thourly = 24\n"), "{t}");
        assert!(tank.contains("\tdaily = 7\n"), "{t}");
        assert!(tank.contains("\tautosnap = yes\n"), "{t}");
        let vm = t.split("\n[tank/vm]\n").nth(1).unwrap();
        assert!(vm.contains("\thourly = 3\n"), "{t}");
        assert!(
            vm.contains("\tdaily = 7\n"),
            "the recursive parent's template: {t}"
        );
        let j = json(&c, &shown);
        assert_eq!(j["listed"], false);
        assert_eq!(j["datasets"][0]["dataset"], "tank");
        assert_eq!(j["datasets"][0]["settings"]["hourly"], 24);
        assert_eq!(j["datasets"][1]["settings"]["hourly"], 3);
    }
}
