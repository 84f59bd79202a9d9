//! The manifest wire form `zsync verify` reads from a remote host (a hostile or broken host sends
//! anything) must never panic: it parses or is refused with a reason. A manifest that parses
//! writes back to the same text form and compares equal to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_ops::verify::{first_difference, Manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::from_wire(data) else {
        return;
    };
    let text = m.to_wire();
    let back = Manifest::from_wire(text.as_bytes()).expect("a written manifest reads back");
    assert_eq!(back, m);
    assert!(first_difference(&m, &back).is_none());
});
