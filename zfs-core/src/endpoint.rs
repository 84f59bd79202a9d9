//! Where a dataset lives: `pool/ds` on this machine, or `[user@]host[:port]:pool/ds` on another
//! (`[user@][v6-address][:port]:pool/ds` for an IPv6 address), parsed and validated.
//!
//! The rule that tells them apart is the one `zsync` has always used: an endpoint is remote when the
//! part before its first `/` contains a `:`. So `pool/a:b` is the local dataset `a:b` of `pool`, and
//! `host:pool` the remote pool `pool`. After `host:`, a run of digits followed by `:` is the port:
//! a pool name begins with a letter, so it cannot be mistaken for one.
//!
//! User and host names are checked so that neither can be read as an option by `ssh` (no leading `-`)
//! and neither carries shell or path characters: a user of letters, digits and `. _ -`; a host name of
//! letters, digits and `. _ -` (at most 253 bytes), or an IPv6 address in brackets (hex digits, `:`
//! and `.`, optionally `%zone`).

use crate::name::{DatasetName, SnapshotName};
use std::fmt;

/// Why an endpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint {input:?}: {rule}")]
pub struct EndpointError {
    /// The rejected input.
    pub input: String,
    /// The rule it broke, in words.
    pub rule: String,
}

/// The remote part of an endpoint: how to reach the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteHost {
    /// Login name (`user@`), when given.
    pub user: Option<String>,
    /// Host name, IPv4 address, or IPv6 address (without its brackets).
    pub host: String,
    /// SSH port, when given.
    pub port: Option<u16>,
}

/// A dataset on this machine or on a remote host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host; `None` for a dataset on this machine.
    pub remote: Option<RemoteHost>,
    /// The dataset.
    pub dataset: DatasetName,
}

const MAX_HOST_LEN: usize = 253;

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("empty user name before '@'".into());
    }
    if user.starts_with('-') {
        return Err(format!("user name {user:?} begins with '-'"));
    }
    if let Some(c) = user.chars().find(|&c| !word_char(c)) {
        return Err(format!(
            "character {c:?} not allowed in user name {user:?} (letters, digits and . _ - only)"
        ));
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("empty host name".into());
    }
    if host.len() > MAX_HOST_LEN {
        return Err(format!("host name longer than {MAX_HOST_LEN} bytes"));
    }
    if host.starts_with('-') {
        return Err(format!("host name {host:?} begins with '-'"));
    }
    if let Some(c) = host.chars().find(|&c| !word_char(c)) {
        return Err(format!(
            "character {c:?} not allowed in host name {host:?} (letters, digits and . _ - only; an \
             IPv6 address goes in brackets)"
        ));
    }
    Ok(())
}

fn check_ipv6(addr: &str) -> Result<(), String> {
    let (ip, zone) = match addr.split_once('%') {
        Some((ip, zone)) => (ip, Some(zone)),
        None => (addr, None),
    };
    let ip_ok = ip.contains(':')
        && ip
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    if !ip_ok {
        return Err(format!("[{addr}] is not an IPv6 address"));
    }
    if let Some(zone) = zone {
        if zone.is_empty() || !zone.chars().all(word_char) {
            return Err(format!("bad zone in IPv6 address [{addr}]"));
        }
    }
    Ok(())
}

/// Splits `rest` (after `user@`) into host, port and dataset text.
fn split_remote(rest: &str) -> Result<(String, Option<u16>, &str), String> {
    let (host, after) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (addr, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address opened with '[' has no ']'")?;
        check_ipv6(addr)?;
        let after = after
            .strip_prefix(':')
            .ok_or(format!("expected ':' after [{addr}]"))?;
        (addr.to_owned(), after)
    } else {
        let (host, after) = rest.split_once(':').ok_or("no ':' after the host")?;
        check_host(host)?;
        (host.to_owned(), after)
    };
    // `22:pool/ds`: a port. A pool name begins with a letter, so digits before a ':' are never one.
    let port_text = after
        .split_once(':')
        .filter(|(p, _)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let (port, dataset) = match port_text {
        Some((p, ds)) => match p.parse::<u16>() {
            Ok(n) if n > 0 => (Some(n), ds),
            _ => return Err(format!("port {p} is not between 1 and 65535")),
        },
        None => (None, after),
    };
    if dataset.is_empty() {
        return Err("no dataset after the host".into());
    }
    Ok((host, port, dataset))
}

impl Endpoint {
    /// A dataset on this machine.
    pub fn local(dataset: DatasetName) -> Endpoint {
        Endpoint {
            remote: None,
            dataset,
        }
    }

    /// Whether `s` is written as a remote endpoint: the part before its first `/` contains a `:`.
    pub fn is_remote_form(s: &str) -> bool {
        s.split('/').next().unwrap_or("").contains(':')
    }

    /// Parses `pool/ds` or `[user@]host[:port]:pool/ds` (see the module docs); errors name the input.
    pub fn parse(s: &str) -> Result<Endpoint, EndpointError> {
        let err = |rule: String| EndpointError {
            input: s.to_owned(),
            rule,
        };
        let first = s.split('/').next().unwrap_or("");
        if !Endpoint::is_remote_form(s) {
            let dataset = DatasetName::parse(s).map_err(|e| err(e.rule))?;
            return Ok(Endpoint::local(dataset));
        }
        // `user@` only before the host: an `@` after it belongs to the (then invalid) dataset.
        let host_start = first.find([':', '[']).unwrap_or(first.len());
        let (user, rest) = match first[..host_start].split_once('@') {
            Some((user, _)) => {
                check_user(user).map_err(&err)?;
                (Some(user.to_owned()), &s[user.len() + 1..])
            }
            None => (None, s),
        };
        let (host, port, dataset) = split_remote(rest).map_err(&err)?;
        let dataset = DatasetName::parse(dataset).map_err(|e| err(e.rule))?;
        Ok(Endpoint {
            remote: Some(RemoteHost { user, host, port }),
            dataset,
        })
    }

    /// Parses a snapshot where it lives: `pool/ds@snap` or `[user@]host[:port]:pool/ds@snap`. The
    /// snapshot's `@` is the last one (neither dataset nor snapshot names have another); what comes
    /// before it is read as [`Endpoint::parse`] reads it, and must be as remote as the whole text
    /// (so `user@host:pool` is no snapshot `host:pool` of a local pool `user`). Errors name the input.
    pub fn parse_snapshot(s: &str) -> Result<(Endpoint, SnapshotName), EndpointError> {
        let err = |rule: String| EndpointError {
            input: s.to_owned(),
            rule,
        };
        let no_snapshot = || err("no @snapshot after the dataset".into());
        let (head, short) = s.rsplit_once('@').ok_or_else(no_snapshot)?;
        if Endpoint::is_remote_form(head) != Endpoint::is_remote_form(s) {
            return Err(no_snapshot());
        }
        let endpoint = Endpoint::parse(head).map_err(|e| err(e.rule))?;
        let snap = endpoint.dataset.snapshot(short).map_err(|e| err(e.rule))?;
        Ok((endpoint, snap))
    }

    /// Whether the dataset is on this machine.
    pub fn is_local(&self) -> bool {
        self.remote.is_none()
    }
}

impl fmt::Display for RemoteHost {
    /// `[user@]host[:port]`, an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Endpoint {
    /// The form [`Endpoint::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(remote) = &self.remote {
            write!(f, "{remote}:")?;
        }
        f.write_str(self.dataset.as_str())
    }
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;
    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn remote(user: Option<&str>, host: &str, port: Option<u16>, ds: &str) -> Endpoint {
        Endpoint {
            remote: Some(RemoteHost {
                user: user.map(str::to_owned),
                host: host.to_owned(),
                port,
            }),
            dataset: DatasetName::parse(ds).unwrap(),
        }
    }

    #[test]
    fn snapshots_where_they_live() {
        let (e, s) = Endpoint::parse_snapshot("pool/vm-100-disk-0@daily").unwrap();
        assert!(e.is_local());
        assert_eq!(s.as_str(), "pool/vm-100-disk-0@daily");
        let (e, s) = Endpoint::parse_snapshot("root@backup:2222:tank/b/vm@a:b").unwrap();
        assert_eq!(e, remote(Some("root"), "backup", Some(2222), "tank/b/vm"));
        assert_eq!(s.as_str(), "tank/b/vm@a:b");
        let (e, s) = Endpoint::parse_snapshot("[::1]:tank@s").unwrap();
        assert_eq!(e, remote(None, "::1", None, "tank"));
        assert_eq!(s.as_str(), "tank@s");
        for bad in [
            "pool/ds",
            "root@backup:pool/ds",
            "backup:pool/ds",
            "pool/ds@",
            "pool/ds@a@b",
            "pool/ds#bm",
            "-x@backup:pool@s",
            "backup:pool/ds@s/t",
        ] {
            let e = Endpoint::parse_snapshot(bad).unwrap_err();
            assert_eq!(e.input, bad);
        }
    }

    #[test]
    fn local_and_remote_forms() {
        let cases = [
            (
                "pool/ds",
                Endpoint::local(DatasetName::parse("pool/ds").unwrap()),
            ),
            ("pool", Endpoint::local(DatasetName::parse("pool").unwrap())),
            // A ':' after the first '/' belongs to the dataset: local, as zsync has always read it.
            (
                "pool/a:b",
                Endpoint::local(DatasetName::parse("pool/a:b").unwrap()),
            ),
            (
                "pool/my data/x:y:z",
                Endpoint::local(DatasetName::parse("pool/my data/x:y:z").unwrap()),
            ),
            ("host:pool/ds", remote(None, "host", None, "pool/ds")),
            ("host:pool", remote(None, "host", None, "pool")),
            (
                "root@backup-1.example.org:tank/a:b",
                remote(Some("root"), "backup-1.example.org", None, "tank/a:b"),
            ),
            (
                "u@h:2222:tank/ds",
                remote(Some("u"), "h", Some(2222), "tank/ds"),
            ),
            (
                "10.0.0.2:22:tank",
                remote(None, "10.0.0.2", Some(22), "tank"),
            ),
            ("[::1]:pool/ds", remote(None, "::1", None, "pool/ds")),
            (
                "me@[fe80::1%eth0]:2222:pool/my data",
                remote(Some("me"), "fe80::1%eth0", Some(2222), "pool/my data"),
            ),
            (
                "[2001:db8::7]:tank",
                remote(None, "2001:db8::7", None, "tank"),
            ),
        ];
        for (input, want) in cases {
            let got = Endpoint::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
            assert_eq!(got.is_local(), want.remote.is_none());
            // Display gives back the input, which parses to the same endpoint.
            assert_eq!(got.to_string(), input);
            assert_eq!(input.parse::<Endpoint>().unwrap(), got);
        }
    }

    #[test]
    fn errors_name_the_input_and_the_rule() {
        let cases = [
            ("", "empty"),
            ("host:", "no dataset"),
            ("host:22:", "no dataset"),
            (":pool", "empty host"),
            ("@host:pool", "empty user"),
            ("-oProxyCommand=x:pool", "begins with '-'"),
            ("-l@host:pool", "begins with '-'"),
            ("us er@host:pool", "not allowed in user"),
            ("ho$t:pool", "not allowed in host"),
            ("host:0:pool", "between 1 and 65535"),
            ("host:65536:pool", "between 1 and 65535"),
            ("host:22", "begin with a letter"),
            ("host:pool@snap", "'@'"),
            ("host:pool/a;b", "not allowed"),
            ("[::1:pool", "no ']'"),
            ("[::1]pool", "expected ':'"),
            ("[nothex]:pool", "not an IPv6 address"),
            ("[::1%]:pool", "zone"),
            ("pool@snap", "'@'"),
            ("1pool/ds", "begin with a letter"),
        ];
        for (input, want) in cases {
            let e = Endpoint::parse(input).expect_err(input);
            assert_eq!(e.input, input);
            assert!(e.rule.contains(want), "{input:?}: {e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid endpoint {input:?}")),
                "{e}"
            );
        }
        let long = format!("{}:pool", "h".repeat(254));
        assert!(Endpoint::parse(&long).unwrap_err().rule.contains("253"));
    }

    proptest! {
        #[test]
        fn any_dataset_is_local_bare_and_remote_after_a_host(
            pool in "[a-z][a-z0-9_.-]{0,8}",
            comps in proptest::collection::vec("[A-Za-z0-9 _:.-]{1,8}", 0..3),
            host in "[a-z][a-z0-9.-]{0,12}",
            port in proptest::option::of(1u16..),
        ) {
            prop_assume!(crate::name::PoolName::parse(&pool).is_ok());
            prop_assume!(comps.iter().all(|c| c != "." && c != ".."));
            let mut ds = pool.clone();
            for c in &comps { ds.push('/'); ds.push_str(c); }
            let d = DatasetName::parse(&ds).unwrap();
            prop_assert_eq!(Endpoint::parse(&ds).unwrap(), Endpoint::local(d.clone()));
            let input = match port { Some(p) => format!("{host}:{p}:{ds}"), None => format!("{host}:{ds}") };
            let e = Endpoint::parse(&input).unwrap();
            prop_assert_eq!(&e.dataset, &d);
            prop_assert_eq!(e.remote.as_ref().map(|r| (r.host.as_str(), r.port)), Some((host.as_str(), port)));
            prop_assert_eq!(e.to_string(), input);
        }
    }
}
