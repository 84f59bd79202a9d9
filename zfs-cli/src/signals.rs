//! SIGINT, SIGTERM and SIGHUP: one place that turns them into a cancelled run.
//!
//! The first signal sets a flag (the handler does only atomic stores): `zsync verify` checks it
//! while hashing, and a replication run's [`zfs_sync::Cancel`] shares it, so no further step or
//! dataset starts. A run also has a watcher ([`watch_children`]) that ends this process's
//! children (`zfs send`, `zfs receive`, `ssh`) so a stream in flight stops at once: the receive,
//! started with `-s`, keeps its partial state and the next run resumes it. When the run has not
//! returned [`GRACE`] after its last child ended (an in-process libzfs_core stream cannot be ended
//! from outside), the watcher exits the process; the kernel then ends the receive the same way,
//! and the line names the targets whose stream was moving (the run's events tell it:
//! [`stream_started`], [`stream_ended`]). A second signal exits at once. The exit code is 128 +
//! the signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP), as shells and systemd expect.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

/// The flag the first signal sets (shared with the run's cancel token).
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
/// The first signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The targets whose stream is moving now (told by the run's events), for the watcher's line
/// when it has to end the process under an in-process stream.
static IN_FLIGHT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A stream into `target` started.
pub fn stream_started(target: &str) {
    if let Ok(mut v) = IN_FLIGHT.lock() {
        v.push(target.to_string());
    }
}

/// The stream into `target` ended (whichever way).
pub fn stream_ended(target: &str) {
    if let Ok(mut v) = IN_FLIGHT.lock() {
        if let Some(i) = v.iter().position(|t| t == target) {
            v.remove(i);
        }
    }
}

/// The targets whose stream is moving now.
fn in_flight() -> Vec<String> {
    IN_FLIGHT.lock().map(|v| v.clone()).unwrap_or_default()
}

/// How long a run may go on after the first signal once it has no children left (an in-process
/// libzfs_core stream cannot be ended from outside) before the watcher exits the process.
pub const GRACE: Duration = Duration::from_secs(3);
/// The longest a run may go on after the first signal, children or not.
pub const GRACE_MAX: Duration = Duration::from_secs(20);

extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // A second signal: stop now (only async-signal-safe calls here).
        let msg = b"zsync: interrupted twice: exiting now\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(i32::from(exit_code(sig)));
        }
    }
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// The flag SIGINT, SIGTERM and SIGHUP set from now on (the handlers are installed once).
pub fn flag() -> Arc<AtomicBool> {
    let flag = FLAG
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: installs a handler that only does atomic stores (or write + _exit); no
            // memory is shared unsafely.
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut act.sa_mask);
                act.sa_flags = libc::SA_RESTART;
                libc::sigaction(sig, &act, std::ptr::null_mut());
            }
        }
    });
    flag
}

/// A replication run's cancel token, cancelled by the first signal.
pub fn cancel() -> zfs_sync::Cancel {
    zfs_sync::Cancel::from_flag(flag())
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit code of a run stopped by `sig`: 128 + the signal number.
pub fn exit_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(crate::exit::EXIT_FAILURE)
}

/// `SIGINT`, `SIGTERM`, `SIGHUP` (else `signal N`).
pub fn name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

/// The line for a run stopped by `sig` (without the `zsync: ` prefix): the targets whose stream
/// was stopped are left resumable.
pub fn interrupted_line(sig: i32, resumable: &[String]) -> String {
    let name = name(sig);
    match resumable {
        [] => format!("interrupted ({name}): stopped between steps; the next run continues"),
        [one] => format!("interrupted ({name}): {one} left resumable; the next run resumes it"),
        many => format!(
            "interrupted ({name}): {} left resumable; the next run resumes them",
            many.join(", ")
        ),
    }
}

/// After a run a signal stopped: the interrupted line on stderr (naming the targets whose stream
/// was stopped) and the exit code; `None` when no signal came.
pub fn report_interrupted(report: &zfs_sync::Report) -> Option<u8> {
    received()?;
    let resumable: Vec<String> = report
        .datasets
        .iter()
        .filter(|d| {
            d.outcome == zfs_sync::Outcome::Cancelled
                && d.steps.last().is_some_and(|s| s.step.is_transfer())
        })
        .map(|d| d.target.to_string())
        .collect();
    interrupted(&resumable)
}

/// When a signal came: the interrupted line on stderr (`resumable`: the targets whose stream was
/// stopped) and the exit code; `None` when no signal came. A run that failed because a signal
/// ended its children (a listing, before anything was sent) ends here too, not as a failure.
pub fn interrupted(resumable: &[String]) -> Option<u8> {
    let sig = received()?;
    errln!("zsync: {}", interrupted_line(sig, resumable));
    Some(exit_code(sig))
}

/// The direct children of this process (from `/proc/self/task/*/children`).
fn children() -> Vec<libc::pid_t> {
    let mut pids = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return pids;
    };
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<libc::pid_t>().ok()),
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Starts (once) a thread that, after the first signal, ends this process's children with
/// SIGTERM (a stream in flight stops; its receive keeps its partial state) and, when the process
/// is still running [`GRACE`] after its last child ended (or [`GRACE_MAX`] after the signal),
/// prints the interrupted line and exits with the signal's code.
pub fn watch_children() {
    let flag = flag();
    static WATCH: Once = Once::new();
    WATCH.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("zsync-signals".into())
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let sig = received().unwrap_or(libc::SIGTERM);
                let signalled = Instant::now();
                // Children started after the first sweep (a step already under way) end too. A
                // `zfs receive` leaves once the kernel saved its partial state: the grace starts
                // when no child is left.
                let mut childless: Option<Instant> = None;
                while signalled.elapsed() < GRACE_MAX
                    && childless.is_none_or(|t| t.elapsed() < GRACE)
                {
                    let pids = children();
                    for &pid in &pids {
                        // SAFETY: kill(2) on our own child's pid; no memory is involved.
                        unsafe { libc::kill(pid, libc::SIGTERM) };
                    }
                    childless = match (pids.is_empty(), childless) {
                        (true, None) => Some(Instant::now()),
                        (true, t) => t,
                        (false, _) => None,
                    };
                    std::thread::sleep(Duration::from_millis(100));
                }
                let flying = in_flight();
                if flying.is_empty() {
                    errln!(
                        "zsync: interrupted ({}): still running {:.0} s after the signal (a \
                         stream inside this process): exiting; its receive is left resumable",
                        name(sig),
                        signalled.elapsed().as_secs_f64()
                    );
                } else {
                    errln!(
                        "zsync: {} (its stream inside this process ends with it, {:.0} s after \
                         the signal)",
                        interrupted_line(sig, &flying),
                        signalled.elapsed().as_secs_f64()
                    );
                }
                std::process::exit(i32::from(exit_code(sig)));
            });
        if let Err(e) = spawned {
            crate::logging::warn(&format!("cannot watch for signals: {e}"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(exit_code(libc::SIGINT), 130);
        assert_eq!(exit_code(libc::SIGTERM), 143);
        assert_eq!(exit_code(libc::SIGHUP), 129);
        assert_eq!(exit_code(200), crate::exit::EXIT_FAILURE);
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
        assert_eq!(name(10), "signal 10");
    }

    #[test]
    fn streams_in_flight_are_tracked_by_target() {
        stream_started("t/a");
        stream_started("t/b");
        stream_started("t/a");
        stream_ended("t/a");
        let mut v = in_flight();
        v.sort();
        assert_eq!(v, ["t/a", "t/b"]);
        stream_ended("t/a");
        stream_ended("t/b");
        stream_ended("t/none");
        assert!(in_flight().is_empty());
    }

    #[test]
    fn the_line_names_what_is_left_resumable() {
        assert_eq!(
            interrupted_line(libc::SIGTERM, &["tank/dst".into()]),
            "interrupted (SIGTERM): tank/dst left resumable; the next run resumes it"
        );
        assert_eq!(
            interrupted_line(libc::SIGINT, &["a/x".into(), "a/y".into()]),
            "interrupted (SIGINT): a/x, a/y left resumable; the next run resumes them"
        );
        assert_eq!(
            interrupted_line(libc::SIGHUP, &[]),
            "interrupted (SIGHUP): stopped between steps; the next run continues"
        );
    }
}
