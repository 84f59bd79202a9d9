//! From an endpoint's [`RemoteHost`], the [`SshOptions`] and the ssh_config to the final
//! [`Target`]: address, port, user, keys to try, known_hosts files, host key policy, ciphers and
//! timeouts.
//!
//! Precedence, as in OpenSSH (the command line before the config file, the first value obtained
//! winning): the endpoint's own `user@` and `:port` (they name this host), then the flags
//! (`--sshport`, `--sshkey`, `--sshcipher`, ...), then `-o` options in the order given, then the
//! config file, then the defaults.

use crate::config::{HostConfig, SshConfig, Value};
use crate::error::SshError;
use crate::expand::{percent, PathTokens};
use crate::local_user::LocalUser;
use crate::options::{parse_port, parse_seconds, ConfigFile, HostKeyPolicy, SshOption, SshOptions};
use std::path::PathBuf;
use std::time::Duration;
use zfs_core::RemoteHost;

/// The cipher preference for libssh2: chacha20-poly1305 first (libssh2's fastest, 1.6–1.9× its
/// AES-GCM, which is its slowest: it encrypts one 16-byte block per call), then AES-CTR, then GCM.
pub const SSH2_CIPHERS: &str = "chacha20-poly1305@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr,\
                                aes256-gcm@openssh.com,aes128-gcm@openssh.com";

/// The cipher preference for the OpenSSH client: aes128-gcm first (its cheapest, about 1.5–2
/// CPU-s per GiB with AES-NI), then chacha20-poly1305 and the rest.
pub const OPENSSH_CIPHERS: &str = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,\
                                   aes256-gcm@openssh.com,aes128-ctr,aes256-ctr";

/// The system-wide known_hosts file, read (never written) after the user's.
pub const GLOBAL_KNOWN_HOSTS: &str = "/etc/ssh/ssh_known_hosts";

/// Default connect (TCP + handshake + authentication) timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default keepalive interval.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// The first `-o` option of one kind: `opt!(opts, Port(p) => *p)`.
macro_rules! opt {
    ($opts:expr, $variant:ident($v:pat) => $out:expr) => {
        $opts.first(|o| match o {
            SshOption::$variant($v) => Some($out),
            _ => None,
        })
    };
}

/// A way to prove who we are, in the order tried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// Every key the ssh agent (`$SSH_AUTH_SOCK`) holds.
    Agent,
    /// A private key file (unencrypted: zsync never prompts for a passphrase; put encrypted keys in
    /// the agent).
    File(PathBuf),
}

/// Everything needed to connect to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as the user wrote it (`[user@]host[:port]`), for messages.
    pub label: String,
    /// The host name as given (what `Host` patterns matched).
    pub host: String,
    /// The address dialled (`HostName`, else the host).
    pub address: String,
    /// The port.
    pub port: u16,
    /// The remote user.
    pub user: String,
    /// Ways to authenticate, in order.
    pub identities: Vec<Identity>,
    /// The user's known_hosts files; new keys are recorded in the first under accept-new.
    pub known_hosts: Vec<PathBuf>,
    /// System known_hosts files (read only).
    pub global_known_hosts: Vec<PathBuf>,
    /// What to do with an unknown host key.
    pub policy: HostKeyPolicy,
    /// Cipher preference for the ssh2 session.
    pub ssh2_ciphers: String,
    /// Cipher preference for the OpenSSH client.
    pub openssh_ciphers: String,
    /// Timeout for TCP connect, handshake and authentication.
    pub connect_timeout: Duration,
    /// Keepalive interval.
    pub keepalive: Duration,
    /// Things worth telling the user (ignored options, skipped `Match` blocks).
    pub notes: Vec<String>,
}

impl Target {
    /// The name the host's key is recorded under (`address`, or `[address]:port`).
    pub fn known_hosts_name(&self) -> String {
        crate::known_hosts::host_name(&self.address, self.port)
    }

    /// Every known_hosts file to read: the user's, then the system's.
    pub fn all_known_hosts(&self) -> Vec<PathBuf> {
        self.known_hosts
            .iter()
            .chain(&self.global_known_hosts)
            .cloned()
            .collect()
    }

    /// `address:port` (an IPv6 address in brackets), for messages.
    pub fn addr(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// Reads the ssh_config [`SshOptions::config`] names (`~/.ssh/config` when it exists).
pub fn load_config(
    opts: &SshOptions,
    local: &LocalUser,
    host_label: &str,
) -> Result<SshConfig, SshError> {
    let path = match &opts.config {
        ConfigFile::None => return Ok(SshConfig::default()),
        ConfigFile::Path(p) => p.clone(),
        ConfigFile::Default => {
            let p = local.ssh_dir().join("config");
            if !p.exists() {
                return Ok(SshConfig::default());
            }
            p
        }
    };
    SshConfig::parse_file(&path, local).map_err(|e| SshError::Config {
        host: host_label.to_owned(),
        origin: e.origin,
        reason: e.reason,
    })
}

/// Resolves the connection target for `remote` (see the module docs for precedence).
pub fn resolve(
    remote: &RemoteHost,
    opts: &SshOptions,
    config: &SshConfig,
    local: &LocalUser,
) -> Result<Target, SshError> {
    let label = remote.to_string();
    let host = remote.host.clone();
    let cfg: HostConfig = config.lookup(&host);
    let cfg_err = |v: &Value, reason: String| SshError::Config {
        host: label.clone(),
        origin: v.origin.clone(),
        reason,
    };
    let mut notes = Vec::new();
    for origin in config.skipped_match() {
        notes.push(format!(
            "ssh config {origin}: Match blocks are not evaluated by zsync; skipped"
        ));
    }

    if let Some(p) = cfg
        .proxy
        .as_ref()
        .filter(|p| !p.first().eq_ignore_ascii_case("none"))
    {
        return Err(cfg_err(
            p,
            "ProxyJump/ProxyCommand is not supported: zsync connects directly (libssh2 has no \
             proxy support); give zsync a Host entry without it"
                .into(),
        ));
    }

    // Address: -o HostName > config HostName > the host; `%h` is the host as given.
    let address = match opt!(opts, HostName(h) => h.clone()) {
        Some(h) => percent(&h, &[('h', &host)]).map_err(|reason| SshError::BadOption {
            option: format!("HostName={h}"),
            reason,
        })?,
        None => match &cfg.host_name {
            Some(v) => percent(v.first(), &[('h', &host)]).map_err(|r| cfg_err(v, r))?,
            None => host.clone(),
        },
    };
    if address.is_empty() || address.starts_with('-') {
        return Err(SshError::BadOption {
            option: format!("HostName={address}"),
            reason: "not a usable host name".into(),
        });
    }

    let user = match &remote.user {
        Some(u) => u.clone(),
        None => match opt!(opts, User(u) => u.clone()) {
            Some(u) => u,
            None => match &cfg.user {
                Some(v) if v.first().starts_with('-') || v.first().is_empty() => {
                    return Err(cfg_err(
                        v,
                        format!("User {:?} is not a usable name", v.first()),
                    ))
                }
                Some(v) => v.first().to_owned(),
                None => local.name.clone(),
            },
        },
    };

    let port = match remote
        .port
        .or(opts.port)
        .or_else(|| opt!(opts, Port(p) => *p))
    {
        Some(p) => p,
        None => match &cfg.port {
            Some(v) => parse_port(v.first())
                .ok_or_else(|| cfg_err(v, format!("Port {:?} is not a port 1-65535", v.first())))?,
            None => 22,
        },
    };

    let tokens = PathTokens {
        local,
        host: &address,
        original: &host,
        port,
        remote_user: &user,
    };

    // Keys: agent, --sshkey, -o IdentityFile, config IdentityFile, then the usual default files.
    let identities_only = match opt!(opts, IdentitiesOnly(b) => *b) {
        Some(b) => b,
        None => match &cfg.identities_only {
            Some(v) => match v.first().to_ascii_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                other => {
                    return Err(cfg_err(
                        v,
                        format!("IdentitiesOnly {other:?} is not yes or no"),
                    ))
                }
            },
            None => false,
        },
    };
    let mut identities = Vec::new();
    if !identities_only {
        identities.push(Identity::Agent);
    }
    if let Some(k) = &opts.identity {
        identities.push(Identity::File(k.clone()));
    }
    for o in &opts.options {
        if let SshOption::IdentityFile(f) = o {
            let path = tokens.path(f).map_err(|reason| SshError::BadOption {
                option: format!("IdentityFile={f}"),
                reason,
            })?;
            identities.push(Identity::File(path));
        }
    }
    for v in &cfg.identity_files {
        if v.first().eq_ignore_ascii_case("none") {
            continue;
        }
        identities.push(Identity::File(
            tokens.path(v.first()).map_err(|r| cfg_err(v, r))?,
        ));
    }
    for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        let p = local.ssh_dir().join(name);
        if p.is_file() {
            identities.push(Identity::File(p));
        }
    }
    let mut seen = std::collections::HashSet::new();
    identities.retain(|i| seen.insert(i.clone()));

    // known_hosts: the override > -o UserKnownHostsFile > config > ~/.ssh/known_hosts.
    let known_hosts: Vec<PathBuf> = if let Some(k) = &opts.known_hosts {
        vec![k.clone()]
    } else if let Some(files) = opt!(opts, UserKnownHostsFile(f) => f.clone()) {
        let mut out = Vec::new();
        for f in files.iter().filter(|f| !f.eq_ignore_ascii_case("none")) {
            out.push(tokens.path(f).map_err(|reason| SshError::BadOption {
                option: format!("UserKnownHostsFile={f}"),
                reason,
            })?);
        }
        out
    } else if let Some(v) = &cfg.user_known_hosts_file {
        let mut out = Vec::new();
        for f in v.args.iter().filter(|f| !f.eq_ignore_ascii_case("none")) {
            out.push(tokens.path(f).map_err(|r| cfg_err(v, r))?);
        }
        out
    } else {
        vec![local.ssh_dir().join("known_hosts")]
    };

    let policy = match opts
        .host_key_policy
        .or_else(|| opt!(opts, StrictHostKeyChecking(p) => *p))
    {
        Some(p) => p,
        None => match &cfg.strict_host_key_checking {
            Some(v) => HostKeyPolicy::parse(v.first())
                .map_err(|r| cfg_err(v, format!("StrictHostKeyChecking {}: {r}", v.first())))?,
            None => HostKeyPolicy::Strict,
        },
    };

    let chosen_cipher = match opts
        .cipher
        .clone()
        .or_else(|| opt!(opts, Ciphers(c) => c.clone()))
    {
        Some(c) => Some(c),
        None => match &cfg.ciphers {
            Some(v) if v.first().starts_with(['+', '-', '^']) => {
                notes.push(format!(
                    "ssh config {}: Ciphers list edits (+ - ^) are not supported; using zsync's \
                     cipher preference",
                    v.origin
                ));
                None
            }
            Some(v) => Some(v.first().to_owned()),
            None => None,
        },
    };
    if let Some(c) = &chosen_cipher {
        if c.is_empty() || c.starts_with('-') || c.contains(char::is_whitespace) {
            return Err(SshError::BadOption {
                option: format!("cipher {c}"),
                reason: "expected a comma-separated list of cipher names".into(),
            });
        }
    }
    let (ssh2_ciphers, openssh_ciphers) = match chosen_cipher {
        Some(c) => (c.clone(), c),
        None => (SSH2_CIPHERS.to_owned(), OPENSSH_CIPHERS.to_owned()),
    };

    let connect_timeout = match opts
        .connect_timeout
        .or_else(|| opt!(opts, ConnectTimeout(d) => *d))
    {
        Some(d) => d,
        None => match &cfg.connect_timeout {
            Some(v) => parse_seconds(v.first())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    cfg_err(v, format!("ConnectTimeout {:?} is not seconds", v.first()))
                })?,
            None => DEFAULT_CONNECT_TIMEOUT,
        },
    };
    let keepalive = match opt!(opts, ServerAliveInterval(d) => *d) {
        Some(d) => d,
        None => match &cfg.server_alive_interval {
            // 0 turns keepalives off in OpenSSH; zsync keeps them (a dead peer must be noticed).
            Some(v) => parse_seconds(v.first())
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_KEEPALIVE),
            None => DEFAULT_KEEPALIVE,
        },
    };
    if opts
        .options
        .iter()
        .any(|o| matches!(o, SshOption::Compression(true)))
    {
        notes.push(
            "ssh option Compression=yes ignored: zsync compresses streams itself (--compress)"
                .into(),
        );
    }

    Ok(Target {
        label,
        host,
        address,
        port,
        user,
        identities,
        known_hosts,
        global_known_hosts: vec![PathBuf::from(GLOBAL_KNOWN_HOSTS)],
        policy,
        ssh2_ciphers,
        openssh_ciphers,
        connect_timeout,
        keepalive,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn me(home: &Path) -> LocalUser {
        LocalUser::for_tests(home)
    }

    fn remote(user: Option<&str>, host: &str, port: Option<u16>) -> RemoteHost {
        RemoteHost {
            user: user.map(str::to_owned),
            host: host.into(),
            port,
        }
    }

    fn config(text: &str, local: &LocalUser) -> SshConfig {
        SshConfig::parse_str(text, Path::new("/cfg"), local).unwrap()
    }

    const CFG: &str = "Host b1\n  HostName %h.lan\n  User cfguser\n  Port 2200\n  IdentityFile ~/.ssh/b1_%r\n  UserKnownHostsFile ~/.ssh/kh_%h\n  StrictHostKeyChecking accept-new\n  ConnectTimeout 7\n  Ciphers aes128-ctr\n";

    #[test]
    fn defaults_without_config_or_options() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        let t = resolve(
            &remote(None, "backup", None),
            &SshOptions::default(),
            &SshConfig::default(),
            &local,
        )
        .unwrap();
        assert_eq!(t.label, "backup");
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("backup", 22, "alice")
        );
        assert_eq!(t.identities, vec![Identity::Agent]);
        assert_eq!(t.known_hosts, vec![home.path().join(".ssh/known_hosts")]);
        assert_eq!(
            t.global_known_hosts,
            vec![PathBuf::from(GLOBAL_KNOWN_HOSTS)]
        );
        assert_eq!(t.policy, HostKeyPolicy::Strict);
        assert_eq!(t.ssh2_ciphers, SSH2_CIPHERS);
        assert!(t.ssh2_ciphers.starts_with("chacha20-poly1305@openssh.com,"));
        assert!(t.openssh_ciphers.starts_with("aes128-gcm@openssh.com,"));
        assert_eq!(t.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(t.addr(), "backup:22");
    }

    #[test]
    fn config_values_apply_with_tokens() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        let t = resolve(
            &remote(None, "b1", None),
            &SshOptions::default(),
            &config(CFG, &local),
            &local,
        )
        .unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("b1.lan", 2200, "cfguser")
        );
        assert_eq!(
            t.identities,
            vec![
                Identity::Agent,
                Identity::File(home.path().join(".ssh/b1_cfguser"))
            ]
        );
        assert_eq!(t.known_hosts, vec![home.path().join(".ssh/kh_b1.lan")]);
        assert_eq!(t.policy, HostKeyPolicy::AcceptNew);
        assert_eq!(t.connect_timeout, Duration::from_secs(7));
        assert_eq!(
            (t.ssh2_ciphers.as_str(), t.openssh_ciphers.as_str()),
            ("aes128-ctr", "aes128-ctr")
        );
        assert_eq!(t.addr(), "b1.lan:2200");
    }

    #[test]
    fn command_line_beats_config_and_endpoint_beats_flags() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        fs_key(home.path(), "id_rsa");
        fs_key(home.path(), "id_ed25519");
        let mut opts = SshOptions {
            port: Some(2300),
            identity: Some("/keys/flag".into()),
            cipher: Some("aes256-ctr".into()),
            host_key_policy: Some(HostKeyPolicy::Strict),
            known_hosts: Some("/kh/override".into()),
            connect_timeout: Some(Duration::from_secs(3)),
            ..SshOptions::default()
        };
        for o in [
            "User=ouser",
            "User=second",
            "HostName=%h.example",
            "IdentityFile=/keys/o_%h",
            "Port=2400",
            "StrictHostKeyChecking=accept-new",
            "ConnectTimeout=9",
            "ServerAliveInterval=5",
        ] {
            opts.add_option(o).unwrap();
        }
        let cfg = config(CFG, &local);
        let t = resolve(&remote(None, "b1", None), &opts, &cfg, &local).unwrap();
        assert_eq!(t.address, "b1.example");
        assert_eq!(t.user, "ouser");
        assert_eq!(t.port, 2300, "--sshport beats -o Port and config Port");
        assert_eq!(
            t.identities,
            vec![
                Identity::Agent,
                Identity::File("/keys/flag".into()),
                Identity::File("/keys/o_b1.example".into()),
                Identity::File(home.path().join(".ssh/b1_ouser")),
                Identity::File(home.path().join(".ssh/id_ed25519")),
                Identity::File(home.path().join(".ssh/id_rsa")),
            ]
        );
        assert_eq!(t.known_hosts, vec![PathBuf::from("/kh/override")]);
        assert_eq!(t.policy, HostKeyPolicy::Strict, "the flag beats -o");
        assert_eq!(t.ssh2_ciphers, "aes256-ctr");
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        assert_eq!(t.keepalive, Duration::from_secs(5));
        // The endpoint's user@ and :port name this host: they beat everything.
        let t = resolve(&remote(Some("root"), "b1", Some(22)), &opts, &cfg, &local).unwrap();
        assert_eq!((t.user.as_str(), t.port), ("root", 22));
        assert_eq!(t.label, "root@b1:22");
        // -o without flags beats the config.
        let mut only_o = SshOptions::default();
        only_o.add_option("Port=2400").unwrap();
        only_o.add_option("StrictHostKeyChecking=yes").unwrap();
        only_o.add_option("UserKnownHostsFile=~/a %d/b").unwrap();
        only_o.add_option("IdentitiesOnly=yes").unwrap();
        let t = resolve(&remote(None, "b1", None), &only_o, &cfg, &local).unwrap();
        assert_eq!(t.port, 2400);
        assert_eq!(t.policy, HostKeyPolicy::Strict);
        assert_eq!(
            t.known_hosts,
            vec![home.path().join("a"), home.path().join("b")]
        );
        assert!(
            !t.identities.contains(&Identity::Agent),
            "IdentitiesOnly skips the agent"
        );
    }

    fn fs_key(home: &Path, name: &str) {
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh").join(name), "key").unwrap();
    }

    #[test]
    fn bad_config_values_name_file_and_line() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        let cases = [
            ("Host b\n  Port http\n", "/cfg:2", "not a port"),
            (
                "Host b\n  StrictHostKeyChecking no\n",
                "/cfg:2",
                "always checks host keys",
            ),
            ("Host b\n\n  ConnectTimeout x\n", "/cfg:3", "not seconds"),
            (
                "Host b\n  ProxyJump gw\n",
                "/cfg:2",
                "ProxyJump/ProxyCommand is not supported",
            ),
            (
                "Host b\n  IdentityFile ~/k_%Q\n",
                "/cfg:2",
                "unknown token %Q",
            ),
            ("Host b\n  User -oops\n", "/cfg:2", "not a usable name"),
            (
                "Host b\n  IdentitiesOnly maybe\n",
                "/cfg:2",
                "not yes or no",
            ),
        ];
        for (text, at, what) in cases {
            let e = resolve(
                &remote(None, "b", None),
                &SshOptions::default(),
                &config(text, &local),
                &local,
            )
            .unwrap_err();
            let s = e.to_string();
            assert!(
                s.starts_with(&format!("b: ssh config {at}: ")),
                "{text:?}: {s}"
            );
            assert!(s.contains(what), "{text:?}: {s}");
        }
        // A bad value for another host is not an error for this one; `ProxyJump none` is fine.
        let ok = config("Host other\n  Port x\nHost b\n  ProxyJump none\n", &local);
        assert!(resolve(
            &remote(None, "b", None),
            &SshOptions::default(),
            &ok,
            &local
        )
        .is_ok());
        // The command line wins before the bad config value is even looked at.
        let mut opts = SshOptions::default();
        opts.add_option("StrictHostKeyChecking=accept-new").unwrap();
        let strict_no = config("StrictHostKeyChecking no\n", &local);
        assert_eq!(
            resolve(&remote(None, "b", None), &opts, &strict_no, &local)
                .unwrap()
                .policy,
            HostKeyPolicy::AcceptNew
        );
    }

    #[test]
    fn notes_for_skipped_match_and_ignored_compression() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        let mut opts = SshOptions::default();
        opts.add_option("Compression=yes").unwrap();
        let t = resolve(
            &remote(None, "b", None),
            &opts,
            &config("Match all\n  User x\n", &local),
            &local,
        )
        .unwrap();
        assert_eq!(t.user, "alice");
        assert!(
            t.notes.iter().any(|n| n.contains("/cfg:1: Match blocks")),
            "{:?}",
            t.notes
        );
        assert!(
            t.notes
                .iter()
                .any(|n| n.contains("Compression=yes ignored")),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn ipv6_addresses_are_bracketed_in_messages() {
        let local = me(Path::new("/nonexistent"));
        let t = resolve(
            &remote(None, "::1", Some(2222)),
            &SshOptions::default(),
            &SshConfig::default(),
            &local,
        )
        .unwrap();
        assert_eq!(t.addr(), "[::1]:2222");
        assert_eq!(t.label, "[::1]:2222");
    }

    #[test]
    fn load_config_default_missing_is_empty_and_explicit_missing_is_an_error() {
        let home = tempfile::tempdir().unwrap();
        let local = me(home.path());
        assert!(load_config(&SshOptions::default(), &local, "h").is_ok());
        let opts = SshOptions {
            config: ConfigFile::Path(home.path().join("nope")),
            ..SshOptions::default()
        };
        let e = load_config(&opts, &local, "h").unwrap_err();
        assert!(e.to_string().starts_with("h: ssh config "), "{e}");
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
