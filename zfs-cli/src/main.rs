//! `zsync` entry point (also `sanoid` and `syncoid` through symlinks): see `zsync_cli::app`.
//!
//! Output goes through `zsync_cli::stdio`, which never panics on a closed pipe. As a fallback for
//! a std print that still does, that panic is silenced and the process exits 141 (as if killed by
//! SIGPIPE) instead of printing a panic message and exiting 101.

use std::any::Any;
use std::process::ExitCode;
use zsync_cli::stdio::{is_print_panic, EXIT_CLOSED_PIPE};

fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else {
        ""
    }
}

fn main() -> ExitCode {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_print_panic(message(info.payload())) {
            default_hook(info);
        }
    }));
    let argv: Vec<_> = std::env::args_os().collect();
    match std::panic::catch_unwind(|| zsync_cli::app::main_with(argv)) {
        Ok(code) => ExitCode::from(code),
        Err(p) if is_print_panic(message(p.as_ref())) => ExitCode::from(EXIT_CLOSED_PIPE),
        Err(p) => std::panic::resume_unwind(p),
    }
}
