//! Name patterns: the unanchored regular expressions that choose which snapshots are sent (by short
//! name, [`SnapshotFilter`](crate::SnapshotFilter)) and which datasets are left out (by full name,
//! [`TreeSpec::exclude_datasets`](crate::TreeSpec::exclude_datasets)). Which regex engine runs them is
//! this module's business.

use std::fmt;
use std::str::FromStr;

/// An unanchored regular expression matched against a name (`^` and `$` anchor it), in Perl's syntax
/// as syncoid's are, look-around (`(?!...)`, `(?<=...)`) and backreferences included: the
/// `fancy-regex` crate, which hands patterns without those features to the `regex` crate. Two
/// patterns are equal when they are written the same.
#[derive(Clone)]
pub struct Pattern(fancy_regex::Regex);

/// Why a pattern could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern '{pattern}': {reason}")]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it (the regex parser's explanation, possibly on several lines).
    pub reason: String,
}

impl Pattern {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Pattern, PatternError> {
        fancy_regex::Regex::new(pattern)
            .map(Pattern)
            .map_err(|e| PatternError {
                pattern: pattern.to_string(),
                // One line: the parser's explanation may span several.
                reason: e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            })
    }

    /// Whether the pattern matches anywhere in `name`. A match that exceeds fancy-regex's
    /// backtracking limit (a pathological pattern; names are short) counts as no match.
    pub fn is_match(&self, name: &str) -> bool {
        self.0.is_match(name).unwrap_or(false)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromStr for Pattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Pattern, PatternError> {
        Pattern::new(s)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Pattern {
    /// The pattern as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanchored_unless_anchored() {
        let p = Pattern::new("scratch").unwrap();
        assert!(p.is_match("tank/scratch/a") && !p.is_match("tank/data"));
        let end = Pattern::new("/scratch$").unwrap();
        assert!(end.is_match("tank/scratch") && !end.is_match("tank/scratch/a"));
        assert_eq!("^a|b$".parse::<Pattern>().unwrap().as_str(), "^a|b$");
    }

    #[test]
    fn equal_when_written_the_same() {
        assert_eq!(Pattern::new("^d").unwrap(), Pattern::new("^d").unwrap());
        assert_ne!(Pattern::new("^d").unwrap(), Pattern::new("d").unwrap());
        assert_eq!(
            format!("{:?}", Pattern::new("^d").unwrap()),
            r#"Pattern("^d")"#
        );
        assert_eq!(Pattern::new("x+").unwrap().to_string(), "x+");
    }

    #[test]
    fn perl_lookaround_as_in_syncoid() {
        // Everything but the hourlies; a dataset not below `scratch`.
        let p = Pattern::new("^(?!autosnap_.*_hourly$)").unwrap();
        assert!(p.is_match("autosnap_2026-01-01_00:00:00_daily"));
        assert!(!p.is_match("autosnap_2026-01-01_00:00:00_hourly"));
        let p = Pattern::new("(?<!/scratch)/tmp$").unwrap();
        assert!(p.is_match("tank/a/tmp") && !p.is_match("tank/scratch/tmp"));
        assert!(Pattern::new(r"^(\w)\1").unwrap().is_match("aab"));
    }

    #[test]
    fn errors_name_the_pattern() {
        let e = Pattern::new("a(b").unwrap_err();
        assert_eq!(e.pattern, "a(b");
        assert!(!e.reason.contains('\n'), "{}", e.reason);
        assert!(e.to_string().starts_with("invalid pattern 'a(b': "), "{e}");
        assert!("(".parse::<Pattern>().is_err());
    }
}
