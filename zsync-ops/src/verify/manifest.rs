//! The manifest of a snapshot's data (what each host computes and only this crosses between
//! hosts), and its compact wire form.
//!
//! Wire form (ASCII lines, `\n`-terminated):
//!
//! ```text
//! zsync-manifest 1 filesystem 1048576 3
//! d / 755 0 0 0 - -
//! f /a%20b.bin 644 0 0 5 - <base64 hash>
//! l /link 777 0 0 5 =a%20b.bin -
//! end 3
//! ```
//!
//! Header: version, content (`filesystem`/`volume`), chunk size, entry count. Entry: kind (`d` `f`
//! `l` `o` `v`), `/`+path (bytes outside `!`..`~` and `%` as `%XX`), mode (octal), uid, gid, size,
//! symlink target (`-`, or `=`+target encoded like the path), chunk hashes (`-`, or BLAKE3 hashes
//! in unpadded standard base64 joined by `,`). Paths are strictly increasing by bytes; a file or
//! volume has exactly `ceil(size / chunk)` hashes. Anything else is refused with the line and the
//! reason; nothing in it can make the parser panic.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::fmt::Write as _;

/// The chunk size every manifest is hashed with (recorded in the manifest).
pub const CHUNK: u64 = 1 << 20;

/// What kind of dataset the manifest describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    /// A filesystem: a tree of entries.
    Filesystem,
    /// A volume: one [`EntryKind::Volume`] entry, its bytes.
    Volume,
}

/// The kind of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file (content hashed).
    File,
    /// A symbolic link (its target recorded, never followed).
    Symlink,
    /// A fifo, socket or device node (metadata only).
    Other,
    /// The bytes of a volume.
    Volume,
}

impl EntryKind {
    fn letter(self) -> char {
        match self {
            EntryKind::Dir => 'd',
            EntryKind::File => 'f',
            EntryKind::Symlink => 'l',
            EntryKind::Other => 'o',
            EntryKind::Volume => 'v',
        }
    }

    fn from_word(w: &str) -> Option<EntryKind> {
        Some(match w {
            "d" => EntryKind::Dir,
            "f" => EntryKind::File,
            "l" => EntryKind::Symlink,
            "o" => EntryKind::Other,
            "v" => EntryKind::Volume,
            _ => return None,
        })
    }

    /// Whether entries of this kind carry chunk hashes.
    pub fn has_content(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Volume)
    }
}

/// One entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the snapshot's root, as bytes (empty: the root itself or the volume).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes (files, volumes, symlinks); 0 for directories and others.
    pub size: u64,
    /// A symlink's target.
    pub target: Option<Vec<u8>>,
    /// BLAKE3 of each chunk of the content, in order.
    pub chunks: Vec<[u8; 32]>,
}

/// A snapshot's data, as hashes: entries sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Filesystem or volume.
    pub content: Content,
    /// The chunk size the hashes cover.
    pub chunk: u64,
    /// Entries, strictly increasing by path bytes.
    pub entries: Vec<Entry>,
}

/// A wire form refused: which line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest line {line}: {reason}")]
pub struct WireError {
    /// 1-based line number (0: the text as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

const MAGIC: &str = "zsync-manifest";
const VERSION: &str = "1";

impl Manifest {
    /// Total content bytes (files and volumes).
    pub fn bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind.has_content())
            .map(|e| e.size)
            .sum()
    }

    /// The compact wire form (see the module docs).
    pub fn to_wire(&self) -> String {
        let content = match self.content {
            Content::Filesystem => "filesystem",
            Content::Volume => "volume",
        };
        let mut s = format!(
            "{MAGIC} {VERSION} {content} {} {}\n",
            self.chunk,
            self.entries.len()
        );
        for e in &self.entries {
            let _ = write!(
                s,
                "{} /{} {:o} {} {} {} ",
                e.kind.letter(),
                encode(&e.path),
                e.mode,
                e.uid,
                e.gid,
                e.size
            );
            match &e.target {
                Some(t) => {
                    s.push('=');
                    s.push_str(&encode(t));
                }
                None => s.push('-'),
            }
            s.push(' ');
            if e.chunks.is_empty() {
                s.push('-');
            }
            for (i, h) in e.chunks.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&STANDARD_NO_PAD.encode(h));
            }
            s.push('\n');
        }
        let _ = writeln!(s, "end {}", self.entries.len());
        s
    }

    /// Parses and checks a wire form; refuses anything not exactly as [`Manifest::to_wire`] writes.
    pub fn from_wire(text: &[u8]) -> Result<Manifest, WireError> {
        let text = std::str::from_utf8(text).map_err(|e| WireError {
            line: 0,
            reason: format!("not ASCII text ({e})"),
        })?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err(err(0, "truncated (no final newline)"));
        };
        let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let (_, head) = lines.next().ok_or_else(|| err(1, "empty"))?;
        let h: Vec<&str> = head.split(' ').collect();
        let [magic, version, content, chunk, count] = h[..] else {
            return Err(err(1, "not a zsync manifest header"));
        };
        if magic != MAGIC {
            return Err(err(1, "not a zsync manifest header"));
        }
        if version != VERSION {
            return Err(err(1, &format!("manifest version {version:?}, expected 1")));
        }
        let content = match content {
            "filesystem" => Content::Filesystem,
            "volume" => Content::Volume,
            other => return Err(err(1, &format!("unknown content {other:?}"))),
        };
        let chunk: u64 = number(chunk, 10).ok_or_else(|| err(1, "bad chunk size"))?;
        if chunk == 0 {
            return Err(err(1, "chunk size 0"));
        }
        let count: usize = number(count, 10).ok_or_else(|| err(1, "bad entry count"))?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut ended = false;
        for (n, line) in lines {
            if ended {
                return Err(err(n, "text after the end line"));
            }
            if let Some(c) = line.strip_prefix("end ") {
                if number::<usize>(c, 10) != Some(entries.len()) || entries.len() != count {
                    return Err(err(
                        n,
                        &format!("{} entries, the header said {count}", entries.len()),
                    ));
                }
                ended = true;
                continue;
            }
            let e = entry(line, chunk).map_err(|r| err(n, &r))?;
            if let Some(prev) = entries.last() {
                if prev.path >= e.path {
                    return Err(err(n, "paths not strictly increasing"));
                }
            }
            if entries.len() >= count {
                return Err(err(n, &format!("more entries than the header's {count}")));
            }
            entries.push(e);
        }
        if !ended {
            return Err(err(0, "truncated (no end line)"));
        }
        if content == Content::Volume
            && !(entries.len() == 1 && entries[0].kind == EntryKind::Volume)
        {
            return Err(err(0, "a volume manifest holds exactly one volume entry"));
        }
        Ok(Manifest {
            content,
            chunk,
            entries,
        })
    }
}

fn err(line: usize, reason: &str) -> WireError {
    WireError {
        line,
        reason: reason.to_owned(),
    }
}

fn number<T: num::Parse>(s: &str, radix: u32) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    T::parse(s, radix)
}

mod num {
    /// Unsigned integers parsed in a radix.
    pub trait Parse: Sized {
        fn parse(s: &str, radix: u32) -> Option<Self>;
    }
    impl Parse for u32 {
        fn parse(s: &str, radix: u32) -> Option<Self> {
            u32::from_str_radix(s, radix).ok()
        }
    }
    impl Parse for u64 {
        fn parse(s: &str, radix: u32) -> Option<Self> {
            u64::from_str_radix(s, radix).ok()
        }
    }
    impl Parse for usize {
        fn parse(s: &str, radix: u32) -> Option<Self> {
            usize::from_str_radix(s, radix).ok()
        }
    }
}

fn entry(line: &str, chunk: u64) -> Result<Entry, String> {
    let f: Vec<&str> = line.split(' ').collect();
    let [kind, path, mode, uid, gid, size, target, chunks] = f[..] else {
        return Err("not 8 fields".into());
    };
    let kind = EntryKind::from_word(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
    let path = path
        .strip_prefix('/')
        .ok_or("a path starts with /")
        .and_then(|p| decode(p).ok_or("bad path encoding"))?;
    let mode: u32 = number(mode, 8).ok_or("bad mode")?;
    if mode > 0o7777 {
        return Err("bad mode".into());
    }
    let uid = number(uid, 10).ok_or("bad uid")?;
    let gid = number(gid, 10).ok_or("bad gid")?;
    let size: u64 = number(size, 10).ok_or("bad size")?;
    let target = match target {
        "-" => None,
        t => Some(
            t.strip_prefix('=')
                .and_then(decode)
                .ok_or("bad symlink target")?,
        ),
    };
    if target.is_some() != (kind == EntryKind::Symlink) {
        return Err("a symlink, and only a symlink, has a target".into());
    }
    let chunks = if chunks == "-" {
        Vec::new()
    } else {
        chunks
            .split(',')
            .map(|c| {
                STANDARD_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or("bad chunk hash")
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let want = if kind.has_content() {
        size.div_ceil(chunk)
    } else {
        0
    };
    if chunks.len() as u64 != want {
        return Err(format!(
            "{} chunk hashes for {size} bytes, expected {want}",
            chunks.len()
        ));
    }
    Ok(Entry {
        path,
        kind,
        mode,
        uid,
        gid,
        size,
        target,
        chunks,
    })
}

/// Bytes outside `!`..=`~`, and `%` and `,`, as `%XX`.
fn encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if (b'!'..=b'~').contains(&c) && c != b'%' && c != b',' {
            s.push(c as char);
        } else {
            let _ = write!(s, "%{c:02X}");
        }
    }
    s
}

fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                let v = u8::from_str_radix(hex, 16).ok()?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) || encode(&[v]).len() == 1 {
                    return None; // one spelling per byte string
                }
                out.push(v);
                i += 3;
            }
            c if (b'!'..=b'~').contains(&c) && c != b',' => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A path for people: UTF-8 as is, other bytes as `\xNN`.
pub fn display_path(p: &[u8]) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let mut s = String::new();
    for chunk in p.utf8_chunks() {
        s.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Manifest {
        Manifest {
            content: Content::Filesystem,
            chunk: CHUNK,
            entries: vec![
                Entry {
                    path: vec![],
                    kind: EntryKind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    size: 0,
                    target: None,
                    chunks: vec![],
                },
                Entry {
                    path: b"a b%,\xff".to_vec(),
                    kind: EntryKind::File,
                    mode: 0o4644,
                    uid: 1000,
                    gid: 100,
                    size: CHUNK + 1,
                    target: None,
                    chunks: vec![[1; 32], [2; 32]],
                },
                Entry {
                    path: b"l".to_vec(),
                    kind: EntryKind::Symlink,
                    mode: 0o777,
                    uid: 0,
                    gid: 0,
                    size: 3,
                    target: Some(b"../x y".to_vec()),
                    chunks: vec![],
                },
            ],
        }
    }

    #[test]
    fn the_wire_form_round_trips_and_reads_as_documented() {
        let m = sample();
        let w = m.to_wire();
        assert!(w.starts_with("zsync-manifest 1 filesystem 1048576 3\nd / 755 0 0 0 - -\n"));
        assert!(
            w.contains("f /a%20b%25%2C%FF 4644 1000 100 1048577 - "),
            "{w}"
        );
        assert!(w.contains("l /l 777 0 0 3 =../x%20y -\n"), "{w}");
        assert!(w.ends_with("end 3\n"));
        assert_eq!(Manifest::from_wire(w.as_bytes()).unwrap(), m);
        assert_eq!(m.bytes(), CHUNK + 1);
        assert_eq!(display_path(b"a/\xffb"), "a/\\xffb");
    }

    #[test]
    fn garbage_is_refused_with_the_line_and_reason() {
        let w = sample().to_wire();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "truncated"),
            (w.replace("end 3\n", ""), "no end line"),
            (w.replace("end 3", "end 2"), "the header said 3"),
            (w.replace("1048576 3", "1048576 2"), "more entries"),
            (w.replace(" 4644 ", " 9999 "), "bad mode"),
            (w.replace("1048577", "1048576"), "chunk hashes"),
            (w.replace("=../x%20y", "-"), "has a target"),
            (w.replace("/a%20b", "/a%2"), "bad path"),
            (w.replace("/a%20b", "/a%41"), "bad path"),
            (w.replace("/l ", "/ "), "strictly increasing"),
            (w.replace("zsync-manifest 1", "zsync-manifest 2"), "version"),
            (w.replace("filesystem", "volume"), "exactly one volume"),
            (format!("{w}x\n"), "after the end"),
            (w.replace("\nl ", "\nq "), "unknown kind"),
        ];
        for (text, says) in cases {
            let e = Manifest::from_wire(text.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(says), "{e} lacks {says:?}");
        }
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        (
            proptest::collection::vec(any::<u8>(), 0..12),
            0u8..5,
            0u32..0o7777,
            any::<u32>(),
            any::<u32>(),
            0u64..5_000,
            proptest::collection::vec(any::<u8>(), 1..8),
        )
            .prop_map(|(path, k, mode, uid, gid, size, t)| {
                let kind = [
                    EntryKind::Dir,
                    EntryKind::File,
                    EntryKind::Symlink,
                    EntryKind::Other,
                    EntryKind::File,
                ][k as usize];
                let n = if kind.has_content() {
                    size.div_ceil(1000)
                } else {
                    0
                };
                Entry {
                    path,
                    kind,
                    mode,
                    uid,
                    gid,
                    size,
                    target: (kind == EntryKind::Symlink).then_some(t),
                    chunks: (0..n).map(|i| [i as u8; 32]).collect(),
                }
            })
    }

    proptest! {
        #[test]
        fn any_manifest_round_trips(mut entries in proptest::collection::vec(arb_entry(), 0..8)) {
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            entries.dedup_by(|a, b| a.path == b.path);
            let m = Manifest { content: Content::Filesystem, chunk: 1000, entries };
            prop_assert_eq!(Manifest::from_wire(m.to_wire().as_bytes()).unwrap(), m);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Manifest::from_wire(&bytes);
        }

        #[test]
        fn mangled_wire_forms_never_panic(cut in 0usize..400, b in any::<u8>()) {
            let mut w = sample().to_wire().into_bytes();
            let i = cut % w.len();
            w[i] = b;
            let _ = Manifest::from_wire(&w);
            w.truncate(i);
            prop_assert!(Manifest::from_wire(&w).is_err());
        }
    }
}
