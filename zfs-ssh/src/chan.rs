//! One running channel inside the I/O thread: its libssh2 channel, the local pipe ends it bridges,
//! a bounded buffer per direction, and [`Chan::pump`], which moves what can move without blocking.
//!
//! Rules libssh2 imposes in non-blocking mode, which this file keeps:
//! - an operation that returned EAGAIN is called again until it completes; a channel write is
//!   retried with the same leading bytes (a partly sent packet blocks every other send on the
//!   session until it is finished);
//! - the packets of `send_eof` live on libssh2's stack, so an EOF is only started when the socket
//!   can take it whole (`may_send`), and once started it is retried before anything else of this
//!   channel;
//! - data is read from the channel only while there is room for it (the SSH window then holds the
//!   sender back), except while a send is pending on the session, when reading must go on (a
//!   pending window adjustment is completed by the next read).

use crate::buf::Buf;
use crate::channel::{Outcome, State};
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use zfs_core::runner::Exit;

/// Bytes asked of one channel read.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes asked of one local pipe read.
const PIPE_CHUNK: usize = 64 * 1024;

/// The session failed: every channel is lost.
#[derive(Debug)]
pub(crate) struct Dead(pub String);

/// Where a channel's output goes.
#[derive(Debug)]
pub(crate) enum Sink {
    /// A local pipe (non-blocking write end).
    Pipe(File),
    /// Nowhere (`Io::Null`, or its reader went away).
    Discard,
}

/// libssh2 error codes that concern one channel only; every other error means the session failed.
fn channel_only(code: i32) -> bool {
    matches!(
        code,
        libssh2_codes::CHANNEL_OUTOFORDER
            | libssh2_codes::CHANNEL_FAILURE
            | libssh2_codes::CHANNEL_REQUEST_DENIED
            | libssh2_codes::CHANNEL_UNKNOWN
            | libssh2_codes::CHANNEL_WINDOW_EXCEEDED
            | libssh2_codes::CHANNEL_PACKET_EXCEEDED
            | libssh2_codes::CHANNEL_CLOSED
            | libssh2_codes::CHANNEL_EOF_SENT
            | libssh2_codes::INVAL
            | libssh2_codes::BAD_USE
    )
}

/// The libssh2 error codes used here (libssh2.h).
pub(crate) mod libssh2_codes {
    pub const SOCKET_SEND: i32 = -7;
    pub const TIMEOUT: i32 = -9;
    pub const SOCKET_DISCONNECT: i32 = -13;
    pub const CHANNEL_OUTOFORDER: i32 = -20;
    pub const CHANNEL_FAILURE: i32 = -21;
    pub const CHANNEL_REQUEST_DENIED: i32 = -22;
    pub const CHANNEL_UNKNOWN: i32 = -23;
    pub const CHANNEL_WINDOW_EXCEEDED: i32 = -24;
    pub const CHANNEL_PACKET_EXCEEDED: i32 = -25;
    pub const CHANNEL_CLOSED: i32 = -26;
    pub const CHANNEL_EOF_SENT: i32 = -27;
    pub const SOCKET_TIMEOUT: i32 = -30;
    pub const INVAL: i32 = -34;
    pub const EAGAIN: i32 = -37;
    pub const BAD_USE: i32 = -39;
    pub const SOCKET_RECV: i32 = -43;
}

/// The outcome of one libssh2 call: done, would block, failed for this channel, or the session died.
pub(crate) enum Call<T> {
    Done(T),
    Again,
    ChannelError(String),
}

/// Classifies an `ssh2::Error`.
pub(crate) fn classify<T>(r: Result<T, ssh2::Error>) -> Result<Call<T>, Dead> {
    match r {
        Ok(v) => Ok(Call::Done(v)),
        Err(e) => match e.code() {
            ssh2::ErrorCode::Session(libssh2_codes::EAGAIN) => Ok(Call::Again),
            ssh2::ErrorCode::Session(c) if channel_only(c) => {
                Ok(Call::ChannelError(e.message().to_owned()))
            }
            _ => Err(Dead(describe(&e))),
        },
    }
}

/// Classifies an `io::Error` from a channel stream (the ssh2 crate drops the code; the session's last
/// error still has it).
fn classify_io<T>(r: io::Result<T>, sess: &ssh2::Session) -> Result<Call<T>, Dead> {
    match r {
        Ok(v) => Ok(Call::Done(v)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Call::Again),
        Err(e) => match ssh2::Error::last_session_error(sess) {
            Some(last) => match last.code() {
                ssh2::ErrorCode::Session(libssh2_codes::EAGAIN) => Ok(Call::Again),
                ssh2::ErrorCode::Session(c) if channel_only(c) => {
                    Ok(Call::ChannelError(last.message().to_owned()))
                }
                _ => Err(Dead(describe(&last))),
            },
            None => Err(Dead(e.to_string())),
        },
    }
}

/// A session error in words.
pub(crate) fn describe(e: &ssh2::Error) -> String {
    match e.code() {
        ssh2::ErrorCode::Session(
            libssh2_codes::SOCKET_RECV
            | libssh2_codes::SOCKET_SEND
            | libssh2_codes::SOCKET_DISCONNECT,
        ) => format!("the connection was closed or reset ({})", e.message()),
        ssh2::ErrorCode::Session(libssh2_codes::TIMEOUT | libssh2_codes::SOCKET_TIMEOUT) => {
            format!("timed out ({})", e.message())
        }
        _ => e.to_string(),
    }
}

/// The number of a signal named as in RFC 4254 (`KILL`, `TERM`, ...).
fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "SYS" => libc::SIGSYS,
        _ => 0,
    }
}

/// A running channel.
pub(crate) struct Chan {
    pub(crate) id: u64,
    ch: ssh2::Channel,
    pub(crate) outcome: Arc<Outcome>,
    /// Local stdin (read end), until its EOF.
    stdin: Option<File>,
    inbuf: Buf,
    /// Local stdin has ended (or was never there): send EOF once `inbuf` is out.
    in_done: bool,
    /// The last channel write returned EAGAIN with window left: libssh2 holds a packet of ours.
    write_pending: bool,
    /// `send_eof` was started and must be retried until done.
    eof_pending: bool,
    eof_sent: bool,
    stdout: Sink,
    outbuf: Buf,
    out_eof: bool,
    stderr: Sink,
    errbuf: Buf,
    err_eof: bool,
    /// Why the channel is being closed early (kill: SIGKILL; its stdout reader left: SIGPIPE).
    killed: Option<Exit>,
    /// `close` was started and must be retried until done.
    closing: bool,
}

/// What one pump did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Pumped {
    /// Some bytes or state moved: pump again before sleeping.
    pub moved: bool,
    /// The channel is closed and its outcome published: drop it.
    pub done: bool,
    /// It wants to send a small packet once the socket is writable.
    pub wants_send: bool,
}

impl Chan {
    pub(crate) fn new(
        id: u64,
        ch: ssh2::Channel,
        outcome: Arc<Outcome>,
        stdin: Option<File>,
        stdout: Sink,
        stderr: Sink,
    ) -> Chan {
        let in_done = stdin.is_none();
        Chan {
            id,
            ch,
            outcome,
            stdin,
            inbuf: Buf::default(),
            in_done,
            write_pending: false,
            eof_pending: false,
            eof_sent: false,
            stdout,
            outbuf: Buf::default(),
            out_eof: false,
            stderr,
            errbuf: Buf::default(),
            err_eof: false,
            killed: None,
            closing: false,
        }
    }

    /// Local file descriptors to poll: (fd, events).
    pub(crate) fn poll_fds(&self, out: &mut Vec<(i32, libc::c_short)>) {
        use std::os::fd::AsRawFd;
        if let Some(f) = &self.stdin {
            if self.inbuf.has_room() {
                out.push((f.as_raw_fd(), libc::POLLIN));
            }
        }
        for (sink, buf) in [(&self.stdout, &self.outbuf), (&self.stderr, &self.errbuf)] {
            if let Sink::Pipe(f) = sink {
                if !buf.is_empty() {
                    out.push((f.as_raw_fd(), libc::POLLOUT));
                }
            }
        }
    }

    /// Closes the channel early, reporting `exit` (a kill or a vanished reader).
    pub(crate) fn kill(&mut self, exit: Exit) {
        if self.killed.is_none() {
            self.killed = Some(exit);
        }
        self.stdin = None;
        self.in_done = true;
        self.stdout = Sink::Discard;
        self.stderr = Sink::Discard;
        self.outbuf.clear();
        self.errbuf.clear();
        if !self.write_pending {
            self.inbuf.clear();
        }
    }

    /// Publishes `why` as the outcome (the session died or is closing) and drops the pipes.
    pub(crate) fn lose(&mut self, why: &str) {
        self.stdin = None;
        self.stdout = Sink::Discard;
        self.stderr = Sink::Discard;
        self.outcome.set(State::Lost(why.to_owned()));
    }

    /// Moves what can move without blocking. `may_send` says a small packet (an EOF) would go out
    /// whole now; `send_pending` says libssh2 has an unfinished send on the session.
    pub(crate) fn pump(
        &mut self,
        sess: &ssh2::Session,
        may_send: &mut dyn FnMut() -> bool,
        send_pending: bool,
    ) -> Result<Pumped, Dead> {
        let mut p = Pumped::default();
        self.read_stdin(&mut p);
        self.write_channel(sess, &mut p)?;
        self.send_eof(may_send, &mut p)?;
        self.read_channel(sess, send_pending, &mut p)?;
        self.flush_sinks(&mut p);
        self.finish(may_send, &mut p)?;
        Ok(p)
    }

    fn read_stdin(&mut self, p: &mut Pumped) {
        while let Some(f) = &mut self.stdin {
            if !self.inbuf.has_room() {
                break;
            }
            match self.inbuf.fill_with(PIPE_CHUNK, |b| f.read(b)) {
                Ok(0) => {
                    self.stdin = None;
                    self.in_done = true;
                    p.moved = true;
                }
                Ok(_) => p.moved = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.stdin = None;
                    self.in_done = true;
                }
            }
        }
    }

    fn write_channel(&mut self, sess: &ssh2::Session, p: &mut Pumped) -> Result<(), Dead> {
        // The remote side ended its output: it will not read more; drop what is left (unless
        // libssh2 holds a packet of ours, which must be finished first).
        if self.out_eof && self.err_eof && !self.write_pending {
            self.stdin = None;
            self.in_done = true;
            self.inbuf.clear();
        }
        while !self.inbuf.is_empty() {
            let r = self.ch.write(self.inbuf.front());
            match classify_io(r, sess)? {
                Call::Done(0) => {
                    // The remote window is full; a window adjustment will come.
                    self.write_pending = false;
                    break;
                }
                Call::Done(n) => {
                    self.inbuf.consume(n);
                    self.write_pending = false;
                    p.moved = true;
                }
                Call::Again => {
                    self.write_pending = self.ch.write_window().remaining > 0;
                    break;
                }
                Call::ChannelError(_) => {
                    // The channel takes no more input (closed by the remote end).
                    self.write_pending = false;
                    self.inbuf.clear();
                    self.stdin = None;
                    self.in_done = true;
                    p.moved = true;
                }
            }
        }
        if self.killed.is_some() && !self.write_pending {
            self.inbuf.clear();
        }
        Ok(())
    }

    fn send_eof(&mut self, may_send: &mut dyn FnMut() -> bool, p: &mut Pumped) -> Result<(), Dead> {
        let ready = self.in_done && self.inbuf.is_empty() && !self.write_pending;
        if !ready || self.eof_sent || self.killed.is_some() || self.closing {
            return Ok(());
        }
        if !self.eof_pending && !may_send() {
            p.wants_send = true;
            return Ok(());
        }
        match classify(self.ch.send_eof())? {
            Call::Done(()) | Call::ChannelError(_) => {
                self.eof_sent = true;
                self.eof_pending = false;
                p.moved = true;
            }
            Call::Again => self.eof_pending = true,
        }
        Ok(())
    }

    fn read_channel(
        &mut self,
        sess: &ssh2::Session,
        send_pending: bool,
        p: &mut Pumped,
    ) -> Result<(), Dead> {
        for stream_id in [0, 1] {
            loop {
                let (eof, buf, sink) = if stream_id == 0 {
                    (self.out_eof, &mut self.outbuf, &self.stdout)
                } else {
                    (self.err_eof, &mut self.errbuf, &self.stderr)
                };
                if eof || (!buf.has_room() && !send_pending) {
                    break;
                }
                let mut stream = self.ch.stream(stream_id);
                let r = buf.fill_with(READ_CHUNK, |b| stream.read(b));
                match classify_io(r, sess)? {
                    Call::Done(0) => {
                        // 0 is the end of this stream once the channel says EOF (its EOF is
                        // masked while data of either stream is still queued).
                        if self.ch.eof() {
                            self.set_eof(stream_id);
                            p.moved = true;
                        }
                        break;
                    }
                    Call::Done(n) => {
                        if matches!(sink, Sink::Discard) {
                            buf.consume(n);
                        }
                        p.moved = true;
                        if send_pending {
                            // One read completes a pending window adjustment; do not hoard.
                            break;
                        }
                    }
                    Call::Again => break,
                    Call::ChannelError(_) => {
                        self.set_eof(stream_id);
                        p.moved = true;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Marks stream `stream_id` (0 stdout, 1 stderr) as ended.
    fn set_eof(&mut self, stream_id: i32) {
        if stream_id == 0 {
            self.out_eof = true;
        } else {
            self.err_eof = true;
        }
    }

    fn flush_sinks(&mut self, p: &mut Pumped) {
        for stream_id in [0, 1] {
            let (sink, buf, eof) = if stream_id == 0 {
                (&mut self.stdout, &mut self.outbuf, self.out_eof)
            } else {
                (&mut self.stderr, &mut self.errbuf, self.err_eof)
            };
            let mut gone = false;
            if let Sink::Pipe(f) = sink {
                while !buf.is_empty() {
                    match f.write(buf.front()) {
                        Ok(n) => {
                            buf.consume(n);
                            p.moved = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            gone = true;
                            break;
                        }
                    }
                }
                if eof && buf.is_empty() {
                    // Close the pipe: the local reader sees the end.
                    *sink = Sink::Discard;
                    p.moved = true;
                }
            }
            if gone {
                buf.clear();
                *sink = Sink::Discard;
                p.moved = true;
                if stream_id == 0 {
                    // The reader of stdout went away: like SIGPIPE for a local child.
                    self.kill(Exit::Signal(libc::SIGPIPE));
                }
            }
        }
    }

    fn finish(&mut self, may_send: &mut dyn FnMut() -> bool, p: &mut Pumped) -> Result<(), Dead> {
        if !self.closing {
            let drained = self.out_eof
                && self.err_eof
                && self.outbuf.is_empty()
                && self.errbuf.is_empty()
                && matches!(self.stdout, Sink::Discard)
                && matches!(self.stderr, Sink::Discard);
            let ended = drained || self.killed.is_some();
            if !ended || self.write_pending || self.eof_pending {
                return Ok(());
            }
            // `close` sends an EOF first when none was sent: the same care as for `send_eof`.
            if !self.eof_sent && !may_send() {
                p.wants_send = true;
                return Ok(());
            }
            self.closing = true;
        }
        if let Some(exit) = self.killed {
            // sshd answers our close only once the remote process has exited, which a process
            // that does no I/O may take long to do (it gets EOF on stdin and EPIPE on stdout at
            // its next read or write). The caller has its answer now; the channel stays until the
            // close completes.
            self.outcome.set(State::Ended(exit));
        }
        match classify(self.ch.close())? {
            Call::Again => return Ok(()),
            Call::Done(()) | Call::ChannelError(_) => {}
        }
        let exit = match self.killed {
            Some(e) => e,
            None => match self.ch.exit_signal() {
                Ok(sig) if sig.exit_signal.is_some() => {
                    Exit::Signal(signal_number(sig.exit_signal.as_deref().unwrap_or("")))
                }
                _ => Exit::Code(self.ch.exit_status().unwrap_or(-1)),
            },
        };
        self.outcome.set(State::Ended(exit));
        p.done = true;
        p.moved = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("KILL"), libc::SIGKILL);
        assert_eq!(signal_number("SIGTERM"), libc::SIGTERM);
        assert_eq!(signal_number("PIPE"), libc::SIGPIPE);
        assert_eq!(signal_number("WHAT"), 0);
    }

    #[test]
    fn channel_errors_are_not_session_errors() {
        assert!(channel_only(libssh2_codes::CHANNEL_CLOSED));
        assert!(channel_only(libssh2_codes::CHANNEL_FAILURE));
        assert!(!channel_only(libssh2_codes::SOCKET_RECV));
        assert!(!channel_only(libssh2_codes::SOCKET_DISCONNECT));
    }
}
