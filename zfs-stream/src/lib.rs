#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod buffer;
pub mod compress;
pub mod error;
pub mod fletcher;
pub mod nvlist;
pub mod pipe;
pub mod progress;
pub mod ratelimit;
pub mod record;
pub mod resume;
mod sys;

pub use compress::Codec;
pub use error::{PipeError, Side, StreamError, TokenError};
pub use pipe::{Method, PipeReport, Pipeline};
pub use progress::{Progress, ProgressSnapshot};
pub use ratelimit::parse_rate;
pub use record::{inspect, StreamInspector, StreamSummary, UnknownRecord};
pub use resume::ResumeToken;
