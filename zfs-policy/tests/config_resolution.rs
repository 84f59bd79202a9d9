//! The issue's example config, sanoid's defaults, and order-independent inheritance.

use zfs_policy::{Config, Dataset, Origin, Recursive, Resolution, TakeMode};

const FIXTURE: &str = include_str!("fixtures/sanoid.conf");

fn datasets() -> Vec<Dataset> {
    vec![
        Dataset::filesystem("tank"),
        Dataset::volume("tank/vm-100-disk-0"),
        Dataset::filesystem("tank/home"),
        Dataset::filesystem("tank/home/alice"),
        Dataset::filesystem("rpool"),
    ]
}

#[test]
fn issue_example_resolves() {
    let config = Config::parse(FIXTURE, "sanoid.conf").expect("fixture parses");
    assert!(config.warnings.is_empty());
    let r = config.resolve(&datasets());
    let names: Vec<&str> = r.policies.iter().map(|p| p.dataset.as_str()).collect();
    assert_eq!(
        names,
        ["tank", "tank/home", "tank/home/alice", "tank/vm-100-disk-0"]
    );

    let tank = r.get("tank").unwrap();
    assert_eq!(tank.recursive, Recursive::Yes);
    assert_eq!(tank.take, TakeMode::Own);
    let s = &tank.settings;
    assert_eq!(
        (
            s.frequently,
            s.hourly,
            s.daily,
            s.weekly,
            s.monthly,
            s.yearly
        ),
        (0, 6, 14, 0, 6, 0)
    );

    let vm = r.get("tank/vm-100-disk-0").unwrap();
    assert_eq!(vm.kind, zfs_policy::DatasetKind::Volume);
    assert_eq!(
        vm.origin,
        Origin::Section {
            section: "tank/vm-100-disk-0".into()
        }
    );
    let s = &vm.settings;
    assert_eq!((s.hourly, s.daily, s.monthly, s.yearly), (24, 30, 12, 0));
    assert!(s.autosnap && s.autoprune);
    assert_eq!(vm.take, TakeMode::Own);

    let alice = r.get("tank/home/alice").unwrap();
    assert_eq!(
        alice.origin,
        Origin::Inherited {
            from: "tank".into()
        }
    );
    assert_eq!(alice.settings, tank.settings);
    assert!(r.get("rpool").is_none());
    assert!(r.missing.is_empty());
}

#[test]
fn sanoid_defaults_apply_to_a_bare_section() {
    let r = Config::parse("[tank]\n", "x")
        .unwrap()
        .resolve(&[Dataset::filesystem("tank")]);
    let s = &r.policies[0].settings;
    assert_eq!(
        (
            s.frequently,
            s.hourly,
            s.daily,
            s.weekly,
            s.monthly,
            s.yearly
        ),
        (0, 48, 90, 0, 6, 0)
    );
    assert_eq!(s.frequent_period, 15);
    assert_eq!((s.hourly_min, s.daily_hour, s.daily_min), (0, 23, 59));
    assert_eq!((s.weekly_wday, s.weekly_hour, s.weekly_min), (1, 23, 30));
    assert_eq!((s.monthly_mday, s.monthly_hour, s.monthly_min), (1, 0, 0));
    assert_eq!(
        (s.yearly_mon, s.yearly_mday, s.yearly_hour, s.yearly_min),
        (1, 1, 0, 0)
    );
    assert!(s.autosnap && s.autoprune && s.monitor && !s.monitor_dont_warn && !s.monitor_dont_crit);
    assert_eq!(s.prune_defer, 0);
    assert_eq!(s.script_timeout, 5);
    assert_eq!((s.capacity_warn, s.capacity_crit), (80, 95));
    assert_eq!(
        (s.hourly_warn, s.hourly_crit, s.daily_warn, s.daily_crit),
        (5400, 21600, 100800, 115200)
    );
    assert_eq!((s.monthly_warn, s.monthly_crit), (32 * 86400, 40 * 86400));
    assert!(s.pre_snapshot_script.is_none() && s.prune_grid.is_none());
}

/// A template that lists every sanoid key, most of them empty, as people copy them from
/// `sanoid.defaults.conf`, plus a user `[template_default]`.
#[test]
fn every_sanoid_key_is_accepted() {
    let text = "\
[version]
version = 2

[template_default]
hourly = 12

[template_all]
path =
recursive =
use_template =
process_children_only =
skip_children =
pre_snapshot_script =
post_snapshot_script =
pre_pruning_script =
pruning_script =
script_timeout = 5
no_inconsistent_snapshot =
force_post_snapshot_script =
frequent_period = 15
autoprune = yes
frequently = 0
daily = 60
weekly = 0
monthly = 0
yearly = 0
prune_defer = 0
autosnap = 0
hourly_min = 0
daily_hour = 23
daily_min = 59
weekly_wday = 1
weekly_hour = 23
weekly_min = 30
monthly_mday = 1
monthly_hour = 0
monthly_min = 0
yearly_mon = 1
yearly_mday = 1
yearly_hour = 0
yearly_min = 0
monitor = no
monitor_dont_warn = no
monitor_dont_crit = no
frequently_warn = 0
frequently_crit = 0
hourly_warn = 90m
hourly_crit = 360m
daily_warn = 28h
daily_crit = 32h
weekly_warn = 0
weekly_crit = 0
monthly_warn = 32d
monthly_crit = 40d
yearly_warn = 0
yearly_crit = 0
capacity_warn = 80
capacity_crit = 95

[data]
path = tank/data
use_template = all
";
    let config = Config::parse(text, "sanoid.conf").unwrap();
    assert_eq!(config.version, Some(2));
    // path, recursive and use_template in a template are ignored with a warning, as in sanoid
    assert_eq!(config.warnings.len(), 3, "{:?}", config.warnings);
    let r = config.resolve(&[Dataset::filesystem("tank/data")]);
    let p = &r.policies[0];
    assert_eq!(
        p.origin,
        Origin::Section {
            section: "data".into()
        }
    );
    assert_eq!(p.settings.hourly, 12); // from [template_default]
    assert_eq!(p.settings.daily, 60);
    assert!(!p.settings.autosnap && !p.settings.monitor);
    assert_eq!(p.take, TakeMode::Never);
}

const TREE_SECTIONS: [&str; 6] = [
    "[tank]\nrecursive = yes\nuse_template = base\nhourly = 10\n",
    "[tank/a]\nhourly = 3\nrecursive = zfs\n",
    "[tank/a/deep]\ndaily = 2\n",
    "[tank/b]\nskip_children = yes\n",
    "[template_base]\ndaily = 5\nmonthly = 1\n",
    "[tank/b/kept]\nuse_template = base\n",
];

fn tree() -> Vec<Dataset> {
    [
        "tank",
        "tank/a",
        "tank/a/deep",
        "tank/a/deep/x",
        "tank/b",
        "tank/b/gone",
        "tank/b/kept",
        "tank/c",
    ]
    .iter()
    .map(|n| Dataset::filesystem(*n))
    .collect()
}

fn resolve_in_order(order: &[usize]) -> Resolution {
    let text: String = order.iter().map(|&i| TREE_SECTIONS[i]).collect();
    Config::parse(&text, "x").unwrap().resolve(&tree())
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn inheritance_does_not_depend_on_section_order() {
    let reference = resolve_in_order(&[0, 1, 2, 3, 4, 5]);
    let perms = permutations(TREE_SECTIONS.len());
    assert_eq!(perms.len(), 720);
    for order in perms {
        assert_eq!(resolve_in_order(&order), reference, "order {order:?}");
    }
    let get = |n: &str| reference.get(n).unwrap_or_else(|| panic!("{n} missing"));
    // tank: template then own keys
    assert_eq!(
        (get("tank").settings.hourly, get("tank").settings.daily),
        (10, 5)
    );
    // tank/a: explicit child of a recursive parent: inherits daily=5, its own hourly=3 wins
    let a = get("tank/a");
    assert_eq!(
        (a.settings.hourly, a.settings.daily, a.settings.monthly),
        (3, 5, 1)
    );
    assert_eq!(a.take, TakeMode::Recursive);
    // tank/a/deep: base is tank/a (recursive=zfs), own daily=2; covered by tank/a's snapshot
    let deep = get("tank/a/deep");
    assert_eq!((deep.settings.hourly, deep.settings.daily), (3, 2));
    assert_eq!(
        deep.take,
        TakeMode::ByAncestor {
            root: "tank/a".into()
        }
    );
    // tank/a/deep/x: inherits tank/a (deep is not recursive), covered by tank/a
    let x = get("tank/a/deep/x");
    assert_eq!(
        x.origin,
        Origin::Inherited {
            from: "tank/a".into()
        }
    );
    assert_eq!((x.settings.hourly, x.settings.daily), (3, 5));
    // tank/b: inherits tank, skip_children drops tank/b/gone, tank/b/kept starts from defaults + template
    assert_eq!(get("tank/b").settings.hourly, 10);
    assert!(reference.get("tank/b/gone").is_none());
    let kept = get("tank/b/kept");
    assert_eq!((kept.settings.hourly, kept.settings.daily), (48, 5));
    assert_eq!(
        get("tank/c").origin,
        Origin::Inherited {
            from: "tank".into()
        }
    );
}

#[test]
fn parse_errors_name_the_location() {
    let e = Config::parse(
        "[tank]\n    hourly = 1\n\n\n\n\n\n\n\n\n\n    hourlyy = 3\n",
        "sanoid.conf",
    )
    .unwrap_err();
    assert_eq!(e.line, 12);
    assert_eq!(e.column, 5);
    assert!(e
        .to_string()
        .starts_with("sanoid.conf:12:5: unknown key 'hourlyy' in section [tank]"));
    assert!(!e.to_string().contains('\n'));
}
