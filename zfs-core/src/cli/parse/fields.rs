//! Tab-separated fields, the shape of every `-H` output (`zfs list`, `zfs get`, `zpool list`): the nom
//! pieces the parsers share.
//!
//! `-H` separates fields with exactly one tab and never escapes anything; ZFS names, types, sources and
//! numbers cannot contain a tab, so cutting at the next tab is exact for every such field.

use nom::bytes::complete::take_till;
use nom::character::complete::char as ch;
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// Everything up to (not including) the next tab, or to the end of the input; may be empty.
pub fn field(i: &str) -> IResult<&str, &str> {
    take_till(|c| c == '\t')(i)
}

/// Exactly one tab.
pub fn tab(i: &str) -> IResult<&str, char> {
    ch('\t')(i)
}

/// A tab, then the field after it: the second and later fields of a line.
pub fn tab_field(i: &str) -> IResult<&str, &str> {
    preceded(tab, field).parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_at_single_tabs() {
        assert_eq!(field("a b\tc").unwrap(), ("\tc", "a b"));
        assert_eq!(field("").unwrap(), ("", ""));
        assert_eq!(field("\tx").unwrap(), ("\tx", ""));
        assert_eq!(tab_field("\t\tx").unwrap(), ("\tx", ""));
        assert_eq!(tab_field("\tx y\tz").unwrap(), ("\tz", "x y"));
        assert!(tab_field("x").is_err());
        assert!(tab("x").is_err());
        // Three fields, the middle one empty, then nothing left.
        let (rest, (a, b, c)) = (field, tab_field, tab_field).parse("a\t\tc").unwrap();
        assert_eq!((rest, a, b, c), ("", "a", "", "c"));
    }
}
