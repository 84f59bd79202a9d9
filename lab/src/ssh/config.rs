//! The text of a backup host's `sshd_config`, of the client's `ssh_config` entry and the client
//! argv (pure; tested on the host).

use std::net::IpAddr;
use std::path::Path;

use super::accounts::BACKUP_USER;

/// What goes into one private sshd's configuration.
#[derive(Debug, Clone)]
pub struct SshdConfig<'a> {
    /// The address sshd listens on.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
    /// The host private key.
    pub host_key: &'a Path,
    /// sshd's pid file.
    pub pid_file: &'a Path,
    /// The directory holding `authorized_keys` files named after users (`%u`).
    pub authorized_keys: &'a Path,
    /// `SetEnv PATH=…` for sessions, if any.
    pub session_path: Option<&'a str>,
    /// Extra `Keyword value` lines; they come first, so they win (sshd keeps a keyword's first value).
    pub extra: &'a [(String, String)],
}

/// The `sshd_config` text.
pub fn sshd_config(c: &SshdConfig<'_>) -> String {
    let mut out = String::from("# Written by zsync_lab::ssh for one backup host.\n");
    for (key, value) in c.extra {
        out.push_str(&format!("{key} {value}\n"));
    }
    let lines = [
        format!("ListenAddress {}", c.address),
        format!("Port {}", c.port),
        format!("HostKey {}", c.host_key.display()),
        format!("PidFile {}", c.pid_file.display()),
        format!("AuthorizedKeysFile {}/%u", c.authorized_keys.display()),
        "StrictModes no".into(),
        "UsePAM no".into(),
        "PubkeyAuthentication yes".into(),
        "PasswordAuthentication no".into(),
        "KbdInteractiveAuthentication no".into(),
        "PermitRootLogin prohibit-password".into(),
        format!("AllowUsers root {BACKUP_USER}"),
        "UseDNS no".into(),
        "PrintMotd no".into(),
        "X11Forwarding no".into(),
        "LoginGraceTime 30".into(),
        "LogLevel VERBOSE".into(),
    ];
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(path) = c.session_path {
        out.push_str(&format!("SetEnv PATH={path}\n"));
    }
    out
}

/// How `address:port` appears in `known_hosts`: the bare address for port 22, else `[addr]:port`.
pub fn known_hosts_host(address: IpAddr, port: u16) -> String {
    match (address, port) {
        (IpAddr::V4(a), 22) => a.to_string(),
        (IpAddr::V6(a), 22) => a.to_string(),
        (IpAddr::V4(a), p) => format!("[{a}]:{p}"),
        (IpAddr::V6(a), p) => format!("[{a}]:{p}"),
    }
}

/// The client's view of one host: where it is and which files to trust and use.
#[derive(Debug, Clone)]
pub struct ClientConfig<'a> {
    /// The `Host` alias.
    pub alias: &'a str,
    /// The address.
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The private key to log in with.
    pub key: &'a Path,
    /// The `known_hosts` file to check the host key against.
    pub known_hosts: &'a Path,
}

/// A `Host` entry for an `ssh_config` file (`ssh -F FILE [user@]alias` then works).
pub fn client_entry(c: &ClientConfig<'_>) -> String {
    format!(
        "Host {}\n\
         \x20   HostName {}\n\
         \x20   Port {}\n\
         \x20   IdentityFile {}\n\
         \x20   IdentitiesOnly yes\n\
         \x20   UserKnownHostsFile {}\n\
         \x20   GlobalKnownHostsFile /dev/null\n\
         \x20   StrictHostKeyChecking yes\n\
         \x20   BatchMode yes\n\
         \x20   ConnectTimeout 10\n",
        c.alias,
        c.address,
        c.port,
        c.key.display(),
        c.known_hosts.display()
    )
}

/// `ssh` argv for `user@address` with everything on the command line (no config file read).
pub fn ssh_argv(c: &ClientConfig<'_>, user: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["ssh", "-F", "/dev/null", "-i"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push(c.key.display().to_string());
    for option in [
        "IdentitiesOnly=yes".to_string(),
        format!("UserKnownHostsFile={}", c.known_hosts.display()),
        "GlobalKnownHostsFile=/dev/null".into(),
        "StrictHostKeyChecking=yes".into(),
        "BatchMode=yes".into(),
        "ConnectTimeout=10".into(),
    ] {
        argv.push("-o".into());
        argv.push(option);
    }
    argv.push("-p".into());
    argv.push(c.port.to_string());
    argv.push(format!("{user}@{}", c.address));
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn client<'a>(key: &'a Path, kh: &'a Path) -> ClientConfig<'a> {
        ClientConfig {
            alias: "backup",
            address: IpAddr::V4(Ipv4Addr::new(10, 251, 0, 2)),
            port: 22,
            key,
            known_hosts: kh,
        }
    }

    #[test]
    fn sshd_config_is_private_and_extras_win() {
        let extra = [("MaxSessions".to_string(), "64".to_string())];
        let text = sshd_config(&SshdConfig {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 2222,
            host_key: Path::new("/s/host_key"),
            pid_file: Path::new("/s/sshd.pid"),
            authorized_keys: Path::new("/s/authorized_keys"),
            session_path: Some("/usr/sbin:/usr/bin"),
            extra: &extra,
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "MaxSessions 64");
        for want in [
            "ListenAddress 127.0.0.1",
            "Port 2222",
            "HostKey /s/host_key",
            "PidFile /s/sshd.pid",
            "AuthorizedKeysFile /s/authorized_keys/%u",
            "StrictModes no",
            "UsePAM no",
            "AllowUsers root zsyncbk",
            "SetEnv PATH=/usr/sbin:/usr/bin",
        ] {
            assert!(lines.contains(&want), "{want} missing from\n{text}");
        }
    }

    #[test]
    fn known_hosts_names() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 251, 0, 2));
        assert_eq!(known_hosts_host(a, 22), "10.251.0.2");
        assert_eq!(
            known_hosts_host(IpAddr::V4(Ipv4Addr::LOCALHOST), 2222),
            "[127.0.0.1]:2222"
        );
    }

    #[test]
    fn client_entry_and_argv() {
        let (key, kh) = (Path::new("/s/id_ed25519"), Path::new("/s/known_hosts"));
        let entry = client_entry(&client(key, kh));
        assert!(entry.starts_with("Host backup\n    HostName 10.251.0.2\n    Port 22\n"));
        assert!(entry.contains("    UserKnownHostsFile /s/known_hosts\n"));
        assert!(entry.contains("    StrictHostKeyChecking yes\n"));
        let argv = ssh_argv(&client(key, kh), "zsyncbk");
        assert_eq!(argv[..5], ["ssh", "-F", "/dev/null", "-i", "/s/id_ed25519"]);
        assert!(argv.contains(&"UserKnownHostsFile=/s/known_hosts".to_string()));
        assert!(argv.contains(&"BatchMode=yes".to_string()));
        assert_eq!(argv[argv.len() - 3..], ["-p", "22", "zsyncbk@10.251.0.2"]);
    }
}
