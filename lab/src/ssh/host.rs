//! [`BackupHost`]: a private sshd in the lab VM with its own network namespace, users, keys and
//! client files, torn down on drop.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::accounts::{self, BACKUP_UID, BACKUP_USER};
use super::config::{self, ClientConfig, SshdConfig};
use super::keys::{self, KeyType};
use super::namespaces;
use super::netns::Netns;
use super::options::HostBuilder;
use super::procs;
use super::slot::{io, Slot};
use super::sshd::Sshd;
use crate::LabError;

/// An SSH "backup host" inside the lab VM: a private sshd (in a network namespace of its own, or
/// on 127.0.0.1 with [`HostBuilder::local`]) that lets `root` and [`BACKUP_USER`] log in with a
/// generated client key, with the host key in a `known_hosts` file and an `ssh_config` entry
/// ready for clients. Dropping it kills sshd and every process of its sessions and deletes the
/// network namespace, also when the test panics.
#[derive(Debug)]
pub struct BackupHost {
    // Fields drop in this order: processes, then the network, then the slot and scratch dir.
    sshd: Sshd,
    netns: Option<Netns>,
    slot: Slot,
    name: String,
    address: IpAddr,
    port: u16,
    key_type: KeyType,
    host_key: String,
    host_fingerprint: String,
    known_hosts_line: String,
    known_hosts: PathBuf,
    client_key: PathBuf,
    ssh_config: PathBuf,
    ssh_config_entry: String,
}

impl BackupHost {
    /// Starts a host named `name` with the defaults: its own network namespace, port 22,
    /// passwordless `sudo` for `zfs`/`zpool`, ed25519 keys.
    pub fn start(name: &str) -> Result<BackupHost, LabError> {
        BackupHost::builder(name).start()
    }

    /// Settings for a host named `name` (the `ssh_config` alias; cut to `[A-Za-z0-9_-]`).
    pub fn builder(name: &str) -> HostBuilder {
        HostBuilder::new(name)
    }

    pub(super) fn start_with(b: HostBuilder) -> Result<BackupHost, LabError> {
        let lab_dir = crate::lab_dir()?;
        namespaces::share_root()?;
        let name = alias(&b.name);
        let slot = Slot::take(&lab_dir, &name)?;
        let dir = slot.scratch.clone();
        let netns = if b.local {
            None
        } else {
            Some(Netns::create(slot.number)?)
        };
        let (address, port) = match &netns {
            Some(n) => (IpAddr::V4(n.address), 22),
            None => (IpAddr::V4(Ipv4Addr::LOCALHOST), free_port()?),
        };

        let kind = b.key_type.keygen_name();
        let host_key_path = dir.join(format!("ssh_host_{kind}_key"));
        let host_key = keys::generate(
            &host_key_path,
            b.key_type,
            &format!("zsync-lab host {name}"),
        )?;
        let host_fingerprint = keys::fingerprint(&keys::public_path(&host_key_path))?;
        let client_key = dir.join(format!("id_{kind}"));
        let client_public =
            keys::generate(&client_key, b.key_type, &format!("zsync-lab client {name}"))?;

        let authorized = dir.join("authorized_keys");
        mkdir(&authorized, 0o755)?;
        for user in ["root", BACKUP_USER] {
            write(&authorized.join(user), &format!("{client_public}\n"), 0o644)?;
        }
        let binds = user_database(&dir, b.sudo)?;

        let sshd_config = dir.join("sshd_config");
        let config_text = config::sshd_config(&SshdConfig {
            address,
            port,
            host_key: &host_key_path,
            pid_file: &dir.join("sshd.pid"),
            authorized_keys: &authorized,
            session_path: b.session_path.as_deref(),
            extra: &b.sshd_options,
        });
        write(&sshd_config, &config_text, 0o644)?;
        let sshd = Sshd::start(
            &sshd_config,
            &dir.join("sshd.log"),
            netns.as_ref().map(Netns::path).as_deref(),
            &binds,
            &if b.without_zfs {
                zfs_programs()
            } else {
                Vec::new()
            },
            address,
            port,
        )?;

        let known_hosts_line =
            keys::known_hosts_line(&config::known_hosts_host(address, port), &host_key);
        let known_hosts = dir.join("known_hosts");
        write(&known_hosts, &format!("{known_hosts_line}\n"), 0o644)?;
        let ssh_config_entry = config::client_entry(&ClientConfig {
            alias: &name,
            address,
            port,
            key: &client_key,
            known_hosts: &known_hosts,
        });
        let ssh_config = dir.join("ssh_config");
        write(&ssh_config, &ssh_config_entry, 0o644)?;
        Ok(BackupHost {
            sshd,
            netns,
            slot,
            name,
            address,
            port,
            key_type: b.key_type,
            host_key,
            host_fingerprint,
            known_hosts_line,
            known_hosts,
            client_key,
            ssh_config,
            ssh_config_entry,
        })
    }

    /// The host's name, which is also its `Host` alias in [`BackupHost::ssh_config_path`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address sshd listens on (10.251.x.y, or 127.0.0.1 for a local host).
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The port sshd listens on (22, or a free port for a local host).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The non-root user ([`BACKUP_USER`]).
    pub fn user(&self) -> &'static str {
        BACKUP_USER
    }

    /// `user@address`, as an endpoint's host part is written (the port is [`BackupHost::port`]).
    pub fn destination(&self, user: &str) -> String {
        format!("{user}@{}", self.address)
    }

    /// The host's public key, `"ssh-ed25519 AAAA…"` (no comment).
    pub fn host_key(&self) -> &str {
        &self.host_key
    }

    /// Its `SHA256:…` fingerprint, as OpenSSH prints it.
    pub fn host_fingerprint(&self) -> &str {
        &self.host_fingerprint
    }

    /// Its `known_hosts` line (`10.251.0.2 ssh-ed25519 AAAA…` or `[127.0.0.1]:PORT …`).
    pub fn known_hosts_line(&self) -> &str {
        &self.known_hosts_line
    }

    /// A `known_hosts` file holding exactly [`BackupHost::known_hosts_line`].
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The client private key (no passphrase) that `root` and [`BACKUP_USER`] accept.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// The client public key file (`client_key` + `.pub`).
    pub fn client_public_key(&self) -> PathBuf {
        keys::public_path(&self.client_key)
    }

    /// An `ssh_config` file with one `Host` entry named [`BackupHost::name`]: `ssh -F FILE
    /// root@NAME` (or zsync's and syncoid's `--sshconfig FILE`) reaches the host with the right
    /// port, key and `known_hosts`, strict host key checking and batch mode.
    pub fn ssh_config_path(&self) -> &Path {
        &self.ssh_config
    }

    /// The text of that `Host` entry (to combine hosts in one file; see `client_files`).
    pub fn ssh_config_entry(&self) -> &str {
        &self.ssh_config_entry
    }

    /// `ssh` argv reaching `user` on this host, everything on the command line (`-F /dev/null`,
    /// `-i`, `UserKnownHostsFile`, `StrictHostKeyChecking=yes`, `BatchMode=yes`, `-p`, `user@addr`):
    /// append the remote command's words.
    pub fn ssh_command(&self, user: &str) -> Vec<String> {
        self.ssh_command_with(user, &self.client_key, &self.known_hosts)
    }

    /// [`BackupHost::ssh_command`] with another client key or `known_hosts` file (see
    /// [`BackupHost::wrong_client_key`], [`BackupHost::unknown_host_known_hosts`], ...).
    pub fn ssh_command_with(&self, user: &str, key: &Path, known_hosts: &Path) -> Vec<String> {
        config::ssh_argv(
            &ClientConfig {
                alias: &self.name,
                address: self.address,
                port: self.port,
                key,
                known_hosts,
            },
            user,
        )
    }

    /// A `known_hosts` file that does not know this host (it holds another host's line).
    pub fn unknown_host_known_hosts(&self) -> Result<PathBuf, LabError> {
        let other = self.other_host_key()?;
        let path = self.slot.scratch.join("known_hosts.unknown");
        write(
            &path,
            &format!("{}\n", keys::known_hosts_line("other-host.invalid", &other)),
            0o644,
        )?;
        Ok(path)
    }

    /// A `known_hosts` file with a different key for this host's address (a "changed host key").
    pub fn changed_host_known_hosts(&self) -> Result<PathBuf, LabError> {
        let other = self.other_host_key()?;
        let host = config::known_hosts_host(self.address, self.port);
        let path = self.slot.scratch.join("known_hosts.changed");
        write(
            &path,
            &format!("{}\n", keys::known_hosts_line(&host, &other)),
            0o644,
        )?;
        Ok(path)
    }

    /// A `known_hosts` file with this host's line in hashed form (`|1|salt|hash key`).
    pub fn hashed_known_hosts(&self) -> Result<PathBuf, LabError> {
        let path = self.slot.scratch.join("known_hosts.hashed");
        write(&path, &format!("{}\n", self.known_hosts_line), 0o644)?;
        keys::hash_known_hosts(&path)?;
        Ok(path)
    }

    /// A client private key that neither user accepts.
    pub fn wrong_client_key(&self) -> Result<PathBuf, LabError> {
        let path = self
            .slot
            .scratch
            .join(format!("id_{}_wrong", self.key_type.keygen_name()));
        if !path.exists() {
            keys::generate(&path, self.key_type, "zsync-lab wrong client key")?;
        }
        Ok(path)
    }

    fn other_host_key(&self) -> Result<String, LabError> {
        let path = self
            .slot
            .scratch
            .join(format!("other_host_{}_key", self.key_type.keygen_name()));
        if path.exists() {
            let text = fs::read_to_string(keys::public_path(&path))
                .map_err(io("cannot read", &keys::public_path(&path)))?;
            if let Some(key) = keys::public_key(&text) {
                return Ok(key);
            }
        }
        keys::generate(&path, self.key_type, "zsync-lab other host")
    }

    /// A command that runs as root *on the host*: in its network and mount namespaces, where its
    /// user database applies (names resolve to [`BACKUP_USER`]). `LC_ALL=C` is set.
    pub fn command(&self, program: &str) -> Result<Command, LabError> {
        let mut cmd = Command::new(program);
        cmd.env("LC_ALL", "C");
        namespaces::join(&mut cmd, self.sshd.pid())?;
        Ok(cmd)
    }

    /// Runs `argv` on the host (see [`BackupHost::command`]); returns stdout.
    pub fn run(&self, argv: &[&str]) -> Result<String, LabError> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Invalid("BackupHost::run: empty argv".into()))?;
        let mut cmd = self.command(program)?;
        cmd.args(args);
        crate::output(&mut cmd)
    }

    /// `zfs allow -u USER PERMS DATASET` on the host (so `user` is resolved there): delegates
    /// `perms` (e.g. [`super::RECEIVE_PERMS`]) on `dataset` and its descendants.
    pub fn allow(&self, user: &str, dataset: &str, perms: &[&str]) -> Result<(), LabError> {
        if perms.is_empty() {
            return Err(LabError::Invalid(format!(
                "zfs allow {user} on {dataset}: no permissions given"
            )));
        }
        let perms = perms.join(",");
        self.run(&["zfs", "allow", "-u", user, &perms, dataset])?;
        Ok(())
    }

    /// The listener's pid.
    pub fn sshd_pid(&self) -> u32 {
        self.sshd.pid() as u32
    }

    /// `(pid, command name)` of every process below the listener: the per-connection sshd
    /// processes and the commands their sessions run.
    pub fn session_processes(&self) -> Vec<(u32, String)> {
        self.sshd
            .sessions()
            .into_iter()
            .map(|p| (p.pid as u32, p.comm))
            .collect()
    }

    /// Cuts every open connection: kills (SIGKILL) the per-connection sshd processes, as a
    /// network failure would end them; the listener stays, so the next connection works. The
    /// sessions' commands see their pipes close. Returns how many processes it killed.
    pub fn kill_sessions(&self) -> usize {
        self.sshd.kill_sessions()
    }

    /// Takes the VM's end of the host's link down (`false`: packets to the host vanish, connects
    /// time out) or up again. Not for a local host.
    pub fn set_reachable(&self, reachable: bool) -> Result<(), LabError> {
        match &self.netns {
            Some(n) => n.set_link(reachable),
            None => Err(LabError::Invalid(format!(
                "backup host {} is local (127.0.0.1): it has no link to take down",
                self.name
            ))),
        }
    }

    /// The network namespace's name (`ip netns list`), `None` for a local host.
    pub fn netns_name(&self) -> Option<&str> {
        self.netns.as_ref().map(Netns::name)
    }

    /// sshd's log file (`LogLevel VERBOSE`).
    pub fn sshd_log(&self) -> &Path {
        &self.sshd.log
    }

    /// The host's scratch directory (keys, configs, logs, the user's home); removed on drop
    /// unless the test panics.
    pub fn scratch(&self) -> &Path {
        &self.slot.scratch
    }

    /// The uid of [`BACKUP_USER`] (the same on every host).
    pub fn user_uid(&self) -> u32 {
        BACKUP_UID
    }

    /// The pids of the host's live processes: the members of its mount namespace (sshd, its
    /// sessions, their commands); for checking teardown.
    pub fn pids(&self) -> Vec<u32> {
        procs::mount_ns(self.sshd.pid())
            .map(|ns| procs::members(&ns).into_iter().map(|p| p as u32).collect())
            .unwrap_or_default()
    }
}

/// Writes the host's `passwd`, `group`, `shadow` and `sudoers` into `dir/etc` and the user's home
/// `dir/home`; returns the bind mounts that put them over the VM's files.
fn user_database(dir: &Path, sudo: super::Sudo) -> Result<Vec<(PathBuf, PathBuf)>, LabError> {
    let etc = dir.join("etc");
    mkdir(&etc, 0o755)?;
    let home = dir.join("home");
    mkdir(&home, 0o755)?;
    // Best effort: the home is not needed for key logins or sudo.
    let _ = std::os::unix::fs::chown(&home, Some(BACKUP_UID), Some(BACKUP_UID));
    let read = |p: &str| fs::read_to_string(p).map_err(io("cannot read", Path::new(p)));
    let conflict = |c: accounts::Conflict| LabError::Invalid(c.0);
    let files = [
        (
            "passwd",
            accounts::passwd(&read("/etc/passwd")?, &home.to_string_lossy()).map_err(conflict)?,
            0o644,
        ),
        (
            "group",
            accounts::group(&read("/etc/group")?).map_err(conflict)?,
            0o644,
        ),
        (
            "shadow",
            accounts::shadow(&read("/etc/shadow")?).map_err(conflict)?,
            0o640,
        ),
        ("sudoers", accounts::sudoers(sudo), 0o440),
    ];
    let mut binds = Vec::new();
    for (file, text, mode) in files {
        let path = etc.join(file);
        write(&path, &text, mode)?;
        binds.push((path, Path::new("/etc").join(file)));
    }
    Ok(binds)
}

/// Where `zfs` and `zpool` are, as a session's `command -v` would find them (PATH and the sbin
/// directories), symlinks resolved, each once.
fn zfs_programs() -> Vec<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"])
        .filter(|d| !d.is_empty());
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        for program in ["zfs", "zpool"] {
            if let Ok(p) = fs::canonicalize(Path::new(dir).join(program)) {
                if !found.contains(&p) {
                    found.push(p);
                }
            }
        }
    }
    found
}

/// `name` cut by `safe_tag`, `host` if that leaves nothing.
fn alias(name: &str) -> String {
    let cut = crate::safe_tag(name);
    if cut.is_empty() {
        "host".into()
    } else {
        cut
    }
}

fn free_port() -> Result<u16, LabError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| LabError::Io {
        what: "cannot bind a free port on",
        path: PathBuf::from("127.0.0.1"),
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| LabError::Io {
            what: "cannot read the port of",
            path: PathBuf::from("127.0.0.1"),
            source,
        })
}

fn mkdir(path: &Path, mode: u32) -> Result<(), LabError> {
    fs::create_dir_all(path).map_err(io("cannot create", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io("cannot chmod", path))
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), LabError> {
    fs::write(path, text).map_err(io("cannot write", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io("cannot chmod", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_config_safe() {
        assert_eq!(alias("backup"), "backup");
        assert_eq!(alias("push to:b"), "push_to_b");
        assert_eq!(alias(""), "host");
        assert_eq!(alias(&"x".repeat(40)).len(), 24);
    }

    #[test]
    fn starting_outside_the_lab_is_refused() {
        if crate::in_lab() {
            return;
        }
        assert!(matches!(BackupHost::start("x"), Err(LabError::NotInLab)));
    }
}
