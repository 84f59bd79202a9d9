//! A zrepl-style retention grid: `1x1h(keep=all) | 24x1h | 14x1d | 12x30d`.
//!
//! Grammar: intervals separated by `|`; each is `COUNT x DURATION`, optionally followed by
//! `(keep=N)` or `(keep=all)` (default `keep=1`). Durations are a whole number with unit `s`, `m`, `h`,
//! `d` or `w`. Whitespace around the tokens is allowed.
//!
//! Semantics (as zrepl's grid, plus an anchor rule):
//!
//! * The anchor is the creation time of the **youngest** snapshot the grid sees, not the wall clock, so a
//!   host that stops snapshotting does not lose its history. The youngest snapshot is always kept.
//! * Buckets are laid back to back from the anchor into the past: `24x1h` is 24 one-hour buckets. A
//!   snapshot whose age (anchor − creation) is in `[start, start + length)` falls into that bucket.
//! * In each bucket the `keep` **oldest** snapshots are kept; the younger ones are not kept by the grid.
//!   Snapshots older than the last bucket are not kept by the grid.
//!
//! The grid is one rule among several; see [`crate::retention`] for how rules combine.

use std::fmt;

use chrono::{DateTime, Utc};
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1, one_of, space0};
use nom::combinator::opt;
use nom::sequence::delimited;
use nom::{IResult, Parser};

/// How many snapshots a bucket keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Keep {
    /// Every snapshot in the bucket.
    All,
    /// The N oldest snapshots in the bucket.
    Oldest(u32),
}

/// `COUNT x LENGTH (keep=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Interval {
    /// Number of buckets.
    pub count: u32,
    /// Length of one bucket in seconds.
    pub length_secs: u64,
    /// What each bucket keeps.
    pub keep: Keep,
}

/// A parsed grid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Grid {
    /// The intervals, youngest first.
    pub intervals: Vec<Interval>,
}

/// A grid syntax error: byte offset within the grid text and reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {reason}")]
pub struct GridError {
    /// Byte offset in the text.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

/// Why the grid keeps (or does not keep) one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridVerdict {
    /// The youngest snapshot (the anchor).
    Anchor,
    /// Kept by bucket `bucket` (0-based within interval `interval`, the interval's index in the grid).
    Bucket {
        /// Interval index.
        interval: usize,
        /// Bucket index within the interval.
        bucket: u32,
    },
    /// In a bucket that already keeps enough older snapshots.
    Surplus,
    /// Older than the last bucket.
    Outside,
}

impl GridVerdict {
    /// Whether the grid keeps the snapshot.
    pub fn keeps(self) -> bool {
        matches!(self, GridVerdict::Anchor | GridVerdict::Bucket { .. })
    }
}

fn unit_secs(unit: char) -> u64 {
    match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 7 * 86_400, // 'w'
    }
}

fn number(i: &str) -> IResult<&str, &str> {
    digit1(i)
}

fn keep_clause(i: &str) -> IResult<&str, &str> {
    delimited(
        (char('('), space0, tag("keep"), space0, char('='), space0),
        alt((tag("all"), digit1)),
        (space0, char(')')),
    )
    .parse(i)
}

impl Grid {
    /// Parses a grid specification.
    pub fn parse(text: &str) -> Result<Grid, GridError> {
        let mut intervals = Vec::new();
        let mut offset = 0;
        for part in text.split('|') {
            intervals.push(Self::parse_interval(part, offset)?);
            offset += part.len() + 1;
        }
        Ok(Grid { intervals })
    }

    fn parse_interval(part: &str, base: usize) -> Result<Interval, GridError> {
        let at = |rest: &str| base + part.len() - rest.len();
        let fail = |rest: &str, reason: &str| GridError {
            offset: at(rest),
            reason: reason.to_string(),
        };
        let (i, _) =
            space0::<&str, nom::error::Error<&str>>(part).map_err(|_| fail(part, "unreadable"))?;
        let (after_count, count) =
            number(i).map_err(|_| fail(i, "expected an interval like 24x1h"))?;
        let count: u32 = count.parse().map_err(|_| fail(i, "count too large"))?;
        if count == 0 {
            return Err(fail(i, "count must be at least 1"));
        }
        let parsed: IResult<&str, (&str, char, &str)> =
            (space0, char('x'), space0).parse(after_count);
        let (i, _) = parsed.map_err(|_| fail(after_count, "expected 'x' after the count"))?;
        let (after_len, len) = number(i).map_err(|_| fail(i, "expected a duration like 1h"))?;
        let len: u64 = len.parse().map_err(|_| fail(i, "duration too large"))?;
        let unit: IResult<&str, char> = one_of("smhdw").parse(after_len);
        let (i, unit) = unit.map_err(|_| fail(after_len, "expected a unit s, m, h, d or w"))?;
        if len == 0 {
            return Err(fail(after_count, "duration must be positive"));
        }
        let length_secs = len
            .checked_mul(unit_secs(unit))
            .filter(|l| l.checked_mul(u64::from(count)).is_some_and(|t| t < 1 << 40))
            .ok_or_else(|| fail(after_count, "interval too long"))?;
        let (i, _) =
            space0::<&str, nom::error::Error<&str>>(i).map_err(|_| fail(i, "unreadable"))?;
        let (i, keep) = match opt(keep_clause).parse(i) {
            Ok((rest, Some("all"))) => (rest, Keep::All),
            Ok((rest, Some(n))) => {
                let n: u32 = n.parse().map_err(|_| fail(i, "keep count too large"))?;
                if n == 0 {
                    return Err(fail(
                        i,
                        "keep must be at least 1 (omit the interval to keep nothing)",
                    ));
                }
                (rest, Keep::Oldest(n))
            }
            _ => (i, Keep::Oldest(1)),
        };
        let (rest, _) =
            space0::<&str, nom::error::Error<&str>>(i).map_err(|_| fail(i, "unreadable"))?;
        if !rest.is_empty() {
            return Err(fail(
                rest,
                "unexpected text (expected '|', '(keep=N)' or the end)",
            ));
        }
        Ok(Interval {
            count,
            length_secs,
            keep,
        })
    }

    /// Total span of all buckets in seconds.
    pub fn span_secs(&self) -> u64 {
        self.intervals
            .iter()
            .map(|i| i.length_secs * u64::from(i.count))
            .sum()
    }

    /// Decides for each creation time (any order) whether the grid keeps it. The result is parallel to
    /// `creations`.
    pub fn fit(&self, creations: &[DateTime<Utc>]) -> Vec<GridVerdict> {
        let mut order: Vec<usize> = (0..creations.len()).collect();
        order.sort_by_key(|&i| (creations[i], i));
        let secs: Vec<i64> = order.iter().map(|&i| creations[i].timestamp()).collect();
        let mut verdicts = vec![GridVerdict::Outside; creations.len()];
        self.fit_sorted(&secs, |pos, v| verdicts[order[pos]] = v);
        verdicts
    }

    /// Like [`Grid::fit`] for creation times in Unix seconds sorted oldest first (no allocation):
    /// calls `verdict(position, verdict)` for every position.
    pub fn fit_sorted(&self, secs_ascending: &[i64], mut verdict: impl FnMut(usize, GridVerdict)) {
        let Some(&anchor) = secs_ascending.last() else {
            return;
        };
        let last = secs_ascending.len() - 1;
        let mut current: Option<(usize, u32)> = None;
        let mut kept_in_current = 0u32;
        for (pos, &secs) in secs_ascending.iter().enumerate() {
            if pos == last {
                verdict(pos, GridVerdict::Anchor);
                continue;
            }
            let age = u64::try_from(anchor.saturating_sub(secs)).unwrap_or(0);
            let Some((interval, bucket, keep)) = self.bucket_of(age) else {
                verdict(pos, GridVerdict::Outside);
                continue;
            };
            if current != Some((interval, bucket)) {
                current = Some((interval, bucket));
                kept_in_current = 0;
            }
            let keeps = match keep {
                Keep::All => true,
                Keep::Oldest(n) => kept_in_current < n,
            };
            if keeps {
                kept_in_current += 1;
                verdict(pos, GridVerdict::Bucket { interval, bucket });
            } else {
                verdict(pos, GridVerdict::Surplus);
            }
        }
    }

    fn bucket_of(&self, age: u64) -> Option<(usize, u32, Keep)> {
        let mut start = 0u64;
        for (idx, iv) in self.intervals.iter().enumerate() {
            let span = iv.length_secs * u64::from(iv.count);
            if age < start + span {
                return Some((idx, ((age - start) / iv.length_secs) as u32, iv.keep));
            }
            start += span;
        }
        None
    }
}

fn fmt_len(secs: u64) -> String {
    for (unit, s) in [('w', 7 * 86_400), ('d', 86_400), ('h', 3600), ('m', 60)] {
        if secs.is_multiple_of(s) {
            return format!("{}{unit}", secs / s);
        }
    }
    format!("{secs}s")
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.count, fmt_len(self.length_secs))?;
        match self.keep {
            Keep::All => write!(f, "(keep=all)"),
            Keep::Oldest(1) => Ok(()),
            Keep::Oldest(n) => write!(f, "(keep={n})"),
        }
    }
}

impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, iv) in self.intervals.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{iv}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn parses_the_zrepl_example() {
        let g = Grid::parse("1x1h(keep=all) | 24x1h | 14x1d | 12x30d").unwrap();
        assert_eq!(g.intervals.len(), 4);
        assert_eq!(
            g.intervals[0],
            Interval {
                count: 1,
                length_secs: 3600,
                keep: Keep::All
            }
        );
        assert_eq!(
            g.intervals[3],
            Interval {
                count: 12,
                length_secs: 30 * 86400,
                keep: Keep::Oldest(1)
            }
        );
        assert_eq!(g.to_string(), "1x1h(keep=all) | 24x1h | 14x1d | 12x30d");
        let g = Grid::parse(" 2 x 1w ( keep = 3 ) ").unwrap();
        assert_eq!(
            g.intervals[0],
            Interval {
                count: 2,
                length_secs: 604800,
                keep: Keep::Oldest(3)
            }
        );
    }

    #[test]
    fn rejects_bad_grids_with_offsets() {
        let e = |s: &str| Grid::parse(s).unwrap_err();
        assert_eq!(e("24x1h | x1d").offset, 8);
        assert_eq!(e("24x1q").offset, 4);
        assert_eq!(e("24y1h").offset, 2);
        assert_eq!(e("24x1h(keep=0)").offset, 5);
        assert_eq!(e("24x1h(keep=some)").offset, 5);
        assert_eq!(e("0x1h").offset, 0);
        assert_eq!(e("1x0h").offset, 1);
        assert_eq!(e("").offset, 0);
        assert_eq!(e("24x1h |").offset, 7);
        assert!(Grid::parse("99999999999x9999999999w").is_err());
    }

    #[test]
    fn fits_oldest_per_bucket() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
        let h = chrono::Duration::hours(1);
        // youngest at t0; then every 20 minutes for 3 hours back.
        let creations: Vec<_> = (0..10).map(|k| t0 - h * k / 3).collect();
        let g = Grid::parse("2x1h").unwrap();
        let v = g.fit(&creations);
        assert_eq!(v[0], GridVerdict::Anchor);
        // ages 20m, 40m in bucket 0 -> oldest (40m) kept.
        assert_eq!(v[1], GridVerdict::Surplus);
        assert_eq!(
            v[2],
            GridVerdict::Bucket {
                interval: 0,
                bucket: 0
            }
        );
        // ages 60, 80, 100 in bucket 1 -> 100m kept.
        assert_eq!(v[3], GridVerdict::Surplus);
        assert_eq!(v[4], GridVerdict::Surplus);
        assert_eq!(
            v[5],
            GridVerdict::Bucket {
                interval: 0,
                bucket: 1
            }
        );
        assert!(v[6..].iter().all(|v| *v == GridVerdict::Outside));
        assert!(g.fit(&[]).is_empty());
    }
}
