//! The fake's [`Backend`] methods: each records its call, fails as a test asked, then does to the
//! model what ZFS does.

use super::{creation_at, ds, holds_object, join, new_guid, Fake, Fs, State, Ver};
use std::collections::BTreeMap;
use zfs_core::{
    Backend, BookmarkName, Capabilities, CreateKind, Dataset, DatasetKind, DatasetName, Depth,
    ListOptions, Listing, PoolDetail, PoolHealth, PoolName, PoolStatus, PropQuery, PropSource,
    PropValue, PropertyMap, RecvRequest, RecvSink, SendFlags, SendRequest, SendStream,
    SnapshotName, SourceKind, TemporaryHolds, Version, VersionKind, VersionName, ZfsError,
};

impl Backend for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn host(&self) -> &str {
        &self.host
    }

    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn ping(&self) -> Result<(), ZfsError> {
        self.call("ping", String::new())
    }

    fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
        self.call("list", root.to_string())?;
        let st = self.state.lock().unwrap();
        if !st.datasets.contains_key(root.as_str()) {
            return Err(self.not_found("list", root.as_str()));
        }
        let root_depth = root.as_str().matches('/').count();
        let mut out = Vec::new();
        for (name, d) in &st.datasets {
            let n = ds(name);
            if !n.is_within(root) {
                continue;
            }
            let below = name.matches('/').count() - root_depth;
            let shown = match opts.depth {
                Depth::Zero => below == 0,
                Depth::Recursive => true,
                Depth::Levels(l) => below <= l as usize,
            };
            if !shown {
                continue;
            }
            let pick = |props: &BTreeMap<String, String>| -> BTreeMap<String, String> {
                props
                    .iter()
                    .filter(|(k, _)| opts.user_props.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            let mut dataset = Dataset::new(n, d.kind);
            dataset.guid = d.guid;
            dataset.createtxg = d.createtxg;
            dataset.origin = d.origin.clone();
            dataset.receive_resume_token = d.token.clone();
            dataset.user_props = pick(&d.props);
            if opts.versions {
                let mut versions: Vec<Version> = d
                    .versions
                    .iter()
                    .map(|v| {
                        let mut out = v.v.clone();
                        out.userrefs = v.holds.len() as u64;
                        out.user_props = pick(&v.v.user_props);
                        out
                    })
                    .collect();
                versions.sort_by_key(|v| (v.createtxg, v.name.kind() == VersionKind::Snapshot));
                dataset.versions = versions;
            }
            out.push(dataset);
        }
        Ok(Listing::new(out))
    }

    fn exists(&self, name: &str) -> Result<bool, ZfsError> {
        self.call("exists", name.to_string())?;
        zfs_core::name::validate_any(name)?;
        let st = self.state.lock().unwrap();
        Ok(st.datasets.contains_key(name) || st.version(name).is_some())
    }

    fn create(
        &self,
        dataset: &DatasetName,
        kind: CreateKind,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        self.call("create", dataset.to_string())?;
        let mut st = self.state.lock().unwrap();
        let name = dataset.as_str();
        self.creatable(&st, "create", dataset)?;
        let kind = match kind {
            CreateKind::Filesystem => DatasetKind::Filesystem,
            CreateKind::Volume { .. } => DatasetKind::Volume,
        };
        let txg = st.next_txg();
        let mut fs = Fs::new(kind, txg);
        fs.props = props.iter().cloned().collect();
        st.datasets.insert(name.to_string(), fs);
        Ok(())
    }

    fn snapshot(
        &self,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        self.call("snapshot", join(snaps))?;
        let mut seen = std::collections::BTreeSet::new();
        for s in snaps {
            if s.dataset().pool() != snaps[0].dataset().pool() || !seen.insert(s.dataset()) {
                return Err(ZfsError::InvalidArgument {
                    op: "snapshot",
                    detail: "one pool and at most one snapshot per dataset".into(),
                });
            }
        }
        let mut st = self.state.lock().unwrap();
        self.take(&mut st, snaps, user_props)
    }

    fn clone_snapshot(
        &self,
        snap: &SnapshotName,
        new: &DatasetName,
        props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        self.call("clone", format!("{snap} {new}"))?;
        if snap.dataset().pool() != new.pool() {
            return Err(ZfsError::InvalidArgument {
                op: "clone",
                detail: format!("{new} is not in the pool of {snap}"),
            });
        }
        let mut st = self.state.lock().unwrap();
        let name = new.as_str();
        let Some(kind) = st
            .version(snap.as_str())
            .and_then(|_| st.datasets.get(snap.dataset().as_str()))
            .map(|d| d.kind)
        else {
            return Err(self.not_found("clone", snap.as_str()));
        };
        self.creatable(&st, "clone", new)?;
        let txg = st.next_txg();
        let mut fs = Fs::new(kind, txg);
        fs.origin = Some(snap.clone());
        fs.props = props.iter().cloned().collect();
        st.datasets.insert(name.to_string(), fs);
        Ok(())
    }

    fn snapshot_recursive(&self, snap: &SnapshotName) -> Result<(), ZfsError> {
        self.call("snapshot_recursive", snap.to_string())?;
        let root = snap.dataset();
        let mut st = self.state.lock().unwrap();
        if !st.datasets.contains_key(root.as_str()) {
            return Err(self.not_found("snapshot", root.as_str()));
        }
        let all: Vec<SnapshotName> = st
            .datasets
            .keys()
            .map(|n| ds(n))
            .filter(|n| n.is_within(&root))
            .map(|n| n.snapshot(snap.short()).unwrap())
            .collect();
        self.take(&mut st, &all, &[])
    }

    fn destroy_snapshots(&self, snaps: &[SnapshotName], defer: bool) -> Result<(), ZfsError> {
        self.call("destroy_snapshots", join(snaps))?;
        let mut st = self.state.lock().unwrap();
        // All or nothing, as `lzc_destroy_snaps`; missing ones are ignored.
        let mut doomed = Vec::new();
        for s in snaps {
            let Some(v) = st.version(s.as_str()) else {
                continue;
            };
            if st.has_clones(s.as_str()) {
                if defer {
                    continue;
                }
                return Err(self.refuse(
                    "destroy",
                    s.as_str(),
                    &format!("cannot destroy '{s}': snapshot has dependent clones"),
                ));
            }
            if !v.holds.is_empty() {
                if defer {
                    continue;
                }
                return Err(self.refuse(
                    "destroy",
                    s.as_str(),
                    &format!("cannot destroy snapshot {s}: dataset is busy (has holds)"),
                ));
            }
            doomed.push(s.clone());
        }
        for s in doomed {
            let d = st.datasets.get_mut(s.dataset().as_str()).unwrap();
            d.versions.retain(|v| v.v.name.as_str() != s.as_str());
        }
        Ok(())
    }

    fn destroy_dataset(&self, dataset: &DatasetName, recursive: bool) -> Result<(), ZfsError> {
        self.call("destroy_dataset", dataset.to_string())?;
        let mut st = self.state.lock().unwrap();
        let name = dataset.as_str();
        if !st.datasets.contains_key(name) {
            return Err(self.not_found("destroy", name));
        }
        let tree: Vec<String> = st
            .datasets
            .keys()
            .filter(|n| ds(n).is_within(dataset))
            .cloned()
            .collect();
        if !recursive && (tree.len() > 1 || !st.datasets[name].versions.is_empty()) {
            return Err(self.refuse(
                "destroy",
                name,
                &format!("cannot destroy '{name}': filesystem has children\nuse '-r' to destroy"),
            ));
        }
        let outside_clone = st.datasets.iter().any(|(n, d)| {
            !tree.contains(n)
                && d.origin
                    .as_ref()
                    .is_some_and(|o| tree.contains(&o.dataset().to_string()))
        });
        if outside_clone {
            return Err(self.refuse(
                "destroy",
                name,
                &format!("cannot destroy '{name}': filesystem has dependent clones"),
            ));
        }
        for n in tree {
            st.datasets.remove(&n);
        }
        Ok(())
    }

    fn hold(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        self.call("hold", holds_object(holds))?;
        let mut st = self.state.lock().unwrap();
        for (s, tag) in holds {
            match st.version(s.as_str()) {
                None => return Err(self.not_found("hold", s.as_str())),
                Some(v) if v.holds.contains_key(tag) => {
                    return Err(self.refuse(
                        "hold",
                        s.as_str(),
                        &format!("cannot hold snapshot '{s}': tag already exists on this dataset"),
                    ))
                }
                Some(_) => {}
            }
        }
        let now = creation_at(st.txg);
        for (s, tag) in holds {
            st.version_mut(s.as_str())
                .unwrap()
                .holds
                .insert(tag.clone(), now);
        }
        Ok(())
    }

    fn hold_temporary(&self, holds: &[(SnapshotName, String)]) -> Result<TemporaryHolds, ZfsError> {
        self.call("hold_temporary", holds_object(holds))?;
        Err(ZfsError::Unsupported {
            op: "hold_temporary",
            backend: "fake",
            why: "no cleanup descriptor in memory".into(),
        })
    }

    fn release(&self, holds: &[(SnapshotName, String)]) -> Result<(), ZfsError> {
        self.call("release", holds_object(holds))?;
        let mut st = self.state.lock().unwrap();
        for (s, tag) in holds {
            if !st
                .version(s.as_str())
                .is_some_and(|v| v.holds.contains_key(tag))
            {
                return Err(self.refuse(
                    "release",
                    s.as_str(),
                    &format!(
                        "cannot release hold from snapshot '{s}': no such tag on this dataset"
                    ),
                ));
            }
        }
        for (s, tag) in holds {
            st.version_mut(s.as_str()).unwrap().holds.remove(tag);
        }
        Ok(())
    }

    fn holds(&self, snap: &SnapshotName) -> Result<BTreeMap<String, i64>, ZfsError> {
        self.call("holds", snap.to_string())?;
        let st = self.state.lock().unwrap();
        st.version(snap.as_str())
            .map(|v| v.holds.clone())
            .ok_or_else(|| self.not_found("holds", snap.as_str()))
    }

    fn bookmark(&self, pairs: &[(BookmarkName, VersionName)]) -> Result<(), ZfsError> {
        self.call(
            "bookmark",
            join(pairs.iter().map(|(b, from)| format!("{b} {from}"))),
        )?;
        let mut st = self.state.lock().unwrap();
        let mut made = Vec::new();
        for (b, from) in pairs {
            let Some(src) = st.version(from.as_str()) else {
                return Err(self.not_found("bookmark", from.as_str()));
            };
            if from.dataset() != b.dataset() {
                return Err(ZfsError::InvalidArgument {
                    op: "bookmark",
                    detail: format!("{b} and {from} are in different datasets"),
                });
            }
            if st.version(b.as_str()).is_some() {
                return Err(self.refuse(
                    "bookmark",
                    b.as_str(),
                    &format!("cannot create bookmark '{b}': bookmark exists"),
                ));
            }
            let v = &src.v;
            made.push(Version::bookmark(
                b.clone(),
                v.guid,
                v.createtxg,
                v.creation,
            ));
        }
        for v in made {
            let d = st.datasets.get_mut(v.name.dataset().as_str()).unwrap();
            d.versions.push(Ver {
                v,
                holds: BTreeMap::new(),
            });
        }
        Ok(())
    }

    fn destroy_bookmarks(&self, bms: &[BookmarkName]) -> Result<(), ZfsError> {
        self.call("destroy_bookmarks", join(bms))?;
        let mut st = self.state.lock().unwrap();
        for b in bms {
            if let Some(d) = st.datasets.get_mut(b.dataset().as_str()) {
                d.versions.retain(|v| v.v.name.as_str() != b.as_str());
            }
        }
        Ok(())
    }
    fn send(&self, req: &SendRequest) -> Result<Box<dyn SendStream + '_>, ZfsError> {
        let mut object = req.to.to_string();
        if let Some(f) = &req.from {
            object += &format!(" from {f}");
        }
        if req.intermediates {
            object += " -I";
        }
        if req.resume.is_some() {
            object += " -t";
        }
        if !req.wire.is_plain() {
            object += &format!(" wire={}", req.wire);
        }
        if !req.bulk {
            object += " small";
        }
        self.call("send", object)?;
        self.offers("send", req.wire)?;
        self.start_send(req)
    }

    fn send_space(
        &self,
        to: &SnapshotName,
        from: Option<&VersionName>,
        _flags: &SendFlags,
    ) -> Result<u64, ZfsError> {
        self.call("send_space", to.to_string())?;
        let req = SendRequest {
            from: from.cloned(),
            ..SendRequest::full(to.clone())
        };
        Ok(self.send_stream(&req)?.encode().len() as u64)
    }
    fn receive(&self, req: &RecvRequest) -> Result<Box<dyn RecvSink + '_>, ZfsError> {
        let mut object = req.target.to_string();
        if req.force {
            object += " -F";
        }
        if req.into_dataset {
            object += " -d";
        }
        if let Some(o) = &req.origin {
            object += &format!(" origin={o}");
        }
        if !req.wire.is_plain() {
            object += &format!(" wire={}", req.wire);
        }
        if !req.bulk {
            object += " small";
        }
        self.call("receive", object)?;
        self.offers("receive", req.wire)?;
        self.start_receive(req)
    }

    fn receiving(&self) -> Result<Vec<String>, ZfsError> {
        self.call("receiving", String::new())?;
        Ok(self.state.lock().unwrap().receiving.clone())
    }

    fn receive_abort(&self, dataset: &DatasetName) -> Result<(), ZfsError> {
        self.call("receive_abort", dataset.to_string())?;
        let mut st = self.state.lock().unwrap();
        let name = dataset.as_str();
        match st.datasets.get_mut(name) {
            Some(d) if d.token.is_some() => {
                d.token = None;
                // An interrupted first receive leaves a dataset without snapshots: it goes.
                if d.versions.is_empty() {
                    st.datasets.remove(name);
                }
                Ok(())
            }
            Some(_) => Err(self.refuse(
                "receive -A",
                name,
                &format!("'{name}' does not have any resumable receive state to abort"),
            )),
            None => Err(self.not_found("receive -A", name)),
        }
    }

    fn rollback_to(&self, snap: &SnapshotName, destroy_newer: bool) -> Result<(), ZfsError> {
        self.call("rollback_to", snap.to_string())?;
        let mut st = self.state.lock().unwrap();
        let Some(txg) = st.version(snap.as_str()).map(|v| v.v.createtxg) else {
            return Err(self.not_found("rollback", snap.as_str()));
        };
        let d = st.datasets.get_mut(snap.dataset().as_str()).unwrap();
        if d.versions.iter().any(|v| v.v.createtxg > txg) && !destroy_newer {
            return Err(self.refuse(
                "rollback",
                snap.as_str(),
                &format!(
                    "cannot rollback to '{snap}': more recent snapshots or bookmarks exist\n\
                     use '-r' to force deletion of the following snapshots and bookmarks"
                ),
            ));
        }
        d.versions.retain(|v| v.v.createtxg <= txg);
        d.modified = false;
        Ok(())
    }

    fn set_user_props(&self, target: &str, props: &[(String, String)]) -> Result<(), ZfsError> {
        self.call("set_user_props", target.to_string())?;
        zfs_core::name::validate_any(target)?;
        let mut st = self.state.lock().unwrap();
        if let Some(d) = st.datasets.get_mut(target) {
            d.props.extend(props.iter().cloned());
        } else if let Some(v) = st.version_mut(target) {
            v.v.user_props.extend(props.iter().cloned());
        } else {
            return Err(self.not_found("set", target));
        }
        Ok(())
    }

    fn properties(&self, root: &DatasetName, query: &PropQuery) -> Result<PropertyMap, ZfsError> {
        self.call("properties", root.to_string())?;
        let st = self.state.lock().unwrap();
        if !st.datasets.contains_key(root.as_str()) {
            return Err(self.not_found("get", root.as_str()));
        }
        // Every property here was set locally.
        let local = query.sources.is_empty() || query.sources.contains(&SourceKind::Local);
        let mut out = PropertyMap::new();
        for (name, d) in &st.datasets {
            let n = ds(name);
            if !(n == *root || (query.recursive && n.is_within(root))) {
                continue;
            }
            let values = d
                .props
                .iter()
                .filter(|(k, _)| local && (query.names.is_empty() || query.names.contains(k)))
                .map(|(k, v)| {
                    let value = PropValue {
                        value: v.clone(),
                        source: PropSource::Local,
                    };
                    (k.clone(), value)
                })
                .collect();
            out.insert(n, values);
        }
        Ok(out)
    }

    fn pools(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
        self.call("pools", join(names))?;
        self.pool_list(names)
    }

    fn pool_status(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
        self.call("pool_status", join(names))?;
        let mut pools = self.pool_list(names)?;
        for p in &mut pools {
            p.detail = Some(PoolDetail {
                state: Some(PoolHealth::Online),
                data_errors: Some(0),
                ..PoolDetail::default()
            });
        }
        Ok(pools)
    }
}

impl Fake {
    /// Takes `snaps` (of existing datasets) in one txg, all or none.
    fn take(
        &self,
        st: &mut State,
        snaps: &[SnapshotName],
        user_props: &[(String, String)],
    ) -> Result<(), ZfsError> {
        for s in snaps {
            if !st.datasets.contains_key(s.dataset().as_str()) {
                return Err(self.not_found("snapshot", s.dataset().as_str()));
            }
            if st.version(s.as_str()).is_some() {
                let why = format!("cannot create snapshot '{s}': dataset already exists");
                return Err(self.refuse("snapshot", s.as_str(), &why));
            }
        }
        let txg = st.next_txg();
        for s in snaps {
            let mut v = Version::snapshot(s.clone(), new_guid(), txg, creation_at(txg));
            v.user_props = user_props.iter().cloned().collect();
            let d = st.datasets.get_mut(s.dataset().as_str()).unwrap();
            d.versions.push(Ver {
                v,
                holds: BTreeMap::new(),
            });
            d.modified = false;
        }
        Ok(())
    }

    fn pool_list(&self, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
        let st = self.state.lock().unwrap();
        let all: Vec<&String> = st.datasets.keys().filter(|n| !n.contains('/')).collect();
        if let Some(missing) = names
            .iter()
            .find(|p| !all.iter().any(|n| n.as_str() == p.as_str()))
        {
            return Err(self.refuse(
                "zpool list",
                missing.as_str(),
                &format!("cannot open '{missing}': no such pool"),
            ));
        }
        Ok(all
            .into_iter()
            .filter(|n| names.is_empty() || names.iter().any(|p| p.as_str() == n.as_str()))
            .map(|n| PoolStatus {
                name: PoolName::parse(n).unwrap(),
                health: PoolHealth::Online,
                size: 1 << 30,
                allocated: 1 << 20,
                free: (1 << 30) - (1 << 20),
                capacity: 0,
                fragmentation: Some(0),
                detail: None,
            })
            .collect())
    }
}
