//! Parsers of what the `zfs` and `zpool` commands print (nom), one file per command, sharing one
//! tab-separated-field helper ([`fields`]) and one error type ([`ParseError`]).
//!
//! They live under `cli` because only the `Cli` backend reads command output; the values they produce
//! ([`Listing`](crate::Listing), [`PropertyMap`](crate::PropertyMap),
//! [`PoolStatus`](crate::PoolStatus)) are defined at the crate root, usable without any backend. Every
//! parser is pure, never panics on any input, and names the line it could not read.

pub mod error;
pub mod fields;
pub mod holds;
pub mod listing;
pub mod pool;
pub mod props;
pub mod ps;
pub mod send_size;

pub use error::ParseError;
pub use holds::{parse_holds, parse_holds_text};
pub use listing::parse_listing;
pub use pool::{parse_pool_list, parse_pool_status, PoolList};
pub use props::{parse_props, verify_rows};
pub use ps::receive_targets;
pub use send_size::parse_send_size;
