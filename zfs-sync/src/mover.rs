//! The Mover seam: what moves a send stream into a receive, what it is told about the stream, and what
//! it reports back (bytes and the in-transit stream check).

use crate::report::StreamCheck;
use crate::wire::WireChoice;
use std::os::fd::OwnedFd;

/// Moves a send stream into a receive. The executor's default is
/// [`PipelineMover`](crate::PipelineMover) (zfs-stream's pipeline: splice, optional buffer and rate
/// limit, the in-transit stream check); [`CopyMover`](crate::CopyMover) is a plain in-process copy. A custom mover (e.g. one that records or throttles streams) plugs in here.
pub trait Mover: Send + Sync {
    /// Copies everything from `input` (the send's read end) into `output` (the receive's write end), then
    /// closes both; returns the bytes moved and, when the mover checked the stream, what it carried.
    /// A stream found damaged in transit is [`TransferError::Damaged`]: the executor then names that
    /// damage, not the receiver's complaint, as the cause.
    fn transfer(
        &self,
        input: OwnedFd,
        output: OwnedFd,
        stream: &StreamInfo,
    ) -> Result<Moved, TransferError>;

    /// Whether [`StreamInfo::estimate`] is worth a `zfs send -nP` per stream (it is for progress
    /// display). Default: no.
    fn wants_estimate(&self) -> bool {
        false
    }

    /// Whether this mover decompresses what it reads and compresses what it writes as
    /// [`StreamInfo::wire`] says (zfs-stream's codecs). A mover that does not is only given streams
    /// whose two ends agree ([`WireChoice::passes_through`]): plain, or a compressed relay between
    /// two remote hosts. Default: no.
    fn converts_wire(&self) -> bool {
        false
    }
}

/// Why a [`Mover`] could not move a stream. Displays as the underlying error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The in-transit check found the stream damaged (a record, checksum or header failed to
    /// verify): the cause of whatever the receiver then says.
    #[error(transparent)]
    Damaged(zfs_stream::PipeError),
    /// The pipeline stopped for another reason: reading or writing failed, a stage failed, or the
    /// stream merely ended early (which the sender's own error explains).
    #[error(transparent)]
    Pipe(zfs_stream::PipeError),
    /// Copying failed (a plain copy, or a custom mover's I/O).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl TransferError {
    /// Whether the stream was found damaged in transit.
    pub fn is_damage(&self) -> bool {
        matches!(self, TransferError::Damaged(_))
    }
}

impl From<zfs_stream::PipeError> for TransferError {
    /// Damage found in transit is [`TransferError::Damaged`]; a stream that merely ended early, and
    /// every other pipeline error, is [`TransferError::Pipe`].
    fn from(e: zfs_stream::PipeError) -> Self {
        match &e {
            zfs_stream::PipeError::Stream { error, .. }
                if !matches!(error, zfs_stream::StreamError::Truncated { .. }) =>
            {
                TransferError::Damaged(e)
            }
            _ => TransferError::Pipe(e),
        }
    }
}

/// What the executor tells a [`Mover`] about the stream it is to move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Distinguishes streams (unique within the process; labels can repeat, e.g. one snapshot sent to
    /// two targets by two executors).
    pub id: u64,
    /// The source dataset.
    pub dataset: String,
    /// What is sent: `pool/a@s3` (full), `pool/a@s3 from @s1` (incremental; a base in another dataset,
    /// such as a clone's origin, keeps its full name), plus ` with intermediates` for `-I` and
    /// ` (resumed)` for a resume.
    pub label: String,
    /// Expected stream bytes (`zfs send -nP`), when [`Mover::wants_estimate`] asked for it and the
    /// source could tell. Not asked for a compressed relay: progress there counts compressed bytes.
    pub estimate: Option<u64>,
    /// What the send's read end gives and the receive's write end takes: decompress
    /// `wire.send` when compressed, compress into `wire.recv` when compressed, check the plain
    /// stream in between; pass the bytes as they are when both agree
    /// ([`WireChoice::passes_through`]; a compressed relay cannot be checked).
    pub wire: WireChoice,
}

/// What a [`Mover`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// Send-stream bytes moved (uncompressed, whatever crossed the wire; for a compressed relay the
    /// compressed bytes, the only ones it sees).
    pub bytes: u64,
    /// What the in-transit check read from the stream; `None` when the mover does not check.
    pub check: Option<StreamCheck>,
    /// Why the mover could not check this stream although checking was asked for (a compressed
    /// relay); it goes into the step's report ([`StepReport::unchecked`](crate::StepReport::unchecked)).
    pub unchecked: Option<String>,
}
