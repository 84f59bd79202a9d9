//! Writing to stdout and stderr without panicking when the reader is gone (`zsync ... | head -1`):
//! `println!` panics on EPIPE (exit 101), mid-run. [`outln!`](crate::outln)/[`out!`](crate::out)
//! and [`errln!`](crate::errln)/[`err!`](crate::err)
//! write through [`write_out`]/[`write_err`] instead: after the first failed write (a broken
//! pipe, a full disk) that stream is dropped silently for the rest of the process (its file
//! descriptor then points at /dev/null, so hook scripts and any remaining std print write there
//! too) and the run goes on to its end: a run never stops half-way because nobody reads its
//! output.
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

/// Writes; returns false when this write failed (the stream is then marked gone).
fn write_to(gone: &AtomicBool, w: &mut dyn Write, args: fmt::Arguments<'_>) -> bool {
    if gone.load(Ordering::Relaxed) {
        return true;
    }
    if w.write_fmt(args).and_then(|()| w.flush()).is_err() {
        gone.store(true, Ordering::Relaxed);
        return false;
    }
    true
}

/// Points file descriptor `fd` at /dev/null, so that later writers the macros do not cover (a
/// hook script inheriting the stream, a std print) neither fail nor get SIGPIPE.
fn to_dev_null(fd: libc::c_int) {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 on two valid descriptors; `null` is closed when dropped, `fd` stays open.
        unsafe {
            libc::dup2(null.as_raw_fd(), fd);
        }
    }
}

/// Writes to stdout; once a write failed, does nothing (and stdout is /dev/null from then on).
pub fn write_out(args: fmt::Arguments<'_>) {
    if !write_to(&STDOUT_GONE, &mut std::io::stdout().lock(), args) {
        to_dev_null(libc::STDOUT_FILENO);
    }
}

/// Writes to stderr; once a write failed, does nothing (and stderr is /dev/null from then on).
pub fn write_err(args: fmt::Arguments<'_>) {
    if !write_to(&STDERR_GONE, &mut std::io::stderr().lock(), args) {
        to_dev_null(libc::STDERR_FILENO);
    }
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
        assert!(!write_to(&gone, &mut w, format_args!("a\n")));
        assert!(write_to(&gone, &mut w, format_args!("b\n")));
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
