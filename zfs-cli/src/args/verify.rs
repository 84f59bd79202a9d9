//! `zsync verify [HOST:]DS@SNAP [HOST:]DS@SNAP` and the hidden `zsync verify-manifest DS@SNAP` a
//! remote host runs for it: flags, and their resolution (pure: nothing is opened here).

use crate::args::ssh::SshFlags;
use crate::exit::Fail;
use clap::Args;
use std::time::Duration;
use zfs_core::{Endpoint, SnapshotName};

/// `zsync verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The source snapshot: `pool/ds@snap`, or `[user@]host[:port]:pool/ds@snap`.
    pub source: String,
    /// The target snapshot (its replica), in the same forms.
    pub target: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// How the snapshots are hashed.
    #[command(flatten)]
    pub hash: HashFlags,
    /// Print errors only (no warnings).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How to reach remote hosts.
    #[command(flatten)]
    pub ssh: SshFlags,
}

/// How `verify` and `drill` hash snapshots.
#[derive(Debug, Clone, Args)]
pub struct HashFlags {
    /// The zsync program on a remote host (it hashes its side there).
    #[arg(long, value_name = "PATH", default_value = "zsync")]
    pub remote_zsync: String,
    /// Hashing threads per side (default: up to 4).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How long to wait for a temporary volume clone's device, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub device_wait: f64,
}

impl HashFlags {
    /// The threads and the device wait, checked; `command` prefixes a refusal (`verify: ...`).
    pub fn checked(&self, command: &str) -> Result<(Option<usize>, Duration), Fail> {
        let device_wait = crate::args::common::seconds("--device-wait", self.device_wait)
            .map_err(|f| Fail::failure(format!("{command}: {}", f.message)))?;
        if self.threads == Some(0) {
            return Err(Fail::failure(format!("{command}: --threads 0: at least 1")));
        }
        if self.remote_zsync.is_empty() {
            return Err(Fail::failure(format!("{command}: --remote-zsync: empty")));
        }
        Ok((self.threads, device_wait))
    }
}

/// `zsync verify-manifest DS@SNAP` (hidden): prints the snapshot's manifest on stdout.
#[derive(Debug, Clone, Args)]
pub struct VerifyManifestArgs {
    /// The snapshot on this host.
    pub snapshot: String,
    /// Hashing threads (default: up to 4).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Stop (destroying the temporary clone) when stdin ends: the verifying zsync went away.
    #[arg(long)]
    pub watch_stdin: bool,
}

/// A verify, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedVerify {
    /// The source's host and snapshot.
    pub source: (Endpoint, SnapshotName),
    /// The target's.
    pub target: (Endpoint, SnapshotName),
    /// Threads per side (`None`: the library's default).
    pub threads: Option<usize>,
    /// The device wait.
    pub device_wait: Duration,
}

fn snapshot(what: &str, arg: &str) -> Result<(Endpoint, SnapshotName), Fail> {
    Endpoint::parse_snapshot(arg).map_err(|e| Fail::failure(format!("verify: {what}: {e}")))
}

/// Parses both snapshots and the numbers; every refusal is one line naming what is wrong.
pub fn resolve(a: &VerifyArgs) -> Result<ResolvedVerify, Fail> {
    let source = snapshot("source", &a.source)?;
    let target = snapshot("target", &a.target)?;
    let (threads, device_wait) = a.hash.checked("verify")?;
    Ok(ResolvedVerify {
        source,
        target,
        threads,
        device_wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> VerifyArgs {
        let mut v = vec!["zsync", "verify"];
        v.extend(argv);
        match Cli::try_parse_from(v).unwrap().command {
            Command::Verify(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn local_and_remote_sides() {
        let a = parse(&[
            "tank/vm@d",
            "root@backup:bk/vm@d",
            "--sshport",
            "2222",
            "--remote-zsync",
            "/opt/zsync",
            "--json",
        ]);
        assert_eq!(a.hash.remote_zsync, "/opt/zsync");
        assert_eq!(a.ssh.sshport, Some(2222));
        let r = resolve(&a).unwrap();
        assert!(r.source.0.is_local());
        assert_eq!(r.target.1.as_str(), "bk/vm@d");
        assert_eq!(r.target.0.remote.unwrap().host, "backup");
        assert_eq!(r.device_wait, Duration::from_secs(30));
        assert_eq!(parse(&["a@b", "c@d"]).hash.remote_zsync, "zsync");
    }

    #[test]
    fn refusals_are_one_line() {
        for (argv, says) in [
            (&["tank/vm", "bk/vm@d"][..], "source"),
            (&["tank/vm@d", "bk/vm"][..], "target"),
            (&["tank/vm@d", "bk/vm@d", "--threads", "0"][..], "--threads"),
            (
                &["tank/vm@d", "bk/vm@d", "--device-wait=-1"][..],
                "--device-wait",
            ),
        ] {
            let e = resolve(&parse(argv)).unwrap_err();
            assert_eq!(e.code, 2);
            assert!(
                e.message.contains(says) && !e.message.contains('\n'),
                "{}",
                e.message
            );
        }
        // The hidden subcommand parses and stays out of --help.
        let c = Cli::try_parse_from([
            "zsync",
            "verify-manifest",
            "--watch-stdin",
            "--",
            "tank/vm@d",
        ])
        .unwrap();
        assert!(
            matches!(c.command, Command::VerifyManifest(ref m) if m.snapshot == "tank/vm@d" && m.watch_stdin)
        );
        let help = Cli::try_parse_from(["zsync", "--help"])
            .unwrap_err()
            .to_string();
        assert!(
            help.contains("verify") && !help.contains("verify-manifest"),
            "{help}"
        );
    }
}
