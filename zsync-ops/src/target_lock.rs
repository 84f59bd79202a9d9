//! The per-target lock: two zsync runs on this machine (`zsync sync`, `zsync run` jobs, syncoid
//! mode) never receive into the same target dataset at the same time.
//!
//! One lock file per (target host, dataset) under a directory ([`DEFAULT_TARGET_LOCK_DIR`]),
//! locked with `flock(2)` (so a crashed run leaves no stale lock). A run into `pool/a/b` takes
//! the lock of `pool/a/b` exclusively and the locks of its ancestors `pool` and `pool/a` shared:
//! a recursive run into `pool/a` (exclusive on `pool/a`) and a run into its child `pool/a/b`
//! (shared on `pool/a`) exclude each other, while runs into siblings go on side by side. Every
//! run takes its locks root first, in one total order (a name sorts before its descendants), so
//! runs waiting for each other cannot deadlock; and every wait is bounded anyway.
//!
//! ```
//! use std::time::Duration;
//! use zsync_ops::target_lock::{TargetLock, TargetLockError};
//!
//! let dir = std::env::temp_dir().join(format!("zsync-target-doc-{}", std::process::id()));
//! let tree = TargetLock::acquire(&dir, None, "backup/host", Duration::ZERO).unwrap();
//! // A second run into a child of the tree is refused while the first one holds it.
//! match TargetLock::acquire(&dir, None, "backup/host/home", Duration::ZERO) {
//!     Err(TargetLockError::Busy { locked, .. }) => assert_eq!(locked, "backup/host"),
//!     other => panic!("{other:?}"),
//! }
//! drop(tree);
//! TargetLock::acquire(&dir, None, "backup/host/home", Duration::ZERO).unwrap();
//! # let _ = std::fs::remove_dir_all(dir);
//! ```

use crate::lock::{flock_within, record_holder};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default directory of the target locks.
pub const DEFAULT_TARGET_LOCK_DIR: &str = "/run/zsync/targets";

/// Encoded lock names longer than this are cut and end in a hash of the whole name (a file name
/// has at most 255 bytes; a dataset name alone may have 255).
const MAX_NAME: usize = 200;

/// The locks of one target: exclusive on the dataset, shared on its ancestors; released on drop.
#[derive(Debug)]
pub struct TargetLock {
    /// The dataset's lock file (exclusive), emptied of its holder line on drop.
    own: File,
    /// The ancestors' lock files (shared).
    _ancestors: Vec<File>,
    path: PathBuf,
}

/// Why a target lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum TargetLockError {
    /// Another run held the target (or a dataset above or below it) for the whole wait.
    #[error(
        "another zsync is receiving into {}{} (gave up after {:.1} s)",
        which(.dataset, .locked),
        holder_note(.holder),
        .waited.as_secs_f64()
    )]
    Busy {
        /// The target dataset asked for.
        dataset: String,
        /// The dataset whose lock was busy: the target itself, or an ancestor a recursive run
        /// holds.
        locked: String,
        /// How long we waited.
        waited: Duration,
        /// The holder ("pid N: argv"), when it is known and still alive.
        holder: Option<String>,
    },
    /// A lock file could not be created or locked.
    #[error("cannot use target lock file {}: {source}", .path.display())]
    Io {
        /// Lock file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// `it` when the target itself was busy, else the busy ancestor or descendant's name.
fn which(dataset: &str, locked: &str) -> String {
    match dataset == locked {
        true => "it".to_string(),
        false => locked.to_string(),
    }
}

/// ` (pid 12: zsync sync a b)` when the holder is known; ` or into a dataset below it` when not
/// (a run into a child holds only a shared lock and writes no holder line).
fn holder_note(holder: &Option<String>) -> String {
    match holder {
        Some(h) => format!(" ({h})"),
        None => " or into a dataset below it".to_string(),
    }
}

/// The lock file name of `dataset` on `host` (`None`: this machine): `HOST+DATASET.lock` with
/// every byte outside `[A-Za-z0-9._-]` percent-encoded (so `/`, `:`, `@`, `+` and spaces cannot
/// make two targets share a name); `localhost`, `127.0.0.1` and `::1` count as this machine. A
/// name longer than 200 bytes keeps its first 160 bytes and ends in a hash of the whole.
pub fn lock_name(host: Option<&str>, dataset: &str) -> String {
    let host = match host {
        None | Some("localhost" | "127.0.0.1" | "::1") => "local",
        Some(h) => h,
    };
    let name = format!("{}+{}", encode(&host.to_ascii_lowercase()), encode(dataset));
    if name.len() <= MAX_NAME {
        return format!("{name}.lock");
    }
    let hash = blake3::hash(name.as_bytes()).to_hex();
    // The encoding is ASCII: any byte offset is a char boundary.
    format!("{}~{}.lock", &name[..160], &hash[..32])
}

/// Percent-encodes every byte outside `[A-Za-z0-9._-]`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `pool`, `pool/a`, ..., `dataset`: the dataset's ancestors, root first, then itself.
fn chain(dataset: &str) -> Vec<&str> {
    let mut out: Vec<&str> = dataset
        .match_indices('/')
        .map(|(i, _)| &dataset[..i])
        .collect();
    out.push(dataset);
    out
}

impl TargetLock {
    /// Locks `dataset` on `host` (`None`: this machine) in `dir` (created if needed): the
    /// ancestors shared, root first, then the dataset exclusively, all within `wait`.
    pub fn acquire(
        dir: &Path,
        host: Option<&str>,
        dataset: &str,
        wait: Duration,
    ) -> Result<TargetLock, TargetLockError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TargetLockError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let start = Instant::now();
        let links = chain(dataset);
        let mut ancestors = Vec::with_capacity(links.len() - 1);
        for (i, name) in links.iter().enumerate() {
            let path = dir.join(lock_name(host, name));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err(&path))?;
            let last = i + 1 == links.len();
            let op = if last { libc::LOCK_EX } else { libc::LOCK_SH };
            let left = wait.saturating_sub(start.elapsed());
            if !flock_within(&file, op, left).map_err(io_err(&path))? {
                return Err(TargetLockError::Busy {
                    dataset: dataset.to_string(),
                    locked: name.to_string(),
                    waited: start.elapsed(),
                    holder: live_holder(&path),
                });
            }
            if last {
                record_holder(&file);
                return Ok(TargetLock {
                    own: file,
                    _ancestors: ancestors,
                    path,
                });
            }
            ancestors.push(file);
        }
        unreachable!("chain() always ends with the dataset itself")
    }

    /// The target's own lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TargetLock {
    /// Empties the holder line (a later waiter that meets only shared holders must not name a
    /// run that has ended); the kernel drops the locks when the files close.
    fn drop(&mut self) {
        let _ = self.own.set_len(0);
    }
}

/// The holder line of the lock file at `path` when its pid is still running (a run that died
/// leaves its line behind).
fn live_holder(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim().to_string();
    let pid: u32 = line.strip_prefix("pid ")?.split(':').next()?.parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zsync-target-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn names_are_distinct_for_distinct_targets() {
        assert_eq!(lock_name(None, "tank/a b"), "local+tank%2Fa%20b.lock");
        assert_eq!(
            lock_name(Some("localhost"), "tank/a"),
            lock_name(None, "tank/a")
        );
        assert_eq!(
            lock_name(Some("Backup.example"), "tank/a:b"),
            "backup.example+tank%2Fa%3Ab.lock"
        );
        // A host with a `+` cannot collide with a dataset after the separator.
        assert_ne!(lock_name(Some("h+x"), "p"), lock_name(Some("h"), "x+p"));
        assert_ne!(lock_name(None, "p/a"), lock_name(None, "p%2Fa"));
        let long = format!("tank/{}", "x".repeat(250));
        let n = lock_name(None, &long);
        assert!(n.len() < 255, "{n}");
        assert_ne!(n, lock_name(None, &format!("tank/{}y", "x".repeat(249))));
    }

    #[test]
    fn ancestors_come_root_first() {
        assert_eq!(chain("p"), vec!["p"]);
        assert_eq!(chain("p/a/b"), vec!["p", "p/a", "p/a/b"]);
    }

    #[test]
    fn same_target_is_busy_with_the_holder_named() {
        let d = dir("same");
        let first = TargetLock::acquire(&d, Some("bk"), "p/a", Duration::ZERO).unwrap();
        match TargetLock::acquire(&d, Some("bk"), "p/a", Duration::from_millis(120)) {
            Err(e @ TargetLockError::Busy { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with(&format!(
                        "another zsync is receiving into it (pid {}:",
                        std::process::id()
                    )),
                    "{msg}"
                );
                assert!(msg.ends_with("(gave up after 0.1 s)"), "{msg}");
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        // Another host's dataset of the same name is another target.
        let _other = TargetLock::acquire(&d, Some("bk2"), "p/a", Duration::ZERO).unwrap();
        drop(first);
        TargetLock::acquire(&d, Some("bk"), "p/a", Duration::ZERO).unwrap();
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn nested_targets_exclude_each_other_and_siblings_do_not() {
        let d = dir("nested");
        let child = TargetLock::acquire(&d, None, "p/a/b", Duration::ZERO).unwrap();
        let _sibling = TargetLock::acquire(&d, None, "p/a/c", Duration::ZERO).unwrap();
        match TargetLock::acquire(&d, None, "p/a", Duration::ZERO) {
            Err(TargetLockError::Busy { locked, holder, .. }) => {
                assert_eq!(locked, "p/a");
                assert_eq!(holder, None, "shared holders write no line");
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(child);
        drop(_sibling);
        let parent = TargetLock::acquire(&d, None, "p/a", Duration::ZERO).unwrap();
        match TargetLock::acquire(&d, None, "p/a/b", Duration::ZERO) {
            Err(e @ TargetLockError::Busy { .. }) => {
                assert!(e
                    .to_string()
                    .starts_with("another zsync is receiving into p/a (pid "))
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(parent);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_dead_holder_is_not_named() {
        let d = dir("dead");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join(lock_name(None, "p"));
        std::fs::write(&path, "pid 999999999: zsync sync\n").unwrap();
        assert_eq!(live_holder(&path), None);
        std::fs::write(&path, format!("pid {}: me\n", std::process::id())).unwrap();
        assert!(live_holder(&path).is_some());
        let _ = std::fs::remove_dir_all(d);
    }
}
