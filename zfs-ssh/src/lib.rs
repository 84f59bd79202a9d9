#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod buf;
mod chan;
mod channel;
pub mod config;
mod connect;
pub mod error;
mod expand;
mod handshake;
mod io;
pub mod known_hosts;
pub mod local_user;
mod openssh;
pub mod options;
mod pattern;
mod recv;
pub mod resolve;
mod runner;
mod session;
mod sudo;

pub use connect::{connect, connect_target, Connection};
pub use error::{Origin, SshError};
pub use options::{ConfigFile, HostKeyPolicy, SshOption, SshOptions, Transport};
pub use resolve::{Identity, Target};
pub use runner::{DataPath, SshRunner};
