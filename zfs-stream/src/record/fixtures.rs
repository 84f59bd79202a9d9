//! Streams and helpers shared by the record tests.

use super::build::StreamBuilder;
use super::parse::{detect_order, parse_record};
use super::types::{ByteOrder, RECORD_SIZE};
use crate::nvlist::encode::{pack_native, pack_xdr};
use crate::nvlist::{Endian, Nvlist, Value};

pub(super) const G: u64 = 0xabcdef;

pub(super) fn small(order: ByteOrder) -> Vec<u8> {
    let mut b = StreamBuilder::new(order);
    b.begin(1, 1 << 16, G, 0, "tank/a@s1", &[]);
    b.object(2, &[1, 2, 3], G);
    b.write(2, 0, &[9u8; 512], G);
    b.free(2, 512, 1024, G);
    b.write_compressed(2, 4096, 131072, &[5u8; 1000], G);
    b.end(G);
    b.finish()
}

pub(super) fn compound() -> Vec<u8> {
    let hdr = Nvlist::new()
        .with("tosnap", Value::String("s2".into()))
        .with(
            "fss",
            Value::Nvlist(Nvlist::new().with(
                "0x1",
                Value::Nvlist(Nvlist::new().with("name", Value::String("tank/a".into()))),
            )),
        );
    let mut b = StreamBuilder::new(ByteOrder::Little);
    b.begin(2, 0, 0, 0, "tank/a@s2", &pack_xdr(&hdr));
    b.header_end();
    b.begin(1, 0, G, 0, "tank/a@s1", &[]);
    b.write(2, 0, &[1u8; 512], G);
    b.end(G);
    let resume = Nvlist::new().with("resume_object", Value::Uint64(5));
    b.begin(
        1,
        1 << 20,
        G + 1,
        G,
        "tank/a@s2",
        &pack_native(&resume, Endian::Little),
    );
    b.write(2, 0, &[2u8; 512], G + 1);
    b.end(G + 1);
    b.final_end();
    b.finish()
}

pub(super) fn boundaries(s: &[u8]) -> Vec<u64> {
    // Record starts of a clean little-endian stream.
    let mut out = Vec::new();
    let mut off = 0usize;
    let mut order = ByteOrder::Little;
    while off + RECORD_SIZE <= s.len() {
        if let Some(o) = detect_order(&s[off..]) {
            order = o;
        }
        out.push(off as u64);
        let h = parse_record(&s[off..], order).unwrap();
        off += RECORD_SIZE + h.payload_size() as usize;
    }
    out.push(s.len() as u64);
    out
}
