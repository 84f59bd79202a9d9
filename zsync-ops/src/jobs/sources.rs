//! `source = "tank/vms"` or `source = ["tank/vms", "tank/ct"]`, each name with its place.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

/// The names of a job's `source`, as written; a single string is one name (its span is then the
/// whole value's, which the caller holds).
pub(super) enum Sources {
    /// `source = "tank/vms"`.
    One(String),
    /// `source = [...]`, each name with its own span.
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sources;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a dataset or a list of datasets")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sources, E> {
                Ok(Sources::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sources, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<Spanned<String>>()? {
                    names.push(name);
                }
                Ok(Sources::Many(names))
            }
        }
        d.deserialize_any(V)
    }
}

impl Sources {
    /// Each name with the byte offset it starts at (`whole`: the value's own offset).
    pub(super) fn names(&self, whole: usize) -> Vec<(&str, usize)> {
        match self {
            Sources::One(s) => vec![(s.as_str(), whole)],
            Sources::Many(v) => v
                .iter()
                .map(|s| (s.get_ref().as_str(), s.span().start))
                .collect(),
        }
    }
}
