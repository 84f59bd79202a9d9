//! The resume token decoder must not panic, on token text or on the nvlist inside.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_stream::resume;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = resume::decode(&s);
    if let Ok(l) = zfs_stream::nvlist::unpack(data) {
        let _ = resume::from_nvlist(&s, &l);
    }
});
