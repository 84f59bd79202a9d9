//! Checking a server's host key against known_hosts files, as OpenSSH does: plain and hashed
//! (`|1|salt|hash`, HMAC-SHA1) host fields, pattern lists with `*`, `?` and `!negation`, the
//! `[host]:port` form for ports other than 22, and `@revoked` markers (`@cert-authority` lines are
//! skipped: zsync does not use host certificates). Lines that do not parse are skipped, as OpenSSH
//! skips them.
//!
//! Parsed here rather than through libssh2's `knownhost` API because a refusal must say which
//! `file:line` holds the old key, and a key of another type must not count as a changed key.

use crate::error::Origin;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Digest;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A server's public host key: the SSH wire-format key blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    blob: Vec<u8>,
}

impl HostKey {
    /// A key from its wire-format blob (what the server sends; the base64 field of a known_hosts
    /// line).
    pub fn from_blob(blob: &[u8]) -> HostKey {
        HostKey {
            blob: blob.to_vec(),
        }
    }

    /// The blob.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The key type named inside the blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`), or
    /// `unknown` for a malformed blob.
    pub fn key_type(&self) -> String {
        blob_type(&self.blob).unwrap_or_else(|| "unknown".into())
    }

    /// OpenSSH's fingerprint: `SHA256:` and the base64 of the blob's SHA-256, without padding.
    pub fn fingerprint(&self) -> String {
        let digest = sha2::Sha256::digest(&self.blob);
        format!("SHA256:{}", STANDARD_NO_PAD.encode(digest))
    }

    /// The known_hosts line for this key under `name` (see [`host_name`]).
    pub fn known_hosts_line(&self, name: &str) -> String {
        format!("{name} {} {}", self.key_type(), STANDARD.encode(&self.blob))
    }
}

/// The type string at the start of a key blob (a 4-byte big-endian length, then the name).
fn blob_type(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    let name = std::str::from_utf8(name).ok()?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic())).then(|| name.to_owned())
}

/// The name a host is recorded under: the host itself for port 22, `[host]:port` otherwise.
pub fn host_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_owned()
    } else {
        format!("[{address}]:{port}")
    }
}

/// What the known_hosts files say about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded for this host at this line.
    Known(Origin),
    /// No entry for this host with a key of this type (`other_types`: the types that are recorded
    /// for it, if any).
    Unknown {
        /// Key types recorded for the host.
        other_types: Vec<String>,
    },
    /// A different key of the same type is recorded for this host at this line.
    Changed(Origin),
    /// The key is marked `@revoked` at this line.
    Revoked(Origin),
}

/// One usable known_hosts line.
struct Entry {
    revoked: bool,
    hosts: String,
    blob: Vec<u8>,
    key_type: String,
    origin: Origin,
}

/// Reads the usable lines of one file (a missing or unreadable file has none).
fn entries(file: &Path) -> Vec<Entry> {
    let Ok(bytes) = std::fs::read(file) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let Some(mut first) = fields.next() else {
            continue;
        };
        if first.starts_with('#') {
            continue;
        }
        let mut revoked = false;
        if first.starts_with('@') {
            match first {
                "@revoked" => revoked = true,
                _ => continue, // @cert-authority and unknown markers
            }
            let Some(next) = fields.next() else {
                continue;
            };
            first = next;
        }
        let (Some(kind), Some(b64)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Ok(blob) = STANDARD.decode(b64) else {
            continue;
        };
        let key_type = blob_type(&blob).unwrap_or_else(|| kind.to_owned());
        out.push(Entry {
            revoked,
            hosts: first.to_owned(),
            blob,
            key_type,
            origin: Origin {
                file: file.to_path_buf(),
                line: i + 1,
            },
        });
    }
    out
}

/// Whether a known_hosts host field matches `name`: a hashed `|1|salt|hash` entry, or a
/// comma-separated pattern list (a matching `!pattern` excludes the host).
fn hosts_match(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
            return false;
        };
        mac.update(name.as_bytes());
        return mac.verify_slice(&hash).is_ok();
    }
    crate::pattern::list(field.split(','), name) == crate::pattern::ListMatch::Yes
}

/// Checks `key`, presented by the host recorded as `name` ([`host_name`]), against `files` in order.
/// A revoked key wins over everything, then a recorded match, then a different key of the same type.
pub fn check(files: &[PathBuf], name: &str, key: &HostKey) -> Verdict {
    let key_type = key.key_type();
    let all: Vec<Entry> = files.iter().flat_map(|f| entries(f)).collect();
    if let Some(e) = all.iter().find(|e| e.revoked && e.blob == key.blob) {
        return Verdict::Revoked(e.origin.clone());
    }
    let for_host: Vec<&Entry> = all
        .iter()
        .filter(|e| !e.revoked && hosts_match(&e.hosts, name))
        .collect();
    if let Some(e) = for_host.iter().find(|e| e.blob == key.blob) {
        return Verdict::Known(e.origin.clone());
    }
    if let Some(e) = for_host.iter().find(|e| e.key_type == key_type) {
        return Verdict::Changed(e.origin.clone());
    }
    let mut other_types: Vec<String> = for_host.iter().map(|e| e.key_type.clone()).collect();
    other_types.sort();
    other_types.dedup();
    Verdict::Unknown { other_types }
}

/// The key types recorded for `name` (to prefer those host key algorithms in the handshake, so a
/// server with several keys presents the one we know).
pub fn known_types(files: &[PathBuf], name: &str) -> Vec<String> {
    let mut types: Vec<String> = files
        .iter()
        .flat_map(|f| entries(f))
        .filter(|e| !e.revoked && hosts_match(&e.hosts, name))
        .map(|e| e.key_type)
        .collect();
    let mut seen = std::collections::HashSet::new();
    types.retain(|t| seen.insert(t.clone()));
    types
}

/// Records `key` for `name` at the end of `file` (created 0600, its directory 0700, when missing;
/// a missing final newline is added first).
pub fn append(file: &Path, name: &str, key: &HostKey) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    let needs_newline = std::fs::read(file)
        .map(|b| !b.is_empty() && !b.ends_with(b"\n"))
        .unwrap_or(false);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)?;
    let mut line = String::new();
    if needs_newline {
        line.push('\n');
    }
    line.push_str(&key.known_hosts_line(name));
    line.push('\n');
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Keys made with `ssh-keygen -t ed25519` / `-t ecdsa`; fingerprints from `ssh-keygen -lf`.
    const K1: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIABXKxP9hgZ0gXYLrjWKUJF4tDIsaCar2KKk2N6trh46";
    const K1_FP: &str = "SHA256:WIU7JXePUUJP7WXwKkU4WBq9RS1o82A5wkYUo3Tk3LE";
    const K2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIMyvMMlYmQHME7u2kRzEDwFwnT8f+PaEsvb9k77spLkC";
    const K2_FP: &str = "SHA256:b/OHNQrDanDcs9rYgYtlLk3EfbcMukdI4lP9eo6Bxwg";
    const K3: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJOsQigCuFfxlOpxa1dpIW+WtqKHc2JrhcqBNdFoBbThk7yMO5bRJTTcUZqEY3KRTHPKbRP+emZNkT5dRh+uaTk=";
    const K3_FP: &str = "SHA256:MUmaKIcWoqz3+ZFmw1eeXpDIHZB7nxcjMlrR9J+9iLw";
    /// `ssh-keygen -H` of `backup.example.org` and `[10.0.0.2]:2222`, both with K1.
    const HASHED: &str = "|1|St3hvFECs4bNPC9fiV2N6POnvTw=|naOPMNNN1XzccoKtXDm3yxteUPc= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABXKxP9hgZ0gXYLrjWKUJF4tDIsaCar2KKk2N6trh46\n\
                          |1|olPotRYufOmnRvyYwziYgv6uSBc=|I+PNQJCifA4L/VUNQKFdjcq0dH4= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIABXKxP9hgZ0gXYLrjWKUJF4tDIsaCar2KKk2N6trh46\n";

    fn key(b64: &str) -> HostKey {
        HostKey::from_blob(&STANDARD.decode(b64).unwrap())
    }

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    fn origin(f: &Path, line: usize) -> Origin {
        Origin {
            file: f.to_path_buf(),
            line,
        }
    }

    #[test]
    fn fingerprints_and_types_match_ssh_keygen() {
        assert_eq!(key(K1).fingerprint(), K1_FP);
        assert_eq!(key(K2).fingerprint(), K2_FP);
        assert_eq!(key(K3).fingerprint(), K3_FP);
        assert_eq!(key(K1).key_type(), "ssh-ed25519");
        assert_eq!(key(K3).key_type(), "ecdsa-sha2-nistp256");
        assert_eq!(HostKey::from_blob(b"\xff\xff").key_type(), "unknown");
        assert_eq!(HostKey::from_blob(b"\0\0\0\x09ab").key_type(), "unknown");
        assert_eq!(
            key(K1).known_hosts_line("[b]:2222"),
            format!("[b]:2222 ssh-ed25519 {K1}")
        );
    }

    #[test]
    fn names_for_ports() {
        assert_eq!(host_name("b.lan", 22), "b.lan");
        assert_eq!(host_name("b.lan", 2222), "[b.lan]:2222");
        assert_eq!(host_name("::1", 2222), "[::1]:2222");
    }

    #[test]
    fn plain_entries_match_change_and_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(
            dir.path(),
            "kh",
            &format!(
                "# comment\n\n\
                 other.lan ssh-ed25519 {K2}\n\
                 b.lan,10.0.0.5 ssh-ed25519 {K1} comment here\n\
                 [b.lan]:2222 ssh-ed25519 {K2}\n\
                 *.wild.lan,!no.wild.lan ecdsa-sha2-nistp256 {K3}\n\
                 garbage line\n\
                 bad.lan ssh-ed25519 !!!notbase64\n"
            ),
        );
        let files = vec![f.clone()];
        assert_eq!(
            check(&files, "b.lan", &key(K1)),
            Verdict::Known(origin(&f, 4))
        );
        assert_eq!(
            check(&files, "10.0.0.5", &key(K1)),
            Verdict::Known(origin(&f, 4))
        );
        assert_eq!(
            check(&files, "B.LAN", &key(K1)),
            Verdict::Known(origin(&f, 4))
        );
        // Same type, another key: changed, naming the line of the old key.
        assert_eq!(
            check(&files, "b.lan", &key(K2)),
            Verdict::Changed(origin(&f, 4))
        );
        // Port 2222 is another name: K2 is known there, K1 changed.
        assert_eq!(
            check(&files, "[b.lan]:2222", &key(K2)),
            Verdict::Known(origin(&f, 5))
        );
        assert_eq!(
            check(&files, "[b.lan]:2222", &key(K1)),
            Verdict::Changed(origin(&f, 5))
        );
        // Another type for a known host: unknown, with the recorded types.
        assert_eq!(
            check(&files, "b.lan", &key(K3)),
            Verdict::Unknown {
                other_types: vec!["ssh-ed25519".into()]
            }
        );
        assert_eq!(
            check(&files, "x.wild.lan", &key(K3)),
            Verdict::Known(origin(&f, 6))
        );
        assert_eq!(
            check(&files, "no.wild.lan", &key(K3)),
            Verdict::Unknown {
                other_types: vec![]
            }
        );
        assert_eq!(
            check(&files, "new.lan", &key(K1)),
            Verdict::Unknown {
                other_types: vec![]
            }
        );
        assert_eq!(
            known_types(&files, "b.lan"),
            vec!["ssh-ed25519".to_string()]
        );
    }

    #[test]
    fn hashed_entries() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path(), "kh", HASHED);
        let files = vec![f.clone()];
        assert_eq!(
            check(&files, "backup.example.org", &key(K1)),
            Verdict::Known(origin(&f, 1))
        );
        assert_eq!(
            check(&files, "[10.0.0.2]:2222", &key(K1)),
            Verdict::Known(origin(&f, 2))
        );
        assert_eq!(
            check(&files, "[10.0.0.2]:2222", &key(K2)),
            Verdict::Changed(origin(&f, 2))
        );
        assert_eq!(
            check(&files, "10.0.0.2", &key(K1)),
            Verdict::Unknown {
                other_types: vec![]
            }
        );
        assert!(!hosts_match("|1|bad", "x"));
        assert!(!hosts_match("|1|!!|!!", "x"));
    }

    #[test]
    fn revoked_wins_and_cert_authority_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let user = file(dir.path(), "user", &format!("b.lan ssh-ed25519 {K1}\n"));
        let global = file(
            dir.path(),
            "global",
            &format!("@cert-authority *.lan ssh-ed25519 {K2}\n@revoked * ssh-ed25519 {K1}\n"),
        );
        let files = vec![user, global.clone()];
        assert_eq!(
            check(&files, "b.lan", &key(K1)),
            Verdict::Revoked(origin(&global, 2))
        );
        // The CA line is not a host key for *.lan.
        assert_eq!(
            check(&files, "c.lan", &key(K2)),
            Verdict::Unknown {
                other_types: vec![]
            }
        );
    }

    #[test]
    fn user_file_before_global_and_missing_files_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        let global = file(dir.path(), "global", &format!("b.lan ssh-ed25519 {K1}\n"));
        let files = vec![dir.path().join("missing"), global.clone()];
        assert_eq!(
            check(&files, "b.lan", &key(K1)),
            Verdict::Known(origin(&global, 1))
        );
    }

    #[test]
    fn append_creates_private_files_and_the_entry_is_then_known() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("new/.ssh/known_hosts");
        append(&f, "[b.lan]:2222", &key(K1)).unwrap();
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(f.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let files = vec![f.clone()];
        assert_eq!(
            check(&files, "[b.lan]:2222", &key(K1)),
            Verdict::Known(origin(&f, 1))
        );
        // A file without a final newline gets one before the new line.
        let g = file(dir.path(), "g", &format!("x.lan ssh-ed25519 {K2}"));
        append(&g, "b.lan", &key(K1)).unwrap();
        let text = fs::read_to_string(&g).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert_eq!(
            check(std::slice::from_ref(&g), "b.lan", &key(K1)),
            Verdict::Known(origin(&g, 2))
        );
    }

    #[test]
    fn ssh_keygen_agrees_on_the_line_we_write() {
        // `ssh-keygen -F NAME -f FILE` finds the line we wrote (when ssh-keygen is installed).
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("kh");
        append(&f, "[b.lan]:2222", &key(K1)).unwrap();
        let out = match std::process::Command::new("ssh-keygen")
            .args(["-F", "[b.lan]:2222", "-f"])
            .arg(&f)
            .output()
        {
            Ok(out) => out,
            Err(_) => return, // no ssh-keygen here
        };
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains(K1));
    }

    proptest::proptest! {
        #[test]
        fn garbage_files_never_panic(text in "(?s).{0,300}", name in ".{0,20}") {
            let dir = tempfile::tempdir().unwrap();
            let f = file(dir.path(), "kh", &text);
            let _ = check(std::slice::from_ref(&f), &name, &key(K1));
            let _ = known_types(&[f], &name);
        }
    }
}
