//! Parser for the sanoid INI format (`sanoid.conf`) into a typed [`Config`].
//!
//! The format, as sanoid reads it:
//!
//! * `[section]` headers; `key = value` lines; comment lines start with `#` or `;`; blank lines and
//!   surrounding whitespace are ignored; CRLF line endings and a UTF-8 BOM are accepted.
//! * A section is a dataset (`[tank/data]`, or any name with `path = tank/data`), a template
//!   (`[template_NAME]`, used by `use_template = NAME, OTHER` in order) or `[version]` (`version = 2`).
//!   A user `[template_default]` is applied to every dataset section before its own templates.
//! * Booleans: `yes/no`, `1/0`, `true/false`, `on/off` (any case); an empty value is `no`.
//! * Monitoring ages (`hourly_warn = 90m`) take a suffix `s m h d w y` (any case; `y` is 365 days, not
//!   sanoid's 31×365 days); a bare number is in "one period down" units like sanoid: frequently → seconds,
//!   hourly → minutes, daily → hours, weekly → days, monthly → weeks, yearly → 31 days. `0` switches the
//!   check off.
//! * After a value of a number, boolean or age key, a trailing comment introduced by whitespace and `#` or
//!   `;` is ignored. Script and `path` values are taken verbatim.
//!
//! Differences from sanoid, all in the direction of refusing mistakes instead of guessing:
//!
//! * every unknown key and every bad value is an error with `file:line:column`;
//! * a section that appears twice, or two sections naming the same dataset, is an error;
//! * `use_template` naming a template that does not exist is an error;
//! * as in sanoid, a duplicate key inside one section keeps the first value, and `use_template`,
//!   `recursive` or `path` inside a template are ignored; both produce a [`ConfigWarning`].
//!
//! Two keys are zsync extensions (sanoid rejects them): `prune_grid` (a [`crate::grid::Grid`], e.g.
//! `1x1h(keep=all) | 24x1h | 14x1d`) and `prune_keep_last` (keep the newest N autosnap snapshots).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::{char, one_of, space0};
use nom::combinator::{all_consuming, eof, rest};
use nom::{IResult, Parser};

use crate::grid::Grid;
use crate::types::SnapshotType;

/// A config error: where (file label, 1-based line and column) and what. `Display` is one line:
/// `sanoid.conf:12:5: unknown key 'hourlyy' in section [tank]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{label}:{line}:{column}: {kind}")]
pub struct ConfigError {
    /// The file label passed to [`Config::parse`].
    pub label: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong (boxed to keep `Result`s small).
    pub kind: Box<ConfigErrorKind>,
}

/// What is wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file is not UTF-8.
    #[error("the file is not valid UTF-8")]
    InvalidUtf8,
    /// A line that is neither a section header, `key = value`, a comment nor blank.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// `key = value` before the first section header.
    #[error("key '{0}' appears before any [section]")]
    KeyOutsideSection(String),
    /// A key sanoid does not know (or a key not allowed in this section).
    #[error("unknown key '{key}' in section [{section}]{hint}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The section it is in.
        section: String,
        /// ` (did you mean 'x'?)` or empty.
        hint: String,
    },
    /// A value that does not parse for its key.
    #[error("bad value '{value}' for '{key}' in section [{section}]: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// The section.
        section: String,
        /// Why it is rejected.
        reason: String,
    },
    /// The same `[section]` header twice.
    #[error("duplicate section [{section}] (first defined on line {first_line})")]
    DuplicateSection {
        /// Section name.
        section: String,
        /// Line of the first definition.
        first_line: usize,
    },
    /// Two sections name the same dataset (via their names or `path`).
    #[error("dataset '{path}' is configured by both [{first}] and [{second}]")]
    DuplicateDataset {
        /// The dataset.
        path: String,
        /// The first section.
        first: String,
        /// The second section.
        second: String,
    },
    /// `use_template = X` without a `[template_X]` section.
    #[error(
        "unknown template '{template}' in section [{section}] (no [template_{template}] section)"
    )]
    UnknownTemplate {
        /// The missing template name.
        template: String,
        /// The section that uses it.
        section: String,
    },
    /// A section name or `path` that is not a valid dataset name.
    #[error("'{path}' in section [{section}] is not a valid dataset name: {reason}")]
    BadDatasetName {
        /// The offending name.
        path: String,
        /// The section.
        section: String,
        /// Why.
        reason: String,
    },
}

/// A non-fatal remark about the config (sanoid prints these as warnings too).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConfigWarning {
    /// File label.
    pub label: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The remark.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: warning: {}",
            self.label, self.line, self.column, self.message
        )
    }
}

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
pub(crate) struct ValueError {
    pub(crate) offset: usize,
    pub(crate) reason: String,
}

impl ValueError {
    fn at0(reason: impl Into<String>) -> Self {
        ValueError {
            offset: 0,
            reason: reason.into(),
        }
    }
}

type ValueParser<T> = fn(&str) -> Result<T, ValueError>;

macro_rules! settings {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $default:expr, $parser:expr, $inline_comments:expr; )*) => {
        /// Settings as written in one section or template: `None` where the key is absent.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Settings {
            $( $(#[$doc])* pub $field: Option<$ty>, )*
        }

        /// The effective, fully populated settings of a dataset (sanoid's defaults where nothing is set).
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct Policy {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl Default for Policy {
            /// sanoid's built-in defaults (`sanoid.defaults.conf`).
            fn default() -> Self {
                Policy { $( $field: $default, )* }
            }
        }

        impl Settings {
            /// Writes every key that is set here over `policy`.
            pub fn apply_to(&self, policy: &mut Policy) {
                $( if let Some(v) = &self.$field { policy.$field = v.clone(); } )*
            }

            /// Whether `key` names one of these settings.
            pub fn is_key(key: &str) -> bool {
                SETTING_KEYS.contains(&key)
            }

            /// Parses `value` for `key` and stores it unless the key is already set (first value wins).
            /// `None` when the key is unknown.
            fn set(&mut self, key: &str, value: &str) -> Option<Result<bool, ValueError>> {
                match key {
                    $( stringify!($field) => {
                        let parser: ValueParser<$ty> = $parser;
                        let value = if $inline_comments { strip_inline_comment(value) } else { value };
                        Some(parser(value).map(|v| {
                            if self.$field.is_none() { self.$field = Some(v); true } else { false }
                        }))
                    } )*
                    _ => None,
                }
            }
        }

        /// Every setting key (without the structural keys).
        pub const SETTING_KEYS: &[&str] = &[ $( stringify!($field), )* ];
    };
}

settings! {
    /// Number of `frequently` snapshots to keep (0: never take, prune all).
    frequently: u32 = 0, count, true;
    /// Number of hourly snapshots to keep.
    hourly: u32 = 48, count, true;
    /// Number of daily snapshots to keep.
    daily: u32 = 90, count, true;
    /// Number of weekly snapshots to keep.
    weekly: u32 = 0, count, true;
    /// Number of monthly snapshots to keep.
    monthly: u32 = 6, count, true;
    /// Number of yearly snapshots to keep.
    yearly: u32 = 0, count, true;
    /// Minutes between `frequently` snapshots (should divide 60).
    frequent_period: u32 = 15, int::<1, 1440>, true;
    /// Minute of the hour for hourlies.
    hourly_min: u32 = 0, int::<0, 59>, true;
    /// Hour of the day for dailies.
    daily_hour: u32 = 23, int::<0, 23>, true;
    /// Minute for dailies.
    daily_min: u32 = 59, int::<0, 59>, true;
    /// Day of the week for weeklies (0 or 7 = Sunday, 1 = Monday, ...).
    weekly_wday: u32 = 1, int::<0, 7>, true;
    /// Hour for weeklies.
    weekly_hour: u32 = 23, int::<0, 23>, true;
    /// Minute for weeklies.
    weekly_min: u32 = 30, int::<0, 59>, true;
    /// Day of the month for monthlies (past the month's end means its last day).
    monthly_mday: u32 = 1, int::<1, 31>, true;
    /// Hour for monthlies.
    monthly_hour: u32 = 0, int::<0, 23>, true;
    /// Minute for monthlies.
    monthly_min: u32 = 0, int::<0, 59>, true;
    /// Month for yearlies (1 = January).
    yearly_mon: u32 = 1, int::<1, 12>, true;
    /// Day of the month for yearlies (past the month's end means its last day).
    yearly_mday: u32 = 1, int::<1, 31>, true;
    /// Hour for yearlies.
    yearly_hour: u32 = 0, int::<0, 23>, true;
    /// Minute for yearlies.
    yearly_min: u32 = 0, int::<0, 59>, true;
    /// Take snapshots.
    autosnap: bool = true, boolean, true;
    /// Prune snapshots.
    autoprune: bool = true, boolean, true;
    /// 0: always prune; 1–100: prune only when the pool's used capacity is above this percentage.
    prune_defer: u8 = 0, percent, true;
    /// Include the dataset in snapshot monitoring.
    monitor: bool = true, boolean, true;
    /// Report warnings as text but with status OK.
    monitor_dont_warn: bool = false, boolean, true;
    /// Report criticals as text but with status OK.
    monitor_dont_crit: bool = false, boolean, true;
    /// Warn when the newest frequently snapshot is this old (seconds; 0 = off).
    frequently_warn: u64 = 0, age::<1>, true;
    /// Critical age for frequently snapshots (seconds; 0 = off).
    frequently_crit: u64 = 0, age::<1>, true;
    /// Warn age for hourlies (seconds).
    hourly_warn: u64 = 90 * 60, age::<60>, true;
    /// Critical age for hourlies (seconds).
    hourly_crit: u64 = 360 * 60, age::<60>, true;
    /// Warn age for dailies (seconds).
    daily_warn: u64 = 28 * 3600, age::<3600>, true;
    /// Critical age for dailies (seconds).
    daily_crit: u64 = 32 * 3600, age::<3600>, true;
    /// Warn age for weeklies (seconds).
    weekly_warn: u64 = 0, age::<86400>, true;
    /// Critical age for weeklies (seconds).
    weekly_crit: u64 = 0, age::<86400>, true;
    /// Warn age for monthlies (seconds).
    monthly_warn: u64 = 32 * 86400, age::<604800>, true;
    /// Critical age for monthlies (seconds).
    monthly_crit: u64 = 40 * 86400, age::<604800>, true;
    /// Warn age for yearlies (seconds).
    yearly_warn: u64 = 0, age::<2678400>, true;
    /// Critical age for yearlies (seconds).
    yearly_crit: u64 = 0, age::<2678400>, true;
    /// Pool capacity percentage that warns (0 = off); honoured in a pool's root section.
    capacity_warn: u8 = 80, percent, true;
    /// Pool capacity percentage that is critical (0 = off); honoured in a pool's root section.
    capacity_crit: u8 = 95, percent, true;
    /// Command line run (by the caller, `sh -c`) before taking snapshots.
    pre_snapshot_script: Option<String> = None, script, false;
    /// Command line run after taking snapshots.
    post_snapshot_script: Option<String> = None, script, false;
    /// Command line run before each destroy; non-zero exit skips that snapshot.
    pre_pruning_script: Option<String> = None, script, false;
    /// Command line run after each destroy.
    pruning_script: Option<String> = None, script, false;
    /// Seconds a script may run (≤ 0: no limit).
    script_timeout: i64 = 5, signed, true;
    /// Skip the snapshot when the pre-snapshot script fails.
    no_inconsistent_snapshot: bool = false, boolean, true;
    /// Run the post-snapshot script even when the pre-snapshot script failed.
    force_post_snapshot_script: bool = false, boolean, true;
    /// zsync extension: a zrepl-style grid whose buckets keep snapshots (union with the counts).
    prune_grid: Option<Grid> = None, grid, true;
    /// zsync extension: always keep the newest N autosnap snapshots of any type (0 = off).
    prune_keep_last: u32 = 0, count, true;
}

impl Policy {
    /// The retention count for a type.
    pub fn count(&self, kind: SnapshotType) -> u32 {
        match kind {
            SnapshotType::Frequently => self.frequently,
            SnapshotType::Hourly => self.hourly,
            SnapshotType::Daily => self.daily,
            SnapshotType::Weekly => self.weekly,
            SnapshotType::Monthly => self.monthly,
            SnapshotType::Yearly => self.yearly,
        }
    }

    /// Monitoring thresholds `(warn, crit)` in seconds for a type (0 = off).
    pub fn monitor_ages(&self, kind: SnapshotType) -> (u64, u64) {
        match kind {
            SnapshotType::Frequently => (self.frequently_warn, self.frequently_crit),
            SnapshotType::Hourly => (self.hourly_warn, self.hourly_crit),
            SnapshotType::Daily => (self.daily_warn, self.daily_crit),
            SnapshotType::Weekly => (self.weekly_warn, self.weekly_crit),
            SnapshotType::Monthly => (self.monthly_warn, self.monthly_crit),
            SnapshotType::Yearly => (self.yearly_warn, self.yearly_crit),
        }
    }
}

/// Keys that shape the dataset tree; they are never inherited by children.
pub const STRUCTURE_KEYS: &[&str] = &[
    "path",
    "use_template",
    "recursive",
    "process_children_only",
    "skip_children",
];

/// The structural keys of a section (or template), `None` where absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Structure {
    /// `recursive`.
    pub recursive: Option<Recursive>,
    /// `process_children_only`.
    pub process_children_only: Option<bool>,
    /// `skip_children`.
    pub skip_children: Option<bool>,
}

impl Structure {
    pub(crate) fn overlay(&mut self, other: &Structure) {
        if other.recursive.is_some() {
            self.recursive = other.recursive;
        }
        if other.process_children_only.is_some() {
            self.process_children_only = other.process_children_only;
        }
        if other.skip_children.is_some() {
            self.skip_children = other.skip_children;
        }
    }
}

/// A template name in a `use_template` list, with its position for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// Template name (without `template_`).
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One `[section]`: a dataset section or a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The name between the brackets (for templates without the `template_` prefix).
    pub name: String,
    /// Line of the header.
    pub line: usize,
    /// The dataset (`path`, or the section name). Empty for templates.
    pub path: String,
    /// `use_template`, in order.
    pub use_template: Vec<TemplateRef>,
    /// Structural keys.
    pub structure: Structure,
    /// All other keys.
    pub settings: Settings,
}

/// A parsed config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The label used in messages (normally the file name).
    pub label: String,
    /// Dataset sections in file order.
    pub datasets: Vec<Section>,
    /// Templates by name (without the `template_` prefix), including a user `default`.
    pub templates: BTreeMap<String, Section>,
    /// `[version] version = N`, when present.
    pub version: Option<u32>,
    /// Non-fatal remarks.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Parses config `text`; `label` names the file in errors and warnings.
    pub fn parse(text: &str, label: &str) -> Result<Config, ConfigError> {
        FileParser::new(label).run(text)
    }

    /// Parses raw bytes (which must be UTF-8).
    pub fn parse_bytes(bytes: &[u8], label: &str) -> Result<Config, ConfigError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Config::parse(text, label),
            Err(e) => {
                let good = &bytes[..e.valid_up_to()];
                let line = good.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
                let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
                Err(ConfigError {
                    label: label.to_string(),
                    line,
                    column,
                    kind: Box::new(ConfigErrorKind::InvalidUtf8),
                })
            }
        }
    }

    /// sanoid's defaults overlaid with a user `[template_default]`: the starting point of every dataset
    /// section that does not inherit from a recursive parent.
    pub fn base_policy(&self) -> Policy {
        let mut policy = Policy::default();
        if let Some(t) = self.templates.get("default") {
            t.settings.apply_to(&mut policy);
        }
        policy
    }

    /// The datasets named by sections, in file order. A caller lists these recursively
    /// (`zfs list -r -t filesystem,volume`) and passes the result to [`Config::resolve`].
    pub fn dataset_paths(&self) -> impl Iterator<Item = &str> {
        self.datasets.iter().map(|s| s.path.as_str())
    }

    /// The dataset section for `path`, if any.
    pub fn section_for(&self, path: &str) -> Option<&Section> {
        self.datasets.iter().find(|s| s.path == path)
    }
}

// ---------------------------------------------------------------------------------------------------
// line grammar (nom)

#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Header {
        name: &'a str,
        offset: usize,
    },
    Entry {
        key: &'a str,
        key_offset: usize,
        value: &'a str,
        value_offset: usize,
    },
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn comment(i: &str) -> IResult<&str, ()> {
    (one_of("#;"), rest).map(|_| ()).parse(i)
}

fn end_of_line(i: &str) -> IResult<&str, ()> {
    (space0, alt((comment, eof.map(|_| ()))))
        .map(|_| ())
        .parse(i)
}

/// Parses one line (without its terminator). Errors carry the byte offset of the problem.
fn parse_line(line: &str) -> Result<Line<'_>, (usize, String)> {
    let offset_of = |rest: &str| line.len() - rest.len();
    let (i, _) = space0::<&str, nom::error::Error<&str>>(line)
        .map_err(|_| (0, "unreadable line".to_string()))?;
    if i.is_empty() || i.starts_with('#') || i.starts_with(';') {
        return Ok(Line::Blank);
    }
    if let Some(after) = i.strip_prefix('[') {
        let header: IResult<&str, &str> = take_till(|c| c == ']').parse(after);
        let (after_name, raw_name) = header.unwrap_or(("", after));
        let Some(after_bracket) = after_name.strip_prefix(']') else {
            return Err((
                offset_of(i),
                "section header without closing ']'".to_string(),
            ));
        };
        if all_consuming(end_of_line).parse(after_bracket).is_err() {
            return Err((
                offset_of(after_bracket),
                "unexpected text after section header".to_string(),
            ));
        }
        let name = raw_name.trim();
        if name.is_empty() {
            return Err((offset_of(after), "empty section name".to_string()));
        }
        let lead = raw_name.len() - raw_name.trim_start().len();
        return Ok(Line::Header {
            name,
            offset: offset_of(after) + lead,
        });
    }
    let key_parse: IResult<&str, (&str, &str, char, &str)> =
        (take_while1(is_key_char), space0, char('='), space0).parse(i);
    match key_parse {
        Ok((value, (key, _, _, _))) => Ok(Line::Entry {
            key,
            key_offset: offset_of(i),
            value: value.trim_end(),
            value_offset: offset_of(value),
        }),
        Err(_) => {
            let (after_key, _) = take_while1::<_, &str, nom::error::Error<&str>>(is_key_char)
                .parse(i)
                .unwrap_or((i, ""));
            if after_key.len() == i.len() {
                Err((
                    offset_of(i),
                    "expected '[section]', 'key = value' or a comment".to_string(),
                ))
            } else {
                let (after_space, _) =
                    space0::<&str, nom::error::Error<&str>>(after_key).unwrap_or((after_key, ""));
                Err((
                    offset_of(after_space),
                    "expected '=' after the key".to_string(),
                ))
            }
        }
    }
}

/// Cuts a trailing `# comment` / `; comment` preceded by whitespace.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if (*b == b'#' || *b == b';') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

// ---------------------------------------------------------------------------------------------------
// value parsers (nom)

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

fn count(v: &str) -> Result<u32, ValueError> {
    let n = digits(v)?;
    u32::try_from(n).map_err(|_| ValueError::at0("number too large"))
}

fn int<const LO: u32, const HI: u32>(v: &str) -> Result<u32, ValueError> {
    let n = digits(v)?;
    if n < u64::from(LO) || n > u64::from(HI) {
        return Err(ValueError::at0(format!("must be between {LO} and {HI}")));
    }
    Ok(n as u32)
}

fn signed(v: &str) -> Result<i64, ValueError> {
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

fn percent(v: &str) -> Result<u8, ValueError> {
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

fn boolean(v: &str) -> Result<bool, ValueError> {
    parse_bool(v).ok_or_else(|| ValueError::at0("expected yes/no, 1/0, true/false or on/off"))
}

fn recursive(v: &str) -> Result<Recursive, ValueError> {
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
fn age<const UNIT: u64>(v: &str) -> Result<u64, ValueError> {
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

fn script(v: &str) -> Result<Option<String>, ValueError> {
    Ok(if v.is_empty() {
        None
    } else {
        Some(v.to_string())
    })
}

fn grid(v: &str) -> Result<Option<Grid>, ValueError> {
    if v.is_empty() {
        return Ok(None);
    }
    Grid::parse(v).map(Some).map_err(|e| ValueError {
        offset: e.offset,
        reason: e.reason,
    })
}

fn check_dataset_name(path: &str) -> Result<(), String> {
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
    Ok(())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggestion(key: &str) -> String {
    SETTING_KEYS
        .iter()
        .chain(STRUCTURE_KEYS)
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------
// the file parser

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dataset,
    Template,
    Version,
}

struct Current {
    kind: Kind,
    header: String,
    section: Section,
    path: Option<(String, usize, usize)>,
    seen: BTreeSet<String>,
}

struct FileParser {
    label: String,
    datasets: Vec<Section>,
    templates: BTreeMap<String, Section>,
    version: Option<u32>,
    warnings: Vec<ConfigWarning>,
    headers: BTreeMap<String, usize>,
    current: Option<Current>,
}

fn char_col(line: &str, byte_offset: usize) -> usize {
    line.get(..byte_offset)
        .map_or(byte_offset, |s| s.chars().count())
        + 1
}

impl FileParser {
    fn new(label: &str) -> Self {
        FileParser {
            label: label.to_string(),
            datasets: Vec::new(),
            templates: BTreeMap::new(),
            version: None,
            warnings: Vec::new(),
            headers: BTreeMap::new(),
            current: None,
        }
    }

    fn err(&self, line: usize, column: usize, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            label: self.label.clone(),
            line,
            column,
            kind: Box::new(kind),
        }
    }

    fn warn(&mut self, line: usize, column: usize, message: String) {
        self.warnings.push(ConfigWarning {
            label: self.label.clone(),
            line,
            column,
            message,
        });
    }

    fn run(mut self, text: &str) -> Result<Config, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (idx, raw) in text.split('\n').enumerate() {
            let lineno = idx + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            match parse_line(line) {
                Err((off, msg)) => {
                    return Err(self.err(lineno, char_col(line, off), ConfigErrorKind::Syntax(msg)))
                }
                Ok(Line::Blank) => {}
                Ok(Line::Header { name, offset }) => {
                    self.finish_section()?;
                    let col = char_col(line, offset);
                    if let Some(first) = self.headers.get(name) {
                        return Err(self.err(
                            lineno,
                            col,
                            ConfigErrorKind::DuplicateSection {
                                section: name.to_string(),
                                first_line: *first,
                            },
                        ));
                    }
                    self.headers.insert(name.to_string(), lineno);
                    let (kind, short) = if name == "version" {
                        (Kind::Version, name)
                    } else if let Some(t) = name.strip_prefix("template_") {
                        (Kind::Template, t)
                    } else {
                        (Kind::Dataset, name)
                    };
                    self.current = Some(Current {
                        kind,
                        header: name.to_string(),
                        section: Section {
                            name: short.to_string(),
                            line: lineno,
                            path: String::new(),
                            use_template: Vec::new(),
                            structure: Structure::default(),
                            settings: Settings::default(),
                        },
                        path: None,
                        seen: BTreeSet::new(),
                    });
                }
                Ok(Line::Entry {
                    key,
                    key_offset,
                    value,
                    value_offset,
                }) => {
                    self.entry(
                        lineno,
                        line,
                        key,
                        char_col(line, key_offset),
                        value,
                        value_offset,
                    )?;
                }
            }
        }
        self.finish_section()?;
        self.check_templates()?;
        Ok(Config {
            label: self.label,
            datasets: self.datasets,
            templates: self.templates,
            version: self.version,
            warnings: self.warnings,
        })
    }

    fn entry(
        &mut self,
        lineno: usize,
        line: &str,
        key: &str,
        key_col: usize,
        value: &str,
        value_offset: usize,
    ) -> Result<(), ConfigError> {
        let Some(cur) = self.current.as_mut() else {
            return Err(self.err(
                lineno,
                key_col,
                ConfigErrorKind::KeyOutsideSection(key.to_string()),
            ));
        };
        let header = cur.header.clone();
        let kind = cur.kind;
        let bad_value = |reason: String, offset: usize| ConfigError {
            label: self.label.clone(),
            line: lineno,
            column: char_col(line, value_offset + offset),
            kind: Box::new(ConfigErrorKind::BadValue {
                key: key.to_string(),
                value: value.to_string(),
                section: header.clone(),
                reason,
            }),
        };
        let unknown = || ConfigError {
            label: self.label.clone(),
            line: lineno,
            column: key_col,
            kind: Box::new(ConfigErrorKind::UnknownKey {
                key: key.to_string(),
                section: header.clone(),
                hint: if kind == Kind::Version {
                    String::new()
                } else {
                    suggestion(key)
                },
            }),
        };
        if kind == Kind::Version {
            if key != "version" {
                return Err(unknown());
            }
            let v =
                count(strip_inline_comment(value)).map_err(|e| bad_value(e.reason, e.offset))?;
            if self.version.is_none() {
                self.version = Some(v);
            }
            return Ok(());
        }
        let first = cur.seen.insert(key.to_string());
        let mut ignored_in_template = false;
        match key {
            "path" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else if first {
                    cur.path = Some((value.to_string(), lineno, char_col(line, value_offset)));
                }
            }
            "use_template" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else if first {
                    let value = strip_inline_comment(value);
                    let mut offset = 0;
                    for part in value.split(',') {
                        let name = part.trim();
                        let lead = part.len() - part.trim_start().len();
                        if !name.is_empty() {
                            cur.section.use_template.push(TemplateRef {
                                name: name.strip_prefix("template_").unwrap_or(name).to_string(),
                                line: lineno,
                                column: char_col(line, value_offset + offset + lead),
                            });
                        }
                        offset += part.len() + 1;
                    }
                }
            }
            "recursive" => {
                if kind == Kind::Template {
                    ignored_in_template = true;
                } else {
                    let r = recursive(strip_inline_comment(value))
                        .map_err(|e| bad_value(e.reason, e.offset))?;
                    if first {
                        cur.section.structure.recursive = Some(r);
                    }
                }
            }
            "process_children_only" | "skip_children" => {
                let b = boolean(strip_inline_comment(value))
                    .map_err(|e| bad_value(e.reason, e.offset))?;
                if first {
                    if key == "skip_children" {
                        cur.section.structure.skip_children = Some(b);
                    } else {
                        cur.section.structure.process_children_only = Some(b);
                    }
                }
            }
            _ => match cur.section.settings.set(key, value) {
                None => return Err(unknown()),
                Some(Err(e)) => return Err(bad_value(e.reason, e.offset)),
                Some(Ok(_)) => {}
            },
        }
        if ignored_in_template {
            let msg = format!("'{key}' has no effect in template [{header}] and is ignored");
            self.warn(lineno, key_col, msg);
        } else if !first {
            let msg =
                format!("duplicate key '{key}' in section [{header}]; the first value is used");
            self.warn(lineno, key_col, msg);
        }
        Ok(())
    }

    fn finish_section(&mut self) -> Result<(), ConfigError> {
        let Some(cur) = self.current.take() else {
            return Ok(());
        };
        match cur.kind {
            Kind::Version => {}
            Kind::Template => {
                self.templates.insert(cur.section.name.clone(), cur.section);
            }
            Kind::Dataset => {
                let mut section = cur.section;
                let (path, line, col) = match cur.path {
                    Some((p, l, c)) if !p.is_empty() => (p, l, c),
                    _ => (section.name.clone(), section.line, 2),
                };
                if let Err(reason) = check_dataset_name(&path) {
                    return Err(self.err(
                        line,
                        col,
                        ConfigErrorKind::BadDatasetName {
                            path,
                            section: cur.header,
                            reason,
                        },
                    ));
                }
                if let Some(other) = self.datasets.iter().find(|s| s.path == path) {
                    return Err(self.err(
                        line,
                        col,
                        ConfigErrorKind::DuplicateDataset {
                            path,
                            first: other.name.clone(),
                            second: section.name,
                        },
                    ));
                }
                section.path = path;
                self.datasets.push(section);
            }
        }
        Ok(())
    }

    fn check_templates(&self) -> Result<(), ConfigError> {
        for section in &self.datasets {
            for t in &section.use_template {
                if !self.templates.contains_key(&t.name) {
                    return Err(self.err(
                        t.line,
                        t.column,
                        ConfigErrorKind::UnknownTemplate {
                            template: t.name.clone(),
                            section: section.name.clone(),
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "sanoid.conf").unwrap_err().to_string()
    }

    #[test]
    fn line_grammar() {
        assert_eq!(parse_line("   "), Ok(Line::Blank));
        assert_eq!(parse_line("  # x"), Ok(Line::Blank));
        assert_eq!(parse_line("; x"), Ok(Line::Blank));
        assert_eq!(
            parse_line("[ tank/a ] # c"),
            Ok(Line::Header {
                name: "tank/a",
                offset: 2
            })
        );
        assert_eq!(
            parse_line("  hourly =  5 "),
            Ok(Line::Entry {
                key: "hourly",
                key_offset: 2,
                value: "5",
                value_offset: 12
            })
        );
        assert_eq!(
            parse_line("path="),
            Ok(Line::Entry {
                key: "path",
                key_offset: 0,
                value: "",
                value_offset: 5
            })
        );
        assert!(parse_line("[tank").is_err());
        assert!(parse_line("[tank] x").is_err());
        assert_eq!(parse_line("hourly 5").unwrap_err().0, 7);
        assert_eq!(parse_line("  = 5").unwrap_err().0, 2);
    }

    #[test]
    fn errors_have_file_line_column() {
        assert_eq!(
            err("[tank]\n  hourly = 1\n\n    hourlyy = 3\n"),
            "sanoid.conf:4:5: unknown key 'hourlyy' in section [tank] (did you mean 'hourly'?)"
        );
        assert_eq!(
            err("[tank]\n\tdaily = 1O\n"),
            "sanoid.conf:2:11: bad value '1O' for 'daily' in section [tank]: expected a non-negative whole number"
        );
        assert_eq!(
            err("[tank]\nmonthly_mday = 32\n"),
            "sanoid.conf:2:16: bad value '32' for 'monthly_mday' in section [tank]: must be between 1 and 31"
        );
        assert_eq!(
            err("[tank]\nhourly_warn = 90x\n"),
            "sanoid.conf:2:17: bad value '90x' for 'hourly_warn' in section [tank]: expected a number with an optional suffix s, m, h, d, w or y"
        );
        assert_eq!(
            err("hourly = 1\n"),
            "sanoid.conf:1:1: key 'hourly' appears before any [section]"
        );
        assert_eq!(
            err("[tank]\nautosnap = maybe\n"),
            "sanoid.conf:2:12: bad value 'maybe' for 'autosnap' in section [tank]: expected yes/no, 1/0, true/false or on/off"
        );
        assert_eq!(
            err("[tank]\nuse_template = a,  missing\n[template_a]\n"),
            "sanoid.conf:2:20: unknown template 'missing' in section [tank] (no [template_missing] section)"
        );
        assert_eq!(
            err("[tank]\n[tank]\n"),
            "sanoid.conf:2:2: duplicate section [tank] (first defined on line 1)"
        );
        assert_eq!(
            err("[a]\npath = tank\n[tank]\n"),
            "sanoid.conf:3:2: dataset 'tank' is configured by both [a] and [tank]"
        );
        assert_eq!(
            err("[tank]\nrecursive = sometimes\n").split(": ").next(),
            Some("sanoid.conf:2:13")
        );
        assert_eq!(
            err("[version]\nversoin = 2\n"),
            "sanoid.conf:2:1: unknown key 'versoin' in section [version]"
        );
        assert_eq!(err("[tank@x]\n"), "sanoid.conf:1:2: 'tank@x' in section [tank@x] is not a valid dataset name: character '@' is not allowed");
        assert_eq!(
            err("[tank]\nhourly 5\n"),
            "sanoid.conf:2:8: syntax error: expected '=' after the key"
        );
        assert_eq!(
            err("[tank]\r\n  x\r\n"),
            "sanoid.conf:2:4: syntax error: expected '=' after the key"
        );
        assert_eq!(err("[tank]\nprune_grid = 24x1h | 0x1d\n"), "sanoid.conf:2:22: bad value '24x1h | 0x1d' for 'prune_grid' in section [tank]: count must be at least 1");
        let e = Config::parse_bytes(b"[tank]\nhourly = \xff\n", "f").unwrap_err();
        assert_eq!(
            (e.line, e.column, *e.kind),
            (2, 10, ConfigErrorKind::InvalidUtf8)
        );
    }

    #[test]
    fn values_and_defaults() {
        let c = Config::parse(
            "\u{feff}[version]\nversion = 2\n[tank]\n hourly = 5 # five\n daily_warn = 2d\n monthly_crit = 6\n \
             yearly_warn = 2\n frequently_crit = 1y\n pre_snapshot_script = /bin/echo a # b\n script_timeout = -1\n \
             autosnap = On\n capacity_warn = 70%\n recursive = ZFS\n hourly = 7\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.version, Some(2));
        let s = &c.datasets[0].settings;
        assert_eq!(s.hourly, Some(5));
        assert_eq!(s.daily_warn, Some(2 * 86400));
        assert_eq!(s.monthly_crit, Some(6 * 7 * 86400));
        assert_eq!(s.yearly_warn, Some(2 * 31 * 86400));
        assert_eq!(s.frequently_crit, Some(365 * 86400));
        assert_eq!(
            s.pre_snapshot_script.as_ref().unwrap().as_deref(),
            Some("/bin/echo a # b")
        );
        assert_eq!(s.script_timeout, Some(-1));
        assert_eq!(s.autosnap, Some(true));
        assert_eq!(s.capacity_warn, Some(70));
        assert_eq!(c.datasets[0].structure.recursive, Some(Recursive::Zfs));
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(
            c.warnings[0].to_string(),
            "x:14:2: warning: duplicate key 'hourly' in section [tank]; the first value is used"
        );
        let d = Policy::default();
        assert_eq!(
            (
                d.frequently,
                d.hourly,
                d.daily,
                d.weekly,
                d.monthly,
                d.yearly
            ),
            (0, 48, 90, 0, 6, 0)
        );
        assert_eq!(d.frequent_period, 15);
        assert_eq!((d.daily_hour, d.daily_min), (23, 59));
        assert_eq!((d.weekly_wday, d.weekly_hour, d.weekly_min), (1, 23, 30));
        assert_eq!((d.monthly_mday, d.monthly_hour, d.monthly_min), (1, 0, 0));
        assert_eq!(
            (d.yearly_mon, d.yearly_mday, d.yearly_hour, d.yearly_min),
            (1, 1, 0, 0)
        );
        assert!(d.autosnap && d.autoprune && d.monitor);
        assert_eq!((d.hourly_warn, d.hourly_crit), (5400, 21600));
    }

    #[test]
    fn templates_warn_about_structural_keys() {
        let c = Config::parse(
            "[template_a]\nrecursive = yes\nuse_template = b\nhourly = 1\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 2);
        assert_eq!(c.templates["a"].settings.hourly, Some(1));
        assert_eq!(c.templates["a"].structure.recursive, None);
    }
}
