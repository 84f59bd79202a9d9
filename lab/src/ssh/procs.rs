//! Finding a backup host's processes in `/proc`: the members of its mount namespace (teardown)
//! and the descendants of its sshd listener (per-connection sessions).

use std::fs;

/// One process: pid, parent pid and command name (`comm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// The command name (`/proc/PID/comm`, at most 15 bytes).
    pub comm: String,
}

/// Parses one `/proc/PID/stat` line: `pid (comm) state ppid …`; `comm` may hold spaces and `)`.
pub fn parse_stat(line: &str) -> Option<Proc> {
    let (head, tail) = line.split_once(" (")?;
    let (comm, rest) = tail.rsplit_once(") ")?;
    let mut fields = rest.split_whitespace();
    let _state = fields.next()?;
    Some(Proc {
        pid: head.trim().parse().ok()?,
        ppid: fields.next()?.parse().ok()?,
        comm: comm.to_string(),
    })
}

/// Every process now running (those that vanish while being read are skipped).
pub fn all() -> Vec<Proc> {
    pids()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|line| parse_stat(&line))
        .collect()
}

/// The descendants of `root` in `table` (children first, then theirs), not `root` itself.
pub fn descendants(table: &[Proc], root: i32) -> Vec<Proc> {
    let mut out: Vec<Proc> = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in table.iter().filter(|p| p.ppid == parent) {
            if p.pid != root && !out.iter().any(|o| o.pid == p.pid) {
                frontier.push(p.pid);
                out.push(p.clone());
            }
        }
    }
    out
}

/// The mount namespace of `pid` (`mnt:[4026532…]`); `None` when it is gone (or a zombie).
pub fn mount_ns(pid: i32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

/// The live processes whose mount namespace is `ns`.
pub fn members(ns: &str) -> Vec<i32> {
    pids()
        .filter(|&pid| mount_ns(pid).as_deref() == Some(ns))
        .collect()
}

/// Sends `signal` to `pid` (errors, e.g. already gone, are ignored).
pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn pids() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, comm: &str) -> Proc {
        Proc {
            pid,
            ppid,
            comm: comm.into(),
        }
    }

    #[test]
    fn stat_lines() {
        assert_eq!(
            parse_stat("123 (sshd) S 45 123 123 0 -1 4194560 …"),
            Some(p(123, 45, "sshd"))
        );
        assert_eq!(
            parse_stat("7 (a) b (c)) R 1 7 7"),
            Some(p(7, 1, "a) b (c)"))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("x (y) S z"), None);
    }

    #[test]
    fn descendants_of_a_listener() {
        let table = [
            p(1, 0, "init"),
            p(10, 1, "sshd"),
            p(11, 10, "sshd"),
            p(12, 11, "sshd"),
            p(13, 12, "sleep"),
            p(20, 1, "sshd"),
            p(21, 20, "sshd"),
        ];
        let mut pids: Vec<i32> = descendants(&table, 10).iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, [11, 12, 13]);
        assert!(descendants(&table, 13).is_empty());
        // The live table has us in it.
        let me = std::process::id() as i32;
        assert!(all().iter().any(|p| p.pid == me));
        assert!(mount_ns(me).is_some_and(|ns| ns.starts_with("mnt:[")));
        assert!(members(&mount_ns(me).unwrap()).contains(&me));
    }
}
