//! What a listing yields: datasets and their versions (snapshots and bookmarks), the model the planner
//! works on. Names are in [`crate::name`]; nothing here runs anything.

use crate::name::{DatasetName, SnapshotName, VersionKind, VersionName};
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
    /// Looks a dataset up by name.
    pub fn get(&self, name: &DatasetName) -> Option<&Dataset> {
        self.datasets.iter().find(|d| &d.name == name)
    }
}
