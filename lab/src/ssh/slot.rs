//! A backup host's slot: a small number unique among the hosts alive in this lab VM (it picks the
//! host's addresses and namespace name), and the host's scratch directory under the lab run dir.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::netns::SLOTS;
use crate::LabError;

/// A taken slot; released (and the scratch dir removed, unless the thread is panicking) on drop.
#[derive(Debug)]
pub struct Slot {
    /// The number.
    pub number: u32,
    marker: PathBuf,
    /// `<lab dir>/ssh/<number>-<name>`: keys, configs, logs, the user's home.
    pub scratch: PathBuf,
}

impl Slot {
    /// Takes the lowest free slot: `<lab dir>/ssh/slots/N` is created atomically (so hosts in
    /// parallel tests and test binaries never share one), skipping numbers whose network
    /// namespace still exists (left by a killed test process).
    pub fn take(lab_dir: &Path, name: &str) -> Result<Slot, LabError> {
        let slots = lab_dir.join("ssh").join("slots");
        fs::create_dir_all(&slots).map_err(io("cannot create", &slots))?;
        for number in 0..SLOTS {
            if Path::new(&format!("/run/netns/zlab-ssh-{number}")).exists() {
                continue;
            }
            let marker = slots.join(number.to_string());
            match fs::create_dir(&marker) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("cannot create", &marker)(e)),
            }
            let scratch = lab_dir.join("ssh").join(format!("{number}-{name}"));
            let slot = Slot {
                number,
                marker,
                scratch,
            };
            let _ = fs::remove_dir_all(&slot.scratch);
            fs::create_dir_all(&slot.scratch).map_err(io("cannot create", &slot.scratch))?;
            return Ok(slot);
        }
        Err(LabError::Invalid(format!(
            "all {SLOTS} backup host slots in {} are taken",
            slots.display()
        )))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "zsync-lab: backup host files kept for inspection: {}",
                self.scratch.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.scratch);
        }
        let _ = fs::remove_dir(&self.marker);
    }
}

/// An `Io` error maker for `path`.
pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LabError {
    let path = path.to_path_buf();
    move |source| LabError::Io { what, path, source }
}
