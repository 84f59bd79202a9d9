//! Decoding of `receive_resume_token` values.
//!
//! A token is `<version>-<checksum>-<packed length>-<data>`: the version is
//! decimal (1), the checksum is word 0 of the fletcher-4 of the compressed
//! bytes (hex), the length is that of the packed nvlist (hex), and the data is
//! the hex of the zlib-compressed, natively packed nvlist. The nvlist holds
//! what `lzc_send_resume` needs (`object`, `offset`), the snapshot to send
//! (`toname`, `toguid`), the incremental source (`fromguid`), and the send
//! flags the interrupted stream used.
//!
//! [`decode`] gives what a resume needs as zfs-core's [`ResumeToken`] (the type the planner and the
//! backends share); [`decode_nvlist`] gives the whole nvlist.

use std::io::Read;

use crate::error::TokenError;
use crate::fletcher::{fletcher4, WordOrder};
use crate::nvlist::{self, Nvlist, Value};

/// Largest packed nvlist accepted (tokens are a few hundred bytes).
const MAX_PACKED: u64 = 16 << 20;

/// The decoded token type (zfs-core's, shared with the planner and the backends).
pub use zfs_core::ResumeToken;

/// Decodes and verifies a token string (surrounding whitespace allowed) into what a resume needs.
pub fn decode(token: &str) -> Result<ResumeToken, TokenError> {
    from_nvlist(token, &decode_nvlist(token)?)
}

/// Decodes and verifies a token string into its whole nvlist, for the fields [`ResumeToken`] does not
/// carry (the redaction lists `redact_snaps` and `book_redact_snaps`, fields of newer OpenZFS).
pub fn decode_nvlist(token: &str) -> Result<Nvlist, TokenError> {
    let token = token.trim();
    let mut parts = token.splitn(4, '-');
    let (Some(ver), Some(ck), Some(len), Some(hex)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "expected <version>-<checksum>-<length>-<hex data>",
        ));
    };
    let version: u64 = ver
        .parse()
        .map_err(|_| TokenError::Malformed("version is not a decimal number"))?;
    if version != 1 {
        return Err(TokenError::Version(version));
    }
    let checksum = u64::from_str_radix(ck, 16)
        .map_err(|_| TokenError::Malformed("checksum is not hexadecimal"))?;
    let packed_len = u64::from_str_radix(len, 16)
        .map_err(|_| TokenError::Malformed("length is not hexadecimal"))?;
    if packed_len > MAX_PACKED {
        return Err(TokenError::Malformed("packed length is implausibly large"));
    }
    let compressed = unhex(hex)?;
    let le = fletcher4(&compressed, WordOrder::Little)[0];
    // Tokens from big-endian hosts sum big-endian words.
    let be = fletcher4(&compressed, WordOrder::Big)[0];
    if checksum != le && checksum != be {
        return Err(TokenError::Checksum {
            expected: checksum,
            computed: le,
        });
    }
    let packed = inflate(&compressed, packed_len)?;
    Ok(nvlist::unpack(&packed)?)
}

/// Builds the typed token from the nvlist decoded from `token` (kept, trimmed, as
/// [`ResumeToken::token`]).
pub fn from_nvlist(token: &str, nvlist: &Nvlist) -> Result<ResumeToken, TokenError> {
    let need = |n: &'static str| nvlist.get_u64(n).ok_or(TokenError::Missing(n));
    let flag = |n: &str| match nvlist.get(n) {
        Some(Value::BooleanValue(b)) => *b,
        Some(_) => true,
        None => false,
    };
    Ok(ResumeToken {
        token: token.trim().to_string(),
        fromguid: nvlist.get_u64("fromguid"),
        object: need("object")?,
        offset: need("offset")?,
        bytes: nvlist.get_u64("bytes").unwrap_or(0),
        toguid: need("toguid")?,
        toname: nvlist
            .get_str("toname")
            .ok_or(TokenError::Missing("toname"))?
            .to_string(),
        large_block: flag("largeblockok"),
        embed: flag("embedok"),
        compressed: flag("compressok"),
        raw: flag("rawok"),
        saved: flag("savedok"),
    })
}

fn unhex(hex: &str) -> Result<Vec<u8>, TokenError> {
    let b = hex.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(2) {
        return Err(TokenError::Malformed(
            "data is not an even number of hex digits",
        ));
    }
    let digit = |c: u8| -> Result<u8, TokenError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(TokenError::Malformed("data is not hexadecimal")),
        }
    };
    b.chunks_exact(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

fn inflate(compressed: &[u8], packed_len: u64) -> Result<Vec<u8>, TokenError> {
    let mut out = Vec::with_capacity(packed_len as usize);
    let res = flate2::read::ZlibDecoder::new(compressed)
        .take(packed_len + 1)
        .read_to_end(&mut out);
    match res {
        Ok(_) if out.len() as u64 == packed_len => Ok(out),
        Ok(_) => Err(TokenError::Inflate(format!(
            "inflated to {} bytes, token says {packed_len}",
            out.len()
        ))),
        // The kernel stores the nvlist uncompressed when zlib does not shrink it.
        Err(_) if compressed.len() as u64 == packed_len => Ok(compressed.to_vec()),
        Err(e) => Err(TokenError::Inflate(e.to_string())),
    }
}

/// Builds a token string from an nvlist the way the kernel does (native
/// packing, zlib level 6, fletcher-4 word 0). For tests and fixtures.
#[cfg(any(test, feature = "encode"))]
pub fn encode_token(list: &Nvlist) -> String {
    use std::io::Write;
    let packed = nvlist::encode::pack_native(list, nvlist::Endian::Little);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&packed);
    let compressed = z.finish().unwrap_or_default();
    let ck = fletcher4(&compressed, WordOrder::Little)[0];
    let hex: String = compressed.iter().map(|b| format!("{b:02x}")).collect();
    format!("1-{ck:x}-{:x}-{hex}", packed.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Nvlist {
        Nvlist::new()
            .with("fromguid", Value::Uint64(0x1111))
            .with("object", Value::Uint64(128))
            .with("offset", Value::Uint64(1 << 20))
            .with("bytes", Value::Uint64(123456))
            .with("toguid", Value::Uint64(0x2222))
            .with("toname", Value::String("tank/fs@snap2".into()))
            .with("embedok", Value::Boolean)
            .with("compressok", Value::Boolean)
            .with("redact_snaps", Value::Uint64Array(vec![7, 8]))
    }

    #[test]
    fn decodes_own_token() {
        let tok = encode_token(&sample());
        let t = decode(&format!(" {tok}\n")).unwrap();
        assert_eq!(t.fromguid, Some(0x1111));
        assert!(t.is_incremental());
        assert_eq!((t.object, t.offset, t.bytes), (128, 1 << 20, 123456));
        assert_eq!(t.toguid, 0x2222);
        assert_eq!(t.toname, "tank/fs@snap2");
        assert!(t.embed && t.compressed && !t.raw && !t.large_block);
        let nvlist = decode_nvlist(&tok).unwrap();
        assert_eq!(
            nvlist.get_u64_array("redact_snaps").map(<[u64]>::to_vec),
            Some(vec![7, 8])
        );
        assert_eq!(decode(&tok).unwrap(), t);
        assert_eq!(t.token, tok, "the token string is kept, trimmed");
        assert_eq!(from_nvlist(&tok, &nvlist).unwrap(), t);
    }

    #[test]
    fn rejects_bad_tokens() {
        let tok = encode_token(&sample());
        let parts: Vec<&str> = tok.splitn(4, '-').collect();
        assert_eq!(
            decode(&format!("2-{}-{}-{}", parts[1], parts[2], parts[3])),
            Err(TokenError::Version(2))
        );
        assert!(matches!(
            decode(&format!("1-{}-{}-{}", "abc", parts[2], parts[3])),
            Err(TokenError::Checksum {
                expected: 0xabc,
                ..
            })
        ));
        let wrong_len = format!("1-{}-{:x}-{}", parts[1], 5, parts[3]);
        assert!(matches!(decode(&wrong_len), Err(TokenError::Inflate(_))));
        assert!(matches!(decode("1-2-3"), Err(TokenError::Malformed(_))));
        assert!(matches!(decode("1-0-10-zz"), Err(TokenError::Malformed(_))));
        // A flipped hex digit breaks the checksum (the last 1-3 bytes are not
        // summed by fletcher-4; zlib's adler32 catches those).
        let mut bad = tok.clone().into_bytes();
        let last = tok.rfind('-').unwrap() + 5;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            decode(std::str::from_utf8(&bad).unwrap()),
            Err(TokenError::Checksum { .. })
        ));
        let no_obj = Nvlist::new().with("toguid", Value::Uint64(1));
        assert_eq!(
            decode(&encode_token(&no_obj)),
            Err(TokenError::Missing("object"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "[0-9a-f-]{0,80}") {
            let _ = decode(&s);
        }

        #[test]
        fn mutated_tokens_never_panic(pos in any::<usize>(), c in "[0-9a-fA-Z-]") {
            let tok = encode_token(&sample());
            let mut b = tok.into_bytes();
            let i = pos % b.len();
            b[i] = c.as_bytes()[0];
            let _ = decode(std::str::from_utf8(&b).unwrap());
        }
    }
}
