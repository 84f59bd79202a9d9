//! Real send streams captured from OpenZFS in the lab (`tests/fixtures/regen.sh`),
//! checked against `zstream dump` and against each other.

use std::collections::HashMap;
use std::path::PathBuf;

use zfs_stream::fletcher::{fletcher4, WordOrder};
use zfs_stream::record::{
    detect_order, parse_record, ByteOrder, FeatureFlags, HeaderType, Record, RecordType,
    StreamInspector, CHECKSUM_OFFSET, RECORD_SIZE,
};
use zfs_stream::{inspect, resume, StreamError, StreamSummary};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

const STREAMS: [&str; 8] = [
    "full",
    "incremental",
    "compressed",
    "raw",
    "compound",
    "compound-incremental",
    "zvol",
    "resumed",
];

fn streams() -> impl Iterator<Item = &'static str> {
    STREAMS
        .into_iter()
        .filter(|n| dir().join(format!("{n}.zstream")).exists())
}

/// `Total DRR_X records = N` and `Total stream length = N` from `zstream dump`.
fn dump_totals(name: &str) -> HashMap<String, u64> {
    let text = String::from_utf8(read(&format!("{name}.dump.txt"))).unwrap();
    let mut out = HashMap::new();
    for line in text.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("Total ") else {
            continue;
        };
        let Some((key, val)) = rest.split_once(" = ") else {
            continue;
        };
        let num: String = val.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(n) = num.parse() {
            out.insert(key.to_string(), n);
        }
    }
    out
}

fn summary(name: &str) -> StreamSummary {
    let s = read(&format!("{name}.zstream"));
    inspect(&s).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_parses_and_matches_zstream_dump() {
    let mut seen = 0;
    for name in streams() {
        seen += 1;
        let data = read(&format!("{name}.zstream"));
        let s = summary(name);
        assert!(s.complete, "{name}");
        assert_eq!(s.bytes, data.len() as u64);
        let dump = dump_totals(name);
        assert_eq!(
            dump.get("stream length"),
            Some(&(data.len() as u64)),
            "{name}"
        );
        for t in RecordType::ALL {
            let key = format!("DRR_{} records", t.name());
            if let Some(&n) = dump.get(&key) {
                assert_eq!(s.count(t), n, "{name}: {key}");
            }
        }
        if let Some(&n) = dump.get("records") {
            assert_eq!(s.records, n, "{name}: total records");
        }
    }
    assert!(seen >= 7, "only {seen} fixtures present");
}

#[test]
fn fixture_kinds_are_what_they_claim() {
    let full = summary("full");
    assert!(!full.is_incremental() && !full.is_compound());
    assert_eq!(full.begin().unwrap().objset_type, 2);
    assert_eq!(full.begin().unwrap().header_type, HeaderType::Substream);
    assert!(full.begin().unwrap().toname.ends_with("/fs@s1"));

    let inc = summary("incremental");
    assert!(inc.is_incremental());
    assert_eq!(inc.begin().unwrap().fromguid, full.begin().unwrap().toguid);

    let c = summary("compressed");
    assert!(
        c.features().has(FeatureFlags::COMPRESSED),
        "{}",
        c.features()
    );

    let raw = summary("raw");
    assert!(raw.features().has(FeatureFlags::RAW), "{}", raw.features());
    assert!(raw.count(RecordType::ObjectRange) > 0);
    let keydata = raw.substreams[0]
        .payload
        .as_ref()
        .expect("raw BEGIN payload");
    assert!(keydata.get_nvlist("crypt_keydata").is_some(), "{keydata}");

    let r = summary("compound");
    assert!(r.is_compound());
    assert_eq!(r.substreams.len(), 2);
    let hdr = r
        .compound
        .as_ref()
        .unwrap()
        .1
        .as_ref()
        .expect("compound header nvlist");
    assert_eq!(hdr.get_str("tosnap"), Some("r1"));
    assert_eq!(
        hdr.get_nvlist("fss").map(|f| f.pairs.len()),
        Some(2),
        "{hdr}"
    );

    let ri = summary("compound-incremental");
    assert!(ri.is_compound());
    assert!(ri.substreams.iter().all(|s| s.is_incremental()));
    let hdr = ri.compound.as_ref().unwrap().1.as_ref().unwrap();
    assert_eq!(hdr.get_str("fromsnap"), Some("r1"));

    let vol = summary("zvol");
    assert_eq!(vol.begin().unwrap().objset_type, 3);
}

#[test]
fn real_resume_token_matches_the_resumed_stream() {
    let text = String::from_utf8(read("resume_token.txt")).unwrap();
    let t = resume::decode(&text).unwrap();
    let s = summary("resumed");
    let b = s.begin().unwrap();
    assert!(b.features.has(FeatureFlags::RESUMING));
    assert_eq!(b.toguid, t.toguid);
    assert_eq!(b.toname, t.toname);
    assert!(t.compressed, "the interrupted send used -c");
    assert!(!t.is_incremental());
    assert!(t.bytes > 0);
    let p = s.substreams[0].payload.as_ref().expect("resume payload");
    assert_eq!(p.get_u64("resume_object"), Some(t.object), "{p}");
    assert_eq!(p.get_u64("resume_offset"), Some(t.offset), "{p}");
    // What `zstream token` printed, where present, agrees.
    if let Ok(dec) = std::fs::read_to_string(dir().join("resume_token.decoded.txt")) {
        for (field, v) in [
            ("object", t.object),
            ("offset", t.offset),
            ("toguid", t.toguid),
        ] {
            let hit = dec.lines().any(|l| {
                let l = l.trim();
                l.starts_with(field)
                    && (l.ends_with(&format!("{v}")) || l.ends_with(&format!("{v:#x}")))
            });
            assert!(hit, "zstream token output lacks {field} = {v}:\n{dec}");
        }
    }
    // The receiver's GUID after completing with the resumed stream equals the source's.
    let guids = String::from_utf8(read("resumed.expected-guid.txt")).unwrap();
    let g: Vec<&str> = guids.lines().collect();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0], g[1]);
    assert_eq!(g[0].parse::<u64>().unwrap(), t.toguid);
}

#[test]
fn flipped_bytes_in_real_streams_are_detected() {
    for name in streams() {
        let data = read(&format!("{name}.zstream"));
        for pos in (0..data.len()).step_by(data.len() / 61 + 1) {
            let mut bad = data.clone();
            bad[pos] ^= 0x10;
            match inspect(&bad) {
                Ok(_) => panic!("{name}: flip at byte {pos} not detected"),
                Err(e) => assert!(e.offset() <= data.len() as u64, "{name}: {e}"),
            }
        }
    }
}

#[test]
fn truncated_real_streams_are_detected() {
    for name in streams() {
        let data = read(&format!("{name}.zstream"));
        for cut in [
            1,
            311,
            312,
            313,
            data.len() / 3,
            data.len() / 2,
            data.len() - 312,
            data.len() - 1,
        ] {
            match inspect(&data[..cut]) {
                Err(StreamError::Truncated { offset, .. }) => assert_eq!(offset, cut as u64),
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn chunked_feeding_gives_the_same_summary() {
    for name in streams() {
        let data = read(&format!("{name}.zstream"));
        let whole = inspect(&data).unwrap();
        for step in [1usize, 7, 312, 4093] {
            let mut i = StreamInspector::new();
            for c in data.chunks(step) {
                i.feed(c).unwrap();
            }
            assert_eq!(i.finish().unwrap(), whole, "{name} step {step}");
        }
    }
}

/// Big-endian fixtures and the little-endian streams they were made from.
/// Synthesized (no big-endian machine or published big-endian stream was
/// available): `examples/byteswap_stream.rs` swaps every numeric header
/// field and recomputes every checksum over big-endian words, see regen.sh.
const BIG_ENDIAN: [(&str, &str); 2] = [("full-be", "full"), ("compound-be", "compound")];

#[test]
fn big_endian_fixtures_parse_like_their_sources() {
    for (be, le) in BIG_ENDIAN {
        let (b, l) = (summary(be), summary(le));
        assert!(b.complete, "{be}");
        assert_eq!(b.begin().unwrap().order, ByteOrder::Big, "{be}");
        assert_eq!(l.begin().unwrap().order, ByteOrder::Little, "{le}");
        assert_eq!((b.records, b.bytes), (l.records, l.bytes), "{be}");
        assert_eq!(b.counts, l.counts, "{be}");
        assert_eq!(b.substreams.len(), l.substreams.len(), "{be}");
        for (sb, sl) in b.substreams.iter().zip(&l.substreams) {
            let (bb, bl) = (sb.begin.as_ref().unwrap(), sl.begin.as_ref().unwrap());
            assert_eq!(
                (bb.toguid, bb.fromguid, &bb.toname, bb.features, bb.flags),
                (bl.toguid, bl.fromguid, &bl.toname, bl.features, bl.flags),
                "{be}"
            );
            assert_eq!(
                (sb.records, sb.bytes, sb.data_bytes),
                (sl.records, sl.bytes, sl.data_bytes)
            );
        }
        assert_eq!(b.is_compound(), l.is_compound());
        // Not the same bytes: the headers really are swapped.
        assert_ne!(
            read(&format!("{be}.zstream")),
            read(&format!("{le}.zstream"))
        );
    }
}

#[test]
fn big_endian_checksums_are_over_big_endian_words() {
    // full-be: one substream; its END carries the fletcher-4 of everything before it.
    let data = read("full-be.zstream");
    let end_at = data.len() - RECORD_SIZE;
    let end = parse_record(&data[end_at..], ByteOrder::Big).unwrap();
    let Record::End { checksum, .. } = end.record else {
        panic!("last record is not END: {:?}", end.record)
    };
    assert_eq!(checksum, fletcher4(&data[..end_at], WordOrder::Big));
    assert_ne!(checksum, fletcher4(&data[..end_at], WordOrder::Little));
    // And each record's running checksum covers the bytes up to its checksum field.
    assert_eq!(
        end.checksum,
        fletcher4(&data[..end_at + CHECKSUM_OFFSET], WordOrder::Big)
    );
    // Read as little-endian, the first record is not a valid BEGIN.
    assert_eq!(detect_order(&data), Some(ByteOrder::Big));
}

#[test]
fn big_endian_fixtures_detect_flips_and_truncation() {
    for (be, _) in BIG_ENDIAN {
        let data = read(&format!("{be}.zstream"));
        for pos in (0..data.len()).step_by(data.len() / 97 + 1) {
            let mut bad = data.clone();
            bad[pos] ^= 0x01;
            match inspect(&bad) {
                Ok(_) => panic!("{be}: flip at byte {pos} not detected"),
                // Reported at or after the record holding the byte (the next
                // running checksum covers it), never before it.
                Err(e) => assert!(
                    e.offset() + RECORD_SIZE as u64 > pos as u64 || pos < RECORD_SIZE,
                    "{be}: flip at {pos} reported at {}: {e}",
                    e.offset()
                ),
            }
        }
        for cut in [1, 312, data.len() / 2, data.len() - 1] {
            match inspect(&data[..cut]) {
                Err(StreamError::Truncated { offset, .. }) => assert_eq!(offset, cut as u64),
                other => panic!("{be} cut at {cut}: {other:?}"),
            }
        }
    }
}
