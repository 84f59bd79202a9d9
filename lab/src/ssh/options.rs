//! What kind of backup host to start: its sudo policy, where it listens, its key type and any
//! extra sshd settings.

use super::keys::KeyType;
use super::BackupHost;
use crate::LabError;

/// What `sudo` lets the backup user ([`super::BACKUP_USER`]) do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sudo {
    /// `sudo -n zfs …` and `sudo -n zpool …` run as root without a password (the default).
    #[default]
    NoPassword,
    /// `zfs` and `zpool` are allowed but sudo wants the user's password (`sudo -n` fails with
    /// "sudo: a password is required").
    Password,
    /// The user is not in sudoers at all.
    Denied,
}

/// Settings for [`BackupHost`]; made by [`BackupHost::builder`], started by [`HostBuilder::start`].
#[derive(Debug, Clone)]
pub struct HostBuilder {
    pub(super) name: String,
    pub(super) sudo: Sudo,
    pub(super) local: bool,
    pub(super) key_type: KeyType,
    pub(super) session_path: Option<String>,
    pub(super) sshd_options: Vec<(String, String)>,
    pub(super) without_zfs: bool,
}

impl HostBuilder {
    pub(super) fn new(name: &str) -> HostBuilder {
        HostBuilder {
            name: name.to_string(),
            sudo: Sudo::default(),
            local: false,
            key_type: KeyType::default(),
            session_path: None,
            sshd_options: Vec::new(),
            without_zfs: false,
        }
    }

    /// The backup user's sudo policy (default [`Sudo::NoPassword`]).
    pub fn sudo(mut self, sudo: Sudo) -> HostBuilder {
        self.sudo = sudo;
        self
    }

    /// Listen on 127.0.0.1 (a free port) in the VM's main network namespace instead of in a
    /// network namespace of its own (the user database is still the host's own).
    pub fn local(mut self) -> HostBuilder {
        self.local = true;
        self
    }

    /// The type of the host key and the client key (default ed25519).
    pub fn key_type(mut self, key_type: KeyType) -> HostBuilder {
        self.key_type = key_type;
        self
    }

    /// `PATH` for every session (`SetEnv PATH=…`). By default sshd's own applies, which for a
    /// non-root user on Debian lacks `/usr/sbin`, where `zfs` lives (as on a real backup host).
    pub fn session_path(mut self, path: &str) -> HostBuilder {
        self.session_path = Some(path.to_string());
        self
    }

    /// One more `sshd_config` line (`MaxSessions 64`, `Ciphers aes128-ctr`, …); it overrides the
    /// lab's own value for that keyword.
    pub fn sshd_option(mut self, keyword: &str, value: &str) -> HostBuilder {
        self.sshd_options
            .push((keyword.to_string(), value.to_string()));
        self
    }

    /// A host without ZFS as its sessions see it: `/dev/null` is bind-mounted over the `zfs` and
    /// `zpool` programs in its mount namespace (which then receives the VM's mounts but sends none
    /// back, so the test's own `zfs` is untouched).
    pub fn without_zfs(mut self) -> HostBuilder {
        self.without_zfs = true;
        self
    }

    /// Starts the host (see [`BackupHost::start`]).
    pub fn start(self) -> Result<BackupHost, LabError> {
        BackupHost::start_with(self)
    }
}
