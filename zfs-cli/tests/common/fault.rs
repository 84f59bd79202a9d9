//! Helpers of the fault lab tests (zsync killed, interrupted, its receive killed): resume tokens,
//! the partial receive, process groups, checksums.

use std::process::Child;
use std::time::{Duration, Instant};
use zsync_lab::TestPool;

/// FNV-1a 64 of the bytes (a checksum to print and compare).
pub fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The receive resume token of `ds` (`-` when none), or `<error: ...>`.
pub fn token(pool: &TestPool, ds: &str) -> String {
    pool.get("receive_resume_token", ds)
        .unwrap_or_else(|e| format!("<error: {e}>"))
}

/// Whether `ds` has a resume token.
pub fn has_token(pool: &TestPool, ds: &str) -> bool {
    let t = token(pool, ds);
    t != "-" && !t.starts_with("<error")
}

/// Bytes used by the in-progress incremental receive (`DST/%recv`), if visible.
pub fn recv_used(pool: &TestPool, ds: &str) -> u64 {
    pool.get_u64("used", &format!("{ds}/%recv")).unwrap_or(0)
}

/// The resume token once it stopped changing: a receive that is still unwinding can save its state
/// once more after the token first appears (waits for it up to 30 s, then reads a second apart
/// until two reads agree; bounded).
pub fn settled_token(pool: &TestPool, ds: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_token(pool, ds) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut last = token(pool, ds);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = token(pool, ds);
        if now == last || Instant::now() >= deadline {
            return now;
        }
        last = now;
    }
}

/// The bytes a resume token says were received.
pub fn token_bytes(token: &str) -> u64 {
    zfs_stream::resume::decode(token)
        .unwrap_or_else(|e| panic!("resume token {token}: {e}"))
        .bytes
}

/// `zfs send -nP` estimate of `to` (incremental from `from`), in bytes.
pub fn estimate(from: Option<&str>, to: &str) -> u64 {
    let mut args = vec!["send", "-nP"];
    if let Some(f) = from {
        args.extend(["-i", f]);
    }
    args.push(to);
    let out = zsync_lab::zfs(&args).unwrap_or_else(|e| panic!("zfs {args:?}: {e}"));
    out.lines()
        .find_map(|l| l.strip_prefix("size\t"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no size in zfs send -nP output: {out}"))
}

/// Whether the process group `pgid` still has members.
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks whether the group still has members.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Waits up to `limit` for the process group `pgid` to be empty; whether it is.
pub fn wait_group_gone(pgid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    !group_alive(pgid)
}

/// SIGKILL the whole process group of `child` (zsync runs in its own group, so the `zfs send` /
/// `zfs receive` processes it spawned die with it), reap it, and wait until the group is empty:
/// the `zfs receive` child (CLI backend) leaves only when its ioctl returns, and the kernel saves
/// the partial state as that receive unwinds (bounded, 20 s).
pub fn kill_group(child: &mut Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill(-{pgid}): {}", std::io::Error::last_os_error());
    let st = child.wait().expect("reap zsync");
    eprintln!("zsync killed: {st:?}");
    wait_group_gone(pgid, Duration::from_secs(20));
}

/// The pids of the processes in group `pgid` whose command line contains `word` (`/proc`).
pub fn group_members(pgid: i32, word: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: getpgid(2) only reads the process's group id.
        if unsafe { libc::getpgid(pid) } != pgid {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(word) {
            pids.push(pid);
        }
    }
    pids
}
