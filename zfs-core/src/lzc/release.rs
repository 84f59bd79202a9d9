//! Which OpenZFS release the local kernel runs, as `zsync version` reports it next to the backend.
//!
//! Every libzfs_core function zsync binds (libzfs-sys) exists in OpenZFS 2.1 and later, with the
//! same signatures; the lab runs the `Lzc` backend's tests on 2.1 (Debian bookworm) and 2.3
//! (bookworm-backports). So no call falls back to the CLI because of the release today:
//! [`FALLBACKS`] is that statement, checked by the lab test `lab_release` on both releases.

/// Where the loaded zfs module publishes its version (`2.1.11-1`, `2.3.2-1~bpo12+1`).
pub const MODULE_VERSION_PATH: &str = "/sys/module/zfs/version";

/// What `zsync version` says about libzfs_core calls that go to the CLI on this release: none on
/// any release zsync supports (2.1+), see the module docs.
pub const FALLBACKS: &str = "none (every libzfs_core call zsync makes exists in OpenZFS 2.1+)";

/// The loaded zfs module's version, or `None` when no module is loaded (or it publishes none).
pub fn module_version() -> Option<String> {
    let text = std::fs::read_to_string(MODULE_VERSION_PATH).ok()?;
    let v = text.trim();
    (!v.is_empty() && v.len() < 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .then(|| v.to_string())
}

/// The `major.minor` line of a module version (`2.1.11-1` → `2.1`), for messages.
pub fn release_line(version: &str) -> Option<&str> {
    let mut dots = version.match_indices('.');
    let second = dots.nth(1).map(|(i, _)| i).unwrap_or(version.len());
    let line = &version[..second];
    let mut parts = line.split('.');
    let ok = parts.next().is_some_and(|p| p.parse::<u32>().is_ok())
        && parts.next().is_some_and(|p| p.parse::<u32>().is_ok());
    ok.then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_lines() {
        assert_eq!(release_line("2.1.11-1"), Some("2.1"));
        assert_eq!(release_line("2.3.2-1~bpo12+1"), Some("2.3"));
        assert_eq!(release_line("2.2"), Some("2.2"));
        assert_eq!(release_line("garbage"), None);
        assert_eq!(release_line(""), None);
    }

    #[test]
    fn module_version_is_none_or_printable() {
        if let Some(v) = module_version() {
            assert!(
                !v.is_empty() && v.chars().all(|c| c.is_ascii_graphic()),
                "{v:?}"
            );
        }
    }
}
