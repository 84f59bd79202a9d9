//! The one place the free-form words of a request are checked: user property names ([`UserProp`]),
//! property names in general ([`property_name`]), property values ([`property_value`]) and hold tags
//! ([`HoldTag`]). Every backend asks here, so one request gets one verdict whichever backend runs it.
//!
//! The rules are what OpenZFS itself enforces (read from its source), plus two of zfs-core's own where
//! zfs-core could not read the result back; each says which:
//!
//! * **User property name** (`zfs_prop_user`, `zprop_valid_char` in `zcommon`; `zfs_check_userprops`
//!   in `zfs_ioctl.c`): only lowercase letters, digits and `: - _ .`, at least one `:`, and shorter than
//!   `ZAP_MAXNAMELEN` (256), so at most 255 bytes. `+` and uppercase are not allowed.
//! * **Native property name**: what the native property table uses, a lowercase letter then lowercase
//!   letters, digits and `_` (`recordsize`, `special_small_blocks`); at most 255 bytes.
//! * **Property value**: shorter than `ZAP_MAXVALUELEN` (8192, `dsl_props_set_check` and
//!   `zfs_check_userprops`), so at most [`MAX_USER_PROP_VALUE`] = 8191 bytes; no NUL (C strings).
//!   zfs-core's own rule: no tab or newline either, because `zfs list -H`/`zfs get -H` print values
//!   unescaped and such a value could not be read back.
//! * **Hold tag** (`dsl_dataset_user_hold_check_one` in `dsl_userhold.c`): a ZAP entry name, so at most
//!   255 bytes; a temporary hold (tied to a cleanup descriptor) at most [`MAX_TEMPORARY_HOLD_TAG`] = 238
//!   bytes, because the kernel prefixes its cleanup entry (`strlen + MAX_TAG_PREFIX_LEN(17) <
//!   MAXNAMELEN(256)`). zfs-core's own rule: not empty, and no control characters (`zfs holds -H` prints
//!   one hold per line).
//!
//! Not here, because they are rules of the `zfs` command line rather than of ZFS: a word that would
//! start an argument must not begin with `-` (zfs would read an option), and `zfs hold` refuses tags
//! beginning with `.` (libzfs reserves them for its own holds). The `Cli` backend adds those.

use crate::error::ZfsError;
use crate::newtype::checked_string;

/// Longest name of any property, native or user (`ZAP_MAXNAMELEN` - 1).
pub const MAX_PROP_NAME: usize = 255;

/// Longest property value OpenZFS stores, in bytes (`ZAP_MAXVALUELEN` - 1: the length must be below
/// 8192). Applies to user and native string values alike.
pub const MAX_USER_PROP_VALUE: usize = 8191;

/// Longest hold tag, in bytes (a ZAP entry name: `ZAP_MAXNAMELEN` - 1).
pub const MAX_HOLD_TAG: usize = 255;

/// Longest tag of a temporary hold, in bytes (`MAXNAMELEN` - `MAX_TAG_PREFIX_LEN` - 1).
pub const MAX_TEMPORARY_HOLD_TAG: usize = 238;

/// A word of a request that broke a rule; nothing was run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {subject:?}: {rule}")]
pub struct Invalid {
    /// What kind of word (`user property`, `hold tag`, ...).
    pub what: &'static str,
    /// The rejected word (for a value: the property it belongs to).
    pub subject: String,
    /// The rule it broke, in words.
    pub rule: String,
}

impl Invalid {
    fn new(what: &'static str, subject: &str, rule: impl Into<String>) -> Invalid {
        Invalid {
            what,
            subject: subject.to_owned(),
            rule: rule.into(),
        }
    }
}

impl From<Invalid> for ZfsError {
    /// [`ZfsError::InvalidArgument`] for the kind of word, naming the word and the rule.
    fn from(e: Invalid) -> ZfsError {
        ZfsError::InvalidArgument {
            op: e.what,
            detail: format!("{:?}: {}", e.subject, e.rule),
        }
    }
}

/// How a character is named in a rule: newline, tab and other controls by name.
fn describe(c: char) -> String {
    match c {
        '\n' => "a newline".to_owned(),
        '\t' => "a tab".to_owned(),
        '\0' => "NUL".to_owned(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c => format!("{c:?}"),
    }
}

fn user_prop_rule(s: &str) -> Result<(), String> {
    if s.len() > MAX_PROP_NAME {
        return Err(format!("longer than {MAX_PROP_NAME} bytes"));
    }
    if let Some(c) = s.chars().find(|&c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '-' | '_' | '.'))
    }) {
        return Err(format!(
            "character {} not allowed (lowercase letters, digits and : - _ . only)",
            describe(c)
        ));
    }
    if !s.contains(':') {
        return Err("a user property name must contain ':' (module:property)".into());
    }
    Ok(())
}

/// A user property name (`module:property`), valid by OpenZFS's rule (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserProp(String);

fn check_user_prop(s: &str) -> Result<(), Invalid> {
    user_prop_rule(s).map_err(|rule| Invalid::new("user property", s, rule))
}

checked_string!(UserProp, check_user_prop, Invalid);

/// A hold tag, valid by OpenZFS's rule and zfs-core's (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HoldTag(String);

fn check_hold_tag(s: &str) -> Result<(), Invalid> {
    let bad = |rule: String| Err(Invalid::new("hold tag", s, rule));
    if s.is_empty() {
        return bad("empty".into());
    }
    if s.len() > MAX_HOLD_TAG {
        return bad(format!("longer than {MAX_HOLD_TAG} bytes"));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return bad(format!(
            "contains {} (control characters are not allowed)",
            describe(c)
        ));
    }
    Ok(())
}

checked_string!(HoldTag, check_hold_tag, Invalid);

impl HoldTag {
    /// Checks the shorter limit of a temporary hold ([`MAX_TEMPORARY_HOLD_TAG`]).
    pub fn check_temporary(&self) -> Result<(), Invalid> {
        if self.0.len() > MAX_TEMPORARY_HOLD_TAG {
            return Err(Invalid::new(
                "hold tag",
                &self.0,
                format!(
                    "longer than {MAX_TEMPORARY_HOLD_TAG} bytes, the limit of a temporary hold"
                ),
            ));
        }
        Ok(())
    }
}

/// Validates a property name, native or user (one with a `:`, by the [`UserProp`] rule).
pub fn property_name(s: &str) -> Result<(), Invalid> {
    if s.contains(':') {
        return user_prop_rule(s).map_err(|rule| Invalid::new("property", s, rule));
    }
    let bad = |rule: String| Err(Invalid::new("property", s, rule));
    if s.len() > MAX_PROP_NAME {
        return bad(format!("longer than {MAX_PROP_NAME} bytes"));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("a native property name begins with a lowercase letter".into());
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        return bad(format!(
            "character {} not allowed in a native property name (lowercase letters, digits and _; \
             a user property needs a ':')",
            describe(c)
        ));
    }
    Ok(())
}

/// Validates the value of property `name` (see the module docs).
pub fn property_value(name: &str, value: &str) -> Result<(), Invalid> {
    let bad = |rule: String| Err(Invalid::new("value of property", name, rule));
    if let Some(c) = value.chars().find(|&c| matches!(c, '\0' | '\n' | '\t')) {
        return bad(format!(
            "contains {} (NUL, tab and newline are not allowed)",
            describe(c)
        ));
    }
    if value.len() > MAX_USER_PROP_VALUE {
        return bad(format!("longer than {MAX_USER_PROP_VALUE} bytes"));
    }
    Ok(())
}

/// Validates a `(name, value)` list of user properties.
pub fn user_props(props: &[(String, String)]) -> Result<(), Invalid> {
    for (k, v) in props {
        UserProp::parse(k)?;
        property_value(k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_property_names() {
        UserProp::parse("zsync:job").unwrap();
        UserProp::parse("com.example:a-b_c.e").unwrap();
        UserProp::parse(":").unwrap();
        UserProp::parse("-a:b").unwrap(); // ZFS itself allows it; `zfs set` would not (Cli's rule)
        UserProp::parse("9:x").unwrap();
        // OpenZFS's zprop_valid_char has no `+` and no uppercase.
        assert!(UserProp::parse("com.example:a+b").is_err());
        assert!(UserProp::parse("zsync:Job").is_err());
        assert!(UserProp::parse("zsync:a b").is_err());
        assert!(UserProp::parse("compression").is_err());
        assert!(UserProp::parse("").is_err());
        assert!(UserProp::parse("zsync:é").is_err());
        // Length: 255 bytes pass, 256 do not.
        let long = format!("a:{}", "b".repeat(MAX_PROP_NAME - 2));
        assert_eq!(long.len(), 255);
        UserProp::parse(&long).unwrap();
        let e = UserProp::parse(&format!("{long}c")).unwrap_err();
        assert!(e.rule.contains("255"), "{e}");
        let e = UserProp::parse("nocolon").unwrap_err();
        assert!(e.to_string().contains("must contain ':'"), "{e}");
        assert_eq!(UserProp::parse("a:b").unwrap().as_str(), "a:b");
    }

    #[test]
    fn property_names_native_or_user() {
        for ok in [
            "recordsize",
            "special_small_blocks",
            "pbkdf2iters",
            "zsync:x",
            "org.x:y-z",
        ] {
            property_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "Bad",
            "bad name",
            "a.b",
            "a-b",
            "a+b",
            "1abc",
            "_x",
            "userquota@bob",
            "a:B",
        ] {
            assert!(property_name(bad).is_err(), "{bad:?}");
        }
        property_name(&"a".repeat(MAX_PROP_NAME)).unwrap();
        assert!(property_name(&"a".repeat(MAX_PROP_NAME + 1)).is_err());
    }

    #[test]
    fn property_values() {
        property_value("k", "").unwrap();
        property_value("k", "it's $(id) `x`").unwrap();
        property_value("k", &"v".repeat(MAX_USER_PROP_VALUE)).unwrap();
        let e = property_value("k", &"v".repeat(MAX_USER_PROP_VALUE + 1)).unwrap_err();
        assert!(e.rule.contains("8191"), "{e}");
        for bad in ["a\nb", "a\tb", "a\0b"] {
            assert!(property_value("zsync:k", bad).is_err(), "{bad:?}");
        }
        let e = property_value("zsync:k", "x\ny").unwrap_err();
        assert!(
            e.to_string().contains("zsync:k") && e.rule.contains("newline"),
            "{e}"
        );
        user_props(&[("zsync:a".into(), "1".into())]).unwrap();
        assert!(user_props(&[("zsync:a".into(), "1".into()), ("b".into(), "2".into())]).is_err());
        assert!(user_props(&[("zsync:a".into(), "x\ty".into())]).is_err());
    }

    #[test]
    fn hold_tags() {
        for ok in [
            "zsync_job",
            "keep me",
            "zsync:host a",
            "-r",
            ".x",
            "é",
            "t\u{a0}",
        ] {
            HoldTag::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for bad in ["", "a\nb", "a\tb", "a\0b", "a\rb", "\u{7f}"] {
            assert!(HoldTag::parse(bad).is_err(), "{bad:?}");
        }
        HoldTag::parse(&"x".repeat(MAX_HOLD_TAG)).unwrap();
        assert!(HoldTag::parse(&"x".repeat(MAX_HOLD_TAG + 1)).is_err());
        // Multi-byte characters count as bytes.
        assert!(HoldTag::parse(&"é".repeat(128)).is_err());
        let t = HoldTag::parse(&"x".repeat(MAX_TEMPORARY_HOLD_TAG)).unwrap();
        t.check_temporary().unwrap();
        let t = HoldTag::parse(&"x".repeat(MAX_TEMPORARY_HOLD_TAG + 1)).unwrap();
        assert!(t.check_temporary().is_err());
    }

    #[test]
    fn errors_become_invalid_argument_naming_the_word() {
        let e: ZfsError = HoldTag::parse("").unwrap_err().into();
        match e {
            ZfsError::InvalidArgument { op, detail } => {
                assert_eq!(op, "hold tag");
                assert!(detail.contains("empty"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let e: ZfsError = UserProp::parse("compression").unwrap_err().into();
        assert!(e.to_string().contains("\"compression\""), "{e}");
    }
}
