//! Config errors (fatal, with `file:line:column`) and warnings (non-fatal remarks).

use std::fmt;

/// A config error: where (file label, 1-based line and column) and what. `Display` is one line:
/// `sanoid.conf:12:5: unknown key 'hourlyy' in section [tank]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{label}:{line}:{column}: {kind}")]
pub struct ConfigError {
    /// The file label passed to [`Config::parse`](super::Config::parse).
    pub label: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong (boxed to keep `Result`s small).
    pub kind: Box<ConfigErrorKind>,
}

/// `text` as an error shows it: whole when short, else its first 80 characters and its length
/// (a hostile 10 MB line must not become a 10 MB error line).
pub fn shown(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}... ({} bytes)", text.len())
    }
}

/// What is wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file is not UTF-8.
    #[error("the file is not valid UTF-8")]
    InvalidUtf8,
    /// A line that is neither a section header, `key = value`, a comment nor blank.
    #[error("syntax error: {}", shown(.0))]
    Syntax(String),
    /// `key = value` before the first section header.
    #[error("key '{}' appears before any [section]", shown(.0))]
    KeyOutsideSection(String),
    /// A key sanoid does not know (or a key not allowed in this section).
    #[error("unknown key '{}' in section [{}]{hint}", shown(.key), shown(.section))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The section it is in.
        section: String,
        /// ` (did you mean 'x'?)` or empty.
        hint: String,
    },
    /// A value that does not parse for its key.
    #[error("bad value '{}' for '{key}' in section [{}]: {reason}", shown(.value), shown(.section))]
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

impl ConfigWarning {
    /// `file:line:column: remark`, without the word "warning" (for a caller that prints its own
    /// `warning:` prefix).
    pub fn located(&self) -> String {
        format!(
            "{}:{}:{}: {}",
            self.label, self.line, self.column, self.message
        )
    }
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

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn long_values_are_cut_in_errors() {
        let kind = ConfigErrorKind::BadValue {
            key: "hourly".into(),
            value: "9".repeat(10 << 20),
            section: "tank".into(),
            reason: "too big".into(),
        };
        let text = kind.to_string();
        assert!(text.len() < 200, "{}", text.len());
        assert!(text.contains("... (10485760 bytes)"), "{text}");
        assert_eq!(shown("short"), "short");
    }
}
