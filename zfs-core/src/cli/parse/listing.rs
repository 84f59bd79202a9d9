//! Parsing the one-spawn listing: `zfs list -Hp` output (nom) into a [`Listing`].
//!
//! The command ([`list_args`](crate::cli::argv::list_args)) is
//! `zfs list -Hp -o name,type,guid,createtxg,creation,origin,receive_resume_token,encryption,encryptionroot,keystatus,userrefs[,USERPROPS] -t filesystem,volume[,snapshot,bookmark] {-r | -d N} ROOT`,
//! valid for OpenZFS 2.1 and later. One process lists a whole tree with all snapshots and bookmarks.
//!
//! Output format: one line per object, fields separated by one tab (`-H`), `-` for "none"/"not
//! applicable". `-p` prints numbers exactly: `creation` becomes seconds since the Unix epoch instead of a
//! locale-formatted date, sizes become bytes. Names never contain tabs or newlines (OpenZFS forbids them),
//! so splitting on tabs is exact for every fixed column.
//!
//! User properties come last. Known limits: a user property value of `-` cannot be told from "unset"
//! (both read as unset), and a value containing a tab or newline makes its line unparsable (a
//! [`ParseError`] naming the line) — such values cannot be represented in `-H` output at all.

use super::error::ParseError;
use super::fields::{field, tab, tab_field};
use crate::backend::{Depth, ListOptions};
use crate::cli::argv::COLUMNS;
use crate::listing::{Dataset, DatasetKind, Encryption, Listing, Version};
use crate::name::{
    version_with_valid_dataset, BookmarkName, DatasetName, SnapshotName, VersionKind, VersionName,
};
use nom::combinator::{all_consuming, map_res};
use nom::{IResult, Parser};
use std::collections::{BTreeMap, HashMap};

/// One parsed line.
enum Row<'a> {
    Dataset(Dataset),
    /// A version, with its dataset part and the separator position in its name.
    Version(Version, &'a str),
}

/// An unsigned decimal (at least one digit, no sign, no overflow). A byte loop: this is the hottest
/// field parser (three numbers per line).
fn num_field(i: &str) -> IResult<&str, u64> {
    let bytes = i.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Digit,
        )));
    }
    let mut v: u64 = 0;
    for &b in &bytes[..digits] {
        match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(n) => v = n,
            None => {
                return Err(nom::Err::Error(nom::error::Error::new(
                    i,
                    nom::error::ErrorKind::Digit,
                )))
            }
        }
    }
    Ok((&i[digits..], v))
}

fn int_field(i: &str) -> IResult<&str, i64> {
    map_res(num_field, i64::try_from).parse(i)
}

/// `-` or a number (userrefs is `-` for filesystems and bookmarks).
fn opt_num_field(i: &str) -> IResult<&str, u64> {
    if let Some(rest) = i.strip_prefix('-') {
        if rest.is_empty() || rest.starts_with('\t') {
            return Ok((rest, 0));
        }
    }
    num_field(i)
}

struct Fixed<'a> {
    name: &'a str,
    kind: &'a str,
    guid: u64,
    createtxg: u64,
    creation: i64,
    origin: &'a str,
    token: &'a str,
    encryption: &'a str,
    encroot: &'a str,
    keystatus: &'a str,
    userrefs: u64,
}

fn fixed(i: &str) -> IResult<&str, Fixed<'_>> {
    let (i, (name, _, kind, _, guid, _, createtxg, _, creation, _)) = (
        field, tab, field, tab, num_field, tab, num_field, tab, int_field, tab,
    )
        .parse(i)?;
    let (i, (origin, _, token, _, encryption, _, encroot, _, keystatus, _, userrefs)) = (
        field,
        tab,
        field,
        tab,
        field,
        tab,
        field,
        tab,
        field,
        tab,
        opt_num_field,
    )
        .parse(i)?;
    Ok((
        i,
        Fixed {
            name,
            kind,
            guid,
            createtxg,
            creation,
            origin,
            token,
            encryption,
            encroot,
            keystatus,
            userrefs,
        },
    ))
}

fn dash(s: &str) -> Option<&str> {
    if s == "-" {
        None
    } else {
        Some(s)
    }
}

fn parse_row<'a>(
    line: &'a str,
    user_props: &[String],
    known_dataset: Option<&str>,
) -> Result<Row<'a>, String> {
    let (rest, f) = fixed(line).map_err(|e| match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => {
            let col = line[..line.len() - e.input.len()].matches('\t').count();
            if e.input.is_empty() {
                let next = COLUMNS.get(col + 1).copied().unwrap_or("?");
                format!("too few fields (no {next} field) in {line:?}")
            } else {
                format!(
                    "bad {} field in {line:?}",
                    COLUMNS.get(col).copied().unwrap_or("?")
                )
            }
        }
        nom::Err::Incomplete(_) => format!("truncated line {line:?}"),
    })?;
    let mut props = BTreeMap::new();
    let mut rest = rest;
    for p in user_props {
        let (r, v) =
            tab_field(rest).map_err(|_| format!("missing user property {p} in {line:?}"))?;
        rest = r;
        if let Some(v) = dash(v) {
            props.insert(p.clone(), v.to_owned());
        }
    }
    all_consuming(nom::combinator::success(()))
        .parse(rest)
        .map_err(|_: nom::Err<nom::error::Error<&str>>| {
            format!("unexpected extra fields in {line:?} (a tab inside a property value?)")
        })?;

    let kind = match f.kind {
        "filesystem" => Some(DatasetKind::Filesystem),
        "volume" => Some(DatasetKind::Volume),
        "snapshot" | "bookmark" => None,
        other => return Err(format!("unknown type {other:?} for {:?}", f.name)),
    };
    match kind {
        Some(kind) => {
            let name = DatasetName::parse(f.name).map_err(|e| e.to_string())?;
            let origin = match dash(f.origin) {
                Some(o) => {
                    Some(SnapshotName::parse(o).map_err(|e| format!("origin of {}: {e}", f.name))?)
                }
                None => None,
            };
            let root = match dash(f.encroot) {
                Some(r) => Some(
                    DatasetName::parse(r)
                        .map_err(|e| format!("encryptionroot of {}: {e}", f.name))?,
                ),
                None => None,
            };
            Ok(Row::Dataset(Dataset {
                name,
                kind,
                guid: f.guid,
                createtxg: f.createtxg,
                origin,
                receive_resume_token: dash(f.token).map(str::to_owned),
                encryption: Encryption {
                    algorithm: f.encryption.to_owned(),
                    root,
                    key_status: dash(f.keystatus).map(str::to_owned),
                },
                user_props: props,
                versions: Vec::new(),
            }))
        }
        None => {
            let sep_char = if f.kind == "snapshot" { '@' } else { '#' };
            let Some(sep) = f.name.find(sep_char) else {
                return Err(format!("{} {:?} has no '{sep_char}'", f.kind, f.name));
            };
            let ds_str = &f.name[..sep];
            // Versions follow their dataset, so the dataset part was usually just validated: then only
            // the part after the separator needs checking.
            let name = if known_dataset == Some(ds_str) {
                version_with_valid_dataset(f.name, sep)
            } else if sep_char == '@' {
                SnapshotName::parse(f.name).map(VersionName::Snapshot)
            } else {
                BookmarkName::parse(f.name).map(VersionName::Bookmark)
            }
            .map_err(|e| e.to_string())?;
            Ok(Row::Version(
                Version {
                    name,
                    guid: f.guid,
                    createtxg: f.createtxg,
                    creation: f.creation,
                    userrefs: f.userrefs,
                    user_props: props,
                },
                ds_str,
            ))
        }
    }
}

fn depth_below(root: &DatasetName, ds: &DatasetName) -> usize {
    ds.as_str()[root.as_str().len()..].matches('/').count()
}

/// Parses `zfs list` output produced by [`list_args`](crate::cli::argv::list_args) for `root` and
/// `opts`.
///
/// Datasets keep `zfs list` order (parents first); each dataset's versions are sorted by createtxg,
/// bookmarks before snapshots of the same txg, then by name. Datasets deeper than `opts.depth` (listed only
/// to get versions) are dropped. Never panics; any malformed line is an error naming the line.
pub fn parse_listing(
    text: &str,
    root: &DatasetName,
    opts: &ListOptions,
) -> Result<Listing, ParseError> {
    let max_depth = match opts.depth {
        Depth::Zero => Some(0usize),
        Depth::Levels(n) => Some(n as usize),
        Depth::Recursive => None,
    };
    let mut datasets: Vec<Dataset> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut orphans: Vec<(usize, &str, Version)> = Vec::new();
    // The most recent dataset line: its name and index (versions usually follow it directly).
    let mut last: Option<(&str, usize)> = None;
    for (n, line) in text.split('\n').enumerate() {
        let line_no = n + 1;
        if line.is_empty() {
            continue;
        }
        let err = |detail: String| ParseError {
            line: line_no,
            detail,
        };
        match parse_row(line, &opts.user_props, last.map(|(name, _)| name)).map_err(err)? {
            Row::Dataset(d) => {
                if !d.name.is_within(root) {
                    return Err(err(format!(
                        "{} is not below the listed root {root}",
                        d.name
                    )));
                }
                let i = datasets.len();
                if index.insert(d.name.as_str().to_owned(), i).is_some() {
                    return Err(err(format!("{} listed twice", d.name)));
                }
                // The name as it appears in `text`, to compare versions' dataset parts without allocating.
                let name_in_text = &line[..d.name.as_str().len()];
                last = Some((name_in_text, i));
                datasets.push(d);
            }
            Row::Version(v, ds_str) => match last {
                Some((name, i)) if name == ds_str => datasets[i].versions.push(v),
                _ => match index.get(ds_str) {
                    Some(&i) => datasets[i].versions.push(v),
                    None => orphans.push((line_no, ds_str, v)),
                },
            },
        }
    }
    for (line, ds, v) in orphans {
        match index.get(ds) {
            Some(&i) => datasets[i].versions.push(v),
            None => {
                return Err(ParseError {
                    line,
                    detail: format!("{} belongs to {ds}, which is not in the listing", v.name),
                })
            }
        }
    }
    if let Some(max) = max_depth {
        datasets.retain(|d| depth_below(root, &d.name) <= max);
    }
    for d in &mut datasets {
        // Names are unique, so an unstable sort gives the same order.
        d.versions.sort_unstable_by(|a, b| {
            (
                a.createtxg,
                a.name.kind() == VersionKind::Snapshot,
                a.name.as_str(),
            )
                .cmp(&(
                    b.createtxg,
                    b.name.kind() == VersionKind::Snapshot,
                    b.name.as_str(),
                ))
        });
        // ZFS names are unique; a repeated line shows up as equal neighbours after sorting.
        if let Some(w) = d.versions.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(ParseError {
                line: 0,
                detail: format!("{} listed twice", w[0].name),
            });
        }
    }
    Ok(Listing { datasets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::argv::list_args;

    fn root(s: &str) -> DatasetName {
        DatasetName::parse(s).unwrap()
    }

    const SAMPLE: &str = "pool\tfilesystem\t111\t1\t1700000000\t-\t-\toff\t-\t-\t-
pool/my data\tfilesystem\t222\t10\t1700000100\t-\t-\taes-256-gcm\tpool/my data\tavailable\t-
pool/my data@s 2\tsnapshot\t334\t30\t1700000300\t-\t-\taes-256-gcm\tpool/my data\t-\t0
pool/my data@s 1\tsnapshot\t333\t20\t1700000200\t-\t-\taes-256-gcm\tpool/my data\t-\t2
pool/my data#s 1\tbookmark\t333\t20\t1700000200\t-\t-\t-\t-\t-\t-
pool/-x\tvolume\t444\t40\t1700000400\tpool/my data@s 1\t1-abc-def\toff\t-\t-\t-
pool/-x@-s\tsnapshot\t555\t50\t1700000500\t-\t-\toff\t-\t-\t0
";

    #[test]
    fn parses_sample() {
        let l = parse_listing(SAMPLE, &root("pool"), &ListOptions::default()).unwrap();
        assert_eq!(l.datasets.len(), 3);
        let d = l.get(&root("pool/my data")).unwrap();
        assert_eq!(d.kind, DatasetKind::Filesystem);
        assert_eq!(d.guid, 222);
        assert!(d.encryption.is_encrypted());
        assert_eq!(d.encryption.root, Some(root("pool/my data")));
        assert_eq!(d.encryption.key_status.as_deref(), Some("available"));
        let names: Vec<&str> = d.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["pool/my data#s 1", "pool/my data@s 1", "pool/my data@s 2"]
        );
        assert_eq!(d.versions[1].userrefs, 2);
        assert_eq!(d.versions[1].creation, 1700000200);
        let v = l.get(&root("pool/-x")).unwrap();
        assert_eq!(v.kind, DatasetKind::Volume);
        assert_eq!(v.origin.as_ref().unwrap().as_str(), "pool/my data@s 1");
        assert_eq!(v.receive_resume_token.as_deref(), Some("1-abc-def"));
        assert_eq!(v.versions.len(), 1);
        let p = l.get(&root("pool")).unwrap();
        assert!(!p.encryption.is_encrypted() && p.origin.is_none() && p.versions.is_empty());
    }

    #[test]
    fn user_props() {
        let opts = ListOptions {
            user_props: vec!["zsync:job".into(), "com.x:y".into()],
            ..Default::default()
        };
        let text = "pool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\tnightly job\t-\n\
                    pool@a\tsnapshot\t2\t2\t2\t-\t-\toff\t-\t-\t0\t-\tv\n";
        let l = parse_listing(text, &root("pool"), &opts).unwrap();
        assert_eq!(
            l.datasets[0]
                .user_props
                .get("zsync:job")
                .map(String::as_str),
            Some("nightly job")
        );
        assert!(!l.datasets[0].user_props.contains_key("com.x:y"));
        assert_eq!(
            l.datasets[0].versions[0]
                .user_props
                .get("com.x:y")
                .map(String::as_str),
            Some("v")
        );
        // A tab inside a value gives too many fields.
        let bad = "pool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\ta\tb\tc\n";
        assert!(parse_listing(bad, &root("pool"), &opts)
            .unwrap_err()
            .detail
            .contains("extra fields"));
    }

    #[test]
    fn depth_filtering() {
        let text = "pool/a\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n\
                    pool/a@s\tsnapshot\t2\t2\t2\t-\t-\toff\t-\t-\t0\n\
                    pool/a/b\tfilesystem\t3\t3\t3\t-\t-\toff\t-\t-\t-\n";
        let zero = ListOptions {
            depth: Depth::Zero,
            ..Default::default()
        };
        let l = parse_listing(text, &root("pool/a"), &zero).unwrap();
        assert_eq!(l.datasets.len(), 1);
        assert_eq!(l.datasets[0].versions.len(), 1);
        assert_eq!(
            list_args(&root("pool/a"), &zero)[6..],
            ["-d", "1", "pool/a"]
        );
        let one = ListOptions {
            depth: Depth::Levels(1),
            ..Default::default()
        };
        assert_eq!(
            parse_listing(text, &root("pool/a"), &one)
                .unwrap()
                .datasets
                .len(),
            2
        );
        assert_eq!(list_args(&root("pool/a"), &one)[6..], ["-d", "2", "pool/a"]);
        let nov = ListOptions {
            depth: Depth::Zero,
            versions: false,
            user_props: vec![],
        };
        assert_eq!(
            list_args(&root("pool/a"), &nov),
            [
                "list",
                "-Hp",
                "-o",
                &COLUMNS.join(","),
                "-t",
                "filesystem,volume",
                "pool/a"
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("pool\tfilesystem\tx\t1\t1\t-\t-\toff\t-\t-\t-\n", "guid"),
            ("pool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\n", "userrefs"),
            ("pool\tpool\t1\t1\t1\t-\t-\toff\t-\t-\t-\n", "unknown type"),
            ("po'ol\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n", "not allowed"),
            ("pool\tfilesystem\t1\t1\t99999999999999999999\t-\t-\toff\t-\t-\t-\n", "creation"),
            ("pool@s\tsnapshot\t1\t1\t1\t-\t-\toff\t-\t-\t0\n", "not in the listing"),
            ("other\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n", "not below"),
            (
                "pool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\npool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n",
                "twice",
            ),
        ];
        for (text, want) in cases {
            let e = parse_listing(text, &root("pool"), &ListOptions::default()).unwrap_err();
            assert!(e.detail.contains(want), "{text:?}: {e}");
            assert!(e.line >= 1);
        }
        assert!(parse_listing("", &root("pool"), &ListOptions::default())
            .unwrap()
            .datasets
            .is_empty());
    }

    #[test]
    fn numbers() {
        assert_eq!(num_field("0\tx").unwrap(), ("\tx", 0));
        assert_eq!(num_field("18446744073709551615").unwrap().1, u64::MAX);
        assert!(num_field("18446744073709551616").is_err());
        assert!(num_field("99999999999999999999999").is_err());
        assert!(num_field("").is_err());
        assert!(num_field("-1").is_err());
        assert!(num_field("+1").is_err());
        assert_eq!(int_field("9223372036854775807").unwrap().1, i64::MAX);
        assert!(int_field("9223372036854775808").is_err());
        assert_eq!(opt_num_field("-").unwrap().1, 0);
        assert_eq!(opt_num_field("-\t").unwrap(), ("\t", 0));
        assert!(opt_num_field("-5").is_err());
    }

    #[test]
    fn versions_before_their_dataset_are_attached() {
        let text = "pool@s\tsnapshot\t2\t2\t2\t-\t-\toff\t-\t-\t0\npool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n";
        let l = parse_listing(text, &root("pool"), &ListOptions::default()).unwrap();
        assert_eq!(l.datasets[0].versions.len(), 1);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "(?s).{0,400}", props in 0usize..3) {
            let opts = ListOptions {
                user_props: (0..props).map(|i| format!("a:{i}")).collect(),
                ..Default::default()
            };
            let _ = parse_listing(&text, &root("pool"), &opts);
        }

        #[test]
        fn tab_soup_never_panics(fields in proptest::collection::vec("[-0-9a-z@#/ ]{0,6}", 0..40)) {
            let text = fields.join("\t").replace("z", "\n");
            let _ = parse_listing(&text, &root("pool"), &ListOptions::default());
        }

        #[test]
        fn generated_listing_round_trips(
            children in proptest::collection::vec("[A-Za-z0-9 _:.-]{1,8}", 0..4),
            snaps in proptest::collection::vec(("[A-Za-z0-9 _:.-]{1,8}", 1u64..1000, any::<bool>()), 0..6),
        ) {
            let mut text = String::from("pool\tfilesystem\t1\t1\t1\t-\t-\toff\t-\t-\t-\n");
            let mut want_children = std::collections::BTreeSet::new();
            for c in &children {
                if c == "." || c == ".." || !want_children.insert(c.clone()) { continue; }
                text.push_str(&format!("pool/{c}\tvolume\t7\t2\t3\t-\t-\toff\t-\t-\t-\n"));
            }
            let mut want = std::collections::BTreeSet::new();
            for (name, txg, bm) in &snaps {
                if name == "." || name == ".." { continue; }
                let sep = if *bm { '#' } else { '@' };
                if !want.insert(format!("pool{sep}{name}")) { continue; }
                text.push_str(&format!("pool{sep}{name}\t{}\t{txg}\t{txg}\t5\t-\t-\toff\t-\t-\t{}\n",
                    if *bm { "bookmark" } else { "snapshot" }, if *bm { "-" } else { "0" }));
            }
            let l = parse_listing(&text, &root("pool"), &ListOptions::default()).unwrap();
            prop_assert_eq!(l.datasets.len(), 1 + want_children.len());
            let p = &l.datasets[0];
            let got: std::collections::BTreeSet<String> = p.versions.iter().map(|v| v.name.to_string()).collect();
            prop_assert_eq!(got, want);
            for w in p.versions.windows(2) {
                prop_assert!(w[0].createtxg <= w[1].createtxg);
                if w[0].createtxg == w[1].createtxg && w[0].name.kind() != w[1].name.kind() {
                    prop_assert_eq!(w[0].name.kind(), VersionKind::Bookmark);
                }
            }
        }
    }
}
