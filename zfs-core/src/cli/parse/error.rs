//! The one error every CLI-output parser returns: which line, and what was wrong with it.

/// Why the output of a `zfs`/`zpool` command could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {detail}")]
pub struct ParseError {
    /// 1-based line number (where the bad record starts); 0 when the problem is not on one line.
    pub line: usize,
    /// What was wrong.
    pub detail: String,
}
