//! See README.md.
pub mod error;
pub mod fletcher;
pub mod nvlist;
pub mod record;
pub mod resume;
