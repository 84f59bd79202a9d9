//! Which OpenZFS release the lab VM runs (`zfs version`), for tests whose expectations differ
//! between releases: such a test reads [`release`] and asserts that release's behaviour.

use crate::LabError;

/// An OpenZFS release: `zfs-2.1.11-1` is `Release { major: 2, minor: 1, patch: 11 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    /// 2 for every OpenZFS 2.x.
    pub major: u32,
    /// 1 for the 2.1 line, 3 for 2.3.
    pub minor: u32,
    /// The point release.
    pub patch: u32,
}

impl Release {
    /// Parses one `zfs version` line (`zfs-2.1.11-1`, `zfs-kmod-2.3.2-1~bpo12+1`).
    pub fn parse_line(line: &str) -> Option<Release> {
        let rest = line.trim();
        let rest = rest
            .strip_prefix("zfs-kmod-")
            .or_else(|| rest.strip_prefix("zfs-"))?;
        let version = rest.split(['-', '~', '_']).next()?;
        let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
        Some(Release {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    /// True for the 2.1 line (Debian bookworm, Ubuntu 22.04, Proxmox 7).
    pub fn is_2_1(&self) -> bool {
        (self.major, self.minor) == (2, 1)
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The release of the loaded kernel module (`zfs version`'s `zfs-kmod-` line; the userland line
/// when that is missing).
pub fn release() -> Result<Release, LabError> {
    let out = crate::zfs(&["version"])?;
    let kmod = out.lines().find(|l| l.trim().starts_with("zfs-kmod-"));
    kmod.or_else(|| out.lines().next())
        .and_then(Release::parse_line)
        .ok_or_else(|| {
            LabError::Unexpected(format!("`zfs version`: no OpenZFS release in {out:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_version_lines() {
        let r = |s| Release::parse_line(s);
        assert_eq!(
            r("zfs-2.1.11-1"),
            Some(Release {
                major: 2,
                minor: 1,
                patch: 11
            })
        );
        assert_eq!(
            r("zfs-kmod-2.3.2-1~bpo12+1"),
            Some(Release {
                major: 2,
                minor: 3,
                patch: 2
            })
        );
        assert!(r("zfs-2.1.11-1").unwrap().is_2_1());
        assert!(!r("zfs-kmod-2.3.2-1").unwrap().is_2_1());
        assert_eq!(
            r("zfs-2.2"),
            Some(Release {
                major: 2,
                minor: 2,
                patch: 0
            })
        );
        assert_eq!(r("garbage"), None);
        assert_eq!(r("zfs-x.1"), None);
        assert!(r("zfs-2.3.0").unwrap() > r("zfs-2.1.11").unwrap());
    }
}
