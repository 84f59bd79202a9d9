//! What a listing yields: datasets and their versions (snapshots and bookmarks), the model the planner
//! works on. Names are in [`crate::name`]; nothing here runs anything.

use crate::name::{BookmarkName, DatasetName, SnapshotName, VersionKind, VersionName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One snapshot or bookmark with the properties replication and retention decide on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Full name.
    pub name: VersionName,
    /// `guid` property: identical on source and target after a send.
    pub guid: u64,
    /// `createtxg` property: orders versions of one dataset.
    pub createtxg: u64,
    /// `creation` property, seconds since the Unix epoch.
    pub creation: i64,
    /// `userrefs` (number of holds); 0 for bookmarks or when not listed.
    #[serde(default)]
    pub userrefs: u64,
    /// User properties (`module:prop`) when requested, else empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_props: BTreeMap<String, String>,
}

impl Version {
    /// A version as a listing reports it, with no holds and no user properties (set the public
    /// fields for more).
    pub fn new(name: VersionName, guid: u64, createtxg: u64, creation: i64) -> Version {
        Version {
            name,
            guid,
            createtxg,
            creation,
            userrefs: 0,
            user_props: BTreeMap::new(),
        }
    }

    /// A snapshot: its name, `guid`, `createtxg` and `creation` (seconds since the epoch).
    pub fn snapshot(name: SnapshotName, guid: u64, createtxg: u64, creation: i64) -> Version {
        Version::new(VersionName::Snapshot(name), guid, createtxg, creation)
    }

    /// A bookmark: its name, and the `guid`, `createtxg` and `creation` of the snapshot it was made
    /// from.
    pub fn bookmark(name: BookmarkName, guid: u64, createtxg: u64, creation: i64) -> Version {
        Version::new(VersionName::Bookmark(name), guid, createtxg, creation)
    }
}

/// Filesystem or volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// A mountable filesystem.
    Filesystem,
    /// A zvol (block device).
    Volume,
}

/// Encryption state of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Encryption {
    /// `encryption` property (`off`, `aes-256-gcm`, ...).
    pub algorithm: String,
    /// `encryptionroot`, when encrypted.
    pub root: Option<DatasetName>,
    /// `keystatus` (`available`, `unavailable`), when encrypted.
    pub key_status: Option<String>,
}

impl Encryption {
    /// Whether the dataset is encrypted.
    pub fn is_encrypted(&self) -> bool {
        !self.algorithm.is_empty() && self.algorithm != "off" && self.algorithm != "-"
    }
}

/// A filesystem or volume and everything the listing learned about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Name.
    pub name: DatasetName,
    /// Filesystem or volume.
    pub kind: DatasetKind,
    /// `guid` of the dataset itself.
    pub guid: u64,
    /// `createtxg` of the dataset.
    pub createtxg: u64,
    /// `origin` when this is a clone.
    pub origin: Option<SnapshotName>,
    /// `receive_resume_token` when a resumable receive was interrupted.
    pub receive_resume_token: Option<String>,
    /// Encryption state.
    pub encryption: Encryption,
    /// User properties when requested.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_props: BTreeMap<String, String>,
    /// Snapshots and bookmarks, ordered by createtxg (bookmarks before snapshots of the same txg).
    pub versions: Vec<Version>,
}

impl Dataset {
    /// A dataset with no versions: guid and createtxg 0, not a clone, no resume token, not encrypted,
    /// no user properties (set the public fields, or use [`Dataset::with_versions`], for more).
    pub fn new(name: DatasetName, kind: DatasetKind) -> Dataset {
        Dataset {
            name,
            kind,
            guid: 0,
            createtxg: 0,
            origin: None,
            receive_resume_token: None,
            encryption: Encryption::default(),
            user_props: BTreeMap::new(),
            versions: Vec::new(),
        }
    }

    /// The same dataset with these versions (which should be ordered as a listing orders them: by
    /// createtxg, a bookmark before the snapshot of the same txg).
    pub fn with_versions(mut self, versions: Vec<Version>) -> Dataset {
        self.versions = versions;
        self
    }

    /// Snapshots only, oldest first.
    pub fn snapshots(&self) -> impl Iterator<Item = &Version> {
        self.versions
            .iter()
            .filter(|v| v.name.kind() == VersionKind::Snapshot)
    }
    /// Bookmarks only, oldest first.
    pub fn bookmarks(&self) -> impl Iterator<Item = &Version> {
        self.versions
            .iter()
            .filter(|v| v.name.kind() == VersionKind::Bookmark)
    }
}

/// The result of one listing call: every dataset below a root, with versions, in `zfs list` order
/// (parents before children).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Listing {
    /// Datasets, parents first.
    pub datasets: Vec<Dataset>,
}

impl Listing {
    /// A listing of these datasets (parents before children, as `zfs list` orders them).
    pub fn new(datasets: Vec<Dataset>) -> Listing {
        Listing { datasets }
    }

    /// Looks a dataset up by name.
    pub fn get(&self, name: &DatasetName) -> Option<&Dataset> {
        self.datasets.iter().find(|d| &d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_what_a_listing_would() {
        let ds = DatasetName::parse("p/my data").unwrap();
        let s1 = Version::snapshot(ds.snapshot("s 1").unwrap(), 11, 20, 1_700_000_020);
        let b1 = Version::bookmark(ds.bookmark("s 1").unwrap(), 11, 20, 1_700_000_020);
        let s2 = Version::snapshot(ds.snapshot("s 2").unwrap(), 12, 30, 1_700_000_030);
        assert_eq!(s1.name.as_str(), "p/my data@s 1");
        assert_eq!(b1.name.kind(), VersionKind::Bookmark);
        assert_eq!(
            (s2.guid, s2.createtxg, s2.creation),
            (12, 30, 1_700_000_030)
        );
        assert_eq!((s2.userrefs, s2.user_props.len()), (0, 0));
        let d = Dataset::new(ds.clone(), DatasetKind::Volume).with_versions(vec![b1, s1, s2]);
        assert_eq!(d.kind, DatasetKind::Volume);
        assert!(d.origin.is_none() && d.receive_resume_token.is_none());
        assert!(!d.encryption.is_encrypted());
        let snaps: Vec<&str> = d.snapshots().map(|v| v.name.short()).collect();
        assert_eq!(snaps, ["s 1", "s 2"]);
        assert_eq!(d.bookmarks().count(), 1);
        let l = Listing::new(vec![d.clone()]);
        assert_eq!(l.get(&ds), Some(&d));
        assert!(l.get(&DatasetName::parse("p").unwrap()).is_none());
        // Same value as the struct literal a listing builds.
        let literal = Version {
            name: VersionName::Snapshot(ds.snapshot("s 2").unwrap()),
            guid: 12,
            createtxg: 30,
            creation: 1_700_000_030,
            userrefs: 0,
            user_props: BTreeMap::new(),
        };
        assert_eq!(d.versions[2], literal);
    }
}
