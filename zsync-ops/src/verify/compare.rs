//! The first difference between two manifests: a merge walk over both entry lists (sorted by
//! path), then per entry kind, size, content (the first differing chunk), symlink target, mode and
//! owner, in that order.

use super::manifest::{display_path, Content, Entry, EntryKind, Manifest};
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// What differs first between the source's manifest and the target's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Difference {
    /// Not comparable: one is a filesystem, the other a volume, or the chunk sizes differ.
    Layout {
        /// The source's content and chunk size.
        source: (Content, u64),
        /// The target's.
        target: (Content, u64),
    },
    /// In the source, not in the target.
    Missing {
        /// The path (for people).
        path: String,
    },
    /// In the target, not in the source.
    Extra {
        /// The path.
        path: String,
    },
    /// Not the same kind (file, directory, ...).
    Kind {
        /// The path.
        path: String,
        /// The source's kind.
        source: EntryKind,
        /// The target's.
        target: EntryKind,
    },
    /// Not the same size.
    Size {
        /// The path (`.` for a volume).
        path: String,
        /// Source bytes.
        source: u64,
        /// Target bytes.
        target: u64,
    },
    /// Same size, different bytes: the chunk starting at `offset` is the first that differs.
    Content {
        /// The path (`.` for a volume).
        path: String,
        /// Byte offset of the first differing chunk's start.
        offset: u64,
        /// The chunk size.
        chunk: u64,
    },
    /// Symlinks pointing elsewhere.
    SymlinkTarget {
        /// The path.
        path: String,
        /// The source's target.
        source: String,
        /// The target's target.
        target: String,
    },
    /// Permission bits differ.
    Mode {
        /// The path.
        path: String,
        /// Source mode.
        source: u32,
        /// Target mode.
        target: u32,
    },
    /// Owner or group differ.
    Owner {
        /// The path.
        path: String,
        /// Source uid, gid.
        source: (u32, u32),
        /// Target uid, gid.
        target: (u32, u32),
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Layout { source, target } => write!(
                f,
                "not comparable: the source is a {:?} hashed in {}-byte chunks, the target a {:?} \
                 in {}-byte chunks",
                source.0, source.1, target.0, target.1
            ),
            Difference::Missing { path } => write!(f, "{path}: missing on the target"),
            Difference::Extra { path } => write!(f, "{path}: only on the target"),
            Difference::Kind {
                path,
                source,
                target,
            } => write!(
                f,
                "{path}: a {source:?} on the source, a {target:?} on the target"
            ),
            Difference::Size {
                path,
                source,
                target,
            } => write!(
                f,
                "{path}: {source} bytes on the source, {target} on the target"
            ),
            Difference::Content {
                path,
                offset,
                chunk,
            } => write!(
                f,
                "{path}: content differs in the {chunk}-byte chunk starting at byte offset {offset}"
            ),
            Difference::SymlinkTarget {
                path,
                source,
                target,
            } => write!(
                f,
                "{path}: symlink to {source:?} on the source, to {target:?} on the target"
            ),
            Difference::Mode {
                path,
                source,
                target,
            } => write!(
                f,
                "{path}: mode {source:04o} on the source, {target:04o} on the target"
            ),
            Difference::Owner {
                path,
                source,
                target,
            } => write!(
                f,
                "{path}: owner {}:{} on the source, {}:{} on the target",
                source.0, source.1, target.0, target.1
            ),
        }
    }
}

/// The first difference between `source` and `target`, or `None` when they hold the same data.
pub fn first_difference(source: &Manifest, target: &Manifest) -> Option<Difference> {
    if (source.content, source.chunk) != (target.content, target.chunk) {
        return Some(Difference::Layout {
            source: (source.content, source.chunk),
            target: (target.content, target.chunk),
        });
    }
    let (mut a, mut b) = (source.entries.iter(), target.entries.iter());
    let (mut x, mut y) = (a.next(), b.next());
    loop {
        match (x, y) {
            (None, None) => return None,
            (Some(s), None) => return Some(missing(s)),
            (None, Some(t)) => return Some(extra(t)),
            (Some(s), Some(t)) => match s.path.cmp(&t.path) {
                Ordering::Less => return Some(missing(s)),
                Ordering::Greater => return Some(extra(t)),
                Ordering::Equal => {
                    if let Some(d) = entry_difference(s, t, source.chunk) {
                        return Some(d);
                    }
                    (x, y) = (a.next(), b.next());
                }
            },
        }
    }
}

fn missing(e: &Entry) -> Difference {
    Difference::Missing {
        path: display_path(&e.path),
    }
}

fn extra(e: &Entry) -> Difference {
    Difference::Extra {
        path: display_path(&e.path),
    }
}

/// The first difference between two entries of the same path.
fn entry_difference(s: &Entry, t: &Entry, chunk: u64) -> Option<Difference> {
    let path = || display_path(&s.path);
    if s.kind != t.kind {
        return Some(Difference::Kind {
            path: path(),
            source: s.kind,
            target: t.kind,
        });
    }
    if s.size != t.size {
        return Some(Difference::Size {
            path: path(),
            source: s.size,
            target: t.size,
        });
    }
    if let Some(i) = s.chunks.iter().zip(&t.chunks).position(|(p, q)| p != q) {
        return Some(Difference::Content {
            path: path(),
            offset: i as u64 * chunk,
            chunk,
        });
    }
    if s.target != t.target {
        let show = |v: &Option<Vec<u8>>| display_path(v.as_deref().unwrap_or_default());
        return Some(Difference::SymlinkTarget {
            path: path(),
            source: show(&s.target),
            target: show(&t.target),
        });
    }
    if s.mode != t.mode {
        return Some(Difference::Mode {
            path: path(),
            source: s.mode,
            target: t.mode,
        });
    }
    if (s.uid, s.gid) != (t.uid, t.gid) {
        return Some(Difference::Owner {
            path: path(),
            source: (s.uid, s.gid),
            target: (t.uid, t.gid),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            target: (kind == EntryKind::Symlink).then(|| b"t".to_vec()),
            chunks: vec![],
        }
    }

    fn file(path: &str, chunks: &[u8]) -> Entry {
        Entry {
            size: chunks.len() as u64 * 10,
            chunks: chunks.iter().map(|&c| [c; 32]).collect(),
            ..e(path, EntryKind::File)
        }
    }

    fn m(entries: Vec<Entry>) -> Manifest {
        Manifest {
            content: Content::Filesystem,
            chunk: 10,
            entries,
        }
    }

    fn base() -> Vec<Entry> {
        vec![
            e("", EntryKind::Dir),
            file("a", &[1, 2, 3]),
            e("d", EntryKind::Dir),
            e("d/l", EntryKind::Symlink),
            file("z", &[]),
        ]
    }

    fn diff_after(change: impl FnOnce(&mut Vec<Entry>)) -> Option<Difference> {
        let mut t = base();
        change(&mut t);
        first_difference(&m(base()), &m(t))
    }

    #[test]
    fn equal_manifests_have_no_difference() {
        assert_eq!(first_difference(&m(base()), &m(base())), None);
    }

    #[test]
    fn the_first_difference_is_named() {
        let d = diff_after(|t| t[1].chunks[1] = [9; 32]).unwrap();
        assert_eq!(
            d,
            Difference::Content {
                path: "a".into(),
                offset: 10,
                chunk: 10
            }
        );
        assert_eq!(
            d.to_string(),
            "a: content differs in the 10-byte chunk starting at byte offset 10"
        );
        // Two differences: the first path wins.
        let d = diff_after(|t| {
            t[1].chunks[2] = [9; 32];
            t[4].mode = 0o600;
        });
        assert!(matches!(d, Some(Difference::Content { offset: 20, .. })));
        assert!(matches!(
            diff_after(|t| t[1] = file("a", &[1, 2])),
            Some(Difference::Size {
                source: 30,
                target: 20,
                ..
            })
        ));
        assert_eq!(
            diff_after(|t| {
                t.remove(2);
            }),
            Some(Difference::Missing { path: "d".into() })
        );
        assert_eq!(
            diff_after(|t| t.insert(2, e("c", EntryKind::Other))),
            Some(Difference::Extra { path: "c".into() })
        );
        assert_eq!(
            diff_after(|t| t.push(e("zz", EntryKind::Dir))),
            Some(Difference::Extra { path: "zz".into() })
        );
        assert_eq!(
            diff_after(|t| {
                t.pop();
            }),
            Some(Difference::Missing { path: "z".into() })
        );
        assert!(matches!(
            diff_after(|t| t[2] = e("d", EntryKind::Other)),
            Some(Difference::Kind {
                source: EntryKind::Dir,
                target: EntryKind::Other,
                ..
            })
        ));
        assert_eq!(
            diff_after(|t| t[0].mode = 0o700).unwrap().to_string(),
            ".: mode 0644 on the source, 0700 on the target"
        );
        assert!(matches!(
            diff_after(|t| t[3].target = Some(b"u".to_vec())),
            Some(Difference::SymlinkTarget { .. })
        ));
        assert!(matches!(
            diff_after(|t| t[4].gid = 5),
            Some(Difference::Owner { target: (0, 5), .. })
        ));
        let mut vol = m(vec![]);
        vol.content = Content::Volume;
        assert!(matches!(
            first_difference(&m(base()), &vol),
            Some(Difference::Layout { .. })
        ));
    }
}
