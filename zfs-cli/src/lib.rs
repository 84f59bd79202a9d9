#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod args;
pub mod discover;
pub mod hooks;
pub mod lock;
