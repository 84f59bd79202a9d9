//! [`SshOptions`]: what the command line says about SSH (`--sshport`, `--sshkey`, `--sshconfig`,
//! `--sshoption/-o`, `--sshcipher/-c`, `--ssh-transport`, host key policy, privilege elevation,
//! connect timeout), and [`SshOption`], one `-o Key=Value` mapped to what zsync does with it — or
//! refused by name with the reason.

use crate::error::SshError;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Which SSH implementation carries the send streams (`zfs send`/`zfs receive`). Control commands
/// (listing, snapshots, holds, destroy) always go over the ssh2 session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Channels on the one libssh2 session (cipher chacha20-poly1305 by default).
    Ssh2,
    /// The system `ssh` client over one multiplexed master connection per host (aes128-gcm by
    /// default): 1.5–2.9× the throughput of libssh2 at a third of its client CPU.
    OpenSsh,
    /// OpenSSH when an `ssh` program is on `PATH`, else ssh2.
    #[default]
    Auto,
}

impl FromStr for Transport {
    type Err = SshError;
    fn from_str(s: &str) -> Result<Transport, SshError> {
        match s.to_ascii_lowercase().as_str() {
            "ssh2" | "libssh2" => Ok(Transport::Ssh2),
            "openssh" | "ssh" => Ok(Transport::OpenSsh),
            "auto" => Ok(Transport::Auto),
            _ => Err(SshError::BadOption {
                option: format!("--ssh-transport {s}"),
                reason: "expected ssh2, openssh or auto".into(),
            }),
        }
    }
}

/// What to do with a host key that is in no known_hosts file. A key that differs from the recorded
/// one is refused under every policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// Refuse it, printing its fingerprint and the line to add (`StrictHostKeyChecking yes`).
    #[default]
    Strict,
    /// Record it in the user's known_hosts file and connect (`StrictHostKeyChecking accept-new`).
    AcceptNew,
}

impl HostKeyPolicy {
    /// Reads a `StrictHostKeyChecking` value: `yes` (and `ask`, which never asks in a batch run)
    /// is strict, `accept-new` accepts new keys; `no`/`off` is refused, because zsync always checks
    /// host keys.
    pub fn parse(value: &str) -> Result<HostKeyPolicy, String> {
        match value.to_ascii_lowercase().as_str() {
            "yes" | "ask" | "true" => Ok(HostKeyPolicy::Strict),
            "accept-new" => Ok(HostKeyPolicy::AcceptNew),
            "no" | "off" | "false" => Err(
                "zsync always checks host keys; use accept-new to record a host's first key".into(),
            ),
            other => Err(format!("{other:?} is not yes, ask or accept-new")),
        }
    }
}

/// Which ssh_config file to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ConfigFile {
    /// `~/.ssh/config`, when it exists.
    #[default]
    Default,
    /// This file (`--sshconfig FILE`); it must exist.
    Path(PathBuf),
    /// None at all.
    None,
}

/// One `-o Key=Value` (or `Key Value`) option, mapped. Keys are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshOption {
    /// `HostName`: the address to dial (`%h` is the host as given).
    HostName(String),
    /// `User`.
    User(String),
    /// `Port`.
    Port(u16),
    /// `IdentityFile` (`~` and `%` tokens expanded when the host is resolved).
    IdentityFile(String),
    /// `StrictHostKeyChecking` (`yes`, `ask`, `accept-new`; never `no`).
    StrictHostKeyChecking(HostKeyPolicy),
    /// `UserKnownHostsFile` (one or more files, space-separated).
    UserKnownHostsFile(Vec<String>),
    /// `ConnectTimeout` in seconds.
    ConnectTimeout(Duration),
    /// `Ciphers`: the cipher list for both transports.
    Ciphers(String),
    /// `Compression`: accepted and ignored (zsync compresses streams itself with `--compress`;
    /// SSH compression of an already compressed stream only costs CPU).
    Compression(bool),
    /// `IdentitiesOnly yes`: skip the agent, use only the named key files.
    IdentitiesOnly(bool),
    /// `ServerAliveInterval` in seconds: keepalive interval (a dead peer is noticed after about
    /// four silent intervals).
    ServerAliveInterval(Duration),
    /// `BatchMode yes` (zsync never prompts anyway; `no` is refused).
    BatchMode,
}

/// Keys that are refused with a specific reason (everything not mapped is refused too, by name).
const REFUSED: &[(&str, &str)] = &[
    (
        "proxycommand",
        "zsync connects directly (libssh2 has no proxy support)",
    ),
    (
        "proxyjump",
        "zsync connects directly (libssh2 has no proxy support)",
    ),
    (
        "passwordauthentication",
        "zsync never uses passwords; use a key",
    ),
    (
        "kbdinteractiveauthentication",
        "zsync never uses passwords; use a key",
    ),
    ("pubkeyauthentication", "zsync authenticates only with keys"),
    ("controlmaster", "zsync manages its own connection sharing"),
    ("controlpath", "zsync manages its own connection sharing"),
    ("controlpersist", "zsync manages its own connection sharing"),
    ("forwardagent", "zsync does not forward the agent"),
    ("forwardx11", "zsync does not forward X11"),
    ("localforward", "zsync does not forward ports"),
    ("remoteforward", "zsync does not forward ports"),
    ("dynamicforward", "zsync does not forward ports"),
    ("requesttty", "remote commands run without a terminal"),
    ("localcommand", "zsync runs no local commands for SSH"),
    ("permitlocalcommand", "zsync runs no local commands for SSH"),
    ("remotecommand", "zsync chooses the remote commands"),
    ("sendenv", "zsync sets the remote environment per command"),
    ("setenv", "zsync sets the remote environment per command"),
];

const SUPPORTED: &str = "HostName, User, Port, IdentityFile, StrictHostKeyChecking, \
                         UserKnownHostsFile, ConnectTimeout, Ciphers, Compression, IdentitiesOnly, \
                         ServerAliveInterval, BatchMode";

fn yes_no(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Seconds as OpenSSH writes a time: a number, optionally with `s`, `m` or `h`.
pub(crate) fn parse_seconds(v: &str) -> Option<Duration> {
    let (num, mult) = match v.chars().last()? {
        's' | 'S' => (&v[..v.len() - 1], 1),
        'm' | 'M' => (&v[..v.len() - 1], 60),
        'h' | 'H' => (&v[..v.len() - 1], 3600),
        _ => (v, 1),
    };
    let n: u64 = num.parse().ok()?;
    Some(Duration::from_secs(n.checked_mul(mult)?))
}

/// A port number 1–65535.
pub(crate) fn parse_port(v: &str) -> Option<u16> {
    v.parse::<u16>().ok().filter(|&p| p > 0)
}

impl SshOption {
    /// Parses `Key=Value` or `Key Value`. Unknown and unsupported keys are refused by name.
    pub fn parse(text: &str) -> Result<SshOption, SshError> {
        let bad = |reason: String| SshError::BadOption {
            option: text.to_owned(),
            reason,
        };
        let t = text.trim();
        let split = t.find(|c: char| c == '=' || c.is_whitespace());
        let (key, value) = match split {
            Some(i) => {
                let v = t[i..].trim_start();
                let v = v.strip_prefix('=').unwrap_or(v).trim();
                (&t[..i], v)
            }
            None => (t, ""),
        };
        if key.is_empty() {
            return Err(bad("expected Key=Value".into()));
        }
        let lower = key.to_ascii_lowercase();
        if let Some((_, why)) = REFUSED.iter().find(|(k, _)| *k == lower) {
            return Err(bad(format!("{key} is not supported: {why}")));
        }
        let known = [
            "hostname",
            "user",
            "port",
            "identityfile",
            "stricthostkeychecking",
            "userknownhostsfile",
            "connecttimeout",
            "ciphers",
            "compression",
            "identitiesonly",
            "serveraliveinterval",
            "batchmode",
        ];
        if !known.contains(&lower.as_str()) {
            return Err(bad(format!(
                "{key} is not supported by zsync (supported: {SUPPORTED})"
            )));
        }
        if value.is_empty() {
            return Err(bad(format!("{key} needs a value")));
        }
        let word = |what: &str| -> Result<String, SshError> {
            if value.split_whitespace().count() != 1 {
                return Err(bad(format!("{key} takes one {what}")));
            }
            Ok(value.to_owned())
        };
        Ok(match lower.as_str() {
            "hostname" => SshOption::HostName(word("host name")?),
            "user" => {
                let user = word("user name")?;
                if user.starts_with('-') {
                    return Err(bad("a user name cannot begin with '-'".into()));
                }
                SshOption::User(user)
            }
            "port" => SshOption::Port(
                parse_port(value).ok_or_else(|| bad(format!("{value:?} is not a port 1-65535")))?,
            ),
            "identityfile" => SshOption::IdentityFile(word("file")?),
            "stricthostkeychecking" => {
                SshOption::StrictHostKeyChecking(HostKeyPolicy::parse(value).map_err(bad)?)
            }
            "userknownhostsfile" => {
                SshOption::UserKnownHostsFile(value.split_whitespace().map(str::to_owned).collect())
            }
            "connecttimeout" => SshOption::ConnectTimeout(
                parse_seconds(value)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(format!("{value:?} is not a number of seconds")))?,
            ),
            "ciphers" => {
                let list = word("comma-separated cipher list")?;
                if list.starts_with(['+', '-', '^']) {
                    return Err(bad(
                        "name the ciphers to use; +, - and ^ list edits are not supported".into(),
                    ));
                }
                SshOption::Ciphers(list)
            }
            "compression" => SshOption::Compression(
                yes_no(value).ok_or_else(|| bad(format!("{value:?} is not yes or no")))?,
            ),
            "identitiesonly" => SshOption::IdentitiesOnly(
                yes_no(value).ok_or_else(|| bad(format!("{value:?} is not yes or no")))?,
            ),
            "serveraliveinterval" => SshOption::ServerAliveInterval(
                parse_seconds(value)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(format!("{value:?} is not a number of seconds")))?,
            ),
            "batchmode" => match yes_no(value) {
                Some(true) => SshOption::BatchMode,
                _ => return Err(bad("zsync always runs in batch mode (never prompts)".into())),
            },
            _ => unreachable!("every known key is mapped above"),
        })
    }
}

/// Everything the command line says about SSH. [`Default`] is: port 22, keys from the agent and the
/// usual `~/.ssh/id_*` files, `~/.ssh/config`, strict host keys against `~/.ssh/known_hosts` and
/// `/etc/ssh/ssh_known_hosts`, transport `auto`, `sudo -n` for a non-root remote user, 30 s connect
/// timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshOptions {
    /// `--sshport`: the port, for hosts whose endpoint names none.
    pub port: Option<u16>,
    /// `--sshkey`: a private key file, tried after the agent and before config `IdentityFile`s.
    pub identity: Option<PathBuf>,
    /// `--sshconfig`: which ssh_config to read.
    pub config: ConfigFile,
    /// `--sshoption/-o`, in the order given (for each key, the first one given wins).
    pub options: Vec<SshOption>,
    /// `--sshcipher/-c`: cipher list (comma-separated) for both transports.
    pub cipher: Option<String>,
    /// `--ssh-transport`: the data path for send streams.
    pub transport: Transport,
    /// Host key policy from a flag (`None`: from `-o`/config, else strict).
    pub host_key_policy: Option<HostKeyPolicy>,
    /// A known_hosts file used instead of the user's (`~/.ssh/known_hosts` or
    /// `UserKnownHostsFile`); new keys are recorded there under accept-new.
    pub known_hosts: Option<PathBuf>,
    /// Run remote `zfs`/`zpool` through `sudo -n` when the remote user is not root
    /// (`--no-privilege-elevation` turns it off).
    pub elevate: bool,
    /// TCP connect + handshake timeout from a flag (`None`: from `-o`/config, else 30 s).
    pub connect_timeout: Option<Duration>,
    /// At most this many channels at once on the ssh2 session (sshd's `MaxSessions` defaults to 10;
    /// more commands wait for a free one). Lowered automatically when the server refuses earlier.
    pub max_channels: usize,
}

impl Default for SshOptions {
    fn default() -> SshOptions {
        SshOptions {
            port: None,
            identity: None,
            config: ConfigFile::Default,
            options: Vec::new(),
            cipher: None,
            transport: Transport::Auto,
            host_key_policy: None,
            known_hosts: None,
            elevate: true,
            connect_timeout: None,
            max_channels: 10,
        }
    }
}

impl SshOptions {
    /// Adds one `-o Key=Value` option (refused by name when zsync cannot honour it).
    pub fn add_option(&mut self, text: &str) -> Result<(), SshError> {
        self.options.push(SshOption::parse(text)?);
        Ok(())
    }

    /// The first `-o` option `pick` selects.
    pub(crate) fn first<T>(&self, pick: impl Fn(&SshOption) -> Option<T>) -> Option<T> {
        self.options.iter().find_map(pick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> SshOption {
        SshOption::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn refused(s: &str) -> String {
        match SshOption::parse(s) {
            Err(SshError::BadOption { option, reason }) => {
                assert_eq!(option, s);
                reason
            }
            other => panic!("{s}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn mapped_options() {
        assert_eq!(ok("Port=2222"), SshOption::Port(2222));
        assert_eq!(ok("port 2222"), SshOption::Port(2222));
        assert_eq!(ok("User=zsync"), SshOption::User("zsync".into()));
        assert_eq!(
            ok("HostName = %h.lan"),
            SshOption::HostName("%h.lan".into())
        );
        assert_eq!(
            ok("IdentityFile=~/.ssh/backup"),
            SshOption::IdentityFile("~/.ssh/backup".into())
        );
        assert_eq!(
            ok("StrictHostKeyChecking=accept-new"),
            SshOption::StrictHostKeyChecking(HostKeyPolicy::AcceptNew)
        );
        assert_eq!(
            ok("StrictHostKeyChecking=yes"),
            SshOption::StrictHostKeyChecking(HostKeyPolicy::Strict)
        );
        assert_eq!(
            ok("UserKnownHostsFile=/a /b"),
            SshOption::UserKnownHostsFile(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            ok("ConnectTimeout=5"),
            SshOption::ConnectTimeout(Duration::from_secs(5))
        );
        assert_eq!(
            ok("ConnectTimeout=2m"),
            SshOption::ConnectTimeout(Duration::from_secs(120))
        );
        assert_eq!(
            ok("Ciphers=aes128-ctr,chacha20-poly1305@openssh.com"),
            SshOption::Ciphers("aes128-ctr,chacha20-poly1305@openssh.com".into())
        );
        assert_eq!(ok("Compression=yes"), SshOption::Compression(true));
        assert_eq!(ok("IdentitiesOnly=yes"), SshOption::IdentitiesOnly(true));
        assert_eq!(
            ok("ServerAliveInterval=10"),
            SshOption::ServerAliveInterval(Duration::from_secs(10))
        );
        assert_eq!(ok("BatchMode=yes"), SshOption::BatchMode);
    }

    #[test]
    fn refusals_name_the_key_and_say_why() {
        assert!(refused("StrictHostKeyChecking=no").contains("always checks host keys"));
        assert!(refused("ProxyJump=gw").contains("ProxyJump is not supported"));
        assert!(refused("PasswordAuthentication=yes").contains("never uses passwords"));
        assert!(refused("ControlMaster=auto").contains("its own connection sharing"));
        let r = refused("VisualHostKey=yes");
        assert!(r.contains("VisualHostKey is not supported by zsync"), "{r}");
        assert!(r.contains("supported: HostName"), "{r}");
        assert!(refused("Port=0").contains("not a port"));
        assert!(refused("Port=70000").contains("not a port"));
        assert!(refused("Port").contains("needs a value"));
        assert!(refused("=x").contains("Key=Value"));
        assert!(refused("ConnectTimeout=soon").contains("seconds"));
        assert!(refused("BatchMode=no").contains("batch mode"));
        assert!(refused("User=-oProxyCommand=x").contains("'-'"));
        assert!(refused("Ciphers=+aes128-ctr").contains("list edits"));
        assert!(refused("StrictHostKeyChecking=maybe").contains("not yes"));
    }

    #[test]
    fn transports_and_policies_parse() {
        assert_eq!("ssh2".parse::<Transport>().unwrap(), Transport::Ssh2);
        assert_eq!("OpenSSH".parse::<Transport>().unwrap(), Transport::OpenSsh);
        assert_eq!("auto".parse::<Transport>().unwrap(), Transport::Auto);
        assert!("rsh".parse::<Transport>().is_err());
        assert_eq!(HostKeyPolicy::parse("ask"), Ok(HostKeyPolicy::Strict));
        assert!(HostKeyPolicy::parse("off").is_err());
    }

    #[test]
    fn first_option_given_wins() {
        let mut o = SshOptions::default();
        o.add_option("Port=1").unwrap();
        o.add_option("Port=2").unwrap();
        assert_eq!(
            o.first(|x| match x {
                SshOption::Port(p) => Some(*p),
                _ => None,
            }),
            Some(1)
        );
        assert!(o.add_option("Tunnel=yes").is_err());
        assert_eq!(o.options.len(), 2);
        assert!(o.elevate);
        assert_eq!(o.max_channels, 10);
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_seconds("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("99999999999999999999h"), None);
    }
}
