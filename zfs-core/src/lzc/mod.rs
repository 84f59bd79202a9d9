//! The `Lzc` backend: libzfs_core through FFI (crate `libzfs-sys`, loaded at run time), local only.
//!
//! What libzfs_core does better than the CLI is done here: atomic multi-dataset snapshots with user
//! properties, batched destroys, temporary holds tied to a descriptor (released by the kernel when the
//! process dies), bookmark copies, send/receive straight to and from a pipe without a child process, and
//! errno-precise errors. What libzfs_core cannot do is delegated to an inner backend (normally `Cli`):
//! listing, creating and destroying datasets, properties, `receive -A`, receive with `-o`/`-x`, `send -p`,
//! `rollback -r`, and receiving a new filesystem that should be mounted (libzfs_core never mounts).
//!
//! Availability: [`probe`] loads `libzfs_core.so.3` (and through it `libnvpair.so.3`) once and calls
//! `libzfs_core_init()` once, which opens `/dev/zfs`; any failure is returned as a one-line reason so the
//! caller can fall back to `Cli` and say why.
//!
//! Sends and receives run `lzc_send*`/`lzc_receive*` in a worker thread against a pipe (`O_CLOEXEC`). When
//! the reader of a send goes away, the kernel's pipe write raises SIGPIPE on the sending thread; Rust
//! programs ignore SIGPIPE by default, so the call returns `EPIPE` instead. A program embedding this crate
//! that restores the default SIGPIPE disposition would be killed instead.
//!
//! Files: `library` loads the library, `call` makes one call (C strings, nvlists, error lists),
//! `errors` maps what calls return, `holds` and `stream` are the hold and send/receive calls, and
//! `backend` is the [`Lzc`] value with its [`Backend`](crate::Backend) implementation; [`nvlist`] builds
//! and decodes nvlists.

mod backend;
mod call;
mod errors;
mod holds;
mod library;
pub mod nvlist;
pub mod release;
mod stream;

pub use backend::{open, open_with, Lzc};
pub use library::{library, probe, ZFS_DEV};
pub use stream::send_flag_bits;
