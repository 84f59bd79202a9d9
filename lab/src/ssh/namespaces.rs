//! Starting processes in a backup host's namespaces: a new mount namespace with the host's user
//! database bind-mounted over `/etc` (and the host's network namespace) for its sshd, or joining
//! those of a running sshd for commands run "on the host".

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::LabError;

/// Makes every mount of the VM's main mount namespace shared (recursively), once per process, as
/// systemd does on a normal system. Host namespaces copied from it then see the pools the test
/// creates later, and the main namespace sees datasets a backup host mounts (`zfs receive`), so
/// one kernel's ZFS mounts look the same everywhere. The host's `/etc` alone is made private.
pub fn share_root() -> Result<(), LabError> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let root = c"/";
        // SAFETY: valid NUL-terminated strings; null fstype/data are allowed for a propagation change.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SHARED,
                std::ptr::null(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error().to_string())
        }
    })
    .clone()
    .map_err(|e| {
        LabError::Invalid(format!(
            "cannot make / shared (mount --make-rshared /): {e}"
        ))
    })
}

/// Sets `cmd` up to start in a new mount namespace where `/etc` is private and each
/// `(file, target)` is bind-mounted over `target`, joining the network namespace `netns`
/// (a `/run/netns/NAME` file) first if given. Each path in `hide` gets `/dev/null` bound over it,
/// after the namespace's mounts are made slaves of the VM's (so the hiding stays inside).
pub fn new_namespace(
    cmd: &mut Command,
    netns: Option<&Path>,
    binds: &[(PathBuf, PathBuf)],
    hide: &[PathBuf],
) -> Result<(), LabError> {
    let netns = netns.map(open).transpose()?;
    let binds: Vec<(CString, CString)> = binds
        .iter()
        .map(|(src, dst)| Ok((c_path(src)?, c_path(dst)?)))
        .collect::<Result<_, LabError>>()?;
    let hide: Vec<CString> = hide.iter().map(|p| c_path(p)).collect::<Result<_, _>>()?;
    let (root, null) = (c"/", c"/dev/null");
    let etc = c"/etc";
    // SAFETY: the closure only makes syscalls (setns, unshare, mount) on data prepared before
    // the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(net) = &netns {
                check(libc::setns(net.as_raw_fd(), libc::CLONE_NEWNET))?;
            }
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                std::ptr::null(),
                etc.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            for (src, dst) in &binds {
                check(libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            if !hide.is_empty() {
                check(libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ))?;
            }
            for path in &hide {
                check(libc::mount(
                    null.as_ptr(),
                    path.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
            }
            Ok(())
        });
    }
    Ok(())
}

/// Sets `cmd` up to start in the network and mount namespaces of process `pid`.
pub fn join(cmd: &mut Command, pid: i32) -> Result<(), LabError> {
    let net = open(Path::new(&format!("/proc/{pid}/ns/net")))?;
    let mnt = open(Path::new(&format!("/proc/{pid}/ns/mnt")))?;
    // SAFETY: as in `new_namespace`: only setns on descriptors opened before the fork.
    unsafe {
        cmd.pre_exec(move || {
            check(libc::setns(net.as_raw_fd(), libc::CLONE_NEWNET))?;
            check(libc::setns(mnt.as_raw_fd(), libc::CLONE_NEWNS))
        });
    }
    Ok(())
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn open(path: &Path) -> Result<File, LabError> {
    File::open(path).map_err(|source| LabError::Io {
        what: "cannot open namespace",
        path: path.to_path_buf(),
        source,
    })
}

fn c_path(path: &Path) -> Result<CString, LabError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| LabError::Invalid(format!("path {} holds a NUL byte", path.display())))
}
