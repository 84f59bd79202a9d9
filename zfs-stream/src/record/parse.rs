//! The nom parser of one 312-byte record header, in either byte order.

use nom::number::complete::{u32 as nu32, u64 as nu64, u8 as nu8};
use nom::number::Endianness;
use nom::{IResult, Parser};

use super::types::{
    Begin, ByteOrder, FeatureFlags, HeaderType, Record, RecordHeader, RecordType, BACKUP_MAGIC,
    CHECKSUM_OFFSET, RECORD_SIZE,
};

impl ByteOrder {
    pub(super) fn nom(self) -> Endianness {
        match self {
            ByteOrder::Little => Endianness::Little,
            ByteOrder::Big => Endianness::Big,
        }
    }
}

/// The byte order of a BEGIN record, from its magic; `None` if `buf` is not a BEGIN.
pub fn detect_order(buf: &[u8]) -> Option<ByteOrder> {
    let m = buf.get(8..16)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(m);
    if u64::from_le_bytes(a) == BACKUP_MAGIC {
        Some(ByteOrder::Little)
    } else if u64::from_be_bytes(a) == BACKUP_MAGIC {
        Some(ByteOrder::Big)
    } else {
        None
    }
}

type Res<'a, T> = IResult<&'a [u8], T>;

pub(super) fn cksum(e: Endianness) -> impl Fn(&[u8]) -> Res<'_, [u64; 4]> {
    move |i| {
        let (i, (a, b, c, d)) = (nu64(e), nu64(e), nu64(e), nu64(e)).parse(i)?;
        Ok((i, [a, b, c, d]))
    }
}

fn body<'a>(t: RecordType, e: Endianness, order: ByteOrder, i: &'a [u8]) -> Res<'a, Record> {
    let u64p = || nu64(e);
    Ok(match t {
        RecordType::Begin => {
            let (i, (_magic, vi, ct, ot, fl, tg, fg)) =
                (u64p(), u64p(), u64p(), nu32(e), nu32(e), u64p(), u64p()).parse(i)?;
            let name = &i[..i.len().min(256)];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let header_type = match vi & 3 {
                1 => HeaderType::Substream,
                2 => HeaderType::Compound,
                n => HeaderType::Other(n as u8),
            };
            let b = Begin {
                order,
                header_type,
                features: FeatureFlags((vi >> 2) & ((1 << 56) - 1)),
                creation_time: ct,
                objset_type: ot,
                flags: fl,
                toguid: tg,
                fromguid: fg,
                toname: String::from_utf8_lossy(&name[..end]).into_owned(),
            };
            (i, Record::Begin(b))
        }
        RecordType::Object => {
            let (i, (object, object_type, bonus_type, blksz, bonuslen)) =
                (u64p(), nu32(e), nu32(e), nu32(e), nu32(e)).parse(i)?;
            let (i, (_ck, _comp, _slots, _flags, raw_bonuslen, toguid)) =
                (nu8, nu8, nu8, nu8, nu32(e), u64p()).parse(i)?;
            (
                i,
                Record::Object {
                    object,
                    object_type,
                    bonus_type,
                    blksz,
                    bonuslen,
                    raw_bonuslen,
                    toguid,
                },
            )
        }
        RecordType::FreeObjects => {
            let (i, (firstobj, numobjs, toguid)) = (u64p(), u64p(), u64p()).parse(i)?;
            (
                i,
                Record::FreeObjects {
                    firstobj,
                    numobjs,
                    toguid,
                },
            )
        }
        RecordType::Write => {
            let (i, (object, _ty, _pad, offset, logical_size, toguid)) =
                (u64p(), nu32(e), nu32(e), u64p(), u64p(), u64p()).parse(i)?;
            let (i, (_ck, _fl, compression)) = (nu8, nu8, nu8).parse(i)?;
            // 5 pad bytes, then the 40-byte dedup key, then compressed_size.
            let (i, compressed_size) = nu64(e).parse(&i[45..])?;
            (
                i,
                Record::Write {
                    object,
                    offset,
                    logical_size,
                    compression,
                    compressed_size,
                    toguid,
                },
            )
        }
        RecordType::Free | RecordType::WriteByref | RecordType::Redact => {
            let (i, (object, offset, length, toguid)) =
                (u64p(), u64p(), u64p(), u64p()).parse(i)?;
            let r = match t {
                RecordType::Free => Record::Free {
                    object,
                    offset,
                    length,
                    toguid,
                },
                RecordType::WriteByref => Record::WriteByref {
                    object,
                    offset,
                    length,
                    toguid,
                },
                _ => Record::Redact {
                    object,
                    offset,
                    length,
                    toguid,
                },
            };
            (i, r)
        }
        RecordType::End => {
            let (i, (checksum, toguid)) = (cksum(e), u64p()).parse(i)?;
            (i, Record::End { checksum, toguid })
        }
        RecordType::Spill => {
            let (i, (object, length, toguid, _fl, _comp)) =
                (u64p(), u64p(), u64p(), nu8, nu8).parse(i)?;
            let (i, compressed_size) = nu64(e).parse(&i[6..])?;
            (
                i,
                Record::Spill {
                    object,
                    length,
                    compressed_size,
                    toguid,
                },
            )
        }
        RecordType::WriteEmbedded => {
            let (i, (object, offset, length, toguid, compression, _etype)) =
                (u64p(), u64p(), u64p(), u64p(), nu8, nu8).parse(i)?;
            let (i, (lsize, psize)) = (nu32(e), nu32(e)).parse(&i[6..])?;
            (
                i,
                Record::WriteEmbedded {
                    object,
                    offset,
                    length,
                    compression,
                    lsize,
                    psize,
                    toguid,
                },
            )
        }
        RecordType::ObjectRange => {
            let (i, (firstobj, numslots, toguid)) = (u64p(), u64p(), u64p()).parse(i)?;
            (
                i,
                Record::ObjectRange {
                    firstobj,
                    numslots,
                    toguid,
                },
            )
        }
    })
}

/// Why [`parse_record`] refused a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseRecordError {
    /// Fewer than 312 bytes.
    Short,
    /// `drr_type` is not a known record type.
    UnknownType(u32),
}

/// Decodes one 312-byte record header in the given byte order.
pub fn parse_record(buf: &[u8], order: ByteOrder) -> Result<RecordHeader, ParseRecordError> {
    if buf.len() < RECORD_SIZE {
        return Err(ParseRecordError::Short);
    }
    let rec = &buf[..RECORD_SIZE];
    let e = order.nom();
    let parsed: Res<'_, (u32, u32)> = (nu32(e), nu32(e)).parse(rec);
    let (rest, (ty, payloadlen)) = parsed.map_err(|_| ParseRecordError::Short)?;
    let t = RecordType::from_u32(ty).ok_or(ParseRecordError::UnknownType(ty))?;
    let record = body(t, e, order, rest)
        .map(|(_, r)| r)
        .map_err(|_| ParseRecordError::Short)?;
    let checksum = cksum(e)(&rec[CHECKSUM_OFFSET..])
        .map(|(_, c)| c)
        .map_err(|_| ParseRecordError::Short)?;
    Ok(RecordHeader {
        record,
        payloadlen,
        checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixtures::{boundaries, small};

    #[test]
    fn write_payload_sizes() {
        let s = small(ByteOrder::Little);
        let starts = boundaries(&s);
        // BEGIN, OBJECT(3 -> 8), WRITE 512, FREE, WRITE compressed 1000, END
        let sizes: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(sizes, vec![312, 320, 824, 312, 1312, 312]);
    }
}
