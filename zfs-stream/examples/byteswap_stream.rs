//! `byteswap_stream IN OUT`: rewrites a little-endian ZFS send stream as the
//! same stream written by a big-endian host, to build the big-endian test
//! fixtures (`tests/fixtures/*-be.zstream`, see `tests/fixtures/regen.sh`).
//!
//! No real big-endian send stream could be found published anywhere, and
//! there is no big-endian machine here, so the fixtures are synthesized:
//! every numeric field of every record header is byte-swapped according to
//! its width in `dmu_replay_record_t` (u64, u32, or bytes left alone: names,
//! salts, IVs, MACs, flag bytes), and every running fletcher-4 and END
//! checksum is recomputed over big-endian words, as a big-endian sender's
//! `fletcher_4_native` would. Payloads are kept as they are (block contents
//! are opaque to the stream format; a compound header's XDR nvlist is
//! byte-order independent). A substream BEGIN payload in the native nvlist
//! encoding cannot be swapped without re-encoding it and is refused.

use std::process::ExitCode;

use zfs_stream::fletcher::{Fletcher4, WordOrder};
use zfs_stream::record::{parse_record, ByteOrder, RecordType, RECORD_SIZE};

/// Field widths of a record header after `drr_type` and `drr_payloadlen`
/// (both u32): (offset, width) of each numeric field; other bytes are kept.
fn fields(t: RecordType) -> Vec<(usize, usize)> {
    let u64s = |from: usize, n: usize| (0..n).map(move |k| (from + 8 * k, 8));
    let mut f: Vec<(usize, usize)> = vec![(0, 4), (4, 4)];
    match t {
        // magic, versioninfo, creation_time; type, flags; toguid, fromguid; toname.
        RecordType::Begin => {
            f.extend(u64s(8, 3));
            f.extend([(32, 4), (36, 4)]);
            f.extend(u64s(40, 2));
        }
        // checksum (4 x u64), toguid.
        RecordType::End => f.extend(u64s(8, 5)),
        // object; type, bonustype, blksz, bonuslen; 4 bytes; raw_bonuslen;
        // toguid; 8 bytes; maxblkid.
        RecordType::Object => {
            f.push((8, 8));
            f.extend([(16, 4), (20, 4), (24, 4), (28, 4), (36, 4)]);
            f.extend([(40, 8), (56, 8)]);
        }
        RecordType::FreeObjects | RecordType::ObjectRange => f.extend(u64s(8, 3)),
        // object; type, pad; offset, logical_size, toguid; 8 bytes;
        // dedup key (4 x u64 checksum + u64 prop); compressed_size; salt/iv/mac.
        RecordType::Write => {
            f.push((8, 8));
            f.extend([(16, 4), (20, 4)]);
            f.extend(u64s(24, 3));
            f.extend(u64s(56, 6));
        }
        RecordType::Free | RecordType::Redact => f.extend(u64s(8, 4)),
        // object, offset, length, toguid, refguid, refobject, refoffset;
        // 8 bytes; dedup key (5 x u64).
        RecordType::WriteByref => {
            f.extend(u64s(8, 7));
            f.extend(u64s(72, 5));
        }
        // object, length, toguid; 8 bytes; compressed_size; type.
        RecordType::Spill => {
            f.extend(u64s(8, 3));
            f.extend([(40, 8), (48, 4)]);
        }
        // object, offset, length, toguid; 8 bytes; lsize, psize.
        RecordType::WriteEmbedded => {
            f.extend(u64s(8, 4));
            f.extend([(48, 4), (52, 4)]);
        }
        other => panic!("no field layout known for {other} records"),
    }
    f
}

fn put_be(rec: &mut [u8], at: usize, words: [u64; 4]) {
    for (k, w) in words.iter().enumerate() {
        rec[at + 8 * k..at + 8 * k + 8].copy_from_slice(&w.to_be_bytes());
    }
}

fn convert(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len());
    let mut sum = Fletcher4::new(WordOrder::Big);
    let mut at = 0usize;
    let mut index = 0u64;
    while at < input.len() {
        let hdr = input
            .get(at..at + RECORD_SIZE)
            .ok_or(format!("record {index} at byte {at} is incomplete"))?;
        let parsed = parse_record(hdr, ByteOrder::Little)
            .map_err(|e| format!("record {index} at byte {at}: {e:?}"))?;
        let t = parsed.record.record_type();
        let payload = parsed.payload_size() as usize;
        let body = input
            .get(at + RECORD_SIZE..at + RECORD_SIZE + payload)
            .ok_or(format!("record {index} at byte {at}: payload cut short"))?;
        let mut rec = hdr.to_vec();
        for (off, width) in fields(t) {
            rec[off..off + width].reverse();
        }
        if t == RecordType::Begin {
            if !body.is_empty() && body[0] != 1 {
                return Err(format!(
                    "record {index} at byte {at}: BEGIN payload is a native-encoded nvlist; \
                     only XDR payloads (encoding byte 1) can be kept as they are"
                ));
            }
            // A BEGIN starts a new running sum (its own checksum field is part of toname).
            sum = Fletcher4::new(WordOrder::Big);
        } else {
            let carried = parsed.checksum != [0; 4];
            if let zfs_stream::record::Record::End { checksum, .. } = parsed.record {
                // END carries the sum of its substream before it (zero in the final END).
                if checksum != [0; 4] {
                    put_be(&mut rec, 8, sum.value());
                }
            }
            if carried {
                let mut s = sum.clone();
                s.update(&rec[..280]);
                put_be(&mut rec, 280, s.value());
            }
        }
        sum.update(&rec);
        sum.update(body);
        sum.discard_tail();
        out.extend_from_slice(&rec);
        out.extend_from_slice(body);
        at += RECORD_SIZE + payload;
        index += 1;
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: byteswap_stream IN.zstream OUT.zstream");
        return ExitCode::FAILURE;
    };
    let result = std::fs::read(input)
        .map_err(|e| format!("{input}: {e}"))
        .and_then(|d| convert(&d))
        .and_then(|d| std::fs::write(output, d).map_err(|e| format!("{output}: {e}")));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byteswap_stream: {e}");
            ExitCode::FAILURE
        }
    }
}
