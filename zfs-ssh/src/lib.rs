#![doc = "zfs-ssh (work in progress)"]
#![deny(missing_docs)]

pub mod config;
pub mod error;
mod expand;
pub mod known_hosts;
pub mod local_user;
pub mod options;
mod pattern;
pub mod resolve;
mod sudo;

pub use error::{Origin, SshError};
pub use options::{ConfigFile, HostKeyPolicy, SshOption, SshOptions, Transport};
