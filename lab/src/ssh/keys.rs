//! Key pairs made with `ssh-keygen`, and the `known_hosts` lines and fingerprints of public keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LabError;

/// The type of the host and client keys a backup host generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// `ssh-ed25519` (the default).
    #[default]
    Ed25519,
    /// `ecdsa-sha2-nistp256`.
    Ecdsa,
    /// `rsa-sha2-*`, 3072 bits.
    Rsa,
}

impl KeyType {
    /// The `ssh-keygen -t` name.
    pub fn keygen_name(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::Ecdsa => "ecdsa",
            KeyType::Rsa => "rsa",
        }
    }
}

/// Generates a key pair without a passphrase at `path` (and `path.pub`); returns the public key
/// line without its comment (`"ssh-ed25519 AAAA…"`).
pub fn generate(path: &Path, kind: KeyType, comment: &str) -> Result<String, LabError> {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(public_path(path));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind.keygen_name(),
        "-N",
        "",
        "-C",
        comment,
        "-f",
    ])
    .arg(path);
    crate::output(&mut cmd)?;
    let text = fs::read_to_string(public_path(path)).map_err(|source| LabError::Io {
        what: "cannot read public key",
        path: public_path(path),
        source,
    })?;
    public_key(&text).ok_or_else(|| {
        LabError::Unexpected(format!(
            "ssh-keygen wrote no public key line to {}: {text:?}",
            public_path(path).display()
        ))
    })
}

/// `path` with `.pub` appended.
pub fn public_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// The type and base64 words of a `.pub` file's first line, without the comment.
pub fn public_key(pub_file: &str) -> Option<String> {
    let mut words = pub_file.lines().next()?.split_whitespace();
    let (kind, blob) = (words.next()?, words.next()?);
    Some(format!("{kind} {blob}"))
}

/// The `known_hosts` line for `host` (see `config::known_hosts_host`) and a public key line.
pub fn known_hosts_line(host: &str, public_key: &str) -> String {
    format!("{host} {public_key}")
}

/// The `SHA256:…` fingerprint of a public key file (`ssh-keygen -l -E sha256`).
pub fn fingerprint(pub_path: &Path) -> Result<String, LabError> {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-l", "-E", "sha256", "-f"]).arg(pub_path);
    let out = crate::output(&mut cmd)?;
    parse_fingerprint(&out).map(str::to_string).ok_or_else(|| {
        LabError::Unexpected(format!(
            "ssh-keygen -l printed no SHA256 fingerprint for {}: {out:?}",
            pub_path.display()
        ))
    })
}

/// The fingerprint word of `ssh-keygen -l` output (`256 SHA256:abc… comment (ED25519)`).
pub fn parse_fingerprint(out: &str) -> Option<&str> {
    out.split_whitespace().find(|w| w.starts_with("SHA256:"))
}

/// Rewrites a `known_hosts` file with hashed host names (`ssh-keygen -H`), removing its backup.
pub fn hash_known_hosts(path: &Path) -> Result<(), LabError> {
    let mut cmd = Command::new("ssh-keygen");
    cmd.arg("-H").arg("-f").arg(path);
    crate::output(&mut cmd)?;
    let mut old = path.as_os_str().to_owned();
    old.push(".old");
    let _ = fs::remove_file(PathBuf::from(old));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_words() {
        assert_eq!(
            public_key("ssh-ed25519 AAAAC3Nza zsync-lab host\n").as_deref(),
            Some("ssh-ed25519 AAAAC3Nza")
        );
        assert_eq!(public_key("garbage"), None);
        assert_eq!(public_key(""), None);
        assert_eq!(
            known_hosts_line("[127.0.0.1]:2222", "ssh-ed25519 AAAA"),
            "[127.0.0.1]:2222 ssh-ed25519 AAAA"
        );
        assert_eq!(
            public_path(Path::new("/s/id_ed25519")),
            Path::new("/s/id_ed25519.pub")
        );
    }

    #[test]
    fn fingerprints() {
        assert_eq!(
            parse_fingerprint("256 SHA256:q5Xb/4x+k zsync-lab (ED25519)\n"),
            Some("SHA256:q5Xb/4x+k")
        );
        assert_eq!(parse_fingerprint("nothing here"), None);
    }
}
