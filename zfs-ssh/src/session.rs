//! [`Ssh2Session`]: the handle to one authenticated libssh2 session and its I/O thread. Commands are
//! started on channels ([`Ssh2Session::exec`]); their stdin, stdout and stderr are local pipes whose
//! other ends the I/O thread bridges to the channel, so callers get real file descriptors.

use crate::chan::Sink;
use crate::channel::{ChannelProcess, Control, Outcome, State};
use crate::io::{DeadFlag, IoLoop, Open, Request};
use std::fs::File;
use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use zfs_core::runner::Io;

/// Pipe size asked for the stream pipes (best effort; Linux allows up to 1 MiB unprivileged).
const PIPE_SIZE: libc::c_int = 1 << 20;

fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: fcntl on a valid descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn grow_pipe(fd: &impl AsRawFd) {
    // SAFETY: fcntl on a valid descriptor; failure only leaves the default size.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
    }
}

/// What a [`ChannelProcess`] and the session handle share with the I/O thread.
#[derive(Debug)]
struct Link {
    tx: Mutex<Sender<Request>>,
    wake: File,
    dead: DeadFlag,
}

impl Link {
    /// Sends a request unless the session is gone (`Err(reason)` then).
    fn send(&self, r: Request) -> Result<(), String> {
        let dead = self.dead.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = &*dead {
            return Err(why.clone());
        }
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if tx.send(r).is_err() {
            return Err("the SSH session has ended".into());
        }
        drop(tx);
        drop(dead);
        let _ = (&self.wake).write(&[1]);
        Ok(())
    }
}

impl Control for Link {
    fn kill(&self, id: u64) {
        let _ = self.send(Request::Kill(id));
    }
}

/// One authenticated ssh2 session and the thread that runs it.
#[derive(Debug)]
pub(crate) struct Ssh2Session {
    host: String,
    link: Arc<Link>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_id: AtomicU64,
}

impl Ssh2Session {
    /// Takes over an authenticated session (switched to non-blocking here) and starts its I/O
    /// thread. `host` labels errors; at most `max_channels` channels are open at once.
    pub(crate) fn start(
        host: &str,
        sess: ssh2::Session,
        tcp: TcpStream,
        max_channels: usize,
        keepalive: Duration,
    ) -> io::Result<Ssh2Session> {
        let (wake_r, wake_w) = io::pipe()?;
        set_nonblocking(&wake_r)?;
        set_nonblocking(&wake_w)?;
        let (tx, rx) = mpsc::channel();
        let dead: DeadFlag = Arc::new(Mutex::new(None));
        sess.set_keepalive(true, keepalive.as_secs().clamp(2, 3600) as u32);
        sess.set_timeout(0);
        sess.set_blocking(false);
        let io_loop = IoLoop {
            sess,
            tcp,
            rx,
            wake: File::from(OwnedFd::from(wake_r)),
            dead: dead.clone(),
            cap: max_channels,
            keepalive,
        };
        let thread = std::thread::Builder::new()
            .name(format!("ssh-io {host}"))
            .spawn(move || io_loop.run())?;
        Ok(Ssh2Session {
            host: host.to_owned(),
            link: Arc::new(Link {
                tx: Mutex::new(tx),
                wake: File::from(OwnedFd::from(wake_w)),
                dead,
            }),
            thread: Mutex::new(Some(thread)),
            next_id: AtomicU64::new(1),
        })
    }

    /// Why the session can no longer be used, if it cannot.
    pub(crate) fn lost(&self) -> Option<String> {
        self.link
            .dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lost_error(&self, why: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("{}: SSH connection lost: {why}", self.host),
        )
    }

    /// Starts `line` on a new channel; waits until the server accepted it.
    pub(crate) fn exec(&self, line: String, stdin: Io, stdout: Io) -> io::Result<ChannelProcess> {
        let (err_r, err_w) = io::pipe()?;
        set_nonblocking(&err_w)?;
        let (stdin_local, stdin_loop) = match stdin {
            Io::Piped => {
                let (r, w) = io::pipe()?;
                set_nonblocking(&r)?;
                grow_pipe(&r);
                (Some(OwnedFd::from(w)), Some(File::from(OwnedFd::from(r))))
            }
            Io::Null => (None, None),
            Io::Inherit => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a remote command cannot read this process's stdin",
                ))
            }
        };
        let (stdout_local, stdout_sink) = match stdout {
            Io::Piped => {
                let (r, w) = io::pipe()?;
                set_nonblocking(&w)?;
                grow_pipe(&w);
                (
                    Some(OwnedFd::from(r)),
                    Sink::Pipe(File::from(OwnedFd::from(w))),
                )
            }
            Io::Null => (None, Sink::Discard),
            Io::Inherit => {
                // Copied to this process's stdout by a thread (the I/O thread never blocks on it).
                let (mut r, w) = io::pipe()?;
                set_nonblocking(&w)?;
                std::thread::spawn(move || {
                    let _ = io::copy(&mut r, &mut io::stdout());
                });
                (None, Sink::Pipe(File::from(OwnedFd::from(w))))
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let outcome = Outcome::new();
        self.link
            .send(Request::Open(Open {
                id,
                line,
                stdin: stdin_loop,
                stdout: stdout_sink,
                stderr: Sink::Pipe(File::from(OwnedFd::from(err_w))),
                outcome: outcome.clone(),
            }))
            .map_err(|why| self.lost_error(&why))?;
        match outcome.wait_started() {
            Ok(()) => {}
            Err(State::Lost(why)) => return Err(self.lost_error(&why)),
            Err(State::Refused(why)) => match self.lost() {
                Some(lost) => return Err(self.lost_error(&lost)),
                None => return Err(io::Error::other(format!("{}: {why}", self.host))),
            },
            Err(other) => {
                return Err(io::Error::other(format!(
                    "{}: channel in state {other:?}",
                    self.host
                )))
            }
        }
        Ok(ChannelProcess {
            id,
            host: self.host.clone(),
            outcome,
            control: self.link.clone(),
            stdin: stdin_local,
            stdout: stdout_local,
            stderr: Some(err_r.into()),
        })
    }

    /// Closes every channel and the session, and waits for the I/O thread. Later commands fail.
    pub(crate) fn shutdown(&self) {
        let _ = self.link.send(Request::Shutdown);
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Ssh2Session {
    fn drop(&mut self) {
        self.shutdown();
    }
}
