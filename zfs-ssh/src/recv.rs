//! Counting the bytes libssh2 reads from the socket, so the I/O thread knows when a pass over its
//! channels read nothing new (only then is everything libssh2 has queued — data, EOF, close, window
//! adjustments for any channel — already handled, and sleeping in poll(2) is safe: a read for one
//! channel may take another channel's packets off the socket).
//!
//! libssh2's receive callback is replaced by one that calls recv(2) exactly as libssh2's own does
//! and adds what it got to a counter of the calling thread (the session's I/O thread).

use std::cell::Cell;

thread_local! {
    static RECEIVED: Cell<u64> = const { Cell::new(0) };
}

/// `LIBSSH2_CALLBACK_RECV` (libssh2.h).
const LIBSSH2_CALLBACK_RECV: libc::c_int = 6;

type Generic = unsafe extern "C" fn();

extern "C" {
    // In libssh2 since 1.11.1 (libssh2-sys 0.3.4 builds 1.11.2 and links it); not in its bindings.
    fn libssh2_session_callback_set2(
        session: *mut libssh2_sys::LIBSSH2_SESSION,
        cbtype: libc::c_int,
        callback: Option<Generic>,
    ) -> Option<Generic>;
}

/// libssh2's receive: recv(2), with errors as negative errno values and `EWOULDBLOCK` as `EAGAIN`.
unsafe extern "C" fn counting_recv(
    socket: libc::c_int,
    buffer: *mut libc::c_void,
    length: libc::size_t,
    flags: libc::c_int,
    _abstract: *mut *mut libc::c_void,
) -> libc::ssize_t {
    // SAFETY: libssh2 passes its socket and a buffer of `length` bytes.
    let n = unsafe { libc::recv(socket, buffer, length, flags) };
    if n < 0 {
        let e = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return if e == libc::EWOULDBLOCK || e == libc::ENOENT {
            -(libc::EAGAIN as libc::ssize_t)
        } else {
            -(e as libc::ssize_t)
        };
    }
    RECEIVED.with(|c| c.set(c.get().wrapping_add(n as u64)));
    n
}

/// Installs the counting receive on `sess` (call on the thread that will use the session).
pub(crate) fn install(sess: &ssh2::Session) {
    let mut raw = sess.raw();
    let ptr: *mut libssh2_sys::LIBSSH2_SESSION = &mut *raw;
    type Recv = unsafe extern "C" fn(
        libc::c_int,
        *mut libc::c_void,
        libc::size_t,
        libc::c_int,
        *mut *mut libc::c_void,
    ) -> libc::ssize_t;
    let f: Recv = counting_recv;
    // SAFETY: libssh2 stores the callback as a generic function pointer and calls it with the
    // LIBSSH2_RECV_FUNC signature, which `counting_recv` has; `ptr` is the live session.
    unsafe {
        libssh2_session_callback_set2(
            ptr,
            LIBSSH2_CALLBACK_RECV,
            Some(std::mem::transmute::<Recv, Generic>(f)),
        );
    }
}

/// Bytes received so far on this thread.
pub(crate) fn received() -> u64 {
    RECEIVED.with(Cell::get)
}
