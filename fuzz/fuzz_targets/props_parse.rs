//! Fuzz the `zfs get -Hp -o name,property,value,source` parser of zfs-core: any input must parse or return
//! an error, never panic, and every parsed value must come from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_core::cli::parse::parse_props;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(map) = parse_props(text) {
        for (ds, props) in &map {
            assert!(text.contains(ds.as_str()));
            for (name, v) in props {
                assert!(text.contains(name.as_str()));
                assert!(text.contains(v.value.as_str()));
            }
        }
    }
});
