//! One macro for the validated string newtypes (ZFS names, user property names, hold tags): `parse`
//! checks the rule, and the usual conversions follow from it.

/// Implements `parse`, `as_str`, `Display`, `AsRef<str>`, `FromStr`, `TryFrom<String>` and
/// `From<T> for String` for a `struct T(String)` whose rule is `check: fn(&str) -> Result<(), Err>`.
macro_rules! checked_string {
    ($t:ident, $check:path, $err:ty) => {
        impl $t {
            /// Validates `s` and wraps it.
            pub fn parse(s: &str) -> Result<Self, $err> {
                $check(s)?;
                Ok(Self(s.to_owned()))
            }
            /// The text as ZFS spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, $err> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, $err> {
                $check(&s)?;
                Ok(Self(s))
            }
        }
        impl From<$t> for String {
            fn from(n: $t) -> String {
                n.0
            }
        }
    };
}

pub(crate) use checked_string;
