//! The SSH flags of `zsync sync`/`plan`/`clone` and syncoid mode (syncoid's spellings), and their
//! resolution into zfs-ssh's [`SshOptions`].

use crate::exit::Fail;
use clap::Args;
use std::path::PathBuf;
use zfs_ssh::{ConfigFile, HostKeyPolicy, SshOptions, Transport};

/// `--ssh-transport`'s values as clap possible values (so help, completions and the man page list
/// them), each parsed by zfs-ssh's `Transport::from_str`; `libssh2` and `ssh` stay accepted aliases.
fn transport_parser() -> impl clap::builder::TypedValueParser<Value = Transport> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("ssh2").alias("libssh2"),
        PossibleValue::new("openssh").alias("ssh"),
        PossibleValue::new("auto"),
    ])
    .try_map(|s| s.parse::<Transport>())
}

/// How to reach an endpoint written `[user@]host:pool/ds`. Ignored when both ends are local.
#[derive(Debug, Clone, Args, Default, PartialEq, Eq)]
pub struct SshFlags {
    /// SSH private key, tried after the agent and before ssh_config's IdentityFile and ~/.ssh/id_*.
    #[arg(long, value_name = "FILE")]
    pub sshkey: Option<PathBuf>,
    /// SSH port for hosts whose ssh_config names none.
    #[arg(long, value_name = "PORT")]
    pub sshport: Option<u16>,
    /// SSH cipher list (comma-separated), for both transports.
    #[arg(long, short = 'c', value_name = "CIPHER")]
    pub sshcipher: Option<String>,
    /// An ssh `-o Key=Value` option (repeatable). Mapped: HostName, User, Port, IdentityFile,
    /// StrictHostKeyChecking (yes, accept-new), UserKnownHostsFile, ConnectTimeout, Ciphers,
    /// Compression, IdentitiesOnly, ServerAliveInterval, BatchMode; any other is refused by name.
    #[arg(long, short = 'o', value_name = "OPT")]
    pub sshoption: Vec<String>,
    /// ssh_config file to read instead of ~/.ssh/config ("none": read none).
    #[arg(long, value_name = "FILE")]
    pub sshconfig: Option<String>,
    /// Which SSH carries the send streams: ssh2 (libssh2 channels), openssh (the system `ssh`
    /// over one multiplexed connection per host) or auto (openssh when `ssh` exists). Listing,
    /// snapshots and holds always use the ssh2 session.
    #[arg(
        long,
        value_name = "ssh2|openssh|auto",
        default_value = "auto",
        ignore_case = true,
        value_parser = transport_parser()
    )]
    pub ssh_transport: Transport,
    /// Accept a host key that is in no known_hosts file and record it (a changed key is always
    /// refused).
    #[arg(long)]
    pub accept_new_host_key: bool,
    /// Run remote zfs commands without `sudo -n` when the remote user is not root.
    #[arg(long)]
    pub no_privilege_elevation: bool,
}

impl SshFlags {
    /// Whether any SSH flag differs from its default.
    pub fn given(&self) -> bool {
        *self != SshFlags::default()
    }

    /// The options for zfs-ssh; a bad `-o` or transport is a one-line error naming it.
    pub fn options(&self) -> Result<SshOptions, Fail> {
        let mut o = SshOptions {
            port: self.sshport,
            identity: self.sshkey.clone(),
            cipher: self.sshcipher.clone(),
            elevate: !self.no_privilege_elevation,
            ..SshOptions::default()
        };
        o.config = match self.sshconfig.as_deref() {
            None => ConfigFile::Default,
            Some("none") => ConfigFile::None,
            Some(p) => ConfigFile::Path(PathBuf::from(p)),
        };
        o.transport = self.ssh_transport;
        if self.accept_new_host_key {
            o.host_key_policy = Some(HostKeyPolicy::AcceptNew);
        }
        for text in &self.sshoption {
            o.add_option(text)
                .map_err(|e| Fail::failure(format!("--sshoption: {e}")))?;
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_reach_the_options() {
        let f = SshFlags {
            sshkey: Some("/k".into()),
            sshport: Some(2222),
            sshcipher: Some("aes128-ctr".into()),
            sshoption: vec!["ConnectTimeout=5".into()],
            sshconfig: Some("none".into()),
            ssh_transport: Transport::Ssh2,
            accept_new_host_key: true,
            no_privilege_elevation: true,
        };
        assert!(f.given());
        let o = f.options().unwrap();
        assert_eq!(o.port, Some(2222));
        assert_eq!(o.identity.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(o.cipher.as_deref(), Some("aes128-ctr"));
        assert_eq!(o.config, ConfigFile::None);
        assert_eq!(o.transport, Transport::Ssh2);
        assert_eq!(o.host_key_policy, Some(HostKeyPolicy::AcceptNew));
        assert!(!o.elevate);
        assert_eq!(o.options.len(), 1);
        let d = SshFlags::default();
        assert!(!d.given());
        assert!(d.options().unwrap().elevate);
    }

    #[test]
    fn a_refused_option_is_named() {
        let f = SshFlags {
            sshoption: vec!["ProxyJump=bastion".into()],
            ..SshFlags::default()
        };
        let e = f.options().unwrap_err().message;
        assert!(e.contains("ProxyJump"), "{e}");
    }

    #[test]
    fn transport_values_and_aliases_parse() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            ssh: SshFlags,
        }
        let t =
            |v: &str| T::try_parse_from(["t", "--ssh-transport", v]).map(|t| t.ssh.ssh_transport);
        assert_eq!(t("ssh2").unwrap(), Transport::Ssh2);
        assert_eq!(t("libssh2").unwrap(), Transport::Ssh2);
        assert_eq!(t("OpenSSH").unwrap(), Transport::OpenSsh);
        assert_eq!(t("ssh").unwrap(), Transport::OpenSsh);
        assert_eq!(t("auto").unwrap(), Transport::Auto);
        let e = t("rsh").unwrap_err().to_string();
        assert!(e.contains("rsh") && e.contains("openssh"), "{e}");
    }
}
