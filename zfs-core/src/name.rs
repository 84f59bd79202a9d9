//! Validated ZFS names: pools, datasets, snapshots and bookmarks.
//!
//! Validation happens before any command runs, so a name that reaches a backend is one OpenZFS accepts and
//! one that survives argv and remote quoting unchanged.

use std::fmt;

/// Why a name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ZFS name {name:?}: {rule}")]
pub struct NameError {
    /// The rejected input.
    pub name: String,
    /// The rule it broke, in words.
    pub rule: String,
}

/// A pool name (`tank`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PoolName(String);

/// A filesystem or volume name (`tank/vm-100-disk-0`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatasetName(String);

/// A snapshot name (`tank/data@autosnap_2026-01-01_00:00:00_daily`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotName(String);

/// A bookmark name (`tank/data#zsync_base`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BookmarkName(String);

macro_rules! name_common {
    ($t:ident, $check:path) => {
        impl $t {
            /// Validates `s` and wraps it.
            pub fn parse(s: &str) -> Result<Self, NameError> {
                $check(s)?;
                Ok(Self(s.to_owned()))
            }
            /// The name as ZFS spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                $check(&s)?;
                Ok(Self(s))
            }
        }
        impl From<$t> for String {
            fn from(n: $t) -> String {
                n.0
            }
        }
    };
}

name_common!(PoolName, validate_pool);
name_common!(DatasetName, validate_dataset);
name_common!(SnapshotName, validate_snapshot);
name_common!(BookmarkName, validate_bookmark);

impl DatasetName {
    /// The pool this dataset lives in (first component).
    pub fn pool(&self) -> PoolName {
        PoolName(self.0.split('/').next().unwrap_or(&self.0).to_owned())
    }
    /// The parent dataset, or `None` for a pool's root dataset.
    pub fn parent(&self) -> Option<DatasetName> {
        self.0.rsplit_once('/').map(|(p, _)| DatasetName(p.to_owned()))
    }
    /// `self/child`, validated.
    pub fn child(&self, component: &str) -> Result<DatasetName, NameError> {
        DatasetName::parse(&format!("{}/{}", self.0, component))
    }
    /// `self@snap`, validated.
    pub fn snapshot(&self, snap: &str) -> Result<SnapshotName, NameError> {
        SnapshotName::parse(&format!("{}@{}", self.0, snap))
    }
    /// `self#bookmark`, validated.
    pub fn bookmark(&self, bm: &str) -> Result<BookmarkName, NameError> {
        BookmarkName::parse(&format!("{}#{}", self.0, bm))
    }
    /// Whether `self` is `other` or lies below it.
    pub fn is_within(&self, other: &DatasetName) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }
}

impl SnapshotName {
    /// The dataset part (before `@`).
    pub fn dataset(&self) -> DatasetName {
        DatasetName(self.0.split_once('@').map(|(d, _)| d).unwrap_or(&self.0).to_owned())
    }
    /// The snapshot part (after `@`).
    pub fn short(&self) -> &str {
        self.0.split_once('@').map(|(_, s)| s).unwrap_or("")
    }
}

impl BookmarkName {
    /// The dataset part (before `#`).
    pub fn dataset(&self) -> DatasetName {
        DatasetName(self.0.split_once('#').map(|(d, _)| d).unwrap_or(&self.0).to_owned())
    }
    /// The bookmark part (after `#`).
    pub fn short(&self) -> &str {
        self.0.split_once('#').map(|(_, s)| s).unwrap_or("")
    }
}

// ---- validation rules (OpenZFS zfs_namecheck.c semantics) ----

/// Longest full name OpenZFS accepts (ZFS_MAX_DATASET_NAME_LEN - 1).
pub const MAX_NAME_LEN: usize = 255;

fn err(name: &str, rule: impl Into<String>) -> NameError {
    NameError { name: name.to_owned(), rule: rule.into() }
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | ' ')
}

fn check_component(full: &str, comp: &str, what: &str) -> Result<(), NameError> {
    if comp.is_empty() {
        return Err(err(full, format!("empty {what} component")));
    }
    if comp == "." || comp == ".." {
        return Err(err(full, format!("{what} component may not be '.' or '..'")));
    }
    if let Some(c) = comp.chars().find(|c| !valid_char(*c)) {
        return Err(err(
            full,
            format!("character {c:?} not allowed (letters, digits, space and _ - : . only)"),
        ));
    }
    Ok(())
}

fn check_len(s: &str) -> Result<(), NameError> {
    if s.len() > MAX_NAME_LEN {
        return Err(err(s, format!("longer than {MAX_NAME_LEN} bytes")));
    }
    Ok(())
}

fn validate_pool(s: &str) -> Result<(), NameError> {
    check_len(s)?;
    check_component(s, s, "pool")?;
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(err(s, "pool name must begin with a letter"));
    }
    for reserved in ["mirror", "raidz", "draid", "spare", "log"] {
        if s.starts_with(reserved) {
            return Err(err(s, format!("pool name may not begin with reserved word '{reserved}'")));
        }
    }
    if s.len() >= 2 && s.as_bytes()[0] == b'c' && s.as_bytes()[1].is_ascii_digit() {
        return Err(err(s, "pool name may not be c[0-9]... (reserved)"));
    }
    Ok(())
}

fn validate_dataset(s: &str) -> Result<(), NameError> {
    check_len(s)?;
    if s.contains('@') || s.contains('#') {
        return Err(err(s, "a dataset name may not contain '@' or '#'"));
    }
    let mut parts = s.split('/');
    let pool = parts.next().unwrap_or("");
    validate_pool(pool).map_err(|e| err(s, e.rule))?;
    for comp in parts {
        check_component(s, comp, "dataset")?;
    }
    Ok(())
}

fn validate_version(s: &str, sep: char, what: &str) -> Result<(), NameError> {
    check_len(s)?;
    let Some((ds, short)) = s.split_once(sep) else {
        return Err(err(s, format!("a {what} name needs '{sep}'")));
    };
    validate_dataset(ds).map_err(|e| err(s, e.rule))?;
    if short.contains('@') || short.contains('#') {
        return Err(err(s, format!("only one '@' or '#' allowed in a {what} name")));
    }
    check_component(s, short, what)
}

fn validate_snapshot(s: &str) -> Result<(), NameError> {
    validate_version(s, '@', "snapshot")
}

fn validate_bookmark(s: &str) -> Result<(), NameError> {
    validate_version(s, '#', "bookmark")
}
