//! Serde helpers writing `u64` GUIDs as decimal strings (and reading strings or numbers back): GUIDs
//! use all 64 bits, and JSON readers commonly hold numbers as doubles. The plan JSON of zfs-sync and
//! [`ResumeToken`](crate::ResumeToken) use them.

use serde::{de, Deserialize, Deserializer, Serializer};

/// Writes the GUID as a decimal string.
pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StrOrNum {
    S(String),
    N(u64),
}

/// Reads a decimal string or a JSON number.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match StrOrNum::deserialize(d)? {
        StrOrNum::S(s) => s.parse().map_err(de::Error::custom),
        StrOrNum::N(n) => Ok(n),
    }
}

/// The same for `Option<u64>`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `Some` as a decimal string, `None` as null.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(g) => s.collect_str(g),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    struct Wrap(#[serde(with = "super")] u64);

    /// Reads null, a decimal string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}
