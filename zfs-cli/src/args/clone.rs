//! `zsync clone [HOST:]DS@SNAP NEWDS`: its flags, and their resolution into an endpoint and a
//! [`CloneRequest`] (pure: nothing is opened here).

use crate::args::ssh::SshFlags;
use crate::exit::Fail;
use clap::Args;
use std::time::Duration;
use zfs_core::{DatasetName, Endpoint};
use zsync_ops::CloneRequest;

/// `zsync clone`.
#[derive(Debug, Clone, Args)]
pub struct CloneArgs {
    /// The snapshot: `pool/ds@snap`, or `[user@]host[:port]:pool/ds@snap` on another host.
    pub snapshot: String,
    /// The new dataset, on the snapshot's host and in its pool (`pool/new`; `host:pool/new` only
    /// when it names the snapshot's host).
    pub new: String,
    /// A property of the clone, `PROP=VALUE` (repeatable; `zfs clone -o`). `-o` is the SSH option.
    #[arg(long = "property", short = 'p', value_name = "PROP=VALUE")]
    pub property: Vec<String>,
    /// How long to wait for a volume's device (`/dev/zvol/...`, made by udev), in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10")]
    pub device_wait: f64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print errors only (no warnings).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How to reach the host of a remote snapshot.
    #[command(flatten)]
    pub ssh: SshFlags,
}

/// A clone, resolved: where, what, how long to wait for a volume's device.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedClone {
    /// The snapshot's host and dataset.
    pub endpoint: Endpoint,
    /// What to clone as what.
    pub request: CloneRequest,
    /// How long to wait for a volume's device.
    pub device_wait: Duration,
}

/// Parses the snapshot, the new dataset and the properties; every refusal is one line naming what
/// is wrong.
pub fn resolve(a: &CloneArgs) -> Result<ResolvedClone, Fail> {
    let (endpoint, snapshot) =
        Endpoint::parse_snapshot(&a.snapshot).map_err(|e| Fail::failure(format!("clone: {e}")))?;
    let new = if Endpoint::is_remote_form(&a.new) {
        let e = Endpoint::parse(&a.new).map_err(|e| Fail::failure(format!("clone: {e}")))?;
        // The same host: same name; a user or port given on NEWDS must be the snapshot's.
        let same = match (&e.remote, &endpoint.remote) {
            (Some(n), Some(s)) => {
                n.host == s.host
                    && (n.user.is_none() || n.user == s.user)
                    && (n.port.is_none() || n.port == s.port)
            }
            _ => false,
        };
        if !same {
            let host = |e: &Endpoint| {
                e.remote
                    .as_ref()
                    .map_or("this machine".to_owned(), |r| r.to_string())
            };
            return Err(Fail::failure(format!(
                "clone: {} is on {}, the snapshot {} on {}: a clone is made on the snapshot's host",
                a.new,
                host(&e),
                snapshot,
                host(&endpoint)
            )));
        }
        e.dataset
    } else {
        DatasetName::parse(&a.new)
            .map_err(|e| Fail::failure(format!("clone: invalid dataset {:?}: {}", a.new, e.rule)))?
    };
    zfs_core::name::check_creatable(new.as_str())
        .map_err(|e| Fail::failure(format!("clone: cannot create {:?}: {}", e.name, e.rule)))?;
    if new.pool() != snapshot.dataset().pool() {
        return Err(Fail::failure(format!(
            "clone: {new} is not in the pool of {snapshot}: a clone stays in its snapshot's pool"
        )));
    }
    let mut props = Vec::new();
    for p in &a.property {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => props.push((k.to_owned(), v.to_owned())),
            _ => {
                return Err(Fail::failure(format!(
                    "clone: --property {p:?}: expected PROP=VALUE"
                )))
            }
        }
    }
    let device_wait = crate::args::common::seconds("--device-wait", a.device_wait)
        .map_err(|f| Fail::failure(format!("clone: {}", f.message)))?;
    Ok(ResolvedClone {
        endpoint,
        request: CloneRequest {
            snapshot,
            new,
            props,
        },
        device_wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> CloneArgs {
        let mut v = vec!["zsync", "clone"];
        v.extend(argv);
        match Cli::try_parse_from(v).unwrap().command {
            Command::Clone(a) => a,
            other => panic!("{other:?}"),
        }
    }

    fn refused(argv: &[&str], says: &str) {
        let e = resolve(&parse(argv)).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(!e.message.contains('\n'), "{}", e.message);
        assert!(e.message.contains(says), "{} lacks {says:?}", e.message);
    }

    #[test]
    fn a_local_and_a_remote_clone() {
        let r = resolve(&parse(&["tank/vm@daily", "tank/vm-restore"])).unwrap();
        assert!(r.endpoint.is_local());
        assert_eq!(r.request.snapshot.as_str(), "tank/vm@daily");
        assert_eq!(r.request.new.as_str(), "tank/vm-restore");
        assert_eq!(r.device_wait, Duration::from_secs(10));

        let a = parse(&[
            "root@backup:tank/b/vm@daily",
            "backup:tank/b/vm-restore",
            "-p",
            "volmode=dev",
            "--property=zsync:note=a=b",
            "--sshport",
            "2222",
            "-o",
            "ConnectTimeout=5",
            "--device-wait",
            "2.5",
            "--json",
        ]);
        assert_eq!(a.ssh.sshport, Some(2222));
        assert_eq!(a.ssh.sshoption, ["ConnectTimeout=5"]);
        assert!(a.json);
        let r = resolve(&a).unwrap();
        let remote = r.endpoint.remote.as_ref().unwrap();
        assert_eq!(
            (remote.user.as_deref(), remote.host.as_str()),
            (Some("root"), "backup")
        );
        assert_eq!(r.request.new.as_str(), "tank/b/vm-restore");
        assert_eq!(
            r.request.props,
            [
                ("volmode".to_owned(), "dev".to_owned()),
                ("zsync:note".to_owned(), "a=b".to_owned())
            ]
        );
        assert_eq!(r.device_wait, Duration::from_millis(2500));
        // `host:new` must name the snapshot's host: a user given once is the same host.
        let r = resolve(&parse(&["root@backup:tank/vm@s", "root@backup:tank/c"])).unwrap();
        assert_eq!(r.request.new.as_str(), "tank/c");
    }

    #[test]
    fn refusals_are_one_line_naming_the_problem() {
        refused(&["tank/vm", "tank/c"], "no @snapshot");
        refused(&["backup:tank/vm", "tank/c"], "no @snapshot");
        refused(&["tank/vm@s", "tank/c@x"], "tank/c@x");
        refused(&["tank/vm@s", "tank/bad%name"], "bad%name");
        refused(&["tank/vm@s", "other/c"], "not in the pool of tank/vm@s");
        refused(&["backup:tank/vm@s", "elsewhere:tank/c"], "elsewhere");
        refused(&["tank/vm@s", "backup:tank/c"], "this machine");
        refused(&["root@backup:tank/vm@s", "bk@backup:tank/c"], "bk@backup");
        refused(&["tank/vm@s", "tank/c", "-p", "novalue"], "PROP=VALUE");
        refused(&["tank/vm@s", "tank/c", "-p", "=v"], "PROP=VALUE");
        refused(
            &["tank/vm@s", "tank/c", "--device-wait=-1"],
            "--device-wait",
        );
        // A missing operand is clap's usage error (exit 2).
        let mut v = vec!["zsync", "clone", "tank/vm@s"];
        let err = Cli::try_parse_from(&v).unwrap_err();
        assert_eq!(crate::args::usage_error(&err, "zsync").code, 2);
        v.push("tank/c");
        assert!(Cli::try_parse_from(&v).is_ok());
    }
}
