//! The form a send stream takes between a backend's `zfs send`/`zfs receive` and the caller's file
//! descriptor: plain, or compressed by a program on the backend's host (`zstd`, `lz4`).
//!
//! A remote backend compresses what it sends and decompresses what it receives on its own host, so
//! the network carries the compressed bytes ([`SendRequest::wire`](crate::SendRequest::wire),
//! [`RecvRequest::wire`](crate::RecvRequest::wire)). The formats are the tools' standard frames, so
//! the other end may be the tool or an in-process codec (zfs-stream's `Codec`, which zfs-sync maps
//! a `Wire` to; zfs-core does not depend on zfs-stream).

use std::fmt;

/// How a send stream is encoded between a backend and its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Wire {
    /// The send stream itself.
    #[default]
    Plain,
    /// zstd frames (`zstd -c -<level>` / `zstd -dc`). The level matters only when compressing; any
    /// zstd frame decompresses whatever its level.
    Zstd {
        /// Compression level: 1..=19, 20..=22 (`--ultra`), negative for the fast modes
        /// (`--fast=N`), 0 for the tool's default.
        level: i32,
    },
    /// lz4 frames (`lz4 -c` / `lz4 -dc`).
    Lz4,
}

impl Wire {
    /// zsync's zstd when compression is on without a level: level 3, zstd's own default (syncoid's
    /// `zstd-fast`), which keeps up with a network link on one core.
    pub const ZSTD: Wire = Wire::Zstd { level: 3 };

    /// The uncompressed stream.
    pub fn is_plain(self) -> bool {
        self == Wire::Plain
    }

    /// The program that encodes and decodes it on a host (`zstd`, `lz4`); `None` for plain.
    pub fn program(self) -> Option<&'static str> {
        match self {
            Wire::Plain => None,
            Wire::Zstd { .. } => Some("zstd"),
            Wire::Lz4 => Some("lz4"),
        }
    }

    /// Whether bytes in `self` decode as `other` (the same format, whatever the zstd levels): a
    /// stream can then pass from one end to the other unchanged.
    pub fn same_format(self, other: Wire) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

impl fmt::Display for Wire {
    /// `plain`, `zstd-3`, `lz4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wire::Plain => f.write_str("plain"),
            Wire::Zstd { level } => write!(f, "zstd-{level}"),
            Wire::Lz4 => f.write_str("lz4"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_programs_and_names() {
        assert!(Wire::default().is_plain() && !Wire::ZSTD.is_plain());
        assert_eq!(
            [Wire::Plain, Wire::ZSTD, Wire::Lz4].map(Wire::program),
            [None, Some("zstd"), Some("lz4")]
        );
        assert!(Wire::Zstd { level: 19 }.same_format(Wire::ZSTD));
        assert!(!Wire::ZSTD.same_format(Wire::Lz4) && !Wire::Plain.same_format(Wire::Lz4));
        assert_eq!(
            [Wire::Plain, Wire::Zstd { level: -5 }, Wire::Lz4].map(|w| w.to_string()),
            ["plain", "zstd--5", "lz4"]
        );
    }
}
