//! Sends and receives through libzfs_core: the call runs in a worker thread against one end of a pipe,
//! the caller reads or writes the other end. One type ([`Worker`]) carries both directions through the
//! same life: start, hand out the caller's end, `finish` (join and map the return code), or drop
//! (close the caller's end so the call fails and the thread can be joined).

use super::call::{cstr, Lib};
use super::errors::{receive_error, send_error, thread_error};
use crate::backend::{RecvRequest, RecvSink, SendFlags, SendRequest, SendStream};
use crate::error::{ZfsError, LOCALHOST};
use libzfs_sys as sys;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

/// Converts the backend-neutral flags to `lzc_send_flags` bits (`props` has no lzc equivalent).
pub fn send_flag_bits(flags: &SendFlags) -> sys::lzc_send_flags {
    let mut bits = 0;
    if flags.embed {
        bits |= sys::LZC_SEND_FLAG_EMBED_DATA;
    }
    if flags.large_block {
        bits |= sys::LZC_SEND_FLAG_LARGE_BLOCK;
    }
    if flags.compressed {
        bits |= sys::LZC_SEND_FLAG_COMPRESS;
    }
    if flags.raw {
        bits |= sys::LZC_SEND_FLAG_RAW;
    }
    if flags.saved {
        bits |= sys::LZC_SEND_FLAG_SAVED;
    }
    bits
}

/// A pipe (read end, write end), both `O_CLOEXEC`.
fn pipe() -> Result<(OwnedFd, OwnedFd), ZfsError> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: valid 2-element array; O_CLOEXEC so no child process inherits the ends.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(ZfsError::Io {
            op: "pipe2".into(),
            name: String::new(),
            host: LOCALHOST.into(),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: pipe2 returned two fresh descriptors we now own.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// Maps a non-zero return code of `op` on `name`.
type MapRc = fn(&'static str, &str, i32) -> ZfsError;

/// A send or receive running in a worker thread; the caller holds the other end of its pipe.
pub(super) struct Worker {
    op: &'static str,
    name: String,
    end: Option<OwnedFd>,
    thread: Option<JoinHandle<i32>>,
    map_rc: MapRc,
}

impl Worker {
    /// Runs `call` on the worker's pipe end in a thread named `thread_name`; the end is closed when the
    /// call returns (a send's reader sees EOF; a receive's writer gets EPIPE instead of blocking).
    fn start(
        thread_name: &str,
        op: &'static str,
        name: String,
        caller_end: OwnedFd,
        worker_end: OwnedFd,
        call: impl FnOnce(RawFd) -> i32 + Send + 'static,
        map_rc: MapRc,
    ) -> Result<Worker, ZfsError> {
        let thread = std::thread::Builder::new()
            .name(thread_name.into())
            .spawn(move || {
                let rc = call(worker_end.as_raw_fd());
                drop(worker_end);
                rc
            })
            .map_err(|e| ZfsError::Io {
                op: format!("spawn {thread_name} thread"),
                name: name.clone(),
                host: LOCALHOST.into(),
                source: e,
            })?;
        Ok(Worker {
            op,
            name,
            end: Some(caller_end),
            thread: Some(thread),
            map_rc,
        })
    }

    /// Closes the caller's end if still held (a send without a reader stops with EPIPE; a receive's
    /// stream ends), joins the thread and maps its return code.
    fn finish(mut self) -> Result<(), ZfsError> {
        drop(self.end.take());
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        match t.join() {
            Ok(0) => Ok(()),
            Ok(rc) => Err((self.map_rc)(self.op, &self.name, rc)),
            Err(_) => Err(thread_error(self.op, &self.name)),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Still holding the caller's end: closing it makes the call fail (the kernel's next write gets
        // EPIPE; a receive sees its stream end early, keeping resumable state if requested), so the
        // thread ends and can be joined. An end the caller took is the caller's to close: the thread ends
        // when it does, and is detached rather than blocking this drop.
        if let Some(end) = self.end.take() {
            drop(end);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl SendStream for Worker {
    fn take_stream(&mut self) -> Option<OwnedFd> {
        self.end.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        Worker::finish(*self)
    }
}

impl RecvSink for Worker {
    fn take_input(&mut self) -> Option<OwnedFd> {
        self.end.take()
    }
    fn finish(self: Box<Self>) -> Result<(), ZfsError> {
        Worker::finish(*self)
    }
}

/// Starts `lzc_send` (or `lzc_send_resume`) of `req` writing into a pipe; the caller reads it.
pub(super) fn start_send(lib: Lib, req: &SendRequest) -> Result<Worker, ZfsError> {
    let op = if req.resume.is_some() {
        "lzc_send_resume"
    } else {
        "lzc_send"
    };
    let to = cstr(op, req.to.as_str())?;
    let from = req
        .from
        .as_ref()
        .map(|f| cstr(op, f.as_str()))
        .transpose()?;
    let flags = send_flag_bits(&req.flags);
    let resume = req.resume.as_ref().map(|r| (r.object, r.offset));
    let (read, write) = pipe()?;
    let call = move |fd: RawFd| {
        let from_ptr = from.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        // SAFETY: valid C strings and an open pipe write end owned by the worker thread.
        unsafe {
            match resume {
                None => (lib.lzc_send)(to.as_ptr(), from_ptr, fd, flags),
                Some((obj, off)) => {
                    (lib.lzc_send_resume)(to.as_ptr(), from_ptr, fd, flags, obj, off)
                }
            }
        }
    };
    let name = req.to.as_str().to_owned();
    Worker::start("lzc_send", op, name, read, write, call, send_error)
}

/// Starts `lzc_receive` (or `lzc_receive_resumable`) of `req` reading from a pipe; the caller writes it.
pub(super) fn start_receive(lib: Lib, req: &RecvRequest) -> Result<Worker, ZfsError> {
    let op = if req.resumable {
        "lzc_receive_resumable"
    } else {
        "lzc_receive"
    };
    let target = cstr(op, req.target.as_str())?;
    let origin = req
        .origin
        .as_ref()
        .map(|o| cstr(op, o.as_str()))
        .transpose()?;
    let (force, raw, resumable) = (req.force, req.raw, req.resumable);
    let (read, write) = pipe()?;
    let call = move |fd: RawFd| {
        let origin_ptr = origin.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let b = |v: bool| if v { sys::B_TRUE } else { sys::B_FALSE };
        let f = if resumable {
            lib.lzc_receive_resumable
        } else {
            lib.lzc_receive
        };
        // SAFETY: valid C strings; NULL props; an open pipe read end owned by the worker thread.
        unsafe {
            f(
                target.as_ptr(),
                std::ptr::null_mut(),
                origin_ptr,
                b(force),
                b(raw),
                fd,
            )
        }
    };
    let name = req.target.as_str().to_owned();
    Worker::start("lzc_receive", op, name, write, read, call, receive_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_conversion() {
        assert_eq!(send_flag_bits(&SendFlags::default()), 0);
        let all = SendFlags {
            large_block: true,
            embed: true,
            compressed: true,
            raw: true,
            props: true,
            saved: true,
        };
        assert_eq!(send_flag_bits(&all), 0b11111);
        let only_raw = SendFlags {
            raw: true,
            props: true,
            ..SendFlags::default()
        };
        assert_eq!(send_flag_bits(&only_raw), sys::LZC_SEND_FLAG_RAW);
        let lc = SendFlags {
            large_block: true,
            compressed: true,
            ..SendFlags::default()
        };
        assert_eq!(
            send_flag_bits(&lc),
            sys::LZC_SEND_FLAG_LARGE_BLOCK | sys::LZC_SEND_FLAG_COMPRESS
        );
    }

    /// Writes `data` to `fd`, then keeps writing until a write fails; returns that errno (0 if `data`
    /// was all written and `then_fail` is false).
    fn writer(fd: RawFd, data: &'static [u8], then_fail: bool) -> i32 {
        // SAFETY: `fd` is the worker's open pipe end; the buffers are valid for their lengths.
        unsafe {
            if libc::write(fd, data.as_ptr().cast(), data.len()) < 0 {
                return std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
            }
            if !then_fail {
                return 0;
            }
            let buf = [0u8; 4096];
            loop {
                if libc::write(fd, buf.as_ptr().cast(), buf.len()) < 0 {
                    return std::io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EIO);
                }
            }
        }
    }

    fn send_worker(call: impl FnOnce(RawFd) -> i32 + Send + 'static) -> Worker {
        let (read, write) = pipe().unwrap();
        Worker::start(
            "t_send",
            "lzc_send",
            "p/a@s".into(),
            read,
            write,
            call,
            send_error,
        )
        .unwrap()
    }

    #[test]
    fn worker_send_hands_out_the_stream_and_maps_the_result() {
        use std::io::Read;
        let mut w = send_worker(|fd| writer(fd, b"stream bytes", false));
        let end = SendStream::take_stream(&mut w).unwrap();
        assert!(SendStream::take_stream(&mut w).is_none());
        let mut got = Vec::new();
        std::fs::File::from(end).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"stream bytes");
        SendStream::finish(Box::new(w)).unwrap();

        let w = send_worker(|_| libc::EIO);
        match SendStream::finish(Box::new(w)) {
            Err(ZfsError::Errno {
                op, name, errno, ..
            }) => {
                assert_eq!((op, name.as_str(), errno), ("lzc_send", "p/a@s", libc::EIO))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn worker_without_a_reader_stops_with_epipe() {
        // finish without taking the stream closes it: the call's next write fails.
        let w = send_worker(|fd| writer(fd, b"x", true));
        match SendStream::finish(Box::new(w)) {
            Err(ZfsError::Errno { errno, .. }) => assert_eq!(errno, libc::EPIPE),
            other => panic!("{other:?}"),
        }
        // Dropping it does the same and joins the thread before returning.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let w = send_worker(move |fd| {
            let rc = writer(fd, b"x", true);
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            rc
        });
        drop(w);
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn worker_receive_reads_what_the_caller_writes() {
        use std::io::Write;
        let (read, write) = pipe().unwrap();
        let count = |fd: RawFd| {
            let mut buf = [0u8; 64];
            let mut total = 0usize;
            loop {
                // SAFETY: `fd` is the worker's open read end; `buf` is valid for 64 bytes.
                match unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } {
                    0 => break,
                    n if n > 0 => total += n as usize,
                    _ => return libc::EIO,
                }
            }
            // A truncated stream, as lzc_receive reports it, unless exactly 5 bytes came.
            if total == 5 {
                0
            } else {
                crate::error::zfs_errno::STREAM_TRUNCATED
            }
        };
        let mut w = Worker::start(
            "t_recv",
            "lzc_receive",
            "p/a@s".into(),
            write,
            read,
            count,
            receive_error,
        )
        .unwrap();
        let end = RecvSink::take_input(&mut w).unwrap();
        std::fs::File::from(end).write_all(b"12345").unwrap();
        RecvSink::finish(Box::new(w)).unwrap();

        let (read, write) = pipe().unwrap();
        let w = Worker::start(
            "t_recv",
            "lzc_receive",
            "p/a@s".into(),
            write,
            read,
            count,
            receive_error,
        )
        .unwrap();
        // Nothing written: finish closes the input, the stream is cut short.
        match RecvSink::finish(Box::new(w)) {
            Err(ZfsError::Io { source, name, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::UnexpectedEof);
                assert_eq!(name, "p/a@s");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn worker_panic_is_an_error_not_a_panic() {
        let w = send_worker(|_| panic!("boom"));
        match SendStream::finish(Box::new(w)) {
            Err(ZfsError::Io { op, .. }) => assert_eq!(op, "lzc_send thread"),
            other => panic!("{other:?}"),
        }
    }
}
