//! The packed nvlist decoder (native and XDR, both byte orders) must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = zfs_stream::nvlist::unpack(data) {
        let _ = l.to_string();
    }
});
