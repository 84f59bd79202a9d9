//! The send stream record parser and incremental inspector must not panic on
//! any input, however it is split into chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_stream::record::{parse_record, ByteOrder, StreamInspector};

fuzz_target!(|data: &[u8]| {
    let _ = parse_record(data, ByteOrder::Little);
    let _ = parse_record(data, ByteOrder::Big);
    // The first byte picks a chunk size so that splits vary too.
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let chunk = (k as usize % 97) + 1;
    let mut i = StreamInspector::new();
    for c in rest.chunks(chunk) {
        if i.feed(c).is_err() {
            break;
        }
    }
    let _ = i.finish();
    let _ = i.summary().to_string();
});
