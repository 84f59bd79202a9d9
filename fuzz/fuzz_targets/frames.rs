//! The zstd and lz4 frame decoders must not panic, on any input.
//!
//! Kept fast enough for millions of executions: inputs over 64 KiB are
//! skipped, at most 64 KiB is decoded per input, and every lz4 frame's declared
//! block size is clamped to 64 KiB (the header checksum is recomputed so the
//! frame stays valid). The decoder zero-fills a buffer of the declared block
//! size (twice that for linked blocks) per frame, which at 4 MiB under
//! AddressSanitizer cost ~2 ms per input; every other path (block parsing,
//! checksums, linked/independent blocks, truncation) is unchanged. Inputs
//! holding the legacy lz4 magic are not given to the lz4 decoder: legacy
//! frames have fixed 8 MiB blocks (our encoder never writes them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_stream::compress::decompress_all;
use zfs_stream::Codec;

/// Largest input tried and largest output decoded per input.
const LIMIT: usize = 64 << 10;
const LZ4_MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();
/// The legacy lz4 frame format has fixed 8 MiB blocks (nothing to clamp).
const LZ4_LEGACY_MAGIC: [u8; 4] = 0x184C_2102u32.to_le_bytes();

/// Rewrites the block-size field of the lz4 frame header at the start of
/// `frame` to 64 KiB and fixes the header checksum (no-op if it is too short).
fn clamp_lz4_block_size(frame: &mut [u8]) {
    if frame.len() < 7 || frame[..4] != LZ4_MAGIC {
        return;
    }
    let flg = frame[4];
    // Descriptor: FLG, BD, then content size (8) and dictionary id (4) when flagged.
    let desc_len = 2 + if flg & 0x08 != 0 { 8 } else { 0 } + if flg & 0x01 != 0 { 4 } else { 0 };
    if frame.len() < 4 + desc_len + 1 {
        return;
    }
    // BD bits 6..4: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB.
    frame[5] = (frame[5] & !0x70) | (4 << 4);
    let hc = (twox_hash::XxHash32::oneshot(0, &frame[4..4 + desc_len]) >> 8) as u8;
    frame[4 + desc_len] = hc;
}

fuzz_target!(|data: &[u8]| {
    if data.len() > LIMIT {
        return;
    }
    let _ = decompress_all(Codec::Zstd { level: 1 }, data, LIMIT);
    if data.windows(4).any(|w| w == LZ4_LEGACY_MAGIC) {
        return;
    }
    // Every place a frame may start (frames can be concatenated).
    let mut lz4 = data.to_vec();
    let mut at = 0;
    while let Some(k) = lz4[at..].windows(4).position(|w| w == LZ4_MAGIC) {
        clamp_lz4_block_size(&mut lz4[at + k..]);
        at += k + 4;
    }
    let _ = decompress_all(Codec::Lz4, &lz4, LIMIT);
});
