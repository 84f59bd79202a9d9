//! A remote command on an ssh2 channel, seen from the caller: [`ChannelProcess`] implements
//! zfs-core's `Process` with real pipe file descriptors (the I/O thread holds the other ends), and
//! [`Outcome`] is where the I/O thread reports how the channel started and ended.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};
use zfs_core::runner::{Exit, Process};

/// Where a channel is, as the I/O thread reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// Opening the channel and starting the command.
    Starting,
    /// The command runs.
    Started,
    /// The channel could not be opened or the command not started.
    Refused(String),
    /// The command ended.
    Ended(Exit),
    /// The connection was lost (or closed) while the command ran.
    Lost(String),
}

/// Shared between a [`ChannelProcess`] and the I/O thread.
#[derive(Debug)]
pub(crate) struct Outcome {
    state: Mutex<State>,
    changed: Condvar,
}

impl Outcome {
    pub(crate) fn new() -> Arc<Outcome> {
        Arc::new(Outcome {
            state: Mutex::new(State::Starting),
            changed: Condvar::new(),
        })
    }

    /// Sets the state (a final state is never replaced).
    pub(crate) fn set(&self, state: State) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*s, State::Starting | State::Started) {
            *s = state;
            self.changed.notify_all();
        }
    }

    /// Waits while `pending(state)` holds, then returns the state.
    fn wait_while(&self, pending: impl Fn(&State) -> bool) -> State {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while pending(&s) {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.clone()
    }

    /// Waits until the command started (`Ok`) or could not (`Err` with the final state).
    pub(crate) fn wait_started(&self) -> Result<(), State> {
        match self.wait_while(|s| *s == State::Starting) {
            s @ (State::Refused(_) | State::Lost(_)) => Err(s),
            _ => Ok(()),
        }
    }
}

/// What the process asks of the I/O thread.
pub(crate) trait Control: Send + Sync + std::fmt::Debug {
    /// Close the channel `id` (the command loses its stdin/stdout; the exit is a kill).
    fn kill(&self, id: u64);
}

/// A command running on an ssh2 channel.
#[derive(Debug)]
pub(crate) struct ChannelProcess {
    pub(crate) id: u64,
    pub(crate) host: String,
    pub(crate) outcome: Arc<Outcome>,
    pub(crate) control: Arc<dyn Control>,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

impl Process for ChannelProcess {
    fn take_stdin(&mut self) -> Option<OwnedFd> {
        self.stdin.take()
    }

    fn take_stdout(&mut self) -> Option<OwnedFd> {
        self.stdout.take()
    }

    fn take_stderr(&mut self) -> Option<OwnedFd> {
        self.stderr.take()
    }

    /// Waits for the channel to close: its exit status or signal, or a `ConnectionAborted` error
    /// naming the host when the connection was lost.
    fn wait(&mut self) -> io::Result<Exit> {
        match self
            .outcome
            .wait_while(|s| matches!(s, State::Starting | State::Started))
        {
            State::Ended(exit) => Ok(exit),
            State::Lost(why) | State::Refused(why) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("{}: SSH connection lost: {why}", self.host),
            )),
            State::Starting | State::Started => unreachable!("waited for a final state"),
        }
    }

    /// Closes the channel (the remote command sees its stdin end and its stdout closed); `wait` then
    /// reports `SIGKILL`.
    fn kill(&mut self) -> io::Result<()> {
        self.control.kill(self.id);
        Ok(())
    }

    fn id(&self) -> Option<u32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Nothing;
    impl Control for Nothing {
        fn kill(&self, _: u64) {}
    }

    #[test]
    fn outcomes_are_final_and_waits_return_them() {
        let o = Outcome::new();
        o.set(State::Started);
        assert_eq!(o.wait_started(), Ok(()));
        let mut p = ChannelProcess {
            id: 1,
            host: "h".into(),
            outcome: o.clone(),
            control: Arc::new(Nothing),
            stdin: None,
            stdout: None,
            stderr: None,
        };
        let o2 = o.clone();
        let t = std::thread::spawn(move || o2.set(State::Ended(Exit::Code(3))));
        assert_eq!(p.wait().unwrap(), Exit::Code(3));
        t.join().unwrap();
        o.set(State::Lost("late".into()));
        assert_eq!(p.wait().unwrap(), Exit::Code(3), "a final state stays");
        assert_eq!(p.id(), None);

        let lost = Outcome::new();
        lost.set(State::Lost("reset by peer".into()));
        p.outcome = lost;
        let e = p.wait().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted);
        assert_eq!(e.to_string(), "h: SSH connection lost: reset by peer");

        let refused = Outcome::new();
        refused.set(State::Refused("administratively prohibited".into()));
        assert!(refused.wait_started().is_err());
    }
}
