//! Hashing a readable view of a snapshot: a directory tree walked without following symlinks or
//! crossing into other mounts (files hashed by a few threads), or a block device read in chunks
//! (chunks spread over the threads).

use super::manifest::{Content, Entry, EntryKind, Manifest};
use std::fs::File;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Why hashing stopped.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: io::Error,
    },
    /// The cancel flag was set (Ctrl-C).
    #[error("interrupted")]
    Cancelled,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> HashError + '_ {
    move |source| HashError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The manifest of the tree at `root` (a directory), files hashed in `chunk`-byte chunks by up to
/// `threads` threads. Entries on another device than `root` (mounts below it) are left out, and
/// so is `.zfs` at the root (ZFS's control directory).
pub fn hash_tree(
    root: &Path,
    chunk: u64,
    threads: usize,
    cancel: &AtomicBool,
) -> Result<Manifest, HashError> {
    let top = std::fs::symlink_metadata(root).map_err(io_err(root))?;
    let dev = top.dev();
    let mut entries = vec![meta_entry(Vec::new(), &top, None)];
    let mut files: Vec<(usize, PathBuf)> = Vec::new();
    let mut dirs = vec![(Vec::<u8>::new(), root.to_path_buf())];
    while let Some((rel, dir)) = dirs.pop() {
        if cancel.load(Ordering::Relaxed) {
            return Err(HashError::Cancelled);
        }
        for item in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let item = item.map_err(io_err(&dir))?;
            let name = item.file_name();
            if rel.is_empty() && name.as_bytes() == b".zfs" {
                continue;
            }
            let full = item.path();
            let md = std::fs::symlink_metadata(&full).map_err(io_err(&full))?;
            if md.dev() != dev {
                continue;
            }
            let mut path = rel.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
            let ft = md.file_type();
            let target = if ft.is_symlink() {
                Some(
                    std::fs::read_link(&full)
                        .map_err(io_err(&full))?
                        .into_os_string()
                        .into_vec(),
                )
            } else {
                None
            };
            let entry = meta_entry(path.clone(), &md, target);
            if ft.is_dir() {
                dirs.push((path, full));
            } else if ft.is_file() {
                files.push((entries.len(), full));
            }
            entries.push(entry);
        }
    }
    // Hash the files: each thread takes the next file.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Hashed>> = Mutex::new(Vec::new());
    let first_error: Mutex<Option<HashError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((at, path)) = files.get(i) else {
                    return;
                };
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                match hash_file(path, chunk, cancel) {
                    Ok((size, chunks)) => lock(&results).push((*at, size, chunks)),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        lock(&first_error).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (at, size, chunks) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        entries[at].size = size;
        entries[at].chunks = chunks;
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Manifest {
        content: Content::Filesystem,
        chunk,
        entries,
    })
}

/// A hashed file: its entry's index, size read, chunk hashes.
type Hashed = (usize, u64, Vec<[u8; 32]>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn meta_entry(path: Vec<u8>, md: &std::fs::Metadata, target: Option<Vec<u8>>) -> Entry {
    let ft = md.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Other
    };
    let size = match kind {
        EntryKind::Symlink => target.as_ref().map_or(0, |t| t.len() as u64),
        // A device node's "size" is its device number: compare that too.
        EntryKind::Other if ft.is_block_device() || ft.is_char_device() => md.rdev(),
        _ => 0,
    };
    Entry {
        path,
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        size,
        target,
        chunks: Vec::new(),
    }
}

/// Opens a regular file without following a symlink.
fn open_nofollow(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Reads `buf.len()` bytes at `offset` or up to end of file; returns how many.
fn read_full(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Size (bytes read) and chunk hashes of one file.
fn hash_file(
    path: &Path,
    chunk: u64,
    cancel: &AtomicBool,
) -> Result<(u64, Vec<[u8; 32]>), HashError> {
    let f = open_nofollow(path).map_err(io_err(path))?;
    let mut buf = vec![0u8; chunk as usize];
    let mut chunks = Vec::new();
    let mut size = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(HashError::Cancelled);
        }
        let n = read_full(&f, &mut buf, size).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        chunks.push(*blake3::hash(&buf[..n]).as_bytes());
        size += n as u64;
        if n < buf.len() {
            break;
        }
    }
    Ok((size, chunks))
}

/// The manifest of a block device (a volume's bytes), its chunks hashed by up to `threads` threads.
pub fn hash_device(
    dev: &Path,
    chunk: u64,
    threads: usize,
    cancel: &AtomicBool,
) -> Result<Manifest, HashError> {
    use std::io::Seek;
    let mut f = File::open(dev).map_err(io_err(dev))?;
    let size = f.seek(io::SeekFrom::End(0)).map_err(io_err(dev))?;
    let n = size.div_ceil(chunk) as usize;
    let mut chunks = vec![[0u8; 32]; n];
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<HashError>> = Mutex::new(None);
    let done: Mutex<Vec<(usize, [u8; 32])>> = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| {
                let mut buf = vec![0u8; chunk as usize];
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n || lock(&first_error).is_some() {
                        break;
                    }
                    if cancel.load(Ordering::Relaxed) {
                        lock(&first_error).get_or_insert(HashError::Cancelled);
                        break;
                    }
                    let at = i as u64 * chunk;
                    let want = chunk.min(size - at) as usize;
                    match read_full(&f, &mut buf[..want], at) {
                        Ok(got) if got == want => {
                            mine.push((i, *blake3::hash(&buf[..want]).as_bytes()))
                        }
                        Ok(got) => {
                            lock(&first_error).get_or_insert(HashError::Io {
                                path: dev.display().to_string(),
                                source: io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!("{got} bytes at offset {at}, expected {want}"),
                                ),
                            });
                            break;
                        }
                        Err(e) => {
                            lock(&first_error).get_or_insert_with(|| io_err(dev)(e));
                            break;
                        }
                    }
                }
                lock(&done).extend(mine);
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (i, h) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
        chunks[i] = h;
    }
    Ok(Manifest {
        content: Content::Volume,
        chunk,
        entries: vec![Entry {
            path: Vec::new(),
            kind: EntryKind::Volume,
            mode: 0,
            uid: 0,
            gid: 0,
            size,
            target: None,
            chunks,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::compare::{first_difference, Difference};

    #[test]
    fn a_tree_is_hashed_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir(r.join("empty")).unwrap();
        std::fs::create_dir(r.join("sub")).unwrap();
        let big: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(r.join("sub/big"), &big).unwrap();
        std::fs::write(r.join("small"), b"hi").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", r.join("link")).unwrap();
        let no = AtomicBool::new(false);
        let m = hash_tree(r, 1 << 20, 3, &no).unwrap();
        let paths: Vec<&[u8]> = m.entries.iter().map(|e| e.path.as_slice()).collect();
        assert_eq!(
            paths,
            [&b""[..], b"empty", b"link", b"small", b"sub", b"sub/big"]
        );
        let link = &m.entries[2];
        assert_eq!(link.kind, EntryKind::Symlink);
        assert_eq!(link.target.as_deref(), Some(&b"/etc/passwd"[..]));
        assert!(link.chunks.is_empty());
        let bigm = &m.entries[5];
        assert_eq!((bigm.size, bigm.chunks.len()), (2_500_000, 3));
        assert_eq!(bigm.chunks[2], *blake3::hash(&big[2 << 20..]).as_bytes());
        // The wire form of a real tree round trips.
        assert_eq!(Manifest::from_wire(m.to_wire().as_bytes()).unwrap(), m);

        // One byte changed at 1.5 MiB: the chunk at 1 MiB differs.
        let mut changed = big.clone();
        changed[3 << 19] ^= 1;
        std::fs::write(r.join("sub/big"), &changed).unwrap();
        let m2 = hash_tree(r, 1 << 20, 1, &no).unwrap();
        assert_eq!(
            first_difference(&m, &m2),
            Some(Difference::Content {
                path: "sub/big".into(),
                offset: 1 << 20,
                chunk: 1 << 20
            })
        );
        // A device-like read of a file gives the same chunks.
        let d = hash_device(&r.join("sub/big"), 1 << 20, 2, &no).unwrap();
        assert_eq!(d.entries[0].chunks, m2.entries[5].chunks);
        // Cancelled: stops with an error.
        let yes = AtomicBool::new(true);
        assert!(matches!(
            hash_tree(r, 1 << 20, 2, &yes),
            Err(HashError::Cancelled)
        ));
    }
}
