//! The progress line of `zsync sync`: what is moving, how much of the `zfs send -nP` estimate, at
//! what rate, and the time left.
//!
//! On a terminal it is one line on stderr, redrawn in place about twice a second; result lines are
//! printed above it ([`ProgressLine::print_above`]). Forced onto something else (`--progress` into a
//! log) it writes a plain line at most every [`LOG_EVERY`]. Datasets run in parallel: the line
//! shows the stream that started first and how many more are moving.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zfs_sync::{ProgressSnapshot, StreamInfo};

/// How often the plain (non-terminal) form writes a line.
pub const LOG_EVERY: Duration = Duration::from_secs(5);

/// The progress line on stderr, fed by [`zfs_sync::Events::stream_progress`] (see
/// [`crate::sync_events`]).
#[derive(Debug)]
pub struct ProgressLine {
    tty: bool,
    width: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Moving streams (id, label, counters), oldest first.
    active: Vec<(u64, String, ProgressSnapshot)>,
    /// Whether a line is on screen now (terminal form).
    drawn: bool,
    /// When the plain form last wrote.
    logged: Option<Instant>,
}

impl ProgressLine {
    /// Redrawn in place (`tty`) or written as plain lines.
    pub fn new(tty: bool) -> Self {
        ProgressLine {
            tty,
            width: if tty { terminal_width() } else { usize::MAX },
            state: Mutex::new(State::default()),
        }
    }

    /// Runs `print` (which writes result lines) with the progress line out of the way, then puts it
    /// back.
    pub fn print_above(&self, print: impl FnOnce()) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.tty && st.drawn {
            err!("\r\x1b[K");
            st.drawn = false;
        }
        print();
        if self.tty {
            self.draw(&mut st);
        }
    }

    fn draw(&self, st: &mut State) {
        let mut err = std::io::stderr().lock();
        if st.active.is_empty() {
            if st.drawn {
                let _ = write!(err, "\r\x1b[K");
                st.drawn = false;
            }
        } else {
            let line = clip(&render(&st.active), self.width.saturating_sub(1));
            let _ = write!(err, "\r\x1b[K{line}");
            st.drawn = true;
        }
        let _ = err.flush();
    }
}

impl ProgressLine {
    /// A stream's counters as of now: draws (terminal) or logs (at most every [`LOG_EVERY`]).
    pub fn update(&self, stream: &StreamInfo, now: &ProgressSnapshot) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let pos = st.active.iter().position(|(id, _, _)| *id == stream.id);
        match (pos, now.done) {
            (Some(i), true) => {
                st.active.remove(i);
            }
            (Some(i), false) => st.active[i].2 = *now,
            (None, false) => st.active.push((stream.id, stream.label.clone(), *now)),
            (None, true) => {}
        }
        if self.tty {
            self.draw(&mut st);
        } else if !now.done && now.bytes > 0 && st.logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            st.logged = Some(Instant::now());
            errln!("zsync: progress: {}", render(&st.active));
        }
    }
}

/// `tank/a@s3 from @s1: 1.2 GiB of 4.0 GiB (30%), 85.3 MiB/s, 0:34 left (+1 more stream)`.
pub fn render(active: &[(u64, String, ProgressSnapshot)]) -> String {
    let Some((_, label, p)) = active.first() else {
        return String::new();
    };
    let mut s = format!("{label}: {}", human_bytes(p.bytes));
    if let (Some(e), Some(pct)) = (p.estimate, p.percent()) {
        s.push_str(&format!(" of {} ({pct:.0}%)", human_bytes(e)));
    }
    s.push_str(&format!(", {}/s", human_bytes(p.rate as u64)));
    if let Some(eta) = p.eta {
        s.push_str(&format!(", {} left", clock(eta)));
    }
    match active.len() {
        1 => {}
        2 => s.push_str(" (+1 more stream)"),
        n => s.push_str(&format!(" (+{} more streams)", n - 1)),
    }
    s
}

/// `1.5 MiB`, `812 B`: binary units, one decimal.
pub use zfs_sync::report::human_bytes;

/// `0:07`, `12:34`, `1:02:03`.
fn clock(d: Duration) -> String {
    let t = d.as_secs();
    let (h, m, s) = (t / 3600, t / 60 % 60, t % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// At most `width` characters.
fn clip(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

/// Columns of the terminal on stderr; 80 when it cannot be read.
fn terminal_width() -> usize {
    // SAFETY: `winsize` is plain integers (all-zero is valid); TIOCGWINSZ writes one into the
    // struct we pass and only queries fd 2.
    let (rc, cols) = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        let rc = libc::ioctl(2, libc::TIOCGWINSZ, &mut ws);
        (rc, ws.ws_col)
    };
    if rc == 0 && cols > 0 {
        usize::from(cols)
    } else {
        80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(bytes: u64, estimate: Option<u64>, secs: u64) -> ProgressSnapshot {
        let elapsed = Duration::from_secs(secs);
        let rate = bytes as f64 / secs as f64;
        ProgressSnapshot {
            bytes_in: bytes,
            bytes_out: bytes,
            bytes,
            elapsed,
            rate,
            estimate,
            eta: estimate.map(|e| Duration::from_secs_f64((e - bytes) as f64 / rate)),
            done: false,
        }
    }

    #[test]
    fn the_line_says_what_how_much_how_fast_and_how_long() {
        let a = (
            1,
            "tank/a@s3 from @s1".to_string(),
            snap(3 << 20, Some(10 << 20), 3),
        );
        assert_eq!(
            render(std::slice::from_ref(&a)),
            "tank/a@s3 from @s1: 3.0 MiB of 10.0 MiB (30%), 1.0 MiB/s, 0:07 left"
        );
        let b = (2, "tank/b@s1".to_string(), snap(512, None, 1));
        assert_eq!(
            render(&[a.clone(), b.clone()]),
            "tank/a@s3 from @s1: 3.0 MiB of 10.0 MiB (30%), 1.0 MiB/s, 0:07 left (+1 more stream)"
        );
        assert_eq!(
            render(&[b.clone(), a.clone(), b]),
            "tank/b@s1: 512 B, 512 B/s (+2 more streams)"
        );
        assert_eq!(render(&[]), "");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(clip("abcdef", 3), "abc");
    }

    #[test]
    fn streams_come_and_go() {
        let line = ProgressLine::new(false);
        let info = |id: u64| StreamInfo {
            id,
            dataset: "tank/a".into(),
            label: "same label".into(),
            estimate: None,
            ..StreamInfo::default()
        };
        line.update(&info(1), &snap(1, None, 1));
        line.update(&info(2), &snap(2, None, 1));
        line.update(&info(1), &snap(5, None, 1));
        {
            let st = line.state.lock().unwrap();
            let ids: Vec<u64> = st.active.iter().map(|(id, _, _)| *id).collect();
            assert_eq!(ids, [1, 2]);
            assert_eq!(st.active[0].2.bytes, 5);
        }
        let mut done = snap(9, None, 1);
        done.done = true;
        line.update(&info(1), &done);
        line.update(&info(2), &done);
        assert!(line.state.lock().unwrap().active.is_empty());
    }
}
