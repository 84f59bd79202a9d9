//! Runtime backend selection: `Lzc` when libzfs_core and `/dev/zfs` are usable, else `Cli`.

use crate::backend::Backend;
use crate::cli::Cli;
use crate::endpoint::Endpoint;
use crate::error::ZfsError;

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// `Lzc` when available, else `Cli`.
    #[default]
    Auto,
    /// Always the CLI (`zfs` argv).
    Cli,
    /// libzfs_core; an error when it cannot be used.
    Lzc,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cli" => Ok(BackendChoice::Cli),
            "lzc" => Ok(BackendChoice::Lzc),
            other => Err(format!("unknown backend {other:?} (auto, cli or lzc)")),
        }
    }
}

/// Opens the local backend per `choice`; also returns one line saying which backend is active and why
/// (for `zsync version`).
pub fn open(choice: BackendChoice) -> Result<(Box<dyn Backend>, String), ZfsError> {
    match choice {
        BackendChoice::Cli => Ok((
            Box::new(Cli::local()),
            "cli: forced by configuration".into(),
        )),
        BackendChoice::Lzc => match crate::lzc::open_with(Box::new(Cli::local())) {
            Ok(b) => Ok((
                b,
                "lzc: forced by configuration; libzfs_core loaded, /dev/zfs usable".into(),
            )),
            Err(why) => Err(ZfsError::Unsupported {
                op: "open",
                backend: "lzc",
                why,
            }),
        },
        BackendChoice::Auto => match crate::lzc::open_with(Box::new(Cli::local())) {
            Ok(b) => Ok((b, "lzc: libzfs_core loaded and /dev/zfs usable".into())),
            Err(why) => Ok((
                Box::new(Cli::local()),
                format!("cli: libzfs_core not usable ({why})"),
            )),
        },
    }
}

/// Opens the backend for `endpoint` per `choice`, with the same one-line reason as [`open`]. A local
/// endpoint gets the local backend; a remote one is [`ZfsError::Unsupported`] until an SSH runner
/// exists, saying so in the words `zsync` uses.
pub fn open_endpoint(
    endpoint: &Endpoint,
    choice: BackendChoice,
) -> Result<(Box<dyn Backend>, String), ZfsError> {
    if endpoint.is_local() {
        return open(choice);
    }
    Err(ZfsError::Unsupported {
        op: "open remote endpoint",
        backend: "local",
        why: format!(
            "remote endpoint '{endpoint}' needs a transport: open it with a remote runner \
             (zfs-ssh's `connect`) and `Cli::new`"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_parses_and_cli_always_opens() {
        assert_eq!("lzc".parse::<BackendChoice>().unwrap(), BackendChoice::Lzc);
        assert!("zfs".parse::<BackendChoice>().is_err());
        let (b, why) = open(BackendChoice::Cli).unwrap();
        assert_eq!(b.name(), "cli");
        assert!(why.starts_with("cli:"));
        // Auto never fails: it falls back to the CLI with a reason when libzfs_core is not usable.
        let (b, why) = open(BackendChoice::Auto).unwrap();
        assert!(why.starts_with(b.name()), "{why}");
    }

    #[test]
    fn endpoints_open_locally_or_say_remote_needs_a_transport() {
        let local = Endpoint::parse("pool/a:b").unwrap();
        let (b, why) = open_endpoint(&local, BackendChoice::Cli).unwrap();
        assert_eq!(b.name(), "cli");
        assert!(why.starts_with("cli:"));
        let remote = Endpoint::parse("root@backup:22:pool/a").unwrap();
        match open_endpoint(&remote, BackendChoice::Auto) {
            Err(ZfsError::Unsupported { why, .. }) => assert_eq!(
                why,
                "remote endpoint 'root@backup:22:pool/a' needs a transport: open it with a remote \
                 runner (zfs-ssh's `connect`) and `Cli::new`"
            ),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a remote endpoint opened"),
        }
    }
}
