//! Writing to stdout and stderr without panicking when the reader is gone (`zsync ... | head -1`):
//! `println!` panics on EPIPE (exit 101), mid-run. [`outln!`]/[`out!`] and [`errln!`]/[`err!`]
//! write through [`write_out`]/[`write_err`] instead: after the first failed write (a broken
//! pipe, a full disk) that stream is dropped silently for the rest of the process and the run
//! goes on to its end, so a run never stops half-way because nobody reads its output.
//!
//! [`is_print_panic`] recognises std's own panic for the `println!`s not converted yet; the
//! entry point turns that into a quiet exit instead of a panic message.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Exit code of a run whose std print panicked on a closed pipe (128 + SIGPIPE, as a shell shows a
/// process killed by SIGPIPE).
pub const EXIT_CLOSED_PIPE: u8 = 141;

fn write_to(gone: &AtomicBool, w: &mut dyn Write, args: fmt::Arguments<'_>) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if w.write_fmt(args).and_then(|()| w.flush()).is_err() {
        gone.store(true, Ordering::Relaxed);
    }
}

/// Writes to stdout; once a write failed, does nothing.
pub fn write_out(args: fmt::Arguments<'_>) {
    write_to(&STDOUT_GONE, &mut std::io::stdout().lock(), args);
}

/// Writes to stderr; once a write failed, does nothing.
pub fn write_err(args: fmt::Arguments<'_>) {
    write_to(&STDERR_GONE, &mut std::io::stderr().lock(), args);
}

/// Whether a write to stdout has failed (its reader is gone).
pub fn stdout_gone() -> bool {
    STDOUT_GONE.load(Ordering::Relaxed)
}

/// Whether a panic message is std's "failed printing to stdout/stderr" on a broken pipe.
pub fn is_print_panic(message: &str) -> bool {
    message.starts_with("failed printing to std") && message.contains("Broken pipe")
}

/// `println!` to stdout that never panics (see the module docs).
#[macro_export]
macro_rules! outln {
    () => { $crate::stdio::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` to stdout that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdio::write_out(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
#[macro_export]
macro_rules! errln {
    () => { $crate::stdio::write_err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::stdio::write_err(format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken(usize);
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.0 += 1;
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_broken_stream_is_dropped_after_the_first_failure() {
        let gone = AtomicBool::new(false);
        let mut w = Broken(0);
        write_to(&gone, &mut w, format_args!("a\n"));
        write_to(&gone, &mut w, format_args!("b\n"));
        assert!(gone.load(Ordering::Relaxed));
        assert_eq!(w.0, 1);
    }

    #[test]
    fn print_panic_is_recognised() {
        assert!(is_print_panic(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_print_panic("index out of bounds"));
    }
}
