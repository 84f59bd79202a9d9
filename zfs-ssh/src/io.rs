//! The I/O thread of one ssh2 session: it alone touches the libssh2 session and its channels (libssh2
//! is not safe for concurrent blocking use), in non-blocking mode. It opens channels one at a time
//! as requests arrive, pumps every channel (pipes ↔ channel streams, EOF both ways, exit status),
//! sends keepalives, and sleeps in poll(2) on the TCP socket (in the direction libssh2 waits for),
//! the local pipe ends with work, and a wake pipe for new requests. When the session fails, every
//! open channel and every waiting request gets the reason, and the handle refuses new commands.

use crate::chan::{classify, Call, Chan, Dead, Sink};
use crate::channel::{Outcome, State};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zfs_core::runner::Exit;

/// A command to start on a new channel.
pub(crate) struct Open {
    /// Channel id (for kill requests).
    pub id: u64,
    /// The remote command line.
    pub line: String,
    /// Local stdin read end (non-blocking), or none (`/dev/null`: EOF at once).
    pub stdin: Option<File>,
    /// Where stdout goes.
    pub stdout: Sink,
    /// Where stderr goes.
    pub stderr: Sink,
    /// Where the start and the end are reported.
    pub outcome: Arc<Outcome>,
}

/// What the handle asks of the I/O thread.
pub(crate) enum Request {
    /// Start a command.
    Open(Open),
    /// Close a channel early.
    Kill(u64),
    /// Close every channel and the session.
    Shutdown,
}

/// The session's state as the handle sees it: `Some(reason)` once it is unusable.
pub(crate) type DeadFlag = Arc<Mutex<Option<String>>>;

/// Everything the I/O thread owns.
pub(crate) struct IoLoop {
    pub(crate) sess: ssh2::Session,
    pub(crate) tcp: TcpStream,
    pub(crate) rx: Receiver<Request>,
    pub(crate) wake: File,
    pub(crate) dead: DeadFlag,
    pub(crate) cap: usize,
    pub(crate) keepalive: Duration,
}

/// Whether the socket can take a small packet whole right now.
fn writable(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n == 1 && p.revents & libc::POLLOUT != 0
}

struct Running {
    chans: Vec<Chan>,
    queue: VecDeque<Open>,
    opening: Option<(Open, Option<ssh2::Channel>)>,
    cap: usize,
}

impl IoLoop {
    /// Runs until shutdown or until the session fails.
    pub(crate) fn run(self) {
        let IoLoop {
            sess,
            tcp,
            rx,
            mut wake,
            dead,
            cap,
            keepalive,
        } = self;
        let mut st = Running {
            chans: Vec::new(),
            queue: VecDeque::new(),
            opening: None,
            cap: cap.max(1),
        };
        let why = match main(&sess, &tcp, &rx, &mut wake, &mut st, keepalive) {
            Ok(()) => "the connection was closed by zsync".to_string(),
            Err(Dead(why)) => why,
        };
        // From here on the handle refuses new commands; then everything pending gets the reason.
        *dead.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
        for c in &mut st.chans {
            c.lose(&why);
        }
        if let Some((o, _)) = st.opening.take() {
            o.outcome.set(State::Refused(why.clone()));
        }
        for o in st.queue.drain(..) {
            o.outcome.set(State::Refused(why.clone()));
        }
        while let Ok(r) = rx.try_recv() {
            if let Request::Open(o) = r {
                o.outcome.set(State::Refused(why.clone()));
            }
        }
        let _ = sess.disconnect(None, "zsync done", None);
        drop(st);
        drop(sess);
        drop(tcp);
    }
}

/// The loop; returns `Ok` on shutdown, `Err` when the session failed.
fn main(
    sess: &ssh2::Session,
    tcp: &TcpStream,
    rx: &Receiver<Request>,
    wake: &mut File,
    st: &mut Running,
    keepalive: Duration,
) -> Result<(), Dead> {
    let sock = tcp.as_raw_fd();
    crate::recv::install(sess);
    let mut next_keepalive = Instant::now() + keepalive;
    let mut fds: Vec<(RawFd, libc::c_short)> = Vec::new();
    let mut pollfds: Vec<libc::pollfd> = Vec::new();
    loop {
        // Requests.
        loop {
            match rx.try_recv() {
                Ok(Request::Open(o)) => st.queue.push_back(o),
                Ok(Request::Kill(id)) => {
                    if let Some(c) = st.chans.iter_mut().find(|c| c.id == id) {
                        c.kill(Exit::Signal(libc::SIGKILL));
                    }
                }
                Ok(Request::Shutdown) | Err(TryRecvError::Disconnected) => return Ok(()),
                Err(TryRecvError::Empty) => break,
            }
        }

        // One pass over the work.
        let send_pending = matches!(
            sess.block_directions(),
            ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
        );
        let received = crate::recv::received();
        let mut can_send: Option<bool> = None;
        let mut may_send = || *can_send.get_or_insert_with(|| writable(sock));
        let mut moved = open_next(sess, st)?;
        let mut wants_send = false;
        let mut i = 0;
        while i < st.chans.len() {
            let p = st.chans[i].pump(sess, &mut may_send, send_pending)?;
            moved |= p.moved;
            wants_send |= p.wants_send;
            if p.done {
                st.chans.swap_remove(i);
                moved = true;
            } else {
                i += 1;
            }
        }
        let now = Instant::now();
        if now >= next_keepalive {
            // The keepalive packet lives on libssh2's stack too: only when it goes out whole.
            if may_send() {
                match classify(sess.keepalive_send())? {
                    Call::Done(secs) => {
                        next_keepalive = now + Duration::from_secs(u64::from(secs.max(1)));
                    }
                    Call::Again | Call::ChannelError(_) => {
                        next_keepalive = now + Duration::from_secs(1);
                    }
                }
            } else {
                wants_send = true;
            }
        }
        // Bytes read from the socket during the pass may hold packets for channels already
        // visited: pass again until a pass reads nothing, then sleep.
        if moved || crate::recv::received() != received {
            continue;
        }

        // Sleep until something can move.
        fds.clear();
        fds.push((wake.as_raw_fd(), libc::POLLIN));
        let mut sock_events = libc::POLLIN;
        if send_pending || wants_send {
            sock_events |= libc::POLLOUT;
        }
        fds.push((sock, sock_events));
        for c in &st.chans {
            c.poll_fds(&mut fds);
        }
        pollfds.clear();
        pollfds.extend(fds.iter().map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        }));
        let timeout = next_keepalive
            .saturating_duration_since(Instant::now())
            .as_millis()
            .clamp(1, 60_000) as libc::c_int;
        // SAFETY: `pollfds` is a valid array of its length for the duration of the call.
        let n = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Dead(format!("poll failed: {e}")));
            }
        }
        if pollfds[0].revents != 0 {
            let mut sink = [0u8; 256];
            while matches!(wake.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

/// Advances the opening of the next queued command (one at a time: libssh2 keeps one channel-open
/// state per session). Returns whether anything moved.
fn open_next(sess: &ssh2::Session, st: &mut Running) -> Result<bool, Dead> {
    if st.opening.is_none() && st.chans.len() < st.cap {
        if let Some(o) = st.queue.pop_front() {
            st.opening = Some((o, None));
        }
    }
    let Some((_, ch)) = &mut st.opening else {
        return Ok(false);
    };
    if ch.is_none() {
        match classify(sess.channel_session())? {
            Call::Done(c) => *ch = Some(c),
            Call::Again => return Ok(false),
            Call::ChannelError(msg) => {
                let Some((o, _)) = st.opening.take() else {
                    return Ok(false);
                };
                if st.chans.is_empty() {
                    o.outcome.set(State::Refused(format!(
                        "the server refused a new channel: {msg}"
                    )));
                } else {
                    // sshd's MaxSessions: wait for one of ours to close, and stay below this.
                    st.cap = st.chans.len();
                    st.queue.push_front(o);
                }
                return Ok(true);
            }
        }
    }
    let Some((o, Some(c))) = &mut st.opening else {
        return Ok(false);
    };
    match classify(c.exec(&o.line))? {
        Call::Again => Ok(false),
        Call::Done(()) => {
            let Some((o, Some(c))) = st.opening.take() else {
                return Ok(false);
            };
            o.outcome.set(State::Started);
            st.chans
                .push(Chan::new(o.id, c, o.outcome, o.stdin, o.stdout, o.stderr));
            Ok(true)
        }
        Call::ChannelError(msg) => {
            if let Some((o, _)) = st.opening.take() {
                o.outcome.set(State::Refused(format!(
                    "the server refused to run the command: {msg}"
                )));
            }
            Ok(true)
        }
    }
}
