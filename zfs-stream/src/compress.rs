//! zstd and lz4 compression in their standard frame formats, so that either
//! end of a transfer can be zsync or the `zstd` / `lz4` command-line tools.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// zstd frames (`zstd -<level>`), level 1..=22 (negative levels are the fast modes).
    Zstd {
        /// Compression level (ignored when decompressing).
        level: i32,
    },
    /// lz4 frames (`lz4`), as the lz4 CLI writes them by default.
    Lz4,
}

impl Codec {
    /// Short name (`zstd`, `lz4`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd { .. } => "zstd",
            Codec::Lz4 => "lz4",
        }
    }

    /// The stage name used in errors.
    pub(crate) fn stage(self, compress: bool) -> &'static str {
        match (self, compress) {
            (Codec::Zstd { .. }, true) => "zstd compression",
            (Codec::Zstd { .. }, false) => "zstd decompression",
            (Codec::Lz4, true) => "lz4 compression",
            (Codec::Lz4, false) => "lz4 decompression",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::Zstd { level } => write!(f, "zstd-{level}"),
            Codec::Lz4 => f.write_str("lz4"),
        }
    }
}

/// Parses `zstd`, `zstd-3`, `zstd:19`, `lz4` (zstd defaults to level 1).
impl FromStr for Codec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        if s == "lz4" {
            return Ok(Codec::Lz4);
        }
        if s == "zstd" {
            return Ok(Codec::Zstd { level: 1 });
        }
        if let Some(l) = s.strip_prefix("zstd-").or_else(|| s.strip_prefix("zstd:")) {
            let level: i32 = l
                .parse()
                .map_err(|_| format!("bad zstd level {l:?} in compression {s:?}"))?;
            if !(-7..=22).contains(&level) {
                return Err(format!("zstd level {level} out of range -7..=22"));
            }
            return Ok(Codec::Zstd { level });
        }
        Err(format!(
            "unknown compression {s:?} (expected zstd, zstd-N or lz4)"
        ))
    }
}

/// A compressing writer that must be finished to write the frame epilogue.
/// Dropping it unfinished leaves an incomplete frame, which decoders reject:
/// that is how an aborted transfer is made visible to the other end.
pub trait FrameWriter: Write + Send {
    /// Writes the end of the frame and flushes.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

struct ZstdW<W: Write>(zstd::stream::write::Encoder<'static, W>);
impl<W: Write + Send> Write for ZstdW<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FrameWriter for ZstdW<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut w = self.0.finish()?;
        w.flush()
    }
}

struct Lz4W<W: Write>(lz4_flex::frame::FrameEncoder<W>);
impl<W: Write + Send> Write for Lz4W<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FrameWriter for Lz4W<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let mut w = self.0.finish().map_err(io::Error::other)?;
        w.flush()
    }
}

/// No compression: finishing just flushes.
pub(crate) struct PlainW<W: Write>(pub W);
impl<W: Write + Send> Write for PlainW<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write + Send> FrameWriter for PlainW<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

/// A writer compressing into `inner`.
pub fn encoder<W: Write + Send + 'static>(
    codec: Codec,
    inner: W,
) -> io::Result<Box<dyn FrameWriter>> {
    Ok(match codec {
        Codec::Zstd { level } => {
            let mut e = zstd::stream::write::Encoder::new(inner, level)?;
            // Let the CLI's `--content-size`-less streaming mode apply; add a checksum like the CLI.
            e.include_checksum(true)?;
            Box::new(ZstdW(e))
        }
        Codec::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max4MB)
                .content_checksum(true);
            Box::new(Lz4W(lz4_flex::frame::FrameEncoder::with_frame_info(
                info, inner,
            )))
        }
    })
}

/// A reader decompressing from `inner` (concatenated frames are accepted;
/// a frame cut short is an error, not a silent EOF).
pub fn decoder<R: Read + Send + 'static>(
    codec: Codec,
    inner: R,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match codec {
        Codec::Zstd { .. } => Box::new(zstd::stream::read::Decoder::new(inner)?),
        Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(inner)),
    })
}

/// Decompresses a whole buffer, refusing to produce more than `limit` bytes.
pub fn decompress_all(codec: Codec, data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let owned = data.to_vec();
    let d = decoder(codec, io::Cursor::new(owned))?;
    d.take(limit as u64 + 1).read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(io::Error::other(format!(
            "decompressed data exceeds the {limit}-byte limit"
        )));
    }
    Ok(out)
}

/// Compresses a whole buffer into one frame.
pub fn compress_all(codec: Codec, data: &[u8]) -> io::Result<Vec<u8>> {
    let buf = SharedVec::default();
    let mut e = encoder(codec, buf.clone())?;
    e.write_all(data)?;
    e.finish()?;
    Ok(buf.take())
}

#[derive(Clone, Default)]
struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl SharedVec {
    fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}
impl Write for SharedVec {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self.0.lock() {
            Ok(mut g) => g.extend_from_slice(b),
            Err(p) => p.into_inner().extend_from_slice(b),
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn round_trips() {
        let d = data();
        for c in [
            Codec::Zstd { level: 1 },
            Codec::Zstd { level: 5 },
            Codec::Lz4,
        ] {
            let z = compress_all(c, &d).unwrap();
            assert!(z.len() < d.len() / 4, "{c} did not compress");
            assert_eq!(decompress_all(c, &z, d.len()).unwrap(), d, "{c}");
        }
    }

    #[test]
    fn truncated_frames_are_errors() {
        let d = data();
        for c in [Codec::Zstd { level: 1 }, Codec::Lz4] {
            let z = compress_all(c, &d).unwrap();
            for cut in [z.len() / 2, z.len() - 1] {
                assert!(
                    decompress_all(c, &z[..cut], d.len()).is_err(),
                    "{c} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn limit_is_enforced() {
        let d = data();
        let z = compress_all(Codec::Lz4, &d).unwrap();
        assert!(decompress_all(Codec::Lz4, &z, 1000).is_err());
    }

    #[test]
    fn parses_names() {
        assert_eq!("zstd".parse::<Codec>(), Ok(Codec::Zstd { level: 1 }));
        assert_eq!("zstd-19".parse::<Codec>(), Ok(Codec::Zstd { level: 19 }));
        assert_eq!("LZ4".parse::<Codec>(), Ok(Codec::Lz4));
        assert!("gzip".parse::<Codec>().is_err());
        assert!("zstd-40".parse::<Codec>().is_err());
    }
}
