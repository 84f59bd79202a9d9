//! SSH hosts inside the lab VM: [`BackupHost`] starts a private sshd reached over a network
//! namespace of its own, with `root` and a non-root user ([`BACKUP_USER`]) that log in with a
//! generated key, `sudo` and `zfs allow` as a test asks, and client files (`known_hosts`,
//! `ssh_config`, an `ssh` argv) ready to use. Everything is torn down on drop.
//!
//! How it works, and what the VM allows (see `lab/README.md`): the VM's `/etc/passwd`, `group`,
//! `shadow` and `sudoers` are replaced for the host's sshd only, by bind mounts in a mount
//! namespace of its own, so the VM's other processes and other hosts never see them; the VM's
//! mounts are made shared once (as systemd does), so ZFS mounts made by either side are seen by
//! both; addresses are /30s of 10.251.0.0/16, which exist only inside the VM.

mod accounts;
mod client;
mod config;
mod host;
mod keys;
mod namespaces;
mod netns;
mod options;
mod procs;
mod slot;
mod sshd;

pub use accounts::{BACKUP_UID, BACKUP_USER};
pub use client::{client_files, ClientFiles};
pub use host::BackupHost;
pub use keys::KeyType;
pub use options::{HostBuilder, Sudo};

/// What a non-root user needs on a target dataset to receive into it and manage what it got:
/// `zfs receive` (needs `create` and `mount`), `-F`/rollback (`rollback`), pruning and
/// `receive -A` (`destroy`, which needs `mount`), holds, bookmarks, snapshots, user properties,
/// and `send` for pulling back. On Linux `mount` only satisfies the checks: a non-root user cannot
/// really mount, so receive with `-u`. Received properties (`zfs send -p`/`-R`) need their own
/// names added (`compression`, `recordsize`, ...), and non-sparse volumes `refreservation`.
pub const RECEIVE_PERMS: &[&str] = &[
    "create", "mount", "receive", "rollback", "destroy", "hold", "release", "userprop", "bookmark",
    "snapshot", "send",
];
