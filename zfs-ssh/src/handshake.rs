//! Getting from a [`Target`] to an authenticated libssh2 session: TCP connect with a timeout (every
//! address the name resolves to, in order), the SSH handshake with zsync's cipher preference, the
//! host key check against known_hosts, and public-key authentication (the agent, then key files;
//! never a password).

use crate::chan::libssh2_codes;
use crate::error::SshError;
use crate::known_hosts::{self, HostKey, Verdict};
use crate::options::HostKeyPolicy;
use crate::resolve::{Identity, Target};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// MACs in order (encrypt-then-MAC first; unused with the AEAD ciphers).
const MACS: &str = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,\
                    hmac-sha2-512";

/// An authenticated session (blocking mode, connect timeout still set) and its socket.
pub(crate) struct Authenticated {
    pub session: ssh2::Session,
    pub tcp: TcpStream,
    /// The known_hosts file a new host key was recorded in (accept-new).
    pub recorded_key: Option<PathBuf>,
}

/// Connects to the first address that answers within the timeout.
fn tcp_connect(t: &Target) -> Result<TcpStream, SshError> {
    let unreachable = |detail: String| SshError::Unreachable {
        host: t.label.clone(),
        addr: t.addr(),
        detail,
    };
    let addrs: Vec<_> = (t.address.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(format!("cannot resolve {:?}: {e}", t.address)))?
        .collect();
    let mut last = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, t.connect_timeout) {
            Ok(s) => return Ok(s),
            // With several addresses, say which one failed last.
            Err(e) if addrs.len() > 1 => last = Some(format!("{a}: {e}")),
            Err(e) => last = Some(e.to_string()),
        }
    }
    Err(unreachable(last.unwrap_or_else(|| {
        format!("{:?} has no address", t.address)
    })))
}

/// Keepalives at the TCP level too: unacknowledged data (our SSH keepalives) for this long ends the
/// connection, so a peer that vanished is noticed even when it sends no reset.
fn tcp_tuning(tcp: &TcpStream, keepalive: Duration) {
    use std::os::fd::AsRawFd;
    let _ = tcp.set_nodelay(true);
    let fd = tcp.as_raw_fd();
    let user_timeout: libc::c_int =
        (keepalive.as_millis().saturating_mul(4)).clamp(60_000, 600_000) as libc::c_int;
    let on: libc::c_int = 1;
    // SAFETY: setsockopt with correctly sized int options on a valid socket; failures are harmless.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_USER_TIMEOUT,
            (&user_timeout as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Host key algorithms for the key types known_hosts has for this host, then the rest, so a server
/// with several keys presents one we know.
fn host_key_preference(sess: &ssh2::Session, known_types: &[String]) -> Option<String> {
    let supported = sess.supported_algs(ssh2::MethodType::HostKey).ok()?;
    let mut order: Vec<&str> = Vec::new();
    for t in known_types {
        let algs: Vec<&str> = match t.as_str() {
            "ssh-rsa" => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            other => vec![other],
        };
        for a in algs {
            if supported.contains(&a) && !order.contains(&a) {
                order.push(a);
            }
        }
    }
    if order.is_empty() {
        return None;
    }
    for a in &supported {
        if !order.contains(a) {
            order.push(a);
        }
    }
    Some(order.join(","))
}

/// Sets the cipher preference; a list libssh2 supports none of is a bad option.
fn ciphers(sess: &ssh2::Session, t: &Target) -> Result<(), SshError> {
    for dir in [ssh2::MethodType::CryptCs, ssh2::MethodType::CryptSc] {
        if sess.method_pref(dir, &t.ssh2_ciphers).is_err() {
            let supported = sess
                .supported_algs(dir)
                .map(|v| v.join(", "))
                .unwrap_or_default();
            return Err(SshError::BadOption {
                option: format!("cipher {}", t.ssh2_ciphers),
                reason: format!("libssh2 supports none of these (it supports: {supported})"),
            });
        }
    }
    let _ = sess.method_pref(ssh2::MethodType::MacCs, MACS);
    let _ = sess.method_pref(ssh2::MethodType::MacSc, MACS);
    Ok(())
}

/// Checks the server's key; records a new one under accept-new.
fn check_host_key(sess: &ssh2::Session, t: &Target) -> Result<Option<PathBuf>, SshError> {
    let Some((blob, _)) = sess.host_key() else {
        return Err(SshError::Handshake {
            host: t.label.clone(),
            addr: t.addr(),
            detail: "the server sent no host key".into(),
        });
    };
    let key = HostKey::from_blob(blob);
    let name = t.known_hosts_name();
    match known_hosts::check(&t.all_known_hosts(), &name, &key) {
        Verdict::Known(_) => Ok(None),
        Verdict::Revoked(known) => Err(SshError::HostKeyRevoked {
            host: t.label.clone(),
            key_type: key.key_type(),
            fingerprint: key.fingerprint(),
            known,
        }),
        Verdict::Changed(known) => Err(SshError::HostKeyChanged {
            host: t.label.clone(),
            key_type: key.key_type(),
            fingerprint: key.fingerprint(),
            known,
        }),
        Verdict::Unknown { .. } => {
            let user_file = t.known_hosts.first();
            match (t.policy, user_file) {
                (HostKeyPolicy::AcceptNew, Some(file)) => {
                    known_hosts::append(file, &name, &key).map_err(|source| SshError::Io {
                        host: t.label.clone(),
                        what: "cannot record the new host key in",
                        path: file.clone(),
                        source,
                    })?;
                    Ok(Some(file.clone()))
                }
                _ => Err(SshError::HostKeyUnknown {
                    host: t.label.clone(),
                    key_type: key.key_type(),
                    fingerprint: key.fingerprint(),
                    file: user_file.cloned().unwrap_or_else(|| {
                        t.global_known_hosts.first().cloned().unwrap_or_default()
                    }),
                    line: key.known_hosts_line(&name),
                }),
            }
        }
    }
}

/// Whether an authentication error is the connection failing rather than a key being refused.
fn connection_error(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ssh2::ErrorCode::Session(
            libssh2_codes::SOCKET_RECV
                | libssh2_codes::SOCKET_SEND
                | libssh2_codes::SOCKET_DISCONNECT
                | libssh2_codes::TIMEOUT
                | libssh2_codes::SOCKET_TIMEOUT
        )
    )
}

/// Public-key authentication: the agent's keys, then each key file. Returns what was tried.
fn authenticate(sess: &ssh2::Session, t: &Target) -> Result<(), SshError> {
    let lost = |e: &ssh2::Error| SshError::ConnectionLost {
        host: t.label.clone(),
        detail: format!("during authentication: {}", crate::chan::describe(e)),
    };
    let mut tried = Vec::new();
    let methods = match sess.auth_methods(&t.user) {
        Ok(m) => m.to_owned(),
        Err(e) if connection_error(&e) => return Err(lost(&e)),
        Err(_) if sess.authenticated() => return Ok(()),
        Err(e) => e.message().to_owned(),
    };
    if sess.authenticated() {
        return Ok(());
    }
    if !methods.split(',').any(|m| m == "publickey") {
        tried.push(format!(
            "the server does not accept keys (it offers: {methods}), and zsync never uses passwords"
        ));
        return Err(SshError::AuthFailed {
            host: t.label.clone(),
            user: t.user.clone(),
            tried,
        });
    }
    for id in &t.identities {
        match id {
            Identity::Agent => {
                let keys = sess.agent().and_then(|mut agent| {
                    agent.connect()?;
                    agent.list_identities()?;
                    Ok((agent.identities()?, agent))
                });
                let (keys, agent) = match keys {
                    Ok(k) => k,
                    Err(_) => {
                        tried.push("agent: not available".into());
                        continue;
                    }
                };
                if keys.is_empty() {
                    tried.push("agent: no keys".into());
                }
                for k in keys {
                    match agent.userauth(&t.user, &k) {
                        Ok(()) if sess.authenticated() => return Ok(()),
                        Ok(()) => tried.push(format!("agent key {:?}: not enough", k.comment())),
                        Err(e) if connection_error(&e) => return Err(lost(&e)),
                        Err(_) => tried.push(format!("agent key {:?}: rejected", k.comment())),
                    }
                }
            }
            Identity::File(path) => {
                if !path.is_file() {
                    tried.push(format!("key {}: not found", path.display()));
                    continue;
                }
                match sess.userauth_pubkey_file(&t.user, None, path, None) {
                    Ok(()) if sess.authenticated() => return Ok(()),
                    Ok(()) => tried.push(format!("key {}: not enough", path.display())),
                    Err(e) if connection_error(&e) => return Err(lost(&e)),
                    Err(e) => {
                        let why = match e.code() {
                            ssh2::ErrorCode::Session(-16) | ssh2::ErrorCode::Session(-48) => {
                                "unreadable or passphrase-protected (zsync never prompts; add it \
                                 to ssh-agent)"
                                    .to_string()
                            }
                            ssh2::ErrorCode::Session(-18) | ssh2::ErrorCode::Session(-19) => {
                                "rejected by the server".to_string()
                            }
                            _ => e.message().to_owned(),
                        };
                        tried.push(format!("key {}: {why}", path.display()));
                    }
                }
            }
        }
    }
    Err(SshError::AuthFailed {
        host: t.label.clone(),
        user: t.user.clone(),
        tried,
    })
}

/// Connects, handshakes, checks the host key and authenticates.
pub(crate) fn establish(t: &Target) -> Result<Authenticated, SshError> {
    let tcp = tcp_connect(t)?;
    tcp_tuning(&tcp, t.keepalive);
    let handshake_err = |detail: String| SshError::Handshake {
        host: t.label.clone(),
        addr: t.addr(),
        detail,
    };
    let mut sess = ssh2::Session::new().map_err(|e| handshake_err(e.to_string()))?;
    let sock = tcp
        .try_clone()
        .map_err(|e| handshake_err(format!("cannot use the socket: {e}")))?;
    sess.set_tcp_stream(sock);
    sess.set_timeout(t.connect_timeout.as_millis().clamp(1, u128::from(u32::MAX)) as u32);
    ciphers(&sess, t)?;
    let known = known_hosts::known_types(&t.all_known_hosts(), &t.known_hosts_name());
    if let Some(pref) = host_key_preference(&sess, &known) {
        let _ = sess.method_pref(ssh2::MethodType::HostKey, &pref);
    }
    sess.handshake().map_err(|e| {
        if matches!(
            e.code(),
            ssh2::ErrorCode::Session(libssh2_codes::TIMEOUT | libssh2_codes::SOCKET_TIMEOUT)
        ) {
            handshake_err(format!(
                "no answer within {} s ({})",
                t.connect_timeout.as_secs(),
                e.message()
            ))
        } else {
            handshake_err(crate::chan::describe(&e))
        }
    })?;
    let recorded_key = check_host_key(&sess, t)?;
    authenticate(&sess, t)?;
    Ok(Authenticated {
        session: sess,
        tcp,
        recorded_key,
    })
}
