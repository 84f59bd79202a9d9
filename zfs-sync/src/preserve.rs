//! `--preserve-properties` and `--preserve-recordsize`: which source properties each receive sets with
//! `zfs receive -o`.
//!
//! The source's locally set properties are read once per run for the whole tree
//! ([`zfs_core::Backend::properties`]), and every receive of a dataset — full, incremental or resumed —
//! sets them on its target. Setting them as `-o` (rather than sending them with `zfs send -p`) makes them
//! local on the target, applies the source's later changes on the next run, and lets the user's own
//! `--recvoptions` `o`/`x` win. `recordsize` (`--preserve-recordsize`) is set when the target is created
//! only, as syncoid does. Properties in [`NOT_PRESERVED`] are left out, and so are values that cannot
//! travel as one argument (a newline, a tab, over 8 KiB): each such value is reported as a warning for
//! its dataset.

use crate::options::RecvOptions;
use std::collections::BTreeMap;
use zfs_core::{DatasetName, PropertyMap};

/// Properties never copied with `-o`:
/// - set once at creation (`casesensitivity`, `normalization`, `utf8only`, `volblocksize`) or defined by
///   the stream (`volsize`, `version`): a receive cannot set them;
/// - the encryption setup, which a raw stream carries and a plain one must not fake;
/// - where the replica mounts and whether it is shared (`mountpoint`, `sharenfs`, `sharesmb`): a backup
///   mounted at the source's paths hides live data on its host (OpenZFS mounts over non-empty
///   directories), and a shared one exposes it;
/// - space bookings on the target pool (`reservation`, `refreservation`, `quota`): a thick zvol's
///   `refreservation` would book its whole size again on the backup pool, and `quota` counts snapshots,
///   which a replica usually keeps more of than its source (zfs_autobackup also recommends leaving
///   `refreservation` out).
///
/// The user's own `--recvoptions` `o` still sets any of them.
pub const NOT_PRESERVED: &[&str] = &[
    "casesensitivity",
    "normalization",
    "utf8only",
    "volblocksize",
    "volsize",
    "version",
    "encryption",
    "keyformat",
    "keylocation",
    "pbkdf2iters",
    "mountpoint",
    "sharenfs",
    "sharesmb",
    "reservation",
    "refreservation",
    "quota",
];

/// Longest value passed on (zfs-core refuses longer `-o` values).
const MAX_VALUE: usize = zfs_core::validate::MAX_USER_PROP_VALUE;

/// What the receives of one dataset set, and what could not be carried over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preserved {
    /// `-o name=value` pairs for every receive, sorted by name (`--preserve-properties`).
    pub props: Vec<(String, String)>,
    /// `-o name=value` pairs for the receive that creates the target only (`--preserve-recordsize`).
    pub on_create: Vec<(String, String)>,
    /// One line per property left out, for the dataset's warnings.
    pub skipped: Vec<String>,
}

/// Builds the per-dataset `-o` sets from the source's local properties (`--preserve-properties`) and
/// its `recordsize` (`--preserve-recordsize`, any source; volumes have none). The user's `recv` options
/// win: a property they set (`o`) or exclude (`x`) is not preserved.
pub fn preserved(
    local: Option<&PropertyMap>,
    recordsize: Option<&PropertyMap>,
    recv: &RecvOptions,
) -> BTreeMap<DatasetName, Preserved> {
    let mut out: BTreeMap<DatasetName, Preserved> = BTreeMap::new();
    let user_owned = |name: &str| {
        recv.props.iter().any(|(k, _)| k == name) || recv.exclude_props.iter().any(|k| k == name)
    };
    let mut add = |ds: &DatasetName, name: &str, value: &str, create_only: bool| {
        let entry = out.entry(ds.clone()).or_default();
        if NOT_PRESERVED.contains(&name)
            || user_owned(name)
            || (create_only && entry.props.iter().any(|(k, _)| k == name))
        {
            return;
        }
        let bad = if value.contains(['\n', '\t', '\0']) {
            Some("a newline, tab or NUL")
        } else if value.len() > MAX_VALUE {
            Some("more than 8 KiB")
        } else {
            None
        };
        match (bad, create_only) {
            (Some(why), _) => entry.skipped.push(format!(
                "property {name} not preserved: its value has {why}"
            )),
            (None, false) => entry.props.push((name.to_owned(), value.to_owned())),
            (None, true) => entry.on_create.push((name.to_owned(), value.to_owned())),
        }
    };
    for (ds, props) in local.into_iter().flatten() {
        for (name, v) in props {
            add(ds, name, &v.value, false);
        }
    }
    for (ds, props) in recordsize.into_iter().flatten() {
        if let Some(v) = props.get("recordsize") {
            if !v.value.is_empty() && v.value.bytes().all(|b| b.is_ascii_digit()) {
                add(ds, "recordsize", &v.value, true);
            }
        }
    }
    for p in out.values_mut() {
        p.props.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::{PropSource, PropValue};

    fn map(rows: &[(&str, &str, &str, PropSource)]) -> PropertyMap {
        let mut m = PropertyMap::new();
        for (ds, k, v, s) in rows {
            m.entry(DatasetName::parse(ds).unwrap())
                .or_default()
                .insert(
                    (*k).to_owned(),
                    PropValue {
                        value: (*v).to_owned(),
                        source: s.clone(),
                    },
                );
        }
        m
    }

    fn ds(s: &str) -> DatasetName {
        DatasetName::parse(s).unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn local_properties_minus_unsettable_unsafe_and_user_owned() {
        let local = map(&[
            ("t/a", "compression", "lz4", PropSource::Local),
            ("t/a", "atime", "off", PropSource::Local),
            ("t/a", "user:note", "x", PropSource::Local),
            ("t/a", "keylocation", "file:///k", PropSource::Local),
            ("t/a", "mountpoint", "/home", PropSource::Local),
            ("t/a", "sharenfs", "on", PropSource::Local),
            ("t/a", "canmount", "noauto", PropSource::Local),
            ("t/a/v", "volsize", "1048576", PropSource::Local),
            ("t/a/v", "refreservation", "1069547520", PropSource::Local),
            ("t/a/v", "user:bad", "two\nlines", PropSource::Local),
        ]);
        let recv = RecvOptions {
            props: vec![("atime".into(), "on".into())],
            exclude_props: vec!["user:note".into()],
            no_mount: true,
        };
        let p = preserved(Some(&local), None, &recv);
        assert_eq!(
            p[&ds("t/a")].props,
            pairs(&[("canmount", "noauto"), ("compression", "lz4")])
        );
        assert!(p[&ds("t/a")].skipped.is_empty());
        assert!(p[&ds("t/a/v")].props.is_empty());
        assert_eq!(p[&ds("t/a/v")].skipped.len(), 1);
        assert!(p[&ds("t/a/v")].skipped[0].contains("user:bad"));
    }

    #[test]
    fn recordsize_from_any_source_on_create_only_and_not_for_volumes() {
        let rs = map(&[
            ("t/a", "recordsize", "131072", PropSource::Default),
            (
                "t/a/b",
                "recordsize",
                "16384",
                PropSource::Inherited(ds("t/a")),
            ),
            ("t/a/v", "recordsize", "-", PropSource::None),
        ]);
        let p = preserved(None, Some(&rs), &RecvOptions::default());
        assert_eq!(p[&ds("t/a")].on_create, pairs(&[("recordsize", "131072")]));
        assert_eq!(p[&ds("t/a/b")].on_create, pairs(&[("recordsize", "16384")]));
        assert!(p[&ds("t/a")].props.is_empty());
        assert!(p
            .get(&ds("t/a/v"))
            .map(|x| x.on_create.is_empty())
            .unwrap_or(true));
    }

    #[test]
    fn both_flags_give_one_recordsize_on_every_receive() {
        let local = map(&[("t", "recordsize", "16384", PropSource::Local)]);
        let rs = map(&[("t", "recordsize", "16384", PropSource::Local)]);
        let p = preserved(Some(&local), Some(&rs), &RecvOptions::default());
        assert_eq!(p[&ds("t")].props, pairs(&[("recordsize", "16384")]));
        assert!(p[&ds("t")].on_create.is_empty());
    }
}
