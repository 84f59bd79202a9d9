//! The fake's send stream: what it carries (the dataset kind and each snapshot's name, guid, base
//! and creation time), the pipe and thread at each end, and the rules of `zfs send` (what a request
//! may send) and `zfs receive` (what a stream may make of the target).

use super::{Fake, Fs, Ver};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;
use zfs_core::{
    DatasetKind, RecvRequest, RecvSink, SendRequest, SendStream, Version, VersionKind, VersionName,
    Wire, ZfsError,
};
use zfs_stream::Codec;

/// One snapshot a stream carries.
#[derive(Debug, Clone, PartialEq)]
struct StreamSnap {
    name: String,
    guid: u64,
    from: Option<u64>,
    creation: i64,
}

/// What a fake send stream says: the dataset kind, the snapshots (oldest first), whether it resumes
/// an interrupted receive; `complete` when it ended with its END line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stream {
    kind: DatasetKind,
    snaps: Vec<StreamSnap>,
    resume: bool,
    complete: bool,
}

const MAGIC: &str = "FAKE-ZFS-STREAM";

impl Stream {
    pub(super) fn encode(&self) -> Vec<u8> {
        let kind = match self.kind {
            DatasetKind::Filesystem => "filesystem",
            DatasetKind::Volume => "volume",
        };
        let mut s = format!("{MAGIC}\nkind\t{kind}\n");
        for v in &self.snaps {
            s += &format!(
                "snap\t{}\t{}\t{}\t{}\n",
                v.guid,
                v.from.unwrap_or(0),
                v.creation,
                v.name
            );
        }
        if self.resume {
            s += "resume\n";
        }
        s += "END\n";
        s.into_bytes()
    }

    fn decode(bytes: &[u8]) -> Stream {
        let text = String::from_utf8_lossy(bytes);
        let mut s = Stream {
            kind: DatasetKind::Filesystem,
            snaps: Vec::new(),
            resume: false,
            complete: false,
        };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return s;
        }
        for line in lines {
            let f: Vec<&str> = line.split('\t').collect();
            match f[..] {
                ["kind", "volume"] => s.kind = DatasetKind::Volume,
                ["kind", _] => s.kind = DatasetKind::Filesystem,
                ["snap", guid, from, creation, name] => s.snaps.push(StreamSnap {
                    name: name.to_string(),
                    guid: guid.parse().unwrap_or(0),
                    from: from.parse().ok().filter(|f| *f != 0),
                    creation: creation.parse().unwrap_or(0),
                }),
                ["resume"] => s.resume = true,
                ["END"] => s.complete = true,
                _ => {}
            }
        }
        s
    }
}

/// zfs-stream's codec of a compressed wire.
fn codec(wire: Wire) -> Option<Codec> {
    match wire {
        Wire::Plain => None,
        Wire::Zstd { level } => Some(Codec::Zstd { level }),
        Wire::Lz4 => Some(Codec::Lz4),
    }
}

/// The stream as a send of `wire` writes it.
fn pack(wire: Wire, bytes: Vec<u8>) -> Vec<u8> {
    match codec(wire) {
        Some(c) => zfs_stream::compress::compress_all(c, &bytes).expect("compress in memory"),
        None => bytes,
    }
}

/// What a receive of `wire` makes of its input.
fn unpack(wire: Wire, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    match codec(wire) {
        Some(c) => zfs_stream::compress::decompress_all(c, bytes, 1 << 24),
        None => Ok(bytes.to_vec()),
    }
}

/// A running send: a thread writes the stream into a pipe whose read end the caller takes.
struct FakeSend {
    stream: Option<OwnedFd>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    /// Why the send refused to send (its stream is empty).
    failure: Option<ZfsError>,
    host: String,
    name: String,
}

impl SendStream for FakeSend {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.stream.take()
    }
    fn finish(mut self: Box<Self>) -> Result<(), ZfsError> {
        drop(self.stream.take());
        let r = self.writer.take().map(|w| w.join().unwrap());
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        match r {
            Some(Err(e)) => Err(ZfsError::Io {
                op: "send".into(),
                name: self.name.clone(),
                host: self.host.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for FakeSend {
    fn drop(&mut self) {
        drop(self.stream.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// A running receive: a thread reads the pipe whose write end the caller takes, to its end;
/// `finish` applies what it read to the fake.
struct FakeRecv<'a> {
    fake: &'a Fake,
    req: RecvRequest,
    input: Option<OwnedFd>,
    reader: Option<JoinHandle<std::io::Result<Vec<u8>>>>,
}

impl RecvSink for FakeRecv<'_> {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.input.take()
    }
    fn finish(mut self: Box<Self>) -> Result<(), ZfsError> {
        drop(self.input.take());
        let bytes = self
            .reader
            .take()
            .map(|r| r.join().unwrap())
            .unwrap_or_else(|| Ok(Vec::new()))
            .unwrap_or_default();
        // Bytes that do not decompress leave no stream: the receive fails as on a truncated one.
        let bytes = unpack(self.req.wire, &bytes).unwrap_or_default();
        self.fake.apply_stream(&self.req, &Stream::decode(&bytes))
    }
}

impl Drop for FakeRecv<'_> {
    fn drop(&mut self) {
        drop(self.input.take());
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Fake {
    /// Starts the send of `req` (its call recorded): as `zfs send`, the process starts, and a send it
    /// refuses ends with an empty stream and its error.
    pub(super) fn start_send(
        &self,
        req: &SendRequest,
    ) -> Result<Box<dyn SendStream + '_>, ZfsError> {
        let (bytes, failure) = match self.send_stream(req) {
            Ok(stream) => (pack(req.wire, stream.encode()), None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let (r, mut w) = std::io::pipe().map_err(|e| ZfsError::Io {
            op: "pipe".into(),
            name: req.to.to_string(),
            host: self.host.clone(),
            source: e,
        })?;
        let writer = std::thread::spawn(move || w.write_all(&bytes));
        Ok(Box::new(FakeSend {
            stream: Some(OwnedFd::from(r)),
            writer: Some(writer),
            failure,
            host: self.host.clone(),
            name: req.to.to_string(),
        }))
    }

    /// Starts the receive of `req` (its call recorded): it reads its input to the end, and
    /// `finish` applies what it read.
    pub(super) fn start_receive(
        &self,
        req: &RecvRequest,
    ) -> Result<Box<dyn RecvSink + '_>, ZfsError> {
        let (mut r, w) = std::io::pipe().map_err(|e| ZfsError::Io {
            op: "pipe".into(),
            name: req.target.to_string(),
            host: self.host.clone(),
            source: e,
        })?;
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes).map(|_| bytes)
        });
        Ok(Box::new(FakeRecv {
            fake: self,
            req: req.clone(),
            input: Some(OwnedFd::from(w)),
            reader: Some(reader),
        }))
    }

    /// The stream `req` sends, with the checks of `zfs send`.
    pub(super) fn send_stream(&self, req: &SendRequest) -> Result<Stream, ZfsError> {
        let st = self.state.lock().unwrap();
        let dataset = req.to.dataset();
        let Some(d) = st.datasets.get(dataset.as_str()) else {
            return Err(self.not_found("send", req.to.as_str()));
        };
        if let Some(rp) = &req.resume {
            let stale = |why: &str| {
                self.refuse(
                    "send -t",
                    req.to.as_str(),
                    &format!("cannot resume send: {why}"),
                )
            };
            let token = zfs_stream::resume::decode(&rp.token)
                .map_err(|e| stale(&format!("resume token is corrupt: {e}")))?;
            // `zfs send -t` finds the snapshot by the token's guid.
            if d.find(req.to.as_str()).map(|v| v.v.guid) != Some(token.toguid) {
                return Err(stale(&format!(
                    "'{}' used in the initial send no longer exists",
                    token.toname
                )));
            }
            if let Some(f) = token.fromguid.filter(|g| *g != 0) {
                if !d.versions.iter().any(|v| v.v.guid == f) {
                    return Err(stale("incremental source no longer exists"));
                }
            }
        }
        let Some(to) = d.find(req.to.as_str()).map(|v| v.v.clone()) else {
            return Err(self.not_found("send", req.to.as_str()));
        };
        let from: Option<Version> = match &req.from {
            None => None,
            Some(f) => {
                let not_earlier = || {
                    let why = format!(
                        "cannot send '{}': not an earlier snapshot from the same fs",
                        req.to
                    );
                    self.refuse("send", f.as_str(), &why)
                };
                let base = if f.dataset() == dataset {
                    d.find(f.as_str()).map(|v| v.v.clone())
                } else if d.origin.as_ref().map(|o| o.as_str()) == Some(f.as_str()) {
                    st.version(f.as_str()).map(|v| v.v.clone())
                } else {
                    return Err(not_earlier());
                };
                let Some(base) = base else {
                    return Err(self.not_found("send", f.as_str()));
                };
                if f.dataset() == dataset && base.createtxg >= to.createtxg {
                    return Err(not_earlier());
                }
                Some(base)
            }
        };
        if req.intermediates
            && !matches!(&req.from, Some(VersionName::Snapshot(s)) if s.dataset() == dataset)
        {
            return Err(ZfsError::InvalidArgument {
                op: "send",
                detail: "-I needs a snapshot of the same dataset".into(),
            });
        }
        let carried: Vec<&Version> = if req.intermediates {
            let after = from.as_ref().map_or(0, |f| f.createtxg);
            d.snapshots()
                .map(|v| &v.v)
                .filter(|v| v.createtxg > after && v.createtxg <= to.createtxg)
                .collect()
        } else {
            vec![&to]
        };
        let mut prev = from.as_ref().map(|f| f.guid);
        let snaps = carried
            .into_iter()
            .map(|v| {
                let s = StreamSnap {
                    name: v.name.to_string(),
                    guid: v.guid,
                    from: prev,
                    creation: v.creation,
                };
                prev = Some(v.guid);
                s
            })
            .collect();
        Ok(Stream {
            kind: d.kind,
            snaps,
            resume: req.resume.is_some(),
            complete: true,
        })
    }

    /// Applies a received stream to `req.target`'s dataset, with the checks of `zfs receive`.
    fn apply_stream(&self, req: &RecvRequest, s: &Stream) -> Result<(), ZfsError> {
        let target = req.target.dataset();
        let name = target.as_str();
        let refuse = |text: &str| self.refuse("receive", name, text);
        if !s.complete {
            return Err(refuse("cannot receive: failed to read from stream"));
        }
        let Some(first) = s.snaps.first() else {
            return Err(refuse("cannot receive: invalid stream (no snapshot)"));
        };
        if s.snaps.len() > 1 && !req.into_dataset {
            return Err(refuse(&format!(
                "cannot receive incremental stream: destination {} exists",
                req.target
            )));
        }
        let mut st = self.state.lock().unwrap();
        let token = st.datasets.get(name).and_then(|d| d.token.clone());
        match (&token, s.resume) {
            (Some(_), false) => {
                return Err(refuse(&format!(
                    "cannot receive new filesystem stream: destination {name} contains \
                     partially-complete state from \"zfs receive -s\"."
                )))
            }
            (None, true) => {
                return Err(refuse(&format!(
                    "cannot resume: no resumable receive state on {name}"
                )))
            }
            _ => {}
        }
        match (first.from, &req.origin) {
            // A full stream: creates the dataset (or completes its resumed first receive).
            (None, _) => {
                if st.datasets.contains_key(name) && token.is_none() {
                    return Err(refuse(&format!(
                        "cannot receive new filesystem stream: destination '{name}' exists\n\
                         must specify -F to overwrite it"
                    )));
                }
                let parent = target.parent().map(|p| p.to_string()).unwrap_or_default();
                if !st.datasets.contains_key(&parent) {
                    return Err(self.not_found("receive", &parent));
                }
                if token.is_none() {
                    let txg = st.next_txg();
                    st.datasets.insert(name.to_string(), Fs::new(s.kind, txg));
                }
            }
            // A clone's first stream: incremental from the origin's replica.
            (Some(from), Some(origin)) => {
                if st.datasets.contains_key(name) {
                    return Err(refuse(&format!("destination '{name}' exists")));
                }
                match st.version(origin.as_str()) {
                    Some(o) if o.v.guid == from => {}
                    _ => {
                        return Err(refuse(&format!(
                            "cannot receive incremental stream: origin {origin} does not match \
                             the stream's source"
                        )))
                    }
                }
                let txg = st.next_txg();
                let mut fs = Fs::new(s.kind, txg);
                fs.origin = Some(origin.clone());
                st.datasets.insert(name.to_string(), fs);
            }
            // An incremental onto the dataset's newest snapshot (`-F`: onto an older one, destroying
            // the newer ones, and over any change).
            (Some(from), None) => {
                let Some(d) = st.datasets.get(name) else {
                    return Err(refuse(&format!(
                        "cannot receive incremental stream: destination '{name}' does not exist"
                    )));
                };
                let Some(base) = d.snapshots().position(|v| v.v.guid == from) else {
                    return Err(refuse(&format!(
                        "cannot receive incremental stream: most recent snapshot of {name} does \
                         not match incremental source"
                    )));
                };
                let newest = d.snapshots().count() - 1;
                if !req.force && base != newest {
                    return Err(refuse(&format!(
                        "cannot receive incremental stream: most recent snapshot of {name} does \
                         not match incremental source"
                    )));
                }
                if !req.force && d.modified {
                    return Err(refuse(&format!(
                        "cannot receive incremental stream: destination {name} has been modified\n\
                         since most recent snapshot"
                    )));
                }
                let base_txg = d.snapshots().nth(base).map(|v| v.v.createtxg).unwrap_or(0);
                let d = st.datasets.get_mut(name).unwrap();
                d.versions.retain(|v| {
                    v.v.name.kind() == VersionKind::Bookmark || v.v.createtxg <= base_txg
                });
            }
        }
        // The snapshots, each in its own txg, with the sender's guid and creation time.
        let mut made = Vec::new();
        for snap in &s.snaps {
            let short = if req.into_dataset {
                snap.name.rsplit('@').next().unwrap_or_default().to_string()
            } else {
                req.target.short().to_string()
            };
            let full = target.snapshot(&short).map_err(ZfsError::InvalidName)?;
            if st.version(full.as_str()).is_some() {
                return Err(refuse(&format!("destination '{full}' exists")));
            }
            let txg = st.next_txg();
            made.push(Ver {
                v: Version::snapshot(full, snap.guid, txg, snap.creation),
                holds: BTreeMap::new(),
            });
        }
        let d = st.datasets.get_mut(name).unwrap();
        d.versions.extend(made);
        d.token = None;
        d.modified = false;
        d.props.extend(req.props.iter().cloned());
        Ok(())
    }
}
