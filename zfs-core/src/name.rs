//! Validated ZFS names: pools, datasets, snapshots and bookmarks, and a version name (snapshot or
//! bookmark).
//!
//! Validation happens before any command runs, so a name that reaches a backend is one OpenZFS accepts and
//! one that survives argv and remote quoting unchanged.

use crate::newtype::checked_string;
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
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PoolName(String);

/// A filesystem or volume name (`tank/vm-100-disk-0`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DatasetName(String);

/// A snapshot name (`tank/data@autosnap_2026-01-01_00:00:00_daily`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct SnapshotName(String);

/// A bookmark name (`tank/data#zsync_base`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BookmarkName(String);

checked_string!(PoolName, validate_pool, NameError);
checked_string!(DatasetName, validate_dataset, NameError);
checked_string!(SnapshotName, validate_snapshot, NameError);
checked_string!(BookmarkName, validate_bookmark, NameError);

impl DatasetName {
    /// The pool this dataset lives in (first component).
    pub fn pool(&self) -> PoolName {
        PoolName(self.0.split('/').next().unwrap_or(&self.0).to_owned())
    }
    /// The parent dataset, or `None` for a pool's root dataset.
    pub fn parent(&self) -> Option<DatasetName> {
        self.0
            .rsplit_once('/')
            .map(|(p, _)| DatasetName(p.to_owned()))
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
        DatasetName(
            self.0
                .split_once('@')
                .map(|(d, _)| d)
                .unwrap_or(&self.0)
                .to_owned(),
        )
    }
    /// The snapshot part (after `@`).
    pub fn short(&self) -> &str {
        self.0.split_once('@').map(|(_, s)| s).unwrap_or("")
    }
}

impl BookmarkName {
    /// The dataset part (before `#`).
    pub fn dataset(&self) -> DatasetName {
        DatasetName(
            self.0
                .split_once('#')
                .map(|(d, _)| d)
                .unwrap_or(&self.0)
                .to_owned(),
        )
    }
    /// The bookmark part (after `#`).
    pub fn short(&self) -> &str {
        self.0.split_once('#').map(|(_, s)| s).unwrap_or("")
    }
}

/// Snapshot or bookmark.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    /// `ds@name`
    Snapshot,
    /// `ds#name`
    Bookmark,
}

/// A snapshot or bookmark name.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(untagged)]
pub enum VersionName {
    /// A snapshot.
    Snapshot(SnapshotName),
    /// A bookmark.
    Bookmark(BookmarkName),
}

impl VersionName {
    /// The full name as ZFS spells it.
    pub fn as_str(&self) -> &str {
        match self {
            VersionName::Snapshot(s) => s.as_str(),
            VersionName::Bookmark(b) => b.as_str(),
        }
    }
    /// The part after `@` or `#`.
    pub fn short(&self) -> &str {
        match self {
            VersionName::Snapshot(s) => s.short(),
            VersionName::Bookmark(b) => b.short(),
        }
    }
    /// Snapshot or bookmark.
    pub fn kind(&self) -> VersionKind {
        match self {
            VersionName::Snapshot(_) => VersionKind::Snapshot,
            VersionName::Bookmark(_) => VersionKind::Bookmark,
        }
    }
    /// The dataset it belongs to.
    pub fn dataset(&self) -> DatasetName {
        match self {
            VersionName::Snapshot(s) => s.dataset(),
            VersionName::Bookmark(b) => b.dataset(),
        }
    }
}

impl fmt::Display for VersionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---- validation rules (OpenZFS zfs_namecheck.c and libzfs zpool_name_valid semantics) ----
//
// * Characters: ASCII letters, digits, space and `_ - : .`; `%` is also accepted inside dataset,
//   snapshot and bookmark components because OpenZFS uses it for internal names (`ds/%recv`), but no
//   operation may create such a name (see [`check_creatable`]).
// * Full names are at most 255 bytes (ZFS_MAX_DATASET_NAME_LEN - 1); pool names at most 239 bytes
//   (room for `pool/$ORIGIN@$ORIGIN`).
// * No empty component, no `.` or `..` component, no leading or trailing `/`, at most one `@` or `#`,
//   no `/` after it.
// * Pools begin with a letter and may not be or begin with a reserved vdev word (`mirror`, `raidz`,
//   `draid`, `spare` as prefixes, `log` exactly), as `zpool create`/`import` enforce.
// * Not enforced: the nesting limit (`zfs_max_dataset_nesting`, a module tunable, default 50).

/// Longest full name OpenZFS accepts (ZFS_MAX_DATASET_NAME_LEN - 1).
pub const MAX_NAME_LEN: usize = 255;

/// Longest pool name OpenZFS accepts (255 minus room for `/$ORIGIN@$ORIGIN`).
pub const MAX_POOL_NAME_LEN: usize = MAX_NAME_LEN - 2 - 2 * "$ORIGIN".len();

fn err(name: &str, rule: impl Into<String>) -> NameError {
    NameError {
        name: name.to_owned(),
        rule: rule.into(),
    }
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | ' ')
}

fn describe_char(c: char) -> String {
    match c {
        '\n' => "newline".to_owned(),
        '\t' => "tab".to_owned(),
        '\0' => "NUL".to_owned(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("{c:?}"),
    }
}

fn check_component(
    full: &str,
    comp: &str,
    what: &str,
    allow_percent: bool,
) -> Result<(), NameError> {
    if comp.is_empty() {
        return Err(err(full, format!("empty {what} component")));
    }
    if comp == "." || comp == ".." {
        return Err(err(
            full,
            format!("{what} component may not be '.' or '..'"),
        ));
    }
    // Byte scan (hot in listing parsing): every allowed character is ASCII.
    let bad = comp
        .bytes()
        .position(|b| !(valid_byte(b) || (allow_percent && b == b'%')));
    if let Some(pos) = bad {
        let c = comp[pos..].chars().next().unwrap_or('?');
        return Err(err(
            full,
            format!(
                "character {} not allowed in a {what} component (letters, digits, space and _ - : . only)",
                describe_char(c)
            ),
        ));
    }
    Ok(())
}

fn valid_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.' | b' ')
}

fn check_len(s: &str) -> Result<(), NameError> {
    if s.len() > MAX_NAME_LEN {
        return Err(err(
            s,
            format!("longer than {MAX_NAME_LEN} bytes ({} bytes)", s.len()),
        ));
    }
    Ok(())
}

fn pool_rule(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty pool name".into());
    }
    if s.len() > MAX_POOL_NAME_LEN {
        return Err(format!("pool name longer than {MAX_POOL_NAME_LEN} bytes"));
    }
    if let Some(c) = s.chars().find(|&c| !valid_char(c)) {
        return Err(format!(
            "character {} not allowed in a pool name (letters, digits, space and _ - : . only)",
            describe_char(c)
        ));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("pool name must begin with a letter".into());
    }
    for reserved in ["mirror", "raidz", "draid", "spare"] {
        if s.starts_with(reserved) {
            return Err(format!(
                "pool name may not begin with the reserved word '{reserved}'"
            ));
        }
    }
    if s == "log" {
        return Err("pool name 'log' is reserved".into());
    }
    Ok(())
}

fn validate_pool(s: &str) -> Result<(), NameError> {
    pool_rule(s).map_err(|rule| err(s, rule))
}

fn validate_dataset(s: &str) -> Result<(), NameError> {
    check_len(s)?;
    if s.is_empty() {
        return Err(err(s, "empty name"));
    }
    if s.starts_with('/') {
        return Err(err(s, "leading '/' not allowed"));
    }
    if s.ends_with('/') {
        return Err(err(s, "trailing '/' not allowed"));
    }
    if let Some(c) = s.chars().find(|&c| c == '@' || c == '#') {
        return Err(err(
            s,
            format!("a dataset name may not contain '{c}' (that is a snapshot or bookmark)"),
        ));
    }
    let mut parts = s.split('/');
    let pool = parts.next().unwrap_or("");
    pool_rule(pool).map_err(|rule| err(s, rule))?;
    for comp in parts {
        check_component(s, comp, "dataset", true)?;
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
        return Err(err(s, "only one '@' or '#' allowed"));
    }
    if short.contains('/') {
        return Err(err(s, format!("'/' not allowed after '{sep}'")));
    }
    check_component(s, short, what, true)
}

fn validate_snapshot(s: &str) -> Result<(), NameError> {
    validate_version(s, '@', "snapshot")
}

fn validate_bookmark(s: &str) -> Result<(), NameError> {
    validate_version(s, '#', "bookmark")
}

/// Validates `full` as a snapshot (`@`) or bookmark (`#`) name whose dataset part (`full[..sep]`) the
/// caller has already validated; only the length and the part after the separator are checked.
/// The `zfs list` parser's fast path (feature `backends`).
#[cfg_attr(not(feature = "backends"), allow(dead_code))]
pub(crate) fn version_with_valid_dataset(full: &str, sep: usize) -> Result<VersionName, NameError> {
    check_len(full)?;
    let (what, sep_char) = match full.as_bytes().get(sep) {
        Some(b'@') => ("snapshot", '@'),
        Some(b'#') => ("bookmark", '#'),
        _ => return Err(err(full, "a snapshot or bookmark name needs '@' or '#'")),
    };
    let short = &full[sep + 1..];
    if let Err(e) = check_component(full, short, what, true) {
        // One scan in the common case; explain separators precisely when that failed.
        if short.contains('@') || short.contains('#') {
            return Err(err(full, "only one '@' or '#' allowed"));
        }
        if short.contains('/') {
            return Err(err(full, format!("'/' not allowed after '{sep_char}'")));
        }
        return Err(e);
    }
    Ok(if sep_char == '@' {
        VersionName::Snapshot(SnapshotName(full.to_owned()))
    } else {
        VersionName::Bookmark(BookmarkName(full.to_owned()))
    })
}

/// Checks that a new object may be created under this (already valid) name: OpenZFS reserves `%` for
/// internal names, so create, snapshot, bookmark and receive refuse it.
pub fn check_creatable(name: &str) -> Result<(), NameError> {
    if name.contains('%') {
        return Err(err(
            name,
            "'%' is reserved for internal names and cannot be created",
        ));
    }
    Ok(())
}

/// Validates `s` as any ZFS entity name: dataset, snapshot (`@`) or bookmark (`#`).
pub fn validate_any(s: &str) -> Result<(), NameError> {
    if s.contains('@') {
        validate_snapshot(s)
    } else if s.contains('#') {
        validate_bookmark(s)
    } else {
        validate_dataset(s)
    }
}

/// Validates a short snapshot or bookmark name (the part after `@`/`#`), e.g. for `zfs snapshot -r`.
pub fn validate_short_name(s: &str) -> Result<(), NameError> {
    check_len(s)?;
    check_component(s, s, "snapshot", false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule_of(r: Result<impl std::fmt::Debug, NameError>) -> String {
        r.expect_err("expected rejection").rule
    }

    #[test]
    fn accepts_hostile_but_valid_names() {
        for ok in [
            "pool/my data",
            "pool/-x",
            "tank/a:b.c_d-e",
            "tank/ lead",
            "t/%recv",
        ] {
            DatasetName::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for ok in ["pool/my data@s 1", "ds@-s", "tank@a:b.c", "tank/x@.hidden"] {
            SnapshotName::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        BookmarkName::parse("pool/my data#b 1").unwrap();
        PoolName::parse("c0").unwrap();
        PoolName::parse("Tank-1 x").unwrap();
    }

    #[test]
    fn rejects_with_the_rule() {
        assert!(rule_of(DatasetName::parse("tank/it's")).contains("'\\''"));
        assert!(rule_of(DatasetName::parse("tank/a\nb")).contains("newline"));
        assert!(rule_of(DatasetName::parse("")).contains("empty"));
        assert!(rule_of(DatasetName::parse("/tank")).contains("leading"));
        assert!(rule_of(DatasetName::parse("tank/")).contains("trailing"));
        assert!(rule_of(DatasetName::parse("tank//a")).contains("empty dataset component"));
        assert!(rule_of(DatasetName::parse("tank/..")).contains("'..'"));
        assert!(rule_of(DatasetName::parse("tank/.")).contains("'.'"));
        assert!(rule_of(DatasetName::parse("tank@s")).contains("snapshot"));
        assert!(rule_of(DatasetName::parse("1tank")).contains("begin with a letter"));
        assert!(rule_of(DatasetName::parse("mirror2/a")).contains("reserved"));
        assert!(rule_of(PoolName::parse("raidz")).contains("reserved"));
        assert!(rule_of(PoolName::parse("draid1")).contains("reserved"));
        assert!(rule_of(PoolName::parse("spares")).contains("reserved"));
        assert!(rule_of(PoolName::parse("log")).contains("reserved"));
        PoolName::parse("logs").unwrap();
        assert!(rule_of(PoolName::parse("a%b")).contains("'%'"));
        assert!(rule_of(SnapshotName::parse("tank/a")).contains("needs '@'"));
        assert!(rule_of(SnapshotName::parse("tank/a@")).contains("empty snapshot"));
        assert!(rule_of(SnapshotName::parse("tank/a@b@c")).contains("only one"));
        assert!(rule_of(SnapshotName::parse("tank/a@b#c")).contains("only one"));
        assert!(rule_of(SnapshotName::parse("tank/a@b/c")).contains("'/'"));
        assert!(rule_of(BookmarkName::parse("tank/a@b")).contains("needs '#'"));
        assert!(rule_of(SnapshotName::parse("tank/a@é")).contains("not allowed"));
    }

    #[test]
    fn length_limits() {
        let long_comp = "a".repeat(MAX_NAME_LEN - 5);
        DatasetName::parse(&format!("tank/{long_comp}")).unwrap();
        assert!(
            rule_of(DatasetName::parse(&format!("tank/{long_comp}x"))).contains("longer than 255")
        );
        assert!(rule_of(SnapshotName::parse(&format!("tank/{long_comp}@s")))
            .contains("longer than 255"));
        PoolName::parse(&"p".repeat(MAX_POOL_NAME_LEN)).unwrap();
        assert!(PoolName::parse(&"p".repeat(MAX_POOL_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn creatable_and_any() {
        assert!(check_creatable("tank/%recv").is_err());
        check_creatable("tank/my data@s 1").unwrap();
        validate_any("tank/a").unwrap();
        validate_any("tank/a@s").unwrap();
        validate_any("tank/a#b").unwrap();
        assert!(validate_any("tank/a;b").is_err());
        validate_short_name("autosnap_2026-01-01_00:00:00_daily").unwrap();
        assert!(validate_short_name("a%b").is_err());
    }

    #[test]
    fn version_after_validated_dataset() {
        let v = version_with_valid_dataset("p/my data@-s 1", 9).unwrap();
        assert_eq!(v.as_str(), "p/my data@-s 1");
        assert_eq!(v.kind(), VersionKind::Snapshot);
        assert_eq!(
            version_with_valid_dataset("p#b", 1).unwrap().kind(),
            VersionKind::Bookmark
        );
        assert!(rule_of(version_with_valid_dataset("p@a@b", 1)).contains("only one"));
        assert!(rule_of(version_with_valid_dataset("p@a/b", 1)).contains("'/'"));
        assert!(rule_of(version_with_valid_dataset("p@a'b", 1)).contains("not allowed"));
        assert!(rule_of(version_with_valid_dataset("p@", 1)).contains("empty"));
        assert!(rule_of(version_with_valid_dataset("p/a", 1)).contains("needs"));
        assert!(version_with_valid_dataset("p@a", 9).is_err());
    }

    #[test]
    fn accessors() {
        let s = SnapshotName::parse("pool/my data@s 1").unwrap();
        assert_eq!(s.dataset().as_str(), "pool/my data");
        assert_eq!(s.short(), "s 1");
        let d = DatasetName::parse("pool/a/b").unwrap();
        assert_eq!(d.parent().unwrap().as_str(), "pool/a");
        assert_eq!(d.pool().as_str(), "pool");
        assert!(d.is_within(&DatasetName::parse("pool/a").unwrap()));
        assert!(!DatasetName::parse("pool/ab")
            .unwrap()
            .is_within(&DatasetName::parse("pool/a").unwrap()));
        assert_eq!(d.bookmark("-b").unwrap().short(), "-b");
        assert!(d.child("x;y").is_err());
    }

    fn component() -> impl Strategy<Value = String> {
        "[A-Za-z0-9 _:.-]{1,20}".prop_filter("not . or ..", |s| s != "." && s != "..")
    }

    fn pool() -> impl Strategy<Value = String> {
        "[a-zA-Z][A-Za-z0-9 _:.-]{0,10}".prop_filter("not reserved", |s| pool_rule(s).is_ok())
    }

    proptest! {
        #[test]
        fn valid_names_round_trip(p in pool(), comps in proptest::collection::vec(component(), 0..4),
                                  snap in component()) {
            let mut ds = p.clone();
            for c in &comps { ds.push('/'); ds.push_str(c); }
            let d = DatasetName::parse(&ds).unwrap();
            prop_assert_eq!(d.as_str(), ds.as_str());
            prop_assert_eq!(d.to_string().parse::<DatasetName>().unwrap(), d.clone());
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<DatasetName>(&json).unwrap(), d.clone());
            let s = d.snapshot(&snap).unwrap();
            prop_assert_eq!(s.dataset(), d.clone());
            prop_assert_eq!(s.short(), snap.as_str());
            let b = d.bookmark(&snap).unwrap();
            prop_assert_eq!(b.dataset(), d.clone());
            prop_assert_eq!(d.pool().as_str().to_owned(), p);
        }

        #[test]
        fn shell_and_quote_characters_rejected(p in pool(), a in component(), b in component(),
                                               bad in prop::sample::select(vec!['\'', ';', '$', '\n', '"', '\\',
                                                   '*', '`', '|', '&', '<', '>', '(', ')', '\t', '\0', '?', '[',
                                                   '~', '!', '{', '=', ',', 'ä'])) {
            let ds = format!("{p}/{a}{bad}{b}");
            prop_assert!(DatasetName::parse(&ds).is_err());
            let snap = format!("{p}/{a}@{b}{bad}");
            prop_assert!(SnapshotName::parse(&snap).is_err());
            let bm = format!("{p}/{a}#{bad}{b}");
            prop_assert!(BookmarkName::parse(&bm).is_err());
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,300}") {
            let _ = DatasetName::parse(&s);
            let _ = SnapshotName::parse(&s);
            let _ = BookmarkName::parse(&s);
            let _ = PoolName::parse(&s);
            let _ = validate_any(&s);
        }
    }
}
