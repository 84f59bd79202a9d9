//! The line grammar (nom): blank or comment, `[section]` header, or `key = value`; and the inline
//! comment rule for values.

use nom::branch::alt;
use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::{char, one_of, space0};
use nom::combinator::{all_consuming, eof, rest};
use nom::{IResult, Parser};

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
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
pub(super) fn parse_line(line: &str) -> Result<Line<'_>, (usize, String)> {
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
pub(super) fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if (*b == b'#' || *b == b';') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
