//! The zstd and lz4 frame decoders must not panic (output capped at 1 MiB).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_stream::compress::decompress_all;
use zfs_stream::Codec;

fuzz_target!(|data: &[u8]| {
    let _ = decompress_all(Codec::Zstd { level: 1 }, data, 1 << 20);
    let _ = decompress_all(Codec::Lz4, data, 1 << 20);
});
