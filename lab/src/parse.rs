//! Readers of the `zfs` output the lab helpers ask for (pure: tested on the host).

use std::collections::BTreeSet;

/// `(short name, guid)` pairs from `zfs list -H -p -o name,guid -t snapshot` output, in output
/// order. The short name is what follows `@`; lines without a tab or an `@` are skipped.
///
/// ```
/// let out = "tank/a@s1\t123\ntank/a@s 2\t456\n";
/// assert_eq!(
///     zsync_lab::parse::snapshot_guids(out),
///     [("s1".to_string(), "123".to_string()), ("s 2".into(), "456".into())]
/// );
/// ```
pub fn snapshot_guids(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let (name, guid) = l.split_once('\t')?;
            let (_, short) = name.split_once('@')?;
            Some((short.to_owned(), guid.trim_end().to_owned()))
        })
        .collect()
}

/// The hold tags from `zfs holds -H SNAP` output (`NAME<TAB>TAG<TAB>TIMESTAMP` lines).
pub fn hold_tags(out: &str) -> BTreeSet<String> {
    out.lines()
        .filter_map(|l| l.split('\t').nth(1).map(str::to_owned))
        .collect()
}

/// The value printed by `zfs get -H -o value` for one property: the output without its
/// trailing newline (and without surrounding blanks).
pub fn value(out: &str) -> &str {
    out.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_lines() {
        let out = "p/src@s1\t111\np/src@zsync_lab_2026-11-27\t222\n\nno tab here\np/src\t333\n";
        assert_eq!(
            snapshot_guids(out),
            [
                ("s1".to_string(), "111".to_string()),
                ("zsync_lab_2026-11-27".into(), "222".into())
            ]
        );
        // Hostile but valid names: spaces, '-', ':' and '.' stay as they are; the tab splits.
        let out = "p/-a b@:x. y\t18446744073709551615\n";
        assert_eq!(
            snapshot_guids(out),
            [(":x. y".to_string(), "18446744073709551615".to_string())]
        );
        assert!(snapshot_guids("").is_empty());
    }

    #[test]
    fn hold_lines() {
        let out =
            "p/a@s1\tzsync_job\tFri Nov 27 21:00 2026\np/a@s1\tkeep me\tFri Nov 27 21:01 2026\n";
        let tags = hold_tags(out);
        assert_eq!(
            tags.into_iter().collect::<Vec<_>>(),
            ["keep me", "zsync_job"]
        );
        assert!(hold_tags("").is_empty());
        assert!(hold_tags("no tabs\n").is_empty());
    }

    #[test]
    fn get_values() {
        assert_eq!(value("123\n"), "123");
        assert_eq!(value("-\n"), "-");
        assert_eq!(value(""), "");
    }
}
