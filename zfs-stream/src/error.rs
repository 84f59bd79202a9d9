//! Error types of this crate: [`PipeError`] and [`Side`] of a pipeline, [`TokenError`] of resume
//! tokens. [`StreamError`], the inspector's verdict on a send stream, is defined beside the inspector
//! in [`crate::record`] and re-exported here, so this module depends on `record` and not the reverse.

use std::io;

use crate::nvlist::NvlistError;
pub use crate::record::StreamError;

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
#[non_exhaustive]
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
#[non_exhaustive]
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
