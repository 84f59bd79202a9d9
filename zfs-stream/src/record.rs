//! ZFS send stream records and an incremental stream inspector.
//!
//! A send stream is a sequence of fixed 312-byte `dmu_replay_record`s, some
//! followed by a payload whose size follows from the record type:
//!
//! | type | payload |
//! |---|---|
//! | BEGIN | `drr_payloadlen` (a packed nvlist) |
//! | OBJECT | `raw_bonuslen`, else `bonuslen` rounded up to 8 |
//! | WRITE | `compressed_size` if `compressiontype != 0`, else `logical_size` |
//! | WRITE_EMBEDDED | `psize` rounded up to 8 |
//! | SPILL | `compressed_size` if non-zero, else `length` |
//! | others | none |
//!
//! The last 32 bytes of every record carry the running fletcher-4 of all
//! bytes of the substream before them (zero in BEGIN, and zero means "not
//! checked"); END carries the checksum of the substream before it. Byte order
//! follows the BEGIN magic. A compound (`-R`/`-I`) stream is a BEGIN with
//! header type 2 and an XDR nvlist payload, an END, the substreams, and a
//! final END with a zero checksum.
//!
//! [`parse_record`] decodes one record header (a nom parser); [`StreamInspector`]
//! is fed arbitrary chunks and checks structure and checksums as it goes.

use std::fmt;

use nom::number::complete::{u32 as nu32, u64 as nu64, u8 as nu8};
use nom::number::Endianness;
use nom::{IResult, Parser};

use crate::error::StreamError;
use crate::fletcher::{Fletcher4, WordOrder};
use crate::nvlist::{self, Nvlist};

/// Size of one `dmu_replay_record_t`.
pub const RECORD_SIZE: usize = 312;
/// `DMU_BACKUP_MAGIC`, the first field of a BEGIN record.
pub const BACKUP_MAGIC: u64 = 0x2_f5ba_cbac;
/// Offset of the running checksum inside a record.
pub const CHECKSUM_OFFSET: usize = 280;
/// The largest payload accepted for records other than BEGIN (`SPA_MAXBLOCKSIZE`).
pub const MAX_BLOCK_PAYLOAD: u64 = 16 << 20;
/// The largest BEGIN payload accepted (a compound header nvlist).
pub const MAX_BEGIN_PAYLOAD: u64 = 256 << 20;
/// BEGIN payloads up to this size are decoded into the summary.
const MAX_DECODED_PAYLOAD: u64 = 16 << 20;

/// `drr_type` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum RecordType {
    Begin = 0,
    Object = 1,
    FreeObjects = 2,
    Write = 3,
    Free = 4,
    End = 5,
    WriteByref = 6,
    Spill = 7,
    WriteEmbedded = 8,
    ObjectRange = 9,
    Redact = 10,
}

impl RecordType {
    /// All types, indexed by their number.
    pub const ALL: [RecordType; 11] = [
        RecordType::Begin,
        RecordType::Object,
        RecordType::FreeObjects,
        RecordType::Write,
        RecordType::Free,
        RecordType::End,
        RecordType::WriteByref,
        RecordType::Spill,
        RecordType::WriteEmbedded,
        RecordType::ObjectRange,
        RecordType::Redact,
    ];

    /// The type with number `n`.
    pub fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }

    /// The name ZFS uses (`BEGIN`, `WRITE`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RecordType::Begin => "BEGIN",
            RecordType::Object => "OBJECT",
            RecordType::FreeObjects => "FREEOBJECTS",
            RecordType::Write => "WRITE",
            RecordType::Free => "FREE",
            RecordType::End => "END",
            RecordType::WriteByref => "WRITE_BYREF",
            RecordType::Spill => "SPILL",
            RecordType::WriteEmbedded => "WRITE_EMBEDDED",
            RecordType::ObjectRange => "OBJECT_RANGE",
            RecordType::Redact => "REDACT",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Byte order of a stream (that of the host that wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian.
    Little,
    /// Big-endian.
    Big,
}

impl ByteOrder {
    fn nom(self) -> Endianness {
        match self {
            ByteOrder::Little => Endianness::Little,
            ByteOrder::Big => Endianness::Big,
        }
    }
    fn words(self) -> WordOrder {
        match self {
            ByteOrder::Little => WordOrder::Little,
            ByteOrder::Big => WordOrder::Big,
        }
    }
}

/// `DMU_GET_STREAM_HDRTYPE` of a BEGIN record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderType {
    /// 1: a single dataset's stream.
    Substream,
    /// 2: the header of a compound (`-R`, `-I`, `-p`) stream.
    Compound,
    /// Anything else.
    Other(u8),
}

/// Stream feature flags (`DMU_BACKUP_FEATURE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureFlags(pub u64);

impl FeatureFlags {
    const NAMES: [(u64, &'static str); 16] = [
        (1 << 0, "dedup"),
        (1 << 1, "dedupprops"),
        (1 << 2, "sa_spill"),
        (1 << 16, "embed_data"),
        (1 << 17, "lz4"),
        (1 << 19, "large_blocks"),
        (1 << 20, "resuming"),
        (1 << 21, "redacted"),
        (1 << 22, "compressed"),
        (1 << 23, "large_dnode"),
        (1 << 24, "raw"),
        (1 << 25, "zstd"),
        (1 << 26, "holds"),
        (1 << 27, "switch_to_large_blocks"),
        (1 << 28, "longname"),
        (1 << 29, "large_microzap"),
    ];
    /// `DMU_BACKUP_FEATURE_EMBED_DATA`.
    pub const EMBED_DATA: u64 = 1 << 16;
    /// `DMU_BACKUP_FEATURE_LARGE_BLOCKS`.
    pub const LARGE_BLOCKS: u64 = 1 << 19;
    /// `DMU_BACKUP_FEATURE_RESUMING`.
    pub const RESUMING: u64 = 1 << 20;
    /// `DMU_BACKUP_FEATURE_COMPRESSED`.
    pub const COMPRESSED: u64 = 1 << 22;
    /// `DMU_BACKUP_FEATURE_RAW`.
    pub const RAW: u64 = 1 << 24;

    /// Whether all bits of `flag` are set.
    pub fn has(self, flag: u64) -> bool {
        self.0 & flag == flag
    }

    /// Names of the set flags (unknown bits as `bitN`).
    pub fn names(self) -> Vec<String> {
        let mut out = Vec::new();
        for bit in 0..64 {
            let f = 1u64 << bit;
            if self.0 & f != 0 {
                match Self::NAMES.iter().find(|(v, _)| *v == f) {
                    Some((_, n)) => out.push((*n).to_string()),
                    None => out.push(format!("bit{bit}")),
                }
            }
        }
        out
    }
}

impl fmt::Display for FeatureFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// The fields of a BEGIN record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begin {
    /// Stream byte order (from the magic).
    pub order: ByteOrder,
    /// Header type (bits 0-1 of `drr_versioninfo`).
    pub header_type: HeaderType,
    /// Feature flags (bits 2-57 of `drr_versioninfo`).
    pub features: FeatureFlags,
    /// Snapshot creation time (seconds since the epoch).
    pub creation_time: u64,
    /// `dmu_objset_type_t` (2 = filesystem, 3 = zvol).
    pub objset_type: u32,
    /// `DRR_FLAG_*` (1 = clone, 2 = ci_data, 4 = freerecords, 8 = spill_block).
    pub flags: u32,
    /// GUID of the snapshot sent.
    pub toguid: u64,
    /// GUID of the incremental source (0 = full stream).
    pub fromguid: u64,
    /// Name of the snapshot sent (`pool/fs@snap`).
    pub toname: String,
}

/// One record header, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Record {
    Begin(Begin),
    Object {
        object: u64,
        object_type: u32,
        bonus_type: u32,
        blksz: u32,
        bonuslen: u32,
        raw_bonuslen: u32,
        toguid: u64,
    },
    FreeObjects {
        firstobj: u64,
        numobjs: u64,
        toguid: u64,
    },
    Write {
        object: u64,
        offset: u64,
        logical_size: u64,
        compression: u8,
        compressed_size: u64,
        toguid: u64,
    },
    Free {
        object: u64,
        offset: u64,
        length: u64,
        toguid: u64,
    },
    End {
        /// Checksum of the substream before this record.
        checksum: [u64; 4],
        toguid: u64,
    },
    WriteByref {
        object: u64,
        offset: u64,
        length: u64,
        toguid: u64,
    },
    Spill {
        object: u64,
        length: u64,
        compressed_size: u64,
        toguid: u64,
    },
    WriteEmbedded {
        object: u64,
        offset: u64,
        length: u64,
        compression: u8,
        lsize: u32,
        psize: u32,
        toguid: u64,
    },
    ObjectRange {
        firstobj: u64,
        numslots: u64,
        toguid: u64,
    },
    Redact {
        object: u64,
        offset: u64,
        length: u64,
        toguid: u64,
    },
}

/// A decoded record header with its framing fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The record.
    pub record: Record,
    /// `drr_payloadlen` (only meaningful for BEGIN).
    pub payloadlen: u32,
    /// The running checksum carried at offset 280.
    pub checksum: [u64; 4],
}

impl Record {
    /// The record's type.
    pub fn record_type(&self) -> RecordType {
        match self {
            Record::Begin(_) => RecordType::Begin,
            Record::Object { .. } => RecordType::Object,
            Record::FreeObjects { .. } => RecordType::FreeObjects,
            Record::Write { .. } => RecordType::Write,
            Record::Free { .. } => RecordType::Free,
            Record::End { .. } => RecordType::End,
            Record::WriteByref { .. } => RecordType::WriteByref,
            Record::Spill { .. } => RecordType::Spill,
            Record::WriteEmbedded { .. } => RecordType::WriteEmbedded,
            Record::ObjectRange { .. } => RecordType::ObjectRange,
            Record::Redact { .. } => RecordType::Redact,
        }
    }
}

impl RecordHeader {
    /// Size of the payload following this record.
    pub fn payload_size(&self) -> u64 {
        match &self.record {
            Record::Begin(_) => self.payloadlen as u64,
            Record::Object {
                bonuslen,
                raw_bonuslen,
                ..
            } => {
                if *raw_bonuslen != 0 {
                    *raw_bonuslen as u64
                } else {
                    (*bonuslen as u64).div_ceil(8) * 8
                }
            }
            Record::Write {
                compression,
                compressed_size,
                logical_size,
                ..
            } => {
                if *compression != 0 {
                    *compressed_size
                } else {
                    *logical_size
                }
            }
            Record::WriteEmbedded { psize, .. } => (*psize as u64).div_ceil(8) * 8,
            Record::Spill {
                compressed_size,
                length,
                ..
            } => {
                if *compressed_size != 0 {
                    *compressed_size
                } else {
                    *length
                }
            }
            _ => 0,
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

fn cksum(e: Endianness) -> impl Fn(&[u8]) -> Res<'_, [u64; 4]> {
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

/// What one substream (BEGIN .. END) contained.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubstreamSummary {
    /// Byte offset of its BEGIN record.
    pub offset: u64,
    /// Its BEGIN record (`None` only before the BEGIN is parsed).
    pub begin: Option<Begin>,
    /// The decoded BEGIN payload (resume position, raw key data, redaction).
    pub payload: Option<Nvlist>,
    /// Records, BEGIN and END included.
    pub records: u64,
    /// Bytes, BEGIN and END included.
    pub bytes: u64,
    /// Payload bytes of WRITE/WRITE_EMBEDDED/SPILL records.
    pub data_bytes: u64,
    /// Whether its END record was seen and verified.
    pub complete: bool,
}

impl SubstreamSummary {
    /// `fromguid != 0`.
    pub fn is_incremental(&self) -> bool {
        self.begin.as_ref().is_some_and(|b| b.fromguid != 0)
    }
}

/// What a stream contained, as far as it has been inspected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamSummary {
    /// Total bytes inspected.
    pub bytes: u64,
    /// Total records.
    pub records: u64,
    /// Record counts by type number (see [`RecordType::ALL`]).
    pub counts: [u64; 11],
    /// For a compound stream: the header BEGIN and its nvlist.
    pub compound: Option<(Begin, Option<Nvlist>)>,
    /// The substreams, in order (one for a plain stream).
    pub substreams: Vec<SubstreamSummary>,
    /// Whether the stream is complete (final END seen and verified).
    pub complete: bool,
    /// Where checking stopped at a record type this parser does not know (from a newer OpenZFS) whose
    /// header checksum is right: the rest of the stream was passed through unchecked, and the receiver
    /// (which verifies every record itself) judges it.
    pub unverified_from: Option<UnknownRecord>,
}

/// A record of a type this parser does not know, with a valid running checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRecord {
    /// Record index.
    pub index: u64,
    /// Byte offset of its header.
    pub offset: u64,
    /// Its `drr_type`.
    pub drr_type: u32,
}

impl StreamSummary {
    /// Count of records of type `t`.
    pub fn count(&self, t: RecordType) -> u64 {
        self.counts[t as usize]
    }
    /// The first substream's BEGIN (for plain streams, the stream's).
    pub fn begin(&self) -> Option<&Begin> {
        self.substreams.first().and_then(|s| s.begin.as_ref())
    }
    /// Whether the (first) substream is incremental.
    pub fn is_incremental(&self) -> bool {
        self.begin().is_some_and(|b| b.fromguid != 0)
    }
    /// Whether this is a compound (`-R`/`-I`) stream.
    pub fn is_compound(&self) -> bool {
        self.compound.is_some()
    }
    /// Union of the feature flags of all BEGIN records.
    pub fn features(&self) -> FeatureFlags {
        let mut f = self
            .compound
            .as_ref()
            .map(|(b, _)| b.features.0)
            .unwrap_or(0);
        for s in &self.substreams {
            if let Some(b) = &s.begin {
                f |= b.features.0;
            }
        }
        FeatureFlags(f)
    }
}

impl fmt::Display for StreamSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((b, _)) = &self.compound {
            write!(
                f,
                "compound stream {} ({} substreams), ",
                b.toname,
                self.substreams.len()
            )?;
        }
        if let Some(b) = self.begin() {
            let kind = if b.fromguid != 0 {
                "incremental"
            } else {
                "full"
            };
            write!(
                f,
                "{kind} {} toguid {:#x} fromguid {:#x} features [{}], ",
                b.toname,
                b.toguid,
                b.fromguid,
                self.features()
            )?;
        }
        write!(f, "{} records, {} bytes", self.records, self.bytes)?;
        if let Some(u) = &self.unverified_from {
            write!(
                f,
                " (unchecked from record {} at byte {}: unknown type {}, from a newer OpenZFS?)",
                u.index, u.offset, u.drr_type
            )?;
        } else if !self.complete {
            write!(f, " (incomplete)")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Nothing read yet.
    Start,
    /// Inside a substream (BEGIN seen).
    Sub,
    /// Inside a compound header (BEGIN seen, its END not yet).
    CompoundHeader,
    /// Between substreams of a compound stream: BEGIN or the final END.
    Between,
    /// Final END seen.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Payload {
        remaining: u64,
    },
    /// Past a record of an unknown type: everything is passed through unchecked.
    Opaque,
}

/// Incremental send stream checker: feed it the stream in chunks of any
/// size with [`feed`](Self::feed), then call [`finish`](Self::finish) at EOF.
///
/// It verifies the BEGIN magic, record types, payload framing, every
/// record's running fletcher-4, every END's substream checksum, the compound
/// stream structure, and that nothing follows the final END. The first
/// problem found is returned with its record index and byte offset, and
/// every later call returns it again.
#[derive(Debug, Clone)]
pub struct StreamInspector {
    hdr: Box<[u8; RECORD_SIZE]>,
    fill: usize,
    phase: Phase,
    ctx: Ctx,
    order: ByteOrder,
    sum: Fletcher4,
    offset: u64,
    rec_start: u64,
    index: u64,
    capture: Option<Vec<u8>>,
    capture_kind: Capture,
    summary: StreamSummary,
    failed: Option<StreamError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    None,
    CompoundHeader,
    SubstreamBegin,
}

impl Default for StreamInspector {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamInspector {
    /// A fresh inspector expecting a BEGIN record.
    pub fn new() -> Self {
        StreamInspector {
            hdr: Box::new([0; RECORD_SIZE]),
            fill: 0,
            phase: Phase::Header,
            ctx: Ctx::Start,
            order: ByteOrder::Little,
            sum: Fletcher4::new(WordOrder::Little),
            offset: 0,
            rec_start: 0,
            index: 0,
            capture: None,
            capture_kind: Capture::None,
            summary: StreamSummary::default(),
            failed: None,
        }
    }

    /// What has been seen so far.
    pub fn summary(&self) -> &StreamSummary {
        &self.summary
    }

    /// Whether the final END has been seen.
    pub fn is_complete(&self) -> bool {
        self.ctx == Ctx::Done
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.offset
    }

    /// Checks the next chunk of the stream.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), StreamError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        while !data.is_empty() {
            let step = match self.phase {
                Phase::Header => {
                    if self.ctx == Ctx::Done {
                        return self.fail(StreamError::TrailingData {
                            offset: self.offset,
                        });
                    }
                    let take = (RECORD_SIZE - self.fill).min(data.len());
                    self.hdr[self.fill..self.fill + take].copy_from_slice(&data[..take]);
                    self.fill += take;
                    self.offset += take as u64;
                    if self.fill == RECORD_SIZE {
                        self.fill = 0;
                        if let Err(e) = self.header() {
                            return self.fail(e);
                        }
                    }
                    take
                }
                Phase::Opaque => {
                    self.offset += data.len() as u64;
                    self.account_bytes(data.len() as u64);
                    data.len()
                }
                Phase::Payload { remaining } => {
                    let take = remaining.min(data.len() as u64) as usize;
                    let chunk = &data[..take];
                    self.sum.update(chunk);
                    if let Some(buf) = &mut self.capture {
                        buf.extend_from_slice(chunk);
                    }
                    self.offset += take as u64;
                    self.account_bytes(take as u64);
                    let left = remaining - take as u64;
                    if left == 0 {
                        self.phase = Phase::Header;
                        if let Err(e) = self.payload_done() {
                            return self.fail(e);
                        }
                    } else {
                        self.phase = Phase::Payload { remaining: left };
                    }
                    take
                }
            };
            data = &data[step..];
        }
        Ok(())
    }

    /// Declares the end of input: returns the summary if the stream was
    /// complete, else what was wrong (truncation included).
    pub fn finish(&mut self) -> Result<StreamSummary, StreamError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.offset == 0 {
            return self.fail(StreamError::Empty);
        }
        if self.phase == Phase::Opaque {
            return Ok(self.summary.clone());
        }
        if self.ctx != Ctx::Done || self.fill != 0 || self.phase != Phase::Header {
            let in_payload = matches!(self.phase, Phase::Payload { .. });
            let index = if in_payload {
                self.index - 1
            } else {
                self.index
            };
            return self.fail(StreamError::Truncated {
                index,
                offset: self.offset,
                in_payload,
            });
        }
        Ok(self.summary.clone())
    }

    fn fail<T>(&mut self, e: StreamError) -> Result<T, StreamError> {
        self.failed = Some(e.clone());
        Err(e)
    }

    fn account_bytes(&mut self, n: u64) {
        self.summary.bytes += n;
        if self.ctx == Ctx::Sub {
            if let Some(s) = self.summary.substreams.last_mut() {
                s.bytes += n;
            }
        }
    }

    /// Whether the header in `hdr` carries the right, non-zero running checksum.
    fn header_checksum_ok(&self) -> bool {
        let mut probe = self.sum.clone();
        probe.update(&self.hdr[..CHECKSUM_OFFSET]);
        let stored = cksum(self.order.nom())(&self.hdr[CHECKSUM_OFFSET..]).map(|(_, c)| c);
        matches!(stored, Ok(c) if c != [0; 4] && c == probe.value())
    }

    fn header(&mut self) -> Result<(), StreamError> {
        let index = self.index;
        let offset = self.offset - RECORD_SIZE as u64;
        self.rec_start = offset;
        let expecting_begin = matches!(self.ctx, Ctx::Start | Ctx::Between);
        if expecting_begin {
            // A BEGIN restarts the sum in the byte order its magic says.
            match detect_order(&self.hdr[..]) {
                Some(o) => {
                    self.order = o;
                    self.sum.reset(o.words());
                }
                None => {
                    if self.ctx == Ctx::Start {
                        return Err(StreamError::BadMagic { index, offset });
                    }
                }
            }
        }
        let parsed = match parse_record(&self.hdr[..], self.order) {
            Ok(p) => p,
            Err(ParseRecordError::UnknownType(drr_type)) => {
                // Inside a substream, a header whose running checksum is right is a record type from a
                // newer OpenZFS, not damage: stop checking and pass the rest through.
                if self.ctx == Ctx::Sub && self.header_checksum_ok() {
                    self.summary.unverified_from = Some(UnknownRecord {
                        index,
                        offset,
                        drr_type,
                    });
                    self.index += 1;
                    self.summary.records += 1;
                    self.phase = Phase::Opaque;
                    self.account_bytes(RECORD_SIZE as u64);
                    return Ok(());
                }
                return Err(StreamError::UnknownRecordType {
                    index,
                    offset,
                    drr_type,
                });
            }
            Err(ParseRecordError::Short) => {
                return Err(StreamError::Truncated {
                    index,
                    offset: self.offset,
                    in_payload: false,
                })
            }
        };
        let t = parsed.record.record_type();
        // Structure.
        match (self.ctx, t) {
            (Ctx::Start, RecordType::Begin) | (Ctx::Between, RecordType::Begin) => {}
            (Ctx::Start, _) => return Err(StreamError::BadMagic { index, offset }),
            (Ctx::Between, RecordType::End) => {}
            (Ctx::Between, found) => {
                return Err(StreamError::UnexpectedRecord {
                    index,
                    offset,
                    found,
                    expected: "BEGIN of the next substream or the final END",
                })
            }
            (Ctx::Sub, RecordType::Begin) | (Ctx::CompoundHeader, RecordType::Begin) => {
                return Err(StreamError::UnexpectedRecord {
                    index,
                    offset,
                    found: t,
                    expected: "a record of the current substream",
                })
            }
            (Ctx::CompoundHeader, RecordType::End) => {}
            (Ctx::CompoundHeader, found) => {
                return Err(StreamError::UnexpectedRecord {
                    index,
                    offset,
                    found,
                    expected: "the END of the compound stream header",
                })
            }
            _ => {}
        }
        if expecting_begin && t == RecordType::Begin && detect_order(&self.hdr[..]).is_none() {
            return Err(StreamError::BadMagic { index, offset });
        }
        // Checksums: the sum before this record, then up to the checksum field.
        let before = self.sum.value();
        self.sum.update(&self.hdr[..CHECKSUM_OFFSET]);
        let computed = self.sum.value();
        let final_end = self.ctx == Ctx::Between && t == RecordType::End;
        if t != RecordType::Begin
            && !final_end
            && parsed.checksum != [0; 4]
            && parsed.checksum != computed
        {
            return Err(StreamError::ChecksumMismatch {
                index,
                offset,
                record_type: t,
                found: parsed.checksum,
                computed,
            });
        }
        // libzfs writes the compound header's END and the final END from a
        // zeroed record and nothing checks their padding; require it zero.
        if t == RecordType::End && matches!(self.ctx, Ctx::CompoundHeader | Ctx::Between) {
            let from = if final_end { 4 } else { 40 };
            if self.hdr[4..8] != [0; 4] || self.hdr[from..].iter().any(|&b| b != 0) {
                return Err(StreamError::BadRecord {
                    index,
                    offset,
                    record_type: t,
                    reason: "END of a compound stream has non-zero padding",
                });
            }
        }
        if let Record::End { checksum, .. } = &parsed.record {
            if !final_end && *checksum != before {
                return Err(StreamError::EndChecksumMismatch {
                    index,
                    offset,
                    found: *checksum,
                    computed: before,
                });
            }
        }
        self.sum.update(&self.hdr[CHECKSUM_OFFSET..]);

        // Payload size.
        let size = parsed.payload_size();
        let limit = if t == RecordType::Begin {
            MAX_BEGIN_PAYLOAD
        } else {
            MAX_BLOCK_PAYLOAD
        };
        if size > limit {
            return Err(StreamError::PayloadTooLarge {
                index,
                offset,
                record_type: t,
                size,
            });
        }

        // Bookkeeping.
        self.index += 1;
        self.summary.records += 1;
        self.summary.counts[t as usize] += 1;
        self.capture = None;
        self.capture_kind = Capture::None;
        match (&parsed.record, self.ctx) {
            (Record::Begin(b), _) if b.header_type == HeaderType::Compound => {
                self.summary.compound = Some((b.clone(), None));
                self.ctx = Ctx::CompoundHeader;
                self.capture_kind = Capture::CompoundHeader;
            }
            (Record::Begin(b), _) => {
                self.summary.substreams.push(SubstreamSummary {
                    offset,
                    begin: Some(b.clone()),
                    ..Default::default()
                });
                self.ctx = Ctx::Sub;
                self.capture_kind = Capture::SubstreamBegin;
            }
            (Record::End { .. }, Ctx::Sub) => {
                if let Some(s) = self.summary.substreams.last_mut() {
                    s.records += 1;
                    s.bytes += RECORD_SIZE as u64;
                    s.complete = true;
                }
                self.ctx = if self.summary.compound.is_some() {
                    Ctx::Between
                } else {
                    self.summary.complete = true;
                    Ctx::Done
                };
            }
            (Record::End { .. }, Ctx::CompoundHeader) => self.ctx = Ctx::Between,
            (Record::End { .. }, Ctx::Between) => {
                self.summary.complete = true;
                self.ctx = Ctx::Done;
            }
            _ => {}
        }
        self.summary.bytes += RECORD_SIZE as u64;
        if self.ctx == Ctx::Sub {
            if let Some(s) = self.summary.substreams.last_mut() {
                s.records += 1;
                s.bytes += RECORD_SIZE as u64;
                if matches!(
                    t,
                    RecordType::Write | RecordType::WriteEmbedded | RecordType::Spill
                ) {
                    s.data_bytes += size;
                }
            }
        }
        if size > 0 {
            if self.capture_kind != Capture::None && size <= MAX_DECODED_PAYLOAD {
                self.capture = Some(Vec::with_capacity(size as usize));
            }
            self.phase = Phase::Payload { remaining: size };
        } else {
            self.phase = Phase::Header;
        }
        Ok(())
    }

    fn payload_done(&mut self) -> Result<(), StreamError> {
        // ZFS folds each payload as a whole; bytes past the last whole word are not summed.
        self.sum.discard_tail();
        let Some(buf) = self.capture.take() else {
            return Ok(());
        };
        let index = self.index - 1;
        let offset = self.rec_start;
        let nv = nvlist::unpack(&buf).map_err(|error| StreamError::BadPayload {
            index,
            offset,
            error,
        })?;
        match self.capture_kind {
            Capture::CompoundHeader => {
                if let Some((_, slot)) = &mut self.summary.compound {
                    *slot = Some(nv);
                }
            }
            Capture::SubstreamBegin => {
                if let Some(s) = self.summary.substreams.last_mut() {
                    s.payload = Some(nv);
                }
            }
            Capture::None => {}
        }
        Ok(())
    }
}

/// Inspects a whole in-memory stream.
pub fn inspect(stream: &[u8]) -> Result<StreamSummary, StreamError> {
    let mut i = StreamInspector::new();
    i.feed(stream)?;
    i.finish()
}

/// A writer of synthetic, well-formed send streams (records with correct
/// running checksums), for tests, benches and fuzz seeds. Enabled in this
/// crate's tests and by the `encode` feature.
#[cfg(any(test, feature = "encode"))]
pub mod build {
    use super::*;

    /// Builds a stream record by record, the way the kernel's `dump_record` does.
    #[derive(Debug, Clone)]
    pub struct StreamBuilder {
        out: Vec<u8>,
        sum: Fletcher4,
        order: ByteOrder,
    }

    /// A 312-byte record being filled in.
    pub struct Rec {
        buf: [u8; RECORD_SIZE],
        order: ByteOrder,
    }

    impl Rec {
        /// A zeroed record of type `t`.
        pub fn new(t: RecordType, order: ByteOrder) -> Self {
            let mut r = Rec {
                buf: [0; RECORD_SIZE],
                order,
            };
            r.u32(0, t as u32);
            r
        }
        /// Puts a u32 at `off`.
        pub fn u32(&mut self, off: usize, v: u32) -> &mut Self {
            let b = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            self.buf[off..off + 4].copy_from_slice(&b);
            self
        }
        /// Puts a u64 at `off`.
        pub fn u64(&mut self, off: usize, v: u64) -> &mut Self {
            let b = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            self.buf[off..off + 8].copy_from_slice(&b);
            self
        }
        /// Puts a byte at `off`.
        pub fn u8(&mut self, off: usize, v: u8) -> &mut Self {
            self.buf[off] = v;
            self
        }
        /// Puts raw bytes at `off`.
        pub fn bytes(&mut self, off: usize, v: &[u8]) -> &mut Self {
            let n = v.len().min(RECORD_SIZE - off);
            self.buf[off..off + n].copy_from_slice(&v[..n]);
            self
        }
    }

    impl StreamBuilder {
        /// An empty stream in the given byte order.
        pub fn new(order: ByteOrder) -> Self {
            StreamBuilder {
                out: Vec::new(),
                sum: Fletcher4::new(order.words()),
                order,
            }
        }

        /// The bytes so far.
        pub fn bytes(&self) -> &[u8] {
            &self.out
        }

        /// The finished stream.
        pub fn finish(self) -> Vec<u8> {
            self.out
        }

        /// Appends a record (setting its running checksum unless it is a BEGIN) and its payload.
        pub fn dump(&mut self, mut rec: Rec, payload: &[u8]) -> &mut Self {
            let is_begin = rec.buf[..4] == [0, 0, 0, 0];
            if is_begin {
                self.sum.reset(self.order.words());
            }
            self.sum.update(&rec.buf[..CHECKSUM_OFFSET]);
            if !is_begin {
                let v = self.sum.value();
                for (i, w) in v.iter().enumerate() {
                    rec.u64(CHECKSUM_OFFSET + 8 * i, *w);
                }
            }
            self.sum.update(&rec.buf[CHECKSUM_OFFSET..]);
            self.out.extend_from_slice(&rec.buf);
            if !payload.is_empty() {
                self.sum.update(payload);
                self.sum.discard_tail();
                self.out.extend_from_slice(payload);
            }
            self
        }

        /// Appends a record verbatim (no checksum update), like libzfs's header END.
        pub fn raw(&mut self, rec: Rec) -> &mut Self {
            self.out.extend_from_slice(&rec.buf);
            self
        }

        /// A record of type `t` in this stream's byte order.
        pub fn rec(&self, t: RecordType) -> Rec {
            Rec::new(t, self.order)
        }

        /// BEGIN with header type `hdrtype` (1 substream, 2 compound).
        #[allow(clippy::too_many_arguments)]
        pub fn begin(
            &mut self,
            hdrtype: u64,
            features: u64,
            toguid: u64,
            fromguid: u64,
            toname: &str,
            payload: &[u8],
        ) -> &mut Self {
            let mut r = self.rec(RecordType::Begin);
            r.u32(4, payload.len() as u32)
                .u64(8, BACKUP_MAGIC)
                .u64(16, hdrtype | (features << 2))
                .u64(24, 1_700_000_000)
                .u32(32, 2)
                .u32(36, 4)
                .u64(40, toguid)
                .u64(48, fromguid)
                .bytes(56, toname.as_bytes());
            self.dump(r, payload)
        }

        /// OBJECT with a bonus buffer (padded to 8 here).
        pub fn object(&mut self, object: u64, bonus: &[u8], toguid: u64) -> &mut Self {
            let mut r = self.rec(RecordType::Object);
            r.u64(8, object)
                .u32(16, 19)
                .u32(20, 44)
                .u32(24, 131072)
                .u32(28, bonus.len() as u32)
                .u64(40, toguid);
            let mut payload = bonus.to_vec();
            payload.resize(bonus.len().div_ceil(8) * 8, 0);
            self.dump(r, &payload)
        }

        /// An uncompressed WRITE of `data` at `offset`.
        pub fn write(&mut self, object: u64, offset: u64, data: &[u8], toguid: u64) -> &mut Self {
            let mut r = self.rec(RecordType::Write);
            r.u64(8, object)
                .u32(16, 19)
                .u64(24, offset)
                .u64(32, data.len() as u64)
                .u64(40, toguid);
            self.dump(r, data)
        }

        /// A compressed WRITE: `data` is the compressed payload.
        pub fn write_compressed(
            &mut self,
            object: u64,
            offset: u64,
            logical: u64,
            data: &[u8],
            toguid: u64,
        ) -> &mut Self {
            let mut r = self.rec(RecordType::Write);
            r.u64(8, object)
                .u32(16, 19)
                .u64(24, offset)
                .u64(32, logical)
                .u64(40, toguid)
                .u8(50, 15)
                .u64(96, data.len() as u64);
            self.dump(r, data)
        }

        /// FREE of a range.
        pub fn free(&mut self, object: u64, offset: u64, length: u64, toguid: u64) -> &mut Self {
            let mut r = self.rec(RecordType::Free);
            r.u64(8, object)
                .u64(16, offset)
                .u64(24, length)
                .u64(32, toguid);
            self.dump(r, &[])
        }

        /// END of a substream (carries the substream checksum).
        pub fn end(&mut self, toguid: u64) -> &mut Self {
            let v = self.sum.value();
            let mut r = self.rec(RecordType::End);
            for (i, w) in v.iter().enumerate() {
                r.u64(8 + 8 * i, *w);
            }
            r.u64(40, toguid);
            self.dump(r, &[])
        }

        /// END closing a compound header, written as libzfs does (record checksum zero).
        pub fn header_end(&mut self) -> &mut Self {
            let v = self.sum.value();
            let mut r = self.rec(RecordType::End);
            for (i, w) in v.iter().enumerate() {
                r.u64(8 + 8 * i, *w);
            }
            self.raw(r)
        }

        /// The all-zero END closing a compound stream.
        pub fn final_end(&mut self) -> &mut Self {
            let r = self.rec(RecordType::End);
            self.raw(r)
        }
    }

    /// A plain full stream of uncompressed WRITE records (128 KiB blocks)
    /// of pseudo-random, incompressible data, about `size` bytes long.
    pub fn synthetic_stream(size: usize, order: ByteOrder) -> Vec<u8> {
        synthetic(size, order, false)
    }

    /// Like [`synthetic_stream`], with text-like block contents that zstd
    /// and lz4 compress about 3:1 (closer to real file data).
    pub fn synthetic_stream_compressible(size: usize, order: ByteOrder) -> Vec<u8> {
        synthetic(size, order, true)
    }

    fn synthetic(size: usize, order: ByteOrder, text: bool) -> Vec<u8> {
        const WORDS: [&[u8]; 16] = [
            b"zfs ",
            b"send ",
            b"receive ",
            b"snapshot ",
            b"pool ",
            b"dataset ",
            b"the ",
            b"of ",
            b"a ",
            b"block ",
            b"checksum ",
            b"stream ",
            b"\n",
            b"0123 ",
            b"guid ",
            b"bookmark ",
        ];
        let toguid = 0x1234_5678_9abc_def0;
        let mut b = StreamBuilder::new(order);
        b.begin(1, 1 << 16 | 1 << 19, toguid, 0, "pool/fs@bench", &[]);
        b.object(2, &[7u8; 192], toguid);
        let block = 128 * 1024;
        let mut data = vec![0u8; block];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut off = 0u64;
        b.out.reserve(size + 4096);
        while b.bytes().len() < size {
            if text {
                let mut i = 0;
                while i < block {
                    let r = next();
                    let w = if r % 8 == 0 {
                        &r.to_le_bytes()[..]
                    } else {
                        WORDS[(r >> 8) as usize % WORDS.len()]
                    };
                    let n = w.len().min(block - i);
                    data[i..i + n].copy_from_slice(&w[..n]);
                    i += n;
                }
            } else {
                for chunk in data.chunks_mut(8) {
                    let v = next().to_le_bytes();
                    let n = chunk.len();
                    chunk.copy_from_slice(&v[..n]);
                }
            }
            let n = block.min(size.saturating_sub(b.bytes().len()).max(512));
            b.write(2, off, &data[..n], toguid);
            off += n as u64;
        }
        b.end(toguid);
        b.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;
    use crate::nvlist::encode::{pack_native, pack_xdr};
    use crate::nvlist::{Endian, Value};
    use proptest::prelude::*;

    const G: u64 = 0xabcdef;

    fn small(order: ByteOrder) -> Vec<u8> {
        let mut b = StreamBuilder::new(order);
        b.begin(1, 1 << 16, G, 0, "tank/a@s1", &[]);
        b.object(2, &[1, 2, 3], G);
        b.write(2, 0, &[9u8; 512], G);
        b.free(2, 512, 1024, G);
        b.write_compressed(2, 4096, 131072, &[5u8; 1000], G);
        b.end(G);
        b.finish()
    }

    fn compound() -> Vec<u8> {
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

    fn boundaries(s: &[u8]) -> Vec<u64> {
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

    #[test]
    fn plain_stream_summary() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let s = small(order);
            let sum = inspect(&s).unwrap();
            assert!(sum.complete);
            assert!(!sum.is_compound());
            assert!(!sum.is_incremental());
            let b = sum.begin().unwrap();
            assert_eq!(b.order, order);
            assert_eq!(b.toname, "tank/a@s1");
            assert_eq!(b.toguid, G);
            assert_eq!(b.header_type, HeaderType::Substream);
            assert_eq!(sum.features().names(), vec!["embed_data"]);
            assert_eq!(sum.records, 6);
            assert_eq!(sum.count(RecordType::Write), 2);
            assert_eq!(sum.bytes, s.len() as u64);
            assert_eq!(sum.substreams[0].bytes, s.len() as u64);
            assert_eq!(sum.substreams[0].data_bytes, 512 + 1000);
        }
    }

    #[test]
    fn compound_stream_summary() {
        let s = compound();
        let sum = inspect(&s).unwrap();
        assert!(sum.is_compound());
        let (hb, hdr) = sum.compound.as_ref().unwrap();
        assert_eq!(hb.header_type, HeaderType::Compound);
        assert_eq!(hdr.as_ref().unwrap().get_str("tosnap"), Some("s2"));
        assert_eq!(sum.substreams.len(), 2);
        assert!(sum.substreams[1].is_incremental());
        assert_eq!(
            sum.substreams[1]
                .payload
                .as_ref()
                .unwrap()
                .get_u64("resume_object"),
            Some(5)
        );
        assert!(sum.features().has(FeatureFlags::RESUMING));
        assert_eq!(sum.count(RecordType::End), 4);
    }

    #[test]
    fn every_byte_flip_is_detected_at_its_record() {
        for s in [small(ByteOrder::Little), small(ByteOrder::Big), compound()] {
            let starts = boundaries(&s);
            for pos in 0..s.len() {
                let mut bad = s.clone();
                bad[pos] ^= 0x40;
                let err = match inspect(&bad) {
                    Ok(_) => panic!("flip at {pos} not detected"),
                    Err(e) => e,
                };
                // The error points at the flipped record or the next one
                // (BEGIN carries no checksum of its own: a changed payload
                // length there shows up at the misframed record after it).
                let k = starts.iter().rposition(|&st| st <= pos as u64).unwrap();
                let lo = starts[k];
                let hi = starts.get(k + 1).copied().unwrap_or(s.len() as u64);
                let in_begin = s[lo as usize..lo as usize + 4] == [0; 4];
                let off = err.offset();
                assert!(
                    (lo..=hi).contains(&off)
                        || (in_begin && off > hi)
                        || matches!(err, StreamError::Truncated { .. }),
                    "flip at {pos}: {err} (record {lo}..{hi})"
                );
            }
        }
    }

    #[test]
    fn unknown_record_type_with_its_checksum_passes_unchecked() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut b = StreamBuilder::new(order);
            b.begin(1, 0, G, 0, "tank/a@s1", &[]);
            b.write(2, 0, &[9u8; 512], G);
            let at = b.bytes().len();
            let mut r = b.rec(RecordType::Free);
            r.bytes(
                0,
                &match order {
                    ByteOrder::Little => 99u32.to_le_bytes(),
                    ByteOrder::Big => 99u32.to_be_bytes(),
                },
            );
            b.dump(r, &[]);
            b.write(2, 512, &[1u8; 512], G);
            b.end(G);
            let s = b.finish();
            let sum = inspect(&s).unwrap();
            let u = sum.unverified_from.unwrap();
            assert_eq!((u.index, u.offset, u.drr_type), (2, at as u64, 99));
            assert!(!sum.complete);
            assert_eq!(sum.bytes, s.len() as u64);
            assert!(sum.to_string().contains("unknown type 99"), "{sum}");
            // The same header damaged: its checksum fails, so it is an error, not a new type.
            let mut bad = s.clone();
            bad[at + 8] ^= 1;
            assert!(matches!(
                inspect(&bad),
                Err(StreamError::UnknownRecordType { drr_type: 99, .. })
            ));
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        for s in [small(ByteOrder::Little), compound()] {
            for cut in 0..s.len() {
                match inspect(&s[..cut]) {
                    Err(StreamError::Empty) => assert_eq!(cut, 0),
                    Err(StreamError::Truncated { offset, .. }) => assert_eq!(offset, cut as u64),
                    other => panic!("cut {cut}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn trailing_data_and_garbage_are_refused() {
        let mut s = small(ByteOrder::Little);
        let n = s.len() as u64;
        s.extend_from_slice(&[0u8; 10]);
        assert_eq!(inspect(&s), Err(StreamError::TrailingData { offset: n }));
        assert_eq!(
            inspect(&[0u8; 400]),
            Err(StreamError::BadMagic {
                index: 0,
                offset: 0
            })
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut s = small(ByteOrder::Little);
        s[400] ^= 1;
        let mut i = StreamInspector::new();
        let e = i.feed(&s).unwrap_err();
        assert_eq!(i.feed(&[0]).unwrap_err(), e);
        assert_eq!(i.finish().unwrap_err(), e);
    }

    #[test]
    fn write_payload_sizes() {
        let s = small(ByteOrder::Little);
        let starts = boundaries(&s);
        // BEGIN, OBJECT(3 -> 8), WRITE 512, FREE, WRITE compressed 1000, END
        let sizes: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(sizes, vec![312, 320, 824, 312, 1312, 312]);
    }

    proptest! {
        #[test]
        fn chunking_does_not_matter(cuts in proptest::collection::vec(0usize..5000, 0..12)) {
            let s = compound();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % s.len()).collect();
            cuts.sort_unstable();
            let mut i = StreamInspector::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain(std::iter::once(s.len())) {
                i.feed(&s[prev..c]).unwrap();
                prev = c;
            }
            prop_assert_eq!(i.finish().unwrap(), inspect(&s).unwrap());
        }

        #[test]
        fn random_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                     magic in any::<bool>()) {
            let mut data = data;
            if magic && data.len() >= 16 {
                data[..4].copy_from_slice(&[0; 4]);
                data[8..16].copy_from_slice(&BACKUP_MAGIC.to_le_bytes());
            }
            let _ = inspect(&data);
        }
    }
}
