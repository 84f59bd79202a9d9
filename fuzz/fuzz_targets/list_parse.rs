//! Fuzz the `zfs list -Hp` parser of zfs-core: any input must parse or return an error, never panic.
//!
//! The first byte picks the options (number of user properties, depth); the rest is the listing text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zfs_core::cli::parse::parse_listing;
use zfs_core::{DatasetName, Depth, ListOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let depth = match sel & 3 {
        0 => Depth::Recursive,
        1 => Depth::Zero,
        2 => Depth::Levels(1),
        _ => Depth::Levels(u32::from(sel >> 4)),
    };
    let opts = ListOptions {
        depth,
        versions: sel & 4 == 0,
        user_props: (0..(sel >> 3) & 3).map(|i| format!("zsync:p{i}")).collect(),
    };
    let root = match sel >> 6 {
        0 => "tank",
        1 => "tank/a",
        2 => "tank/my data",
        _ => "p",
    };
    let root = DatasetName::parse(root).expect("valid root");
    if let Ok(listing) = parse_listing(text, &root, &opts) {
        for d in &listing.datasets {
            assert!(d.name.is_within(&root));
            for w in d.versions.windows(2) {
                assert!(w[0].createtxg <= w[1].createtxg);
            }
        }
    }
});
