//! A readable view of a snapshot on this host: its `.zfs/snapshot/<snap>` directory when the
//! dataset is mounted, else a temporary read-only clone (a filesystem mounted at a temporary
//! directory, a volume read through its `/dev/zvol` device) that [`View::close`] (or dropping the
//! view) destroys. Every ZFS side effect goes through the [`Backend`].

use super::VerifyError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use zfs_core::{Backend, DatasetName, LocalRunner, PropQuery, SnapshotName};

/// Which readable form the view has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable {
    /// A directory holding the snapshot's tree.
    Tree(PathBuf),
    /// A block device holding the volume's bytes.
    Device(PathBuf),
}

/// A snapshot made readable; temporary things are removed by [`View::close`] or on drop.
pub struct View<'a> {
    backend: &'a dyn Backend,
    /// What to read.
    pub readable: Readable,
    /// How it was made readable (for the report): `snapshot directory` or `temporary clone NAME`.
    pub how: String,
    clone: Option<DatasetName>,
    mount_dir: Option<tempfile::TempDir>,
}

/// Clones made by this process (with the pid, keeps names unique).
static SERIAL: AtomicU32 = AtomicU32::new(0);

/// The name of a temporary clone of `snap`: beside its dataset (below it for a pool's root),
/// `<ds>-zsync-verify-<pid>-<n>`; `n` grows until the name is free.
fn clone_name(backend: &dyn Backend, snap: &SnapshotName) -> Result<DatasetName, VerifyError> {
    let ds = snap.dataset();
    loop {
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tag = format!("zsync-verify-{}-{n}", std::process::id());
        let name = if ds.as_str().contains('/') {
            format!("{ds}-{tag}")
        } else {
            format!("{ds}/{tag}")
        };
        let name = DatasetName::parse(&name).map_err(|e| VerifyError::Other {
            host: backend.host().to_owned(),
            snapshot: snap.to_string(),
            detail: format!("no name for a temporary clone ({})", e.rule),
        })?;
        if !backend.exists(name.as_str()).map_err(zfs(backend, snap))? {
            return Ok(name);
        }
    }
}

fn zfs<'b>(
    backend: &'b dyn Backend,
    snap: &'b SnapshotName,
) -> impl Fn(zfs_core::ZfsError) -> VerifyError + 'b {
    move |e| VerifyError::Zfs {
        host: backend.host().to_owned(),
        snapshot: snap.to_string(),
        source: Box::new(e),
    }
}

/// Makes `snap` readable on this host (see the module docs). `device_wait` bounds the wait for a
/// volume clone's device.
pub fn open_view<'a>(
    backend: &'a dyn Backend,
    snap: &SnapshotName,
    device_wait: Duration,
) -> Result<View<'a>, VerifyError> {
    let host = backend.host().to_owned();
    let ds = snap.dataset();
    if !backend.exists(snap.as_str()).map_err(zfs(backend, snap))? {
        return Err(VerifyError::NoSnapshot {
            host,
            snapshot: snap.to_string(),
        });
    }
    let props = backend
        .properties(
            &ds,
            &PropQuery::named(
                &["type", "mounted", "mountpoint", "encryption", "keystatus"],
                false,
            ),
        )
        .map_err(zfs(backend, snap))?;
    let get = |p: &str| {
        props
            .get(&ds)
            .and_then(|m| m.get(p))
            .map_or("-", |v| v.value.as_str())
            .to_owned()
    };
    let volume = get("type") == "volume";
    if !matches!(get("encryption").as_str(), "off" | "-") && get("keystatus") != "available" {
        return Err(VerifyError::Other {
            host,
            snapshot: snap.to_string(),
            detail: "encrypted and its key is not loaded: its data cannot be read (zfs load-key)"
                .into(),
        });
    }
    if !volume && get("mounted") == "yes" {
        let mp = get("mountpoint");
        if mp.starts_with('/') {
            let dir = Path::new(&mp).join(".zfs/snapshot").join(snap.short());
            if std::fs::read_dir(&dir).is_ok() {
                return Ok(View {
                    backend,
                    readable: Readable::Tree(dir.clone()),
                    how: format!("snapshot directory {}", dir.display()),
                    clone: None,
                    mount_dir: None,
                });
            }
        }
    }
    // A temporary read-only clone.
    let name = clone_name(backend, snap)?;
    let mut props = vec![("readonly".to_owned(), "on".to_owned())];
    let mount_dir = if volume {
        props.push(("volmode".into(), "dev".into()));
        None
    } else {
        let dir = tempfile::Builder::new()
            .prefix("zsync-verify-")
            .tempdir()
            .map_err(|e| VerifyError::Other {
                host: host.clone(),
                snapshot: snap.to_string(),
                detail: format!("cannot make a temporary mount directory: {e}"),
            })?;
        props.push(("mountpoint".into(), dir.path().display().to_string()));
        props.push(("canmount".into(), "on".into()));
        props.push(("snapdir".into(), "hidden".into()));
        Some(dir)
    };
    if let Err(e) = backend.clone_snapshot(snap, &name, &props) {
        // Made, then failed (e.g. the mount, or `zfs clone` interrupted): ours (the name was
        // free and carries our pid), so it goes.
        if backend.exists(name.as_str()).unwrap_or(false) {
            let _ = destroy_when_idle(backend, &name);
        }
        return Err(zfs(backend, snap)(e));
    }
    // From here on the view owns the clone: an error drops it, which destroys the clone.
    let mut view = View {
        backend,
        readable: Readable::Tree(PathBuf::new()),
        how: format!("temporary clone {name}"),
        clone: Some(name.clone()),
        mount_dir,
    };
    if volume {
        let dev = zfs_core::zvol::wait_for_device(&LocalRunner, &name, device_wait)
            .map_err(zfs(backend, snap))?
            .ok_or_else(|| VerifyError::Other {
                host: host.clone(),
                snapshot: snap.to_string(),
                detail: format!(
                    "the device {} of the temporary clone did not appear within {} s",
                    zfs_core::zvol::device_link(&name),
                    device_wait.as_secs_f64()
                ),
            })?;
        view.readable = Readable::Device(PathBuf::from(dev.device));
    } else {
        let dir = view
            .mount_dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        // `zfs clone` mounts it; make sure something is mounted there (another device).
        use std::os::unix::fs::MetadataExt;
        let parent = dir.parent().and_then(|p| std::fs::metadata(p).ok());
        let here = std::fs::metadata(&dir).ok();
        if parent.map(|m| m.dev()) == here.map(|m| m.dev()) {
            return Err(VerifyError::Other {
                host,
                snapshot: snap.to_string(),
                detail: format!(
                    "the temporary clone {name} was not mounted at {}",
                    dir.display()
                ),
            });
        }
        view.readable = Readable::Tree(dir);
    }
    Ok(view)
}

impl View<'_> {
    /// Destroys the temporary clone (if any) and removes its mount directory.
    pub fn close(mut self) -> Result<(), VerifyError> {
        self.cleanup()
    }

    fn cleanup(&mut self) -> Result<(), VerifyError> {
        let mut result = Ok(());
        if let Some(name) = self.clone.take() {
            if let Err(e) = destroy_when_idle(self.backend, &name) {
                result = Err(VerifyError::Cleanup {
                    host: self.backend.host().to_owned(),
                    dataset: name.to_string(),
                    source: Box::new(e),
                });
                // Still mounted: leave the directory (removing it would fail anyway).
                if let Some(d) = self.mount_dir.take() {
                    let _ = d.keep();
                }
            }
        }
        if let Some(d) = self.mount_dir.take() {
            let _ = d.close();
        }
        result
    }
}

/// Destroys the temporary clone `name`; while it is busy (udev still probing a new volume's
/// device, which takes a moment after it appears), tries again for up to 10 s.
pub fn destroy_when_idle(
    backend: &dyn Backend,
    name: &DatasetName,
) -> Result<(), zfs_core::ZfsError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_millis(100);
    loop {
        match backend.destroy_dataset(name, false) {
            Err(zfs_core::ZfsError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        let _ = self.cleanup();
    }
}
