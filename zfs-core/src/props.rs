//! Dataset properties as [`Backend::properties`](crate::Backend::properties) returns them: each value
//! with its source, by dataset and property name, and the query that selects them.
//!
//! The `Cli` backend reads them with `zfs get` (argv in `cli::argv::get_args`, parser in
//! `cli::parse::props`; feature `backends`).

use crate::name::DatasetName;
use std::collections::BTreeMap;

/// Where a property's value comes from (`zfs get`'s `source` column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropSource {
    /// Set on this dataset (`zfs set`, `zfs create -o`, `zfs receive -o`).
    Local,
    /// Received in a send stream (`zfs send -p`/`-R`) and not overridden locally.
    Received,
    /// The built-in default.
    Default,
    /// Set for this mount only (`zfs mount -o`).
    Temporary,
    /// Inherited from this ancestor.
    Inherited(DatasetName),
    /// Read-only or not applicable (`-`).
    None,
}

impl PropSource {
    /// The kind, without the ancestor of an inherited value.
    pub fn kind(&self) -> SourceKind {
        match self {
            PropSource::Local => SourceKind::Local,
            PropSource::Received => SourceKind::Received,
            PropSource::Default => SourceKind::Default,
            PropSource::Temporary => SourceKind::Temporary,
            PropSource::Inherited(_) => SourceKind::Inherited,
            PropSource::None => SourceKind::None,
        }
    }
}

/// A source to select with `zfs get -s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    /// `local`
    Local,
    /// `received`
    Received,
    /// `default`
    Default,
    /// `temporary`
    Temporary,
    /// `inherited`
    Inherited,
    /// `none` (read-only properties)
    None,
}

impl SourceKind {
    /// The word `zfs get -s` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Received => "received",
            SourceKind::Default => "default",
            SourceKind::Temporary => "temporary",
            SourceKind::Inherited => "inherited",
            SourceKind::None => "none",
        }
    }
}

/// One property value of one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropValue {
    /// The value as `zfs get -p` prints it (`-` for none).
    pub value: String,
    /// Where it comes from.
    pub source: PropSource,
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropQuery {
    /// Property names (native or `module:name`); empty means all of them (`all`).
    pub names: Vec<String>,
    /// Only values from these sources; empty means every source.
    pub sources: Vec<SourceKind>,
    /// The whole tree below the root too (`-r`); snapshots are never included.
    pub recursive: bool,
}

impl PropQuery {
    /// Every property set locally on the root (and its descendants with `recursive`).
    pub fn local(recursive: bool) -> Self {
        PropQuery {
            names: Vec::new(),
            sources: vec![SourceKind::Local],
            recursive,
        }
    }

    /// The named properties from any source.
    pub fn named(names: &[&str], recursive: bool) -> Self {
        PropQuery {
            names: names.iter().map(|s| (*s).to_owned()).collect(),
            sources: Vec::new(),
            recursive,
        }
    }
}

/// Properties by dataset, then by property name.
pub type PropertyMap = BTreeMap<DatasetName, BTreeMap<String, PropValue>>;
