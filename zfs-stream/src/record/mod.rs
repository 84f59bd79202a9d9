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

mod error;
mod inspect;
mod parse;
mod summary;
mod types;

#[cfg(any(test, feature = "encode"))]
pub mod build;
#[cfg(test)]
mod fixtures;

pub use error::StreamError;
pub use inspect::{inspect, StreamInspector};
pub use parse::{detect_order, parse_record, ParseRecordError};
pub use summary::{StreamSummary, SubstreamSummary, UnknownRecord};
pub use types::{
    Begin, ByteOrder, FeatureFlags, HeaderType, Record, RecordHeader, RecordType, BACKUP_MAGIC,
    CHECKSUM_OFFSET, MAX_BEGIN_PAYLOAD, MAX_BLOCK_PAYLOAD, RECORD_SIZE,
};
