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

mod error;
mod lexer;
mod model;
mod parser;
mod settings;
mod values;

pub use error::{ConfigError, ConfigErrorKind, ConfigWarning};
pub use model::{Config, Section, Structure, TemplateRef, STRUCTURE_KEYS};
pub use settings::{Policy, Settings, SETTING_KEYS};
pub use values::{parse_bool, Recursive};
