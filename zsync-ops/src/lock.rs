//! The run lock: an exclusive `flock(2)` on a file, so two overlapping `zsync cron` runs (or a
//! `zsync cron` and a `sanoid --cron` symlink run) never decide from the same state and never
//! duplicate snapshots. The kernel drops the lock when the process dies, so a crash leaves no
//! stale lock behind (unlike sanoid's pid files).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default lock file.
pub const DEFAULT_LOCK_FILE: &str = "/run/zsync/zsync.lock";
/// Default time to wait for a busy lock.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// A held lock; released on drop (or when the process exits).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held it for the whole wait.
    #[error(
        "another zsync run holds the lock {} (gave up after {:.1} s{})",
        .path.display(),
        .waited.as_secs_f64(),
        holder_note(.holder)
    )]
    Busy {
        /// Lock file.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
        /// What the holder wrote into the file (its pid and command), if readable.
        holder: Option<String>,
    },
    /// The file could not be created or locked.
    #[error("cannot use lock file {}: {source}", .path.display())]
    Io {
        /// Lock file.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// `; holder: pid 12: zsync cron` when the holder is known.
fn holder_note(holder: &Option<String>) -> String {
    holder
        .as_ref()
        .map(|h| format!("; holder: {h}"))
        .unwrap_or_default()
}

impl RunLock {
    /// Takes the lock at `path`, creating the file (and its directory) if needed; retries until
    /// `wait` has passed.
    pub fn acquire(path: &Path, wait: Duration) -> Result<RunLock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(io_err)?;
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err)?;
        if !flock_within(&file, libc::LOCK_EX, wait).map_err(io_err)? {
            let holder = std::fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            return Err(LockError::Busy {
                path: path.to_path_buf(),
                waited: wait,
                holder,
            });
        }
        let mut lock = RunLock {
            file,
            path: path.to_path_buf(),
        };
        lock.record_holder();
        Ok(lock)
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes "pid N: argv" into the file, for the message a waiting run prints.
    fn record_holder(&mut self) {
        record_holder(&self.file);
    }
}

/// Replaces `file`'s content with "pid N: argv" of this process (best effort).
pub(crate) fn record_holder(file: &File) {
    // args_os: an argument that is not UTF-8 (a hostile --lock-file) must not panic here.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let text = format!("pid {}: {}\n", std::process::id(), args.join(" "));
    let _ = file.set_len(0);
    let mut f = file;
    let _ = f.write_all(text.as_bytes());
}

/// Takes `flock(op | LOCK_NB)` on `file` (`op`: `LOCK_EX` or `LOCK_SH`), retrying every 50 ms
/// until `wait` has passed: `Ok(true)` when taken, `Ok(false)` when still busy after `wait`.
pub(crate) fn flock_within(file: &File, op: libc::c_int, wait: Duration) -> io::Result<bool> {
    let start = Instant::now();
    loop {
        // SAFETY: flock on a descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => {}
            _ => return Err(err),
        }
        let waited = start.elapsed();
        if waited >= wait {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50).min(wait - waited));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_in_same_process_times_out() {
        let dir = std::env::temp_dir().join(format!("zsync-lock-unit-{}", std::process::id()));
        let path = dir.join("sub/zsync.lock");
        let first = RunLock::acquire(&path, Duration::ZERO).unwrap();
        // flock locks belong to the open file description: a second open conflicts.
        match RunLock::acquire(&path, Duration::from_millis(100)) {
            Err(LockError::Busy { holder, .. }) => {
                assert!(holder
                    .unwrap()
                    .contains(&format!("pid {}", std::process::id())))
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(&path, Duration::ZERO).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn errors_name_the_lock_file_and_the_holder() {
        let busy = |holder: Option<&str>| LockError::Busy {
            path: PathBuf::from("/run/zsync/zsync.lock"),
            waited: Duration::from_millis(300),
            holder: holder.map(str::to_string),
        };
        assert_eq!(
            busy(Some("pid 7: zsync cron")).to_string(),
            "another zsync run holds the lock /run/zsync/zsync.lock (gave up after 0.3 s; holder: pid 7: zsync cron)"
        );
        assert_eq!(
            busy(None).to_string(),
            "another zsync run holds the lock /run/zsync/zsync.lock (gave up after 0.3 s)"
        );
        let io = LockError::Io {
            path: PathBuf::from("/nope/zsync.lock"),
            source: io::Error::from_raw_os_error(libc::EACCES),
        };
        assert!(io
            .to_string()
            .starts_with("cannot use lock file /nope/zsync.lock: Permission denied"));
    }
}
