//! Thin safe wrappers over the few syscalls the pipe needs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn cvt(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes of writes.
    cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes of reads.
    cvt(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
}

/// Moves up to `len` bytes from `from` to `to` (one of them must be a pipe).
pub(crate) fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: null offsets mean "use and update the file offsets"; no memory is passed.
    cvt(unsafe {
        libc::splice(
            from.as_raw_fd(),
            std::ptr::null_mut(),
            to.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE,
        )
    })
}

/// Duplicates up to `len` bytes from the head of pipe `from` into pipe `to`
/// without consuming them (`tee(2)`; both must be pipes).
pub(crate) fn tee(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: only fds and a length are passed; no memory is shared with the kernel.
    cvt(unsafe { libc::tee(from.as_raw_fd(), to.as_raw_fd(), len, 0) })
}

/// Waits until `fd` is readable (or writable) or `wake` becomes readable.
/// Returns false if woken. Hang-ups and errors count as ready (the next
/// read/write reports them).
pub(crate) fn wait_ready(
    fd: BorrowedFd<'_>,
    write: bool,
    wake: BorrowedFd<'_>,
) -> io::Result<bool> {
    let mut fds = [
        libc::pollfd {
            fd: fd.as_raw_fd(),
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        },
        libc::pollfd {
            fd: wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: fds is a valid array of two pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            return Ok(false);
        }
        if fds[0].revents != 0 {
            return Ok(true);
        }
    }
}

/// Waits until `fd` is readable or writable (for non-blocking fds).
pub(crate) fn wait_one(fd: BorrowedFd<'_>, write: bool) -> io::Result<()> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: if write { libc::POLLOUT } else { libc::POLLIN },
        revents: 0,
    };
    loop {
        // SAFETY: p is one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, -1) };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub(crate) fn is_fifo(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: st is plain old data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open (borrowed) and st is a valid out pointer.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    r == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
}

/// Pipe buffer size (or None if `fd` is not a pipe).
pub(crate) fn pipe_size(fd: BorrowedFd<'_>) -> Option<usize> {
    // SAFETY: F_GETPIPE_SZ takes no argument.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    (r > 0).then_some(r as usize)
}

/// Asks for a 1 MiB pipe buffer if `fd` is a pipe (best effort: unprivileged
/// users may be limited; failures are ignored).
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>) {
    if is_fifo(fd) {
        // SAFETY: F_SETPIPE_SZ takes an int size.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
    }
}

/// Blocks SIGPIPE in the current thread so that writes to a closed pipe fail
/// with EPIPE even when the process has not ignored it; on drop, discards a
/// pending SIGPIPE and restores the previous mask.
pub(crate) struct SigpipeGuard {
    old: libc::sigset_t,
    set: libc::sigset_t,
}

impl SigpipeGuard {
    pub(crate) fn new() -> Self {
        // SAFETY: sigset_t is plain data initialised by sigemptyset; the mask
        // change affects only this thread.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            SigpipeGuard { old, set }
        }
    }
}

impl Drop for SigpipeGuard {
    fn drop(&mut self) {
        // SAFETY: as above; sigtimedwait with a zero timeout only polls.
        unsafe {
            if libc::sigismember(&self.old, libc::SIGPIPE) == 0 {
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                while libc::sigtimedwait(&self.set, std::ptr::null_mut(), &zero) == libc::SIGPIPE {}
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}
