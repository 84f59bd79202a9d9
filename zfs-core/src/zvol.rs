//! The block device of a volume, on the volume's host: `/dev/zvol/POOL/VOL`, the link udev makes to
//! `/dev/zdN` some time after the volume appears (a new volume or clone has no device yet when
//! `zfs create` or `zfs clone` returns).
//!
//! Both functions run `readlink -e -- LINK` through a [`Runner`], so they work on a remote host over
//! SSH as on this one (no privileges needed). Without udev the link never appears; neither does it
//! for a volume with `volmode=none`, nor, as named, for one with a space in its name (udev splits
//! link names at spaces).

use crate::error::{Cause, ZfsError};
use crate::name::DatasetName;
use crate::runner::{Cmd, Runner};
use std::time::{Duration, Instant};

/// Where udev puts the volume links.
pub const ZVOL_DIR: &str = "/dev/zvol";

/// A volume's device, once its link exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZvolDevice {
    /// The stable name, `/dev/zvol/POOL/VOL` (what to give a VM).
    pub link: String,
    /// What the link resolves to (`/dev/zd16`).
    pub device: String,
}

/// `/dev/zvol/POOL/VOL`: where the link of `vol` appears.
pub fn device_link(vol: &DatasetName) -> String {
    format!("{ZVOL_DIR}/{vol}")
}

/// The device of `vol` on the runner's host now, or `None` while its link does not exist. A failure
/// to ask (no `readlink`, a lost connection, output that is no `/dev` path) is an error naming the
/// link and the host.
pub fn find_device(runner: &dyn Runner, vol: &DatasetName) -> Result<Option<ZvolDevice>, ZfsError> {
    let link = device_link(vol);
    let cmd = Cmd::new(["readlink", "-e", "--", link.as_str()]);
    let host = runner.host().to_owned();
    let out = runner.run(&cmd).map_err(|source| ZfsError::Io {
        op: "run readlink".into(),
        name: link.clone(),
        host: host.clone(),
        source,
    })?;
    if runner.transport_failed(out.status) {
        return Err(ZfsError::Transport {
            host,
            op: cmd.display(),
            detail: format!("{}: {}", out.status, out.stderr.trim()),
        });
    }
    // readlink -e: status 1 and no output when a component is missing.
    if out.status.code() == Some(1) && out.stdout.is_empty() {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(ZfsError::Command {
            name: link,
            host,
            cause: Cause::Exit {
                argv: cmd.display(),
                status: out.status.code(),
                stderr: out.stderr.trim().to_owned(),
            },
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let device = text.strip_suffix('\n').unwrap_or(&text);
    if !device.starts_with("/dev/") || device.contains('\n') {
        return Err(ZfsError::Parse {
            what: cmd.display(),
            host,
            line: 1,
            detail: format!("{link} resolves to {device:?}, not a device under /dev"),
        });
    }
    Ok(Some(ZvolDevice {
        link,
        device: device.to_owned(),
    }))
}

/// Waits up to `timeout` for the device of `vol` (see [`find_device`]): asks at once, then again
/// after 50 ms, the pause doubling up to 500 ms (at most about 25 commands in 10 s). `None` when the
/// link did not appear in time.
pub fn wait_for_device(
    runner: &dyn Runner,
    vol: &DatasetName,
    timeout: Duration,
) -> Result<Option<ZvolDevice>, ZfsError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    loop {
        if let Some(dev) = find_device(runner, vol)? {
            return Ok(Some(dev));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Exit, LocalRunner, Running};

    /// Runs `readlink` on this machine with `/dev/zvol` replaced by a test directory.
    #[derive(Debug)]
    struct Rooted {
        root: String,
        lost: bool,
    }

    impl Runner for Rooted {
        fn host(&self) -> &str {
            "backup1"
        }
        fn spawn(&self, cmd: &Cmd) -> std::io::Result<Running> {
            let (argv, _) = cmd.stages().next().unwrap();
            assert_eq!(argv[..3], ["readlink", "-e", "--"], "{argv:?}");
            let path = argv[3].replacen(ZVOL_DIR, &self.root, 1);
            if self.lost {
                return LocalRunner.spawn(&Cmd::new(["sh", "-c", "exit 255"]));
            }
            LocalRunner.spawn(&Cmd::new(["readlink", "-e", "--", path.as_str()]))
        }
        fn transport_failed(&self, exit: Exit) -> bool {
            exit == Exit::Code(255)
        }
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("zfs-core-zvol-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("p")).unwrap();
        d
    }

    #[test]
    fn the_link_is_found_once_it_exists() {
        let dir = scratch("find");
        let runner = Rooted {
            root: dir.to_string_lossy().into_owned(),
            lost: false,
        };
        let vol = DatasetName::parse("p/vol-restore").unwrap();
        assert_eq!(device_link(&vol), "/dev/zvol/p/vol-restore");
        assert_eq!(find_device(&runner, &vol).unwrap(), None);
        let t = Instant::now();
        assert_eq!(
            wait_for_device(&runner, &vol, Duration::from_millis(300)).unwrap(),
            None
        );
        assert!(t.elapsed() >= Duration::from_millis(300));
        // The link appears while we wait (to /dev/null, standing in for /dev/zd16).
        let link = dir.join("p/vol-restore");
        let made = link.clone();
        let maker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            std::os::unix::fs::symlink("/dev/null", made).unwrap();
        });
        let got = wait_for_device(&runner, &vol, Duration::from_secs(10)).unwrap();
        maker.join().unwrap();
        assert_eq!(
            got,
            Some(ZvolDevice {
                link: "/dev/zvol/p/vol-restore".into(),
                device: "/dev/null".into()
            })
        );
        // A link to something outside /dev is garbage, refused by name.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(dir.join("zd16"), b"").unwrap();
        std::os::unix::fs::symlink("../zd16", &link).unwrap();
        match find_device(&runner, &vol) {
            Err(e @ ZfsError::Parse { .. }) => {
                assert!(e.to_string().contains("not a device under /dev"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lost_connection_is_a_transport_error() {
        let runner = Rooted {
            root: "/nonexistent".into(),
            lost: true,
        };
        let vol = DatasetName::parse("p/v").unwrap();
        match find_device(&runner, &vol) {
            Err(e @ ZfsError::Transport { .. }) => assert_eq!(e.host(), Some("backup1")),
            other => panic!("{other:?}"),
        }
    }
}
