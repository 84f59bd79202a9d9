//! Hostile input: real send streams (captured from OpenZFS, tests/fixtures) damaged at every
//! record boundary, and a real resume token damaged at every byte position. Each damage must be
//! detected by the in-flight check before the stream completes (so zsync stops the receive
//! before it commits), or refused by the token decoder. Every case is counted with
//! `zsync_lab::tally::hostile`.

use std::path::PathBuf;

use zfs_stream::record::{detect_order, parse_record, RECORD_SIZE};
use zfs_stream::{inspect, resume};
use zsync_lab::tally;

const STREAMS: [&str; 10] = [
    "full",
    "incremental",
    "compressed",
    "raw",
    "compound",
    "compound-incremental",
    "zvol",
    "resumed",
    "full-be",
    "compound-be",
];

fn read(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

fn streams() -> Vec<(&'static str, Vec<u8>)> {
    STREAMS
        .iter()
        .filter_map(|n| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(format!("{n}.zstream"));
            p.exists().then(|| (*n, read(&format!("{n}.zstream"))))
        })
        .collect()
}

/// The offset of every record (header + payload), walking the stream.
fn boundaries(data: &[u8]) -> Vec<usize> {
    let order = detect_order(data).expect("a real stream has a byte order");
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let h = parse_record(&data[at..], order).expect("a real stream parses");
        out.push(at);
        at += RECORD_SIZE + usize::try_from(h.payload_size()).expect("payload fits");
    }
    assert_eq!(at, data.len(), "records tile the stream");
    out
}

/// Runs the check on `bad`; true when it failed (the damage was detected).
fn detected(bad: &[u8]) -> bool {
    inspect(bad).is_err()
}

#[test]
fn every_record_boundary_damaged_is_detected_before_the_end() {
    let mut missed = Vec::new();
    let mut cases = 0;
    for (name, data) in streams() {
        assert!(
            detected(&data[..data.len() - 1]) && !detected(&data),
            "{name}"
        );
        let bounds = boundaries(&data);
        assert!(bounds.len() > 3, "{name}: {} records", bounds.len());
        for (i, &at) in bounds.iter().enumerate() {
            let next = bounds.get(i + 1).copied().unwrap_or(data.len());
            let mut damages: Vec<(String, Vec<u8>)> = Vec::new();
            // The record's type word (its first byte).
            let mut b = data.clone();
            b[at] ^= 0x5a;
            damages.push((format!("type byte of record {i}"), b));
            // The last byte before the boundary (the previous record's checksum or payload).
            if at > 0 {
                let mut b = data.clone();
                b[at - 1] ^= 0x01;
                damages.push((format!("byte before record {i}"), b));
            }
            // Cut at the boundary: a stream that stops between records.
            if at > 0 {
                damages.push((format!("cut before record {i}"), data[..at].to_vec()));
            }
            // The record dropped: the checksum chain breaks.
            if i > 0 && next > at {
                let mut b = data[..at].to_vec();
                b.extend_from_slice(&data[next..]);
                damages.push((format!("record {i} dropped"), b));
            }
            // Garbage inserted at the boundary.
            let mut b = data[..at].to_vec();
            b.extend_from_slice(&[0xA5; 40]);
            b.extend_from_slice(&data[at..]);
            damages.push((format!("40 bytes inserted before record {i}"), b));
            // The record duplicated.
            if i > 0 && next > at {
                let mut b = data[..next].to_vec();
                b.extend_from_slice(&data[at..]);
                damages.push((format!("record {i} repeated"), b));
            }
            for (what, bad) in damages {
                cases += 1;
                let ok = detected(&bad);
                tally::hostile(&format!("stream {name}: {what}"), ok);
                if !ok {
                    missed.push(format!("{name}: {what}"));
                }
            }
        }
    }
    eprintln!("{cases} damaged streams");
    assert!(cases > 500, "only {cases} cases");
    assert!(missed.is_empty(), "not detected:\n{}", missed.join("\n"));
}

#[test]
fn a_resume_token_damaged_at_every_byte_is_refused() {
    let token = String::from_utf8(read("resume_token.txt")).unwrap();
    let token = token.trim();
    resume::decode(token).expect("the real token decodes");
    let bytes = token.as_bytes();
    let mut accepted = Vec::new();
    let mut cases = 0;
    for pos in 0..bytes.len() {
        // A different character of the same class (a hex digit for a hex digit), so the damage
        // is not just an error of the alphabet.
        let c = bytes[pos];
        let replacement = match c {
            b'0'..=b'8' | b'a'..=b'e' => c + 1,
            b'9' => b'a',
            b'f' => b'0',
            b'-' => b'0',
            _ => b'-',
        };
        let mut changed = bytes.to_vec();
        changed[pos] = replacement;
        let changed = String::from_utf8(changed).unwrap();
        for (what, bad) in [
            (format!("byte {pos} changed"), changed),
            (format!("cut at byte {pos}"), token[..pos].to_string()),
        ] {
            cases += 1;
            let ok = resume::decode(&bad).is_err();
            tally::hostile(&format!("resume token: {what}"), ok);
            if !ok {
                accepted.push(what);
            }
        }
    }
    eprintln!("{cases} damaged tokens");
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}
