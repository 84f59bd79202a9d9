//! Parsing `zfs holds -Hp SNAP` output: the holds on one snapshot, tag → creation time.

use super::error::ParseError;
use std::collections::BTreeMap;

/// Parses `zfs holds -Hp` lines (`NAME<tab>TAG<tab>SECONDS`): tag → seconds since the epoch. The name
/// has no tabs and the timestamp is last, so a tag keeps any tab it holds. Empty lines are skipped.
pub fn parse_holds(text: &str) -> Result<BTreeMap<String, i64>, ParseError> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once('\t')
            .and_then(|(_, rest)| rest.rsplit_once('\t'))
            .and_then(|(tag, ts)| ts.trim().parse::<i64>().ok().map(|ts| (tag.to_owned(), ts)));
        match parsed {
            Some((tag, ts)) => {
                map.insert(tag, ts);
            }
            None => {
                return Err(ParseError {
                    line: i + 1,
                    detail: format!("expected NAME<tab>TAG<tab>SECONDS, got {line:?}"),
                })
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_lines() {
        let m = parse_holds("p/a@s\tkeep me\t1700000000\n\np/a@s\tt\tab\t5\n").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m["keep me"], 1700000000);
        assert_eq!(m["t\tab"], 5);
        assert!(parse_holds("").unwrap().is_empty());
        let e = parse_holds("p/a@s\tt\t1\np/a@s\tt\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.detail.contains("NAME<tab>TAG<tab>SECONDS"), "{e}");
        assert!(parse_holds("p/a@s\tt\tsoon\n").is_err());
    }
}
