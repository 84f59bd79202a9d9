//! Loading libzfs_core: `dlopen` of the library (once) and `libzfs_core_init()` (once), and why either
//! failed.

use crate::error::{ZfsError, LOCALHOST};
use libzfs_sys as sys;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// The ZFS control device.
pub const ZFS_DEV: &str = "/dev/zfs";

static LIBRARY: OnceLock<Result<sys::LibZfsCore, String>> = OnceLock::new();
static INIT: OnceLock<Result<(), String>> = OnceLock::new();

/// Loads libzfs_core (and libnvpair) once. Does not touch `/dev/zfs`; enough for nvlist work.
pub fn library() -> Result<&'static sys::LibZfsCore, String> {
    LIBRARY
        .get_or_init(|| {
            // SAFETY: loads the system's libzfs_core; its initialisers are trusted like any system library.
            unsafe { sys::load() }
                .map_err(|e| format!("cannot load {}: {e}", sys::LIBZFS_CORE_SONAME))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Loads the library and runs `libzfs_core_init()` once (it opens `/dev/zfs`). `Err` is a one-line reason
/// why the `Lzc` backend cannot be used here. The library stays initialised for the life of the process.
pub fn probe() -> Result<&'static sys::LibZfsCore, String> {
    let lib = library()?;
    INIT.get_or_init(|| {
        // SAFETY: no arguments; refcounted and thread-safe per libzfs_core.h.
        let rc = unsafe { (lib.libzfs_core_init)() };
        if rc == 0 {
            Ok(())
        } else {
            Err(format!(
                "libzfs_core_init failed: {} (is the zfs module loaded and {ZFS_DEV} accessible?)",
                std::io::Error::from_raw_os_error(rc)
            ))
        }
    })
    .clone()?;
    Ok(lib)
}

/// A fresh descriptor of [`ZFS_DEV`]: `O_EXCL` gives it its own cleanup minor (holds placed with it go
/// when it closes), `O_CLOEXEC` keeps child processes from inheriting (and so prolonging) them.
pub(super) fn open_dev() -> Result<OwnedFd, ZfsError> {
    let dev = c"/dev/zfs";
    // SAFETY: valid path; a fresh descriptor on success.
    let fd = unsafe { libc::open(dev.as_ptr(), libc::O_RDWR | libc::O_EXCL | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(ZfsError::Io {
            op: "open cleanup descriptor".into(),
            name: ZFS_DEV.into(),
            host: LOCALHOST.into(),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: `fd` was just opened and is owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_a_reason_without_zfs() {
        // On a host without the zfs module, probe must fail with a reason, never panic; inside the lab
        // VM it succeeds.
        match probe() {
            Ok(_) => assert!(std::path::Path::new(ZFS_DEV).exists()),
            Err(why) => {
                assert!(!why.is_empty());
                eprintln!("lzc unavailable here: {why}");
            }
        }
    }
}
