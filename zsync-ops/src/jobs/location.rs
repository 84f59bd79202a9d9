//! A position in the job file.

use std::fmt;

/// A 1-based line and column (in characters) in the job file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Location {
    /// The line and column of byte `offset` in `text` (clamped to the text's end).
    pub fn of(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line,
            column: before[start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let t = "ab\ncdé f\n";
        assert_eq!(Location::of(t, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of(t, 3), Location { line: 2, column: 1 });
        // Columns count characters: 'é' is two bytes.
        assert_eq!(Location::of(t, 8), Location { line: 2, column: 5 });
        assert_eq!(Location::of(t, 6), Location { line: 2, column: 3 });
        assert_eq!(Location::of(t, 999), Location { line: 3, column: 1 });
    }
}
