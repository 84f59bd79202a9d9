//! What an inspected stream contained: per substream and for the whole stream.

use std::fmt;

use super::types::{Begin, FeatureFlags, RecordType};
use crate::nvlist::Nvlist;

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
