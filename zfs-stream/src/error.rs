//! Error types of this crate.

use std::io;

use crate::nvlist::NvlistError;
use crate::record::RecordType;

/// What is wrong with a send stream, with the record index and byte offset
/// (from the start of the stream as fed to the inspector) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

/// Which part of a pipeline failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reading the source.
    Source,
    /// Writing the sink.
    Sink,
}

/// Why a pipeline stopped. Every variant says how many bytes had been read
/// from the source and written to the sink by then.
#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    /// Reading the source failed (or a splice from it).
    #[error("reading the source failed after {bytes_in} bytes in, {bytes_out} out: {error}")]
    Source {
        /// Bytes read from the source.
        bytes_in: u64,
        /// Bytes written to the sink.
        bytes_out: u64,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// Writing the sink failed (EPIPE when the receiver exited).
    #[error("writing the sink failed after {bytes_in} bytes in, {bytes_out} out: {error}")]
    Sink {
        /// Bytes read from the source.
        bytes_in: u64,
        /// Bytes written to the sink.
        bytes_out: u64,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// A transforming stage failed (e.g. a corrupt compressed frame).
    #[error("{stage} failed after {bytes_in} bytes in, {bytes_out} out: {error}")]
    Stage {
        /// The stage, e.g. "zstd decompression".
        stage: &'static str,
        /// Bytes read from the source.
        bytes_in: u64,
        /// Bytes written to the sink.
        bytes_out: u64,
        /// The error.
        #[source]
        error: io::Error,
    },
    /// Inspection found the send stream corrupt or truncated; the sink was
    /// closed without completing the stream.
    #[error(
        "{error} ({bytes_in} bytes in, {bytes_out} out; sink closed without completing the stream)"
    )]
    Stream {
        /// Bytes read from the source.
        bytes_in: u64,
        /// Bytes written to the sink.
        bytes_out: u64,
        /// What inspection found.
        #[source]
        error: StreamError,
    },
    /// Setting up the pipeline failed (creating a pipe, spawning a thread).
    #[error("setting up the pipe failed: {0}")]
    Setup(#[source] io::Error),
}

impl PipeError {
    /// Bytes read from the source before the failure.
    pub fn bytes_in(&self) -> u64 {
        match self {
            PipeError::Source { bytes_in, .. }
            | PipeError::Sink { bytes_in, .. }
            | PipeError::Stage { bytes_in, .. }
            | PipeError::Stream { bytes_in, .. } => *bytes_in,
            PipeError::Setup(_) => 0,
        }
    }

    /// Bytes written to the sink before the failure.
    pub fn bytes_out(&self) -> u64 {
        match self {
            PipeError::Source { bytes_out, .. }
            | PipeError::Sink { bytes_out, .. }
            | PipeError::Stage { bytes_out, .. }
            | PipeError::Stream { bytes_out, .. } => *bytes_out,
            PipeError::Setup(_) => 0,
        }
    }

    /// The failing end, when it was the source or the sink.
    pub fn side(&self) -> Option<Side> {
        match self {
            PipeError::Source { .. } => Some(Side::Source),
            PipeError::Sink { .. } => Some(Side::Sink),
            _ => None,
        }
    }
}

/// Why a `receive_resume_token` could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not `<version>-<checksum>-<length>-<hex>`.
    #[error("resume token is malformed: {0}")]
    Malformed(&'static str),
    /// A version other than 1.
    #[error("resume token has unsupported version {0} (expected 1)")]
    Version(u64),
    /// The fletcher-4 of the compressed bytes differs.
    #[error("resume token is corrupt (checksum mismatch: token says {expected:#x}, data gives {computed:#x})")]
    Checksum {
        /// Checksum word in the token.
        expected: u64,
        /// Checksum computed over the compressed bytes.
        computed: u64,
    },
    /// zlib inflation failed or gave another length than announced.
    #[error("resume token is corrupt (decompression failed: {0})")]
    Inflate(String),
    /// The nvlist inside does not decode.
    #[error("resume token is corrupt (bad nvlist: {0})")]
    Nvlist(#[from] NvlistError),
    /// A required field is missing.
    #[error("resume token lacks the field {0:?}")]
    Missing(&'static str),
}
