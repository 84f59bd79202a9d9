//! Parsers of the values of single keys (numbers, percentages, booleans, ages, scripts, grids,
//! `recursive`, dataset names), each reporting the byte offset of a problem inside the value.

use nom::combinator::all_consuming;
use nom::{IResult, Parser};

use crate::grid::Grid;

/// Value of the `recursive` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Recursive {
    /// Only the dataset itself (`no`, the default).
    #[default]
    No,
    /// Descendants inherit the policy and are snapshotted one by one (`yes`).
    Yes,
    /// One atomic recursive snapshot at this dataset; descendants are pruned individually (`zfs`).
    Zfs,
}

/// A value-level parse failure: byte offset inside the value and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ValueError {
    pub(super) offset: usize,
    pub(super) reason: String,
}

impl ValueError {
    pub(super) fn at0(reason: impl Into<String>) -> Self {
        ValueError {
            offset: 0,
            reason: reason.into(),
        }
    }
}

pub(super) type ValueParser<T> = fn(&str) -> Result<T, ValueError>;

fn digits(v: &str) -> Result<u64, ValueError> {
    let parsed: IResult<&str, &str> = all_consuming(nom::character::complete::digit1).parse(v);
    match parsed {
        Ok((_, d)) => d
            .parse::<u64>()
            .map_err(|_| ValueError::at0("number too large")),
        Err(_) => {
            let bad = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
            Err(ValueError {
                offset: bad,
                reason: if v.is_empty() {
                    "empty value; expected a number".to_string()
                } else {
                    "expected a non-negative whole number".to_string()
                },
            })
        }
    }
}

pub(super) fn count(v: &str) -> Result<u32, ValueError> {
    let n = digits(v)?;
    u32::try_from(n).map_err(|_| ValueError::at0("number too large"))
}

pub(super) fn int<const LO: u32, const HI: u32>(v: &str) -> Result<u32, ValueError> {
    let n = digits(v)?;
    if n < u64::from(LO) || n > u64::from(HI) {
        return Err(ValueError::at0(format!("must be between {LO} and {HI}")));
    }
    Ok(n as u32)
}

pub(super) fn signed(v: &str) -> Result<i64, ValueError> {
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v),
    };
    let n = digits(body).map_err(|e| ValueError {
        offset: e.offset + usize::from(neg),
        ..e
    })?;
    let n = i64::try_from(n).map_err(|_| ValueError::at0("number too large"))?;
    Ok(if neg { -n } else { n })
}

pub(super) fn percent(v: &str) -> Result<u8, ValueError> {
    let body = v.strip_suffix('%').unwrap_or(v);
    let n = digits(body)?;
    if n > 100 {
        return Err(ValueError::at0("must be a percentage between 0 and 100"));
    }
    Ok(n as u8)
}

/// Parses a boolean the way sanoid accepts them.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "1" | "true" | "on" | "y" => Some(true),
        "no" | "0" | "false" | "off" | "n" | "" => Some(false),
        _ => None,
    }
}

pub(super) fn boolean(v: &str) -> Result<bool, ValueError> {
    parse_bool(v).ok_or_else(|| ValueError::at0("expected yes/no, 1/0, true/false or on/off"))
}

pub(super) fn recursive(v: &str) -> Result<Recursive, ValueError> {
    if v.eq_ignore_ascii_case("zfs") {
        return Ok(Recursive::Zfs);
    }
    match parse_bool(v) {
        Some(true) => Ok(Recursive::Yes),
        Some(false) => Ok(Recursive::No),
        None => Err(ValueError::at0("expected yes, no or zfs")),
    }
}

/// Parses a monitoring age; bare numbers are multiplied by `UNIT` seconds.
pub(super) fn age<const UNIT: u64>(v: &str) -> Result<u64, ValueError> {
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let n = digits(num)?;
    let unit = match suffix.to_ascii_lowercase().as_str() {
        "" => UNIT,
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(ValueError {
                offset: split,
                reason: "expected a number with an optional suffix s, m, h, d, w or y".to_string(),
            })
        }
    };
    n.checked_mul(unit)
        .ok_or_else(|| ValueError::at0("age too large"))
}

pub(super) fn script(v: &str) -> Result<Option<String>, ValueError> {
    Ok(if v.is_empty() {
        None
    } else {
        Some(v.to_string())
    })
}

pub(super) fn grid(v: &str) -> Result<Option<Grid>, ValueError> {
    if v.is_empty() {
        return Ok(None);
    }
    Grid::parse(v).map(Some).map_err(|e| ValueError {
        offset: e.offset,
        reason: e.reason,
    })
}

pub(super) fn check_dataset_name(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty name".to_string());
    }
    if path.starts_with('/') || path.ends_with('/') || path.contains("//") {
        return Err("empty path component".to_string());
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | ' ' | '/')))
    {
        return Err(format!("character '{c}' is not allowed"));
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err("'.' and '..' are not dataset names".to_string());
    }
    if path.len() > 255 {
        return Err(format!("longer than 255 bytes ({} bytes)", path.len()));
    }
    // The pool's own rules (as `zpool create` has them), so such a section is refused here with
    // its line rather than when ZFS is listed.
    let pool = path.split('/').next().unwrap_or_default();
    if !pool.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("a pool name must begin with a letter".to_string());
    }
    if let Some(word) = ["mirror", "raidz", "draid", "spare"]
        .iter()
        .find(|w| pool.starts_with(*w))
    {
        return Err(format!(
            "a pool name may not begin with the reserved word '{word}'"
        ));
    }
    if pool == "log" {
        return Err("the pool name 'log' is reserved".to_string());
    }
    Ok(())
}
