#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[macro_use]
pub mod stdio;

pub mod app;
pub mod args;
pub mod backend;
pub mod clone;
pub mod config;
pub mod config_show;
pub mod discover;
pub mod drill;
pub mod exit;
pub mod extras;
pub mod jobs;
pub mod logging;
pub mod lost_pool;
pub mod monitor;
pub mod output;
pub mod progress;
pub mod render;
pub mod run;
pub mod sanoid_monitor;
pub mod signals;
pub mod status;
pub mod sync;
pub mod sync_events;
pub mod syncoid_lines;
pub mod target_lock;
pub mod trace;
pub mod verify;
