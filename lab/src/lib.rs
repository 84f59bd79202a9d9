#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod data;
pub mod parse;
pub mod release;
pub mod ssh;
pub mod tally;

pub use release::{release, Release};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Default size of a test pool's backing file (sparse; only written blocks take space).
pub const DEFAULT_POOL_SIZE: u64 = 256 << 20;

/// Smallest file vdev OpenZFS accepts.
pub const MIN_POOL_SIZE: u64 = 64 << 20;

/// Why a lab helper failed.
#[derive(thiserror::Error)]
pub enum LabError {
    /// Not inside the lab VM (`ZSYNC_LAB` is not `1`).
    #[error(
        "not inside the lab VM (ZSYNC_LAB is not 1); run lab tests with `cargo xtask lab test`"
    )]
    NotInLab,
    /// A required environment variable is missing.
    #[error("{0} is not set; run lab tests with `cargo xtask lab test`")]
    MissingEnv(&'static str),
    /// A file operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What failed ("cannot write", ...).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command could not start or exited non-zero.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// How it ended ("exit status: 1", "not started").
        status: String,
        /// Its stderr, trimmed.
        stderr: String,
    },
    /// A bad argument to a helper.
    #[error("{0}")]
    Invalid(String),
    /// ZFS printed something a helper cannot read (the message names the command and the text).
    #[error("{0}")]
    Unexpected(String),
}

// Tests return `Result<(), LabError>`; libtest prints errors with Debug, so make it readable.
impl fmt::Debug for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// True inside the lab VM.
pub fn in_lab() -> bool {
    std::env::var("ZSYNC_LAB").is_ok_and(|v| v == "1")
}

/// Panics with a clear message unless running inside the lab VM.
pub fn require_lab() {
    if !in_lab() {
        panic!("{}", LabError::NotInLab);
    }
}

/// The lab's writable scratch directory (`$ZSYNC_LAB_DIR`).
pub fn lab_dir() -> Result<PathBuf, LabError> {
    if !in_lab() {
        return Err(LabError::NotInLab);
    }
    std::env::var_os("ZSYNC_LAB_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .ok_or(LabError::MissingEnv("ZSYNC_LAB_DIR"))
}

/// The `zsync` binary built for this lab run (`$ZSYNC_BIN`).
pub fn zsync_bin() -> Result<PathBuf, LabError> {
    std::env::var_os("ZSYNC_BIN")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .ok_or(LabError::MissingEnv("ZSYNC_BIN"))
}

/// Runs `zfs ARGS` with `LC_ALL=C`; returns stdout.
pub fn zfs(args: &[&str]) -> Result<String, LabError> {
    run("zfs", args)
}

/// Runs `zpool ARGS` with `LC_ALL=C`; returns stdout.
pub fn zpool(args: &[&str]) -> Result<String, LabError> {
    run("zpool", args)
}

fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let mut cmd = Command::new(program);
    cmd.args(args).env("LC_ALL", "C");
    output(&mut cmd)
}

/// Runs `cmd` with stdin from /dev/null; returns its stdout, or an error with the command line
/// and its stderr unless it exits 0.
pub(crate) fn output(cmd: &mut Command) -> Result<String, LabError> {
    let command = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            command: command.clone(),
            status: "not started".into(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `tag` cut to `[A-Za-z0-9_-]` (others become `_`), 24 characters at most: safe in pool names,
/// file names and `ssh_config` aliases.
pub(crate) fn safe_tag(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect()
}

/// A valid, unique pool name: `zl<pid>-<counter>-<tag>` (tag cut by [`safe_tag`]).
fn pool_name(pid: u32, n: u32, tag: &str) -> String {
    let tag = safe_tag(tag);
    if tag.is_empty() {
        format!("zl{pid}-{n}")
    } else {
        format!("zl{pid}-{n}-{tag}")
    }
}

/// A ZFS pool on a sparse file in `$ZSYNC_LAB_DIR`, destroyed on drop.
#[derive(Debug)]
pub struct TestPool {
    name: String,
    file: PathBuf,
    mountpoint: PathBuf,
    /// Further vdev files (the second side of a mirror).
    more_files: Vec<PathBuf>,
}

impl TestPool {
    /// Creates a pool of [`DEFAULT_POOL_SIZE`] named after `tag`.
    pub fn new(tag: &str) -> Result<TestPool, LabError> {
        TestPool::with_size(tag, DEFAULT_POOL_SIZE)
    }

    /// Creates a pool on a sparse file of `bytes` (at least [`MIN_POOL_SIZE`]).
    pub fn with_size(tag: &str, bytes: u64) -> Result<TestPool, LabError> {
        TestPool::create(tag, bytes, false)
    }

    /// Creates a pool of one two-way mirror of sparse files of `bytes` each ([`TestPool::files`]).
    pub fn mirror(tag: &str, bytes: u64) -> Result<TestPool, LabError> {
        TestPool::create(tag, bytes, true)
    }

    fn create(tag: &str, bytes: u64, mirror: bool) -> Result<TestPool, LabError> {
        if bytes < MIN_POOL_SIZE {
            return Err(LabError::Invalid(format!(
                "test pool size {bytes} is below the ZFS minimum of {MIN_POOL_SIZE} bytes"
            )));
        }
        let dir = lab_dir()?;
        let name = pool_name(
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            tag,
        );
        let file = dir.join(format!("{name}.img"));
        let mountpoint = dir.join("mnt").join(&name);
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| LabError::Io { what, path, source }
        };
        let more_files = if mirror {
            vec![dir.join(format!("{name}-b.img"))]
        } else {
            Vec::new()
        };
        for f in std::iter::once(&file).chain(&more_files) {
            let h = fs::File::create(f).map_err(io("cannot create pool file", f))?;
            h.set_len(bytes).map_err(io("cannot size pool file", f))?;
        }
        let mp = mountpoint.to_string_lossy();
        let mut args = vec!["create", "-o", "cachefile=none", "-m", &mp, &name];
        if mirror {
            args.push("mirror");
        }
        let paths: Vec<String> = std::iter::once(&file)
            .chain(&more_files)
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        args.extend(paths.iter().map(String::as_str));
        if let Err(e) = zpool(&args) {
            for f in std::iter::once(&file).chain(&more_files) {
                let _ = fs::remove_file(f);
            }
            return Err(e);
        }
        Ok(TestPool {
            name,
            file,
            mountpoint,
            more_files,
        })
    }

    /// The pool name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"<pool>/<rel>"`.
    pub fn dataset(&self, rel: &str) -> String {
        format!("{}/{rel}", self.name)
    }

    /// The pool's root mountpoint (child datasets mount below it by default).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// The sparse file backing the pool (the first side of a mirror).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Every vdev file: one, or two for [`TestPool::mirror`].
    pub fn files(&self) -> Vec<&Path> {
        std::iter::once(self.file.as_path())
            .chain(self.more_files.iter().map(PathBuf::as_path))
            .collect()
    }

    /// Runs `zfs ARGS`; returns stdout.
    pub fn zfs(&self, args: &[&str]) -> Result<String, LabError> {
        zfs(args)
    }

    /// Runs `zpool ARGS`; returns stdout.
    pub fn zpool(&self, args: &[&str]) -> Result<String, LabError> {
        zpool(args)
    }

    /// `zfs get -Hp -o value PROP NAME`, trimmed (`-` when the property has no value).
    pub fn get(&self, prop: &str, name: &str) -> Result<String, LabError> {
        let out = zfs(&["get", "-Hp", "-o", "value", prop, name])?;
        Ok(parse::value(&out).to_owned())
    }

    /// [`TestPool::get`] of a numeric property (`used`, `createtxg`, ...).
    pub fn get_u64(&self, prop: &str, name: &str) -> Result<u64, LabError> {
        let v = self.get(prop, name)?;
        v.parse().map_err(|_| {
            LabError::Unexpected(format!("zfs get {prop} {name}: {v:?} is not a number"))
        })
    }

    /// The guid of a dataset, snapshot or bookmark, as `zfs get -Hp` prints it (decimal).
    pub fn guid(&self, name: &str) -> Result<String, LabError> {
        self.get("guid", name)
    }

    /// Whether a dataset, snapshot or bookmark `name` exists (`zfs list -t all NAME` succeeds).
    pub fn exists(&self, name: &str) -> bool {
        zfs(&["list", "-H", "-t", "all", "-o", "name", name]).is_ok()
    }

    /// The tags of the user holds on snapshot `snap` (`zfs holds -H`).
    pub fn holds(&self, snap: &str) -> Result<BTreeSet<String>, LabError> {
        Ok(parse::hold_tags(&zfs(&["holds", "-H", snap])?))
    }

    /// `(short name, guid)` of the snapshots of `dataset` itself (not its children), oldest
    /// (lowest createtxg) first. Fails when `dataset` does not exist.
    pub fn snapshots(&self, dataset: &str) -> Result<Vec<(String, String)>, LabError> {
        let out = zfs(&[
            "list",
            "-H",
            "-p",
            "-t",
            "snapshot",
            "-d",
            "1",
            "-s",
            "createtxg",
            "-o",
            "name,guid",
            dataset,
        ])?;
        Ok(parse::snapshot_guids(&out))
    }

    /// Short names of the snapshots of `dataset`, oldest first (see [`TestPool::snapshots`]).
    pub fn snapshot_names(&self, dataset: &str) -> Result<Vec<String>, LabError> {
        Ok(self
            .snapshots(dataset)?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    /// Short name → guid of the snapshots of `dataset` (see [`TestPool::snapshots`]): two
    /// datasets hold the same snapshots exactly when their maps are equal.
    pub fn snapshot_guids(&self, dataset: &str) -> Result<BTreeMap<String, String>, LabError> {
        Ok(self.snapshots(dataset)?.into_iter().collect())
    }

    fn path(&self, rel: &str) -> Result<PathBuf, LabError> {
        let rel = Path::new(rel);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(LabError::Invalid(format!(
                "{} must be relative to the pool mountpoint, without `..`",
                rel.display()
            )));
        }
        Ok(self.mountpoint.join(rel))
    }

    /// The key file of [`TestPool::create_encrypted`]: beside the pool's file, removed with the pool.
    pub fn key_file(&self) -> PathBuf {
        self.file.with_extension("key")
    }

    /// Creates `<pool>/<rel>` as an encryption root (`encryption=on`, a passphrase in
    /// [`TestPool::key_file`], `keylocation=file://…`) plus `extra` `zfs create` arguments (e.g.
    /// `["-o", "compression=zle"]`); returns the key file's path.
    pub fn create_encrypted(&self, rel: &str, extra: &[&str]) -> Result<PathBuf, LabError> {
        let key = self.key_file();
        fs::write(&key, "correct horse battery").map_err(|source| LabError::Io {
            what: "cannot write key file",
            path: key.clone(),
            source,
        })?;
        let location = format!("keylocation=file://{}", key.display());
        let mut args = vec![
            "create",
            "-o",
            "encryption=on",
            "-o",
            "keyformat=passphrase",
            "-o",
            &location,
        ];
        args.extend_from_slice(extra);
        let ds = self.dataset(rel);
        args.push(&ds);
        self.zfs(&args)?;
        Ok(key)
    }

    /// Writes `bytes` to `rel` (relative to the pool's mountpoint, e.g. `"data/file.bin"`).
    pub fn write_file(&self, rel: &str, bytes: &[u8]) -> Result<(), LabError> {
        let path = self.path(rel)?;
        fs::write(&path, bytes).map_err(|source| LabError::Io {
            what: "cannot write",
            path,
            source,
        })
    }

    /// Reads `rel` (relative to the pool's mountpoint).
    pub fn read_file(&self, rel: &str) -> Result<Vec<u8>, LabError> {
        let path = self.path(rel)?;
        fs::read(&path).map_err(|source| LabError::Io {
            what: "cannot read",
            path,
            source,
        })
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        let mut last = None;
        for attempt in 0..5 {
            match zpool(&["destroy", "-f", &self.name]) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => {
                    // Gone already (e.g. the test destroyed it): nothing left to do.
                    if zpool(&["list", "-H", "-o", "name", &self.name]).is_err() {
                        last = None;
                        break;
                    }
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(500 << attempt));
                }
            }
        }
        if let Some(e) = last {
            eprintln!("zsync-lab: could not destroy test pool {}: {e}", self.name);
            return; // keep the file: the pool still uses it
        }
        let _ = fs::remove_file(&self.file);
        let _ = fs::remove_file(self.key_file());
        for f in &self.more_files {
            let _ = fs::remove_file(f);
        }
        let _ = fs::remove_dir(&self.mountpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names_are_valid_and_distinct() {
        assert_eq!(pool_name(42, 0, "send recv/1"), "zl42-0-send_recv_1");
        assert_eq!(pool_name(42, 1, ""), "zl42-1");
        let long = pool_name(1, 2, &"x".repeat(100));
        assert_eq!(long.len(), "zl1-2-".len() + 24);
        assert_ne!(pool_name(7, 1, "a"), pool_name(7, 2, "a"));
    }

    #[test]
    fn helpers_refuse_outside_the_lab() {
        if in_lab() {
            return;
        }
        assert!(matches!(TestPool::new("x"), Err(LabError::NotInLab)));
        let err = std::panic::catch_unwind(require_lab).unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("cargo xtask lab test"), "{msg}");
    }

    #[test]
    fn tiny_pools_are_refused() {
        assert!(matches!(
            TestPool::with_size("x", 1 << 20),
            Err(LabError::Invalid(_))
        ));
    }
}
