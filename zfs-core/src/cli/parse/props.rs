//! Parsing `zfs get` output (nom) into a [`PropertyMap`].
//!
//! The command ([`get_args`](crate::cli::argv::get_args)) is
//! `zfs get -Hp -o name,property,value,source -t filesystem,volume [-r] [-s SOURCES] all|P1,P2 ROOT`:
//! one process reads the wanted properties of a whole tree. `-p` prints numbers exactly (`recordsize`
//! is `131072`, not `128K`). The same query without the value column ([`rows_args`](crate::cli::argv::rows_args)) lists the rows
//! the values must match ([`verify_rows`]): `-H` output has no escaping, so a user property value with
//! a newline and tabs could otherwise pass itself off as another property of any dataset.
//!
//! Output format: one line per (dataset, property), four tab-separated fields. Names and sources never
//! contain a tab or newline, but a user property's value may: the parser takes the first two fields and
//! the last one, and everything between them is the value (so a tab inside a value survives), and a line
//! that ends before its source field is joined with the next one (so a newline inside a value survives).

use super::error::ParseError;
use super::fields::{field, tab};
use crate::name::DatasetName;
use crate::props::{PropSource, PropValue, PropertyMap};
use nom::{IResult, Parser};
use std::collections::BTreeMap;

/// `name TAB property TAB rest`, where rest is `value TAB source` (value may hold tabs).
fn head(i: &str) -> IResult<&str, (&str, &str)> {
    (field, tab, field, tab).map(|(n, _, p, _)| (n, p)).parse(i)
}

fn parse_source(s: &str) -> Option<PropSource> {
    Some(match s {
        "local" => PropSource::Local,
        "received" => PropSource::Received,
        "default" => PropSource::Default,
        "temporary" => PropSource::Temporary,
        "-" => PropSource::None,
        other => {
            PropSource::Inherited(DatasetName::parse(other.strip_prefix("inherited from ")?).ok()?)
        }
    })
}

/// One complete record, or `Ok(None)` when it has no source field yet (a value continued on the next
/// line).
fn record(rec: &str) -> Result<Option<(&str, &str, &str, PropSource)>, String> {
    let Ok((rest, (name, prop))) = head(rec) else {
        return Ok(None);
    };
    let Some((value, source)) = rest.rsplit_once('\t') else {
        return Ok(None);
    };
    let source = parse_source(source)
        .ok_or_else(|| format!("unknown source {source:?} for {prop} of {name:?} in {rec:?}"))?;
    Ok(Some((name, prop, value, source)))
}

/// Parses `zfs get` output produced by [`get_args`](crate::cli::argv::get_args). Never panics; a malformed record is an error naming
/// its first line.
pub fn parse_props(text: &str) -> Result<PropertyMap, ParseError> {
    let mut map = PropertyMap::new();
    let mut pending: Option<(usize, String)> = None;
    // `zfs get` prints each dataset's rows together, native properties before user ones (`module:name`;
    // `get_args` orders named queries that way too). A user property's value can hold a newline and
    // then imitate further rows: such a fake row either repeats a dataset already read, puts a native
    // property after a user one, or repeats a property. All three are refused, so a value cannot set
    // another property of its own or any other dataset.
    let mut current: Option<(DatasetName, bool)> = None;
    // Split on '\n' only: `lines()` would also eat a '\r' before it, which belongs to a multi-line value.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (idx, line) in body.split('\n').enumerate() {
        let (start, rec) = match pending.take() {
            Some((start, mut acc)) => {
                acc.push('\n');
                acc.push_str(line);
                (start, acc)
            }
            None if line.is_empty() => continue,
            None => (idx + 1, line.to_owned()),
        };
        let err = |detail: String| ParseError {
            line: start,
            detail,
        };
        match record(&rec).map_err(err)? {
            None => pending = Some((start, rec)),
            Some((name, prop, value, source)) => {
                let ds = DatasetName::parse(name).map_err(|e| err(e.to_string()))?;
                if prop.is_empty() {
                    return Err(err(format!("empty property name in {rec:?}")));
                }
                const FORGED: &str =
                    "a user property value with a newline imitating zfs get output?";
                let user = prop.contains(':');
                match &mut current {
                    Some((cur, seen_user)) if *cur == ds => {
                        if *seen_user && !user {
                            return Err(err(format!(
                                "{ds}: native property {prop} after a user property ({FORGED})"
                            )));
                        }
                        *seen_user |= user;
                    }
                    _ => {
                        if map.contains_key(&ds) {
                            return Err(err(format!(
                                "{ds} appears again after other datasets ({FORGED})"
                            )));
                        }
                        current = Some((ds.clone(), user));
                    }
                }
                let props = map.entry(ds).or_default();
                if props.contains_key(prop) {
                    return Err(err(format!("property {prop} listed twice ({FORGED})")));
                }
                props.insert(
                    prop.to_owned(),
                    PropValue {
                        value: value.to_owned(),
                        source,
                    },
                );
            }
        }
    }
    match pending {
        Some((line, rec)) => Err(ParseError {
            line,
            detail: format!("truncated record {rec:?} (no source field)"),
        }),
        None => Ok(map),
    }
}

/// Checks parsed values against the output of [`rows_args`](crate::cli::argv::rows_args) (`name TAB property TAB source` lines): the
/// same (dataset, property) rows, no more and no fewer. A user property value holding a newline and a
/// tab can imitate whole rows of `zfs get` output; the row list has no values, so such an imitation shows
/// up as a row it does not have. A mismatch can also mean a property changed between the two reads.
pub fn verify_rows(map: &PropertyMap, rows_text: &str) -> Result<(), ParseError> {
    let mut count = 0usize;
    for (idx, line) in rows_text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let err = |detail: String| ParseError {
            line: idx + 1,
            detail,
        };
        let mut f = line.splitn(3, '\t');
        let (Some(name), Some(prop), Some(_source)) = (f.next(), f.next(), f.next()) else {
            return Err(err(format!(
                "expected name, property and source in {line:?}"
            )));
        };
        let ds = DatasetName::parse(name).map_err(|e| err(e.to_string()))?;
        if !map.get(&ds).is_some_and(|m| m.contains_key(prop)) {
            return Err(err(format!(
                "{ds} {prop} is in the property list but not among the values read: a user \
                 property value imitating zfs get output, or properties changed between the two reads"
            )));
        }
        count += 1;
    }
    let parsed: usize = map.values().map(BTreeMap::len).sum();
    if parsed != count {
        return Err(ParseError {
            line: 0,
            detail: format!(
                "the values read hold {parsed} properties but the property list {count}: a user \
                 property value imitating zfs get output, or properties changed between the two reads"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::argv::rows_args;
    use crate::props::{PropQuery, SourceKind};
    use proptest::prelude::*;

    fn ds(s: &str) -> DatasetName {
        DatasetName::parse(s).unwrap()
    }

    #[test]
    fn parses_sources_and_odd_values() {
        let text = "tank/a\tcompression\tlz4\tlocal\n\
                    tank/a\trecordsize\t16384\tinherited from tank\n\
                    tank/a\tused\t24576\t-\n\
                    tank/a\tuser:note\ttab\there\tlocal\n\
                    tank/a\tuser:multi\tline one\n\
                    line two\treceived\n\
                    tank/a/v\tvolblocksize\t16384\tdefault\n\
                    tank/a/v\tuser:empty\t\ttemporary\n";
        let m = parse_props(text).unwrap();
        let a = &m[&ds("tank/a")];
        assert_eq!(a["compression"].value, "lz4");
        assert_eq!(a["compression"].source, PropSource::Local);
        assert_eq!(a["recordsize"].source, PropSource::Inherited(ds("tank")));
        assert_eq!(a["recordsize"].source.kind(), SourceKind::Inherited);
        assert_eq!(a["used"].source, PropSource::None);
        assert_eq!(a["user:note"].value, "tab\there");
        assert_eq!(a["user:multi"].value, "line one\nline two");
        assert_eq!(a["user:multi"].source, PropSource::Received);
        let v = &m[&ds("tank/a/v")];
        assert_eq!(v["volblocksize"].source, PropSource::Default);
        assert_eq!(v["user:empty"].value, "");
        assert_eq!(v["user:empty"].source, PropSource::Temporary);
        assert!(parse_props("").unwrap().is_empty());
    }

    #[test]
    fn bad_records_name_their_line() {
        let e = parse_props("tank\tatime\toff\tlocal\ntank\tatime\toff\tsomewhere\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.detail.contains("somewhere"), "{e}");
        let e = parse_props("tank\tatime\toff\tlocal\ntank\tatime\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.detail.contains("truncated"), "{e}");
        let e = parse_props("bad name!\tatime\toff\tlocal\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_props("tank\t\toff\tlocal\n").unwrap_err();
        assert!(e.detail.contains("empty property"), "{e}");
    }

    #[test]
    fn rows_check_catches_a_forgery_the_order_cannot() {
        // bob's user:x ends bob's rows and forges a native row of tank/c, which comes next.
        let values = "tank/bob\tuser:x\ta\tlocal\n\
                      tank/c\tmountpoint\t/etc\tlocal\n\
                      tank/c\tatime\toff\tlocal\n";
        let rows = "tank/bob\tuser:x\tlocal\ntank/c\tatime\tlocal\n";
        let map = parse_props(values).unwrap();
        let e = verify_rows(&map, rows).unwrap_err();
        assert!(e.detail.contains("imitating"), "{e}");
        let honest =
            parse_props("tank/bob\tuser:x\ta\tlocal\ntank/c\tatime\toff\tlocal\n").unwrap();
        verify_rows(&honest, rows).unwrap();
        assert!(verify_rows(&honest, "tank/bob\tuser:y\tlocal\ntank/c\tatime\tlocal\n").is_err());
        assert!(verify_rows(&honest, "garbage\n").is_err());
        assert_eq!(
            rows_args(&ds("tank"), &PropQuery::local(true)).join(" "),
            "get -Hp -o name,property,source -t filesystem,volume -r -s local all tank"
        );
    }

    #[test]
    fn forged_rows_are_refused() {
        // bob's user:x = "a\tlocal\ntank/bob\tmountpoint\t/etc" (one value, two lines of output).
        let native_after_user = "tank/bob\tcompression\tlz4\tlocal\n\
                                 tank/bob\tuser:x\ta\tlocal\n\
                                 tank/bob\tmountpoint\t/etc\tlocal\n";
        let e = parse_props(native_after_user).unwrap_err();
        assert!(e.detail.contains("native property mountpoint"), "{e}");
        assert_eq!(e.line, 3);
        // Another dataset's rows, forged before or after its own.
        let again = "tank/a\tatime\toff\tlocal\n\
                     tank/bob\tuser:x\ta\tlocal\n\
                     tank/a\tuser:y\tz\tlocal\n";
        assert!(parse_props(again)
            .unwrap_err()
            .detail
            .contains("appears again"));
        let next = "tank/bob\tuser:x\ta\tlocal\n\
                    tank/c\tuser:y\tz\tlocal\n\
                    tank/c\tsharenfs\ton\tlocal\n";
        assert!(parse_props(next)
            .unwrap_err()
            .detail
            .contains("native property"));
        let twice = "tank/bob\tuser:x\ta\tlocal\ntank/bob\tuser:x\tb\tlocal\n";
        assert!(parse_props(twice).unwrap_err().detail.contains("twice"));
    }

    proptest! {
        #[test]
        fn never_panics(text in "[a-z/\t\n -]{0,200}") {
            let _ = parse_props(&text);
        }

        #[test]
        fn multi_line_values_round_trip(value in "[ -~\r\n]{0,40}") {
            // Without tabs no line of the value can look like a record of its own.
            let text = format!("tank/x\tuser:v\t{value}\tlocal\ntank/y\ta\tb\tdefault\n");
            let m = parse_props(&text).unwrap();
            prop_assert_eq!(&m[&ds("tank/x")]["user:v"].value, &value);
            prop_assert_eq!(&m[&ds("tank/y")]["a"].value, "b");
        }

        #[test]
        fn values_round_trip(value in "[ -~\t]{0,40}") {
            let text = format!("tank/x\tuser:v\t{value}\tlocal\n");
            let m = parse_props(&text).unwrap();
            prop_assert_eq!(&m[&ds("tank/x")]["user:v"].value, &value);
        }
    }
}
