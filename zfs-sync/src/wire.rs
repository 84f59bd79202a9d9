//! The wire choice: in which form a run's streams leave the source backend and reach the target
//! backend, from the compression asked for ([`SyncOptions::compress`](crate::SyncOptions::compress)),
//! where each end is and which codec programs a remote end runs.
//!
//! - A **local** end is always plain: the mover compresses or decompresses in-process (zfs-stream),
//!   so the stream can be checked in transit between the two.
//! - A **remote** end compresses (send) or decompresses (receive) with its host's `zstd`/`lz4` when
//!   [`Capabilities::runs_wire`] says the program is there; else it is plain, with a notice.
//! - **Local → local** is never compressed (no network in between).
//! - **Remote → remote** with the same wire on both ends is relayed through this host as it is: not
//!   decompressed and recompressed, and therefore not checked in transit
//!   ([`WireChoice::relays_compressed`]).
//! - A mover that cannot convert ([`Mover::converts_wire`](crate::Mover::converts_wire)) gets the same
//!   form on both ends: plain, with a notice, unless both ends already agree.

use zfs_core::{Capabilities, Wire};

/// One end of a run, as the wire choice sees it.
#[derive(Debug, Clone, Copy)]
pub struct WireEnd<'a> {
    /// The host label for notices ([`Backend::host`](zfs_core::Backend::host)).
    pub host: &'a str,
    /// Whether it is remote and which codec programs it runs.
    pub caps: Capabilities,
}

/// Each end's wire for the streams of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WireChoice {
    /// What the source's send produces ([`SendRequest::wire`](zfs_core::SendRequest::wire)): what
    /// the mover reads.
    pub send: Wire,
    /// What the target's receive takes ([`RecvRequest::wire`](zfs_core::RecvRequest::wire)): what
    /// the mover writes.
    pub recv: Wire,
}

impl WireChoice {
    /// Both ends plain.
    pub const PLAIN: WireChoice = WireChoice {
        send: Wire::Plain,
        recv: Wire::Plain,
    };

    /// The bytes pass from send to receive unchanged (same format on both ends, plain or not).
    pub fn passes_through(&self) -> bool {
        self.send.same_format(self.recv)
    }

    /// The bytes pass through compressed (remote → remote): the mover never sees the send stream
    /// itself, so it cannot check it in transit.
    pub fn relays_compressed(&self) -> bool {
        self.passes_through() && !self.send.is_plain()
    }
}

/// The wires of a run, and a notice for each end that is not compressed although compression was
/// asked for (one line naming the host and why).
///
/// `compress`: `None` asks for [`Wire::ZSTD`] when either end is remote (and nothing otherwise);
/// `Some(Wire::Plain)` asks for none. `mover_converts`: the mover can decompress and compress
/// ([`Mover::converts_wire`](crate::Mover::converts_wire)).
pub fn choose_wires(
    compress: Option<Wire>,
    source: WireEnd<'_>,
    target: WireEnd<'_>,
    mover_converts: bool,
) -> (WireChoice, Vec<String>) {
    if !source.caps.remote && !target.caps.remote {
        return (WireChoice::PLAIN, Vec::new());
    }
    let asked = compress.unwrap_or(Wire::ZSTD);
    let mut notices = Vec::new();
    let mut end = |end: WireEnd<'_>, direction: &str| -> Wire {
        if !end.caps.remote || asked.is_plain() {
            return Wire::Plain;
        }
        if end.caps.runs_wire(asked) {
            return asked;
        }
        let program = asked.program().unwrap_or_default();
        notices.push(format!(
            "{host} has no `{program}`: streams {direction} {host} are not compressed \
             ({asked} asked for; install {program} there)",
            host = end.host
        ));
        Wire::Plain
    };
    let mut choice = WireChoice {
        send: end(source, "from"),
        recv: end(target, "to"),
    };
    if !mover_converts && !choice.passes_through() {
        let remote = if source.caps.remote {
            source.host
        } else {
            target.host
        };
        notices.push(format!(
            "the mover does not compress or decompress: streams between this host and {remote} \
             are not compressed"
        ));
        choice = WireChoice::PLAIN;
    }
    (choice, notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An end: remote or not, with the codec programs it runs.
    fn end(host: &str, remote: bool, zstd: bool, lz4: bool) -> WireEnd<'_> {
        let mut caps = Capabilities::default();
        caps.remote = remote;
        caps.zstd = zstd;
        caps.lz4 = lz4;
        WireEnd { host, caps }
    }

    /// Every combination of: each end local or remote, each remote end with both codec programs,
    /// one, or none, the compression asked for (default, none, zstd, zstd-19, lz4), and a mover
    /// that converts or not. Each is checked against the rules in words, computed independently.
    #[test]
    fn the_wire_decision_table() {
        let asks = [
            None,
            Some(Wire::Plain),
            Some(Wire::ZSTD),
            Some(Wire::Zstd { level: 19 }),
            Some(Wire::Lz4),
        ];
        // (remote, zstd, lz4) per end: local (a local end's tools are never asked about), remote
        // with both, zstd only, lz4 only, none.
        let kinds = [
            (false, false, false),
            (true, true, true),
            (true, true, false),
            (true, false, true),
            (true, false, false),
        ];
        let mut rows = 0;
        for ask in asks {
            for s in kinds {
                for t in kinds {
                    for converts in [true, false] {
                        rows += 1;
                        let src = end("src-host", s.0, s.1, s.2);
                        let tgt = end("dst-host", t.0, t.1, t.2);
                        let (got, notices) = choose_wires(ask, src, tgt, converts);
                        let any_remote = s.0 || t.0;
                        let asked = match ask {
                            None if any_remote => Wire::ZSTD,
                            None => Wire::Plain,
                            Some(w) => w,
                        };
                        // Each end on its own: plain unless remote, asked for, and able.
                        let has = |(_, zstd, lz4): (bool, bool, bool)| match asked {
                            Wire::Plain => true,
                            Wire::Zstd { .. } => zstd,
                            Wire::Lz4 => lz4,
                        };
                        let own = |k: (bool, bool, bool)| {
                            if any_remote && k.0 && has(k) {
                                asked
                            } else {
                                Wire::Plain
                            }
                        };
                        let missing = |k: (bool, bool, bool)| {
                            usize::from(any_remote && k.0 && !asked.is_plain() && !has(k))
                        };
                        let (mut send, mut recv) = (own(s), own(t));
                        let mut want_notices = missing(s) + missing(t);
                        if !converts && !send.same_format(recv) {
                            (send, recv) = (Wire::Plain, Wire::Plain);
                            want_notices += 1;
                        }
                        let case =
                            format!("ask {ask:?}, source {s:?}, target {t:?}, converts {converts}");
                        assert_eq!(got, WireChoice { send, recv }, "{case}");
                        assert_eq!(notices.len(), want_notices, "{case}: {notices:?}");
                        // The facts the mover acts on.
                        let relay = s.0 && t.0 && !send.is_plain() && send == recv;
                        assert_eq!(got.relays_compressed(), relay, "{case}");
                        if !s.0 && !t.0 {
                            assert_eq!(got, WireChoice::PLAIN, "local to local: {case}");
                        }
                        if !s.0 {
                            assert!(got.send.is_plain(), "a local send is plain: {case}");
                        }
                        if !t.0 {
                            assert!(got.recv.is_plain(), "a local receive is plain: {case}");
                        }
                    }
                }
            }
        }
        assert_eq!(rows, 5 * 5 * 5 * 2);
    }

    #[test]
    fn the_common_cases_and_their_notices() {
        let local = end("localhost", false, false, false);
        let backup = end("backup1", true, true, true);
        let bare = end("bare1", true, false, false);
        let zstd = WireChoice {
            send: Wire::ZSTD,
            recv: Wire::ZSTD,
        };
        // Push and pull: zstd-3 by default on the remote end, plain on the local one.
        assert_eq!(
            choose_wires(None, local, backup, true),
            (
                WireChoice {
                    send: Wire::Plain,
                    recv: Wire::ZSTD
                },
                vec![]
            )
        );
        assert_eq!(
            choose_wires(Some(Wire::Lz4), backup, local, true).0,
            WireChoice {
                send: Wire::Lz4,
                recv: Wire::Plain
            }
        );
        // Relay: the same wire on both ends, passed through.
        let (relay, none) = choose_wires(None, backup, backup, true);
        assert!(relay == zstd && relay.relays_compressed() && none.is_empty());
        // --compress none, and local to local whatever is asked.
        assert_eq!(
            choose_wires(Some(Wire::Plain), local, backup, true),
            (WireChoice::PLAIN, vec![])
        );
        assert_eq!(
            choose_wires(Some(Wire::Lz4), local, local, false),
            (WireChoice::PLAIN, vec![])
        );
        // A remote end without the program: plain there, one line naming the host and the program.
        let (c, notices) = choose_wires(None, local, bare, true);
        assert_eq!(c, WireChoice::PLAIN);
        assert_eq!(
            notices,
            [
                "bare1 has no `zstd`: streams to bare1 are not compressed (zstd-3 asked for; \
              install zstd there)"
            ]
        );
        let (c, notices) = choose_wires(None, bare, backup, true);
        assert_eq!(
            c,
            WireChoice {
                send: Wire::Plain,
                recv: Wire::ZSTD
            }
        );
        assert!(notices[0].contains("streams from bare1"), "{notices:?}");
        // A mover that does not convert: a relay still passes; push and pull go plain, said so.
        assert_eq!(choose_wires(None, backup, backup, false), (zstd, vec![]));
        let (c, notices) = choose_wires(None, local, backup, false);
        assert_eq!(c, WireChoice::PLAIN);
        assert_eq!(
            notices,
            [
                "the mover does not compress or decompress: streams between this host and backup1 \
              are not compressed"
            ]
        );
    }
}
