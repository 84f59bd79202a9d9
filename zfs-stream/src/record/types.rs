//! The record vocabulary: sizes and limits, record types, byte order, the BEGIN fields and feature
//! flags, and a decoded record header with its payload size.

use std::fmt;

use crate::fletcher::WordOrder;

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

/// `drr_type` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
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
    pub(super) fn words(self) -> WordOrder {
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
#[non_exhaustive]
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
