//! Parsing `zfs holds -Hp SNAP` output: the holds on one snapshot, tag → creation time; and
//! `zfs holds -H SNAP` output of OpenZFS 2.1, which has no `-p` and prints the time as text.

use super::error::ParseError;
use std::collections::BTreeMap;

/// Parses `zfs holds -Hp` lines (`NAME<tab>TAG<tab>SECONDS`): tag → seconds since the epoch. The name
/// has no tabs and the timestamp is last, so a tag keeps any tab it holds. Empty lines are skipped.
pub fn parse_holds(text: &str) -> Result<BTreeMap<String, i64>, ParseError> {
    holds_lines(text, "SECONDS", |ts| ts.trim().parse::<i64>().ok())
}

/// Parses OpenZFS 2.1's `zfs holds -H` lines (`NAME<tab>TAG<tab>Mon Dec  7 18:44 2026`, the
/// time as `strftime("%a %b %e %H:%M %Y")` prints it; run with `TZ=UTC`): tag → seconds since the
/// epoch, to the minute. A tag keeps any tab it holds. Empty lines are skipped.
pub fn parse_holds_text(text: &str) -> Result<BTreeMap<String, i64>, ParseError> {
    holds_lines(text, "Www Mmm D HH:MM YYYY", text_time)
}

/// `NAME<tab>TAG<tab>TIME` lines, the time read by `time` (`form` names it in the error).
fn holds_lines(
    text: &str,
    form: &str,
    time: impl Fn(&str) -> Option<i64>,
) -> Result<BTreeMap<String, i64>, ParseError> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once('\t')
            .and_then(|(_, rest)| rest.rsplit_once('\t'))
            .and_then(|(tag, ts)| time(ts).map(|ts| (tag.to_owned(), ts)));
        match parsed {
            Some((tag, ts)) => {
                map.insert(tag, ts);
            }
            None => {
                return Err(ParseError {
                    line: i + 1,
                    detail: format!("expected NAME<tab>TAG<tab>{form}, got {line:?}"),
                })
            }
        }
    }
    Ok(map)
}

/// `Mon Dec  7 18:44 2026` (UTC) → seconds since the epoch; `None` unless exactly that shape.
fn text_time(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let words: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, hm, year] = words.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let (h, m) = hm.split_once(':')?;
    let h: i64 = h.parse().ok().filter(|h| (0..24).contains(h))?;
    let m: i64 = m.parse().ok().filter(|m| (0..60).contains(m))?;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    Some(days_from_civil(year, month, day) * 86_400 + h * 3_600 + m * 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_text_lines_of_openzfs_2_1() {
        let m = parse_holds_text(
            "p/a@s\tkeep me\tTue Nov 14 22:13 2023\n\np/a@s\tt\tab\tThu Jan  1 00:00 1970\n",
        )
        .unwrap();
        assert_eq!(m["keep me"], 1_699_999_980); // 2023-11-14T22:13:00Z
        assert_eq!(m["t\tab"], 0);
        assert_eq!(
            parse_holds_text("p/a@s\tt\tSat Feb 29 12:00 2024\n").unwrap()["t"],
            1_709_208_000
        );
        assert!(parse_holds_text("").unwrap().is_empty());
        for bad in [
            "p/a@s\tt\t1700000000\n",
            "p/a@s\tt\tMon Foo  7 18:44 2026\n",
            "p/a@s\tt\tMon Dec 32 18:44 2026\n",
            "p/a@s\tt\tMon Dec  7 24:00 2026\n",
            "p/a@s\tt\n",
        ] {
            let e = parse_holds_text(bad).unwrap_err();
            assert_eq!(e.line, 1, "{bad:?}");
        }
    }

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
