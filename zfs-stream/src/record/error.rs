//! [`StreamError`]: what the inspector found wrong with a send stream.

use super::types::RecordType;
use crate::nvlist::NvlistError;

/// What is wrong with a send stream, with the record index and byte offset
/// (from the start of the stream as fed to the inspector) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream is empty.
    #[error("send stream is empty")]
    Empty,
    /// A BEGIN record was expected but the magic number is wrong.
    #[error(
        "not a ZFS send stream: record {index} at byte {offset} has no BEGIN magic 0x2f5bacbac"
    )]
    BadMagic {
        /// Record index (0-based).
        index: u64,
        /// Byte offset of the record.
        offset: u64,
    },
    /// A record type number outside 0..=10.
    #[error("send stream corrupt: record {index} at byte {offset} has unknown type {drr_type}")]
    UnknownRecordType {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// The type number found.
        drr_type: u32,
    },
    /// A record's running fletcher-4 does not match the bytes before it.
    #[error("send stream corrupt: record {index} ({record_type}) at byte {offset}: checksum mismatch (stream has {found:x?}, computed {computed:x?})")]
    ChecksumMismatch {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// Type of the record.
        record_type: RecordType,
        /// Checksum carried by the record.
        found: [u64; 4],
        /// Checksum computed over the bytes before it.
        computed: [u64; 4],
    },
    /// An END record's substream checksum does not match.
    #[error("send stream corrupt: END record {index} at byte {offset}: substream checksum mismatch (stream has {found:x?}, computed {computed:x?})")]
    EndChecksumMismatch {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// Checksum carried by the END record.
        found: [u64; 4],
        /// Checksum computed over the substream.
        computed: [u64; 4],
    },
    /// A record announces a payload larger than ZFS ever writes.
    #[error("send stream corrupt: record {index} ({record_type}) at byte {offset} announces a {size}-byte payload")]
    PayloadTooLarge {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// Type of the record.
        record_type: RecordType,
        /// Announced payload size.
        size: u64,
    },
    /// A record appears where the stream structure does not allow it.
    #[error("send stream corrupt: record {index} at byte {offset} is {found} but {expected} was expected")]
    UnexpectedRecord {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// Type of the record found.
        found: RecordType,
        /// What the structure required.
        expected: &'static str,
    },
    /// A record's fields are inconsistent.
    #[error("send stream corrupt: record {index} ({record_type}) at byte {offset}: {reason}")]
    BadRecord {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// Type of the record.
        record_type: RecordType,
        /// What is wrong.
        reason: &'static str,
    },
    /// The nvlist payload of a BEGIN record does not decode.
    #[error(
        "send stream corrupt: BEGIN record {index} at byte {offset}: bad nvlist payload: {error}"
    )]
    BadPayload {
        /// Record index.
        index: u64,
        /// Byte offset of the record.
        offset: u64,
        /// The decoder's error.
        error: NvlistError,
    },
    /// The stream ended before its final END record.
    #[error("send stream truncated at byte {offset}: record {index} is incomplete{}", if *.in_payload { " (inside its payload)" } else { "" })]
    Truncated {
        /// Index of the incomplete (or missing) record.
        index: u64,
        /// Total bytes received.
        offset: u64,
        /// Whether the stream stopped inside a payload (else inside or before a header).
        in_payload: bool,
    },
    /// Bytes follow the final END record.
    #[error("send stream has trailing data at byte {offset} after its final END record")]
    TrailingData {
        /// Byte offset of the first extra byte.
        offset: u64,
    },
}

impl StreamError {
    /// The byte offset the error refers to (0 for an empty stream).
    pub fn offset(&self) -> u64 {
        match *self {
            StreamError::Empty => 0,
            StreamError::BadMagic { offset, .. }
            | StreamError::UnknownRecordType { offset, .. }
            | StreamError::ChecksumMismatch { offset, .. }
            | StreamError::EndChecksumMismatch { offset, .. }
            | StreamError::PayloadTooLarge { offset, .. }
            | StreamError::UnexpectedRecord { offset, .. }
            | StreamError::BadRecord { offset, .. }
            | StreamError::BadPayload { offset, .. }
            | StreamError::Truncated { offset, .. }
            | StreamError::TrailingData { offset } => offset,
        }
    }
}
