//! Lab tests (real ZFS in the lab VM), issue 16's faults: zsync killed with SIGKILL at about 10 %,
//! 50 % and 90 % of a send; SIGTERM / SIGINT mid-run; the receiving `zfs receive` killed; the
//! target pool full; stdout closed early. Each checks the data afterwards (source unchanged,
//! the target's snapshots by GUID, file contents) and counts the case in the fault tally.
//! Run with `cargo xtask lab test lab_fault_signals`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use zsync_lab::data::pattern;
use zsync_lab::tally;
use zsync_lab::{LabError, TestPool};

mod common;
use common::fault::{
    estimate, fnv, group_members, has_token, kill_group, settled_token, token, token_bytes,
    wait_group_gone,
};

/// Incompressible payload of each interrupted snapshot.
const BIG: usize = 24 << 20;
/// The rate limit (bytes per second) that makes a payload take ~12 s to move.
const RATE_BPS: f64 = (2 << 20) as f64;
/// The same as a flag.
const RATE: &str = "--source-bwlimit=2M";

use common::{zsync_backend as zsync, zsync_backend_cmd as zsync_cmd};

/// How zsync is started: `zsync sync`, syncoid mode, or `zsync run` with a job file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sync,
    Syncoid,
    Run,
}

impl Mode {
    /// The subcommand.
    fn word(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Syncoid => "syncoid",
            Mode::Run => "run",
        }
    }
}

/// A pool with `src` (one small file, `@s1`) replicated in full to `dst/src`.
struct Setup {
    pool: TestPool,
    dir: PathBuf,
    src: String,
    dst: String,
}

fn setup(tag: &str, backend: &str) -> Result<Setup, LabError> {
    // Room for a few 24 MiB payloads on both sides (the pool keeps 128 MiB of slop).
    let pool = TestPool::with_size(&format!("{tag}-{backend}"), 512 << 20)?;
    let dir = common::scratch(&pool, "fault", tag);
    let (src, dst) = (pool.dataset("src"), pool.dataset("dst/src"));
    pool.zfs(&["create", &src])?;
    pool.zfs(&["create", &pool.dataset("dst")])?;
    pool.write_file("src/small", b"one")?;
    pool.zfs(&["snapshot", &format!("{src}@s1")])?;
    let o = zsync(&dir, backend, &["sync", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(0), "first full sync");
    Ok(Setup {
        pool,
        dir,
        src,
        dst,
    })
}

impl Setup {
    /// Writes a new payload and snapshots it as `@s{n}`; the payload.
    fn next_snapshot(&self, n: u32) -> Result<Vec<u8>, LabError> {
        let big = pattern(BIG, 0xfa17 + n);
        self.pool.write_file("src/big", &big)?;
        self.pool
            .zfs(&["snapshot", &format!("{}@s{n}", self.src)])?;
        Ok(big)
    }

    /// `zsync sync` with the rate limit, in its own process group, output to files in the dir.
    fn start(&self, backend: &str, tag: &str) -> Child {
        self.start_as(Mode::Sync, backend, tag)
    }

    /// [`Setup::start`] as `mode`: `zsync sync`, syncoid mode or a job file's `zsync run`, each
    /// with the same rate limit.
    fn start_as(&self, mode: Mode, backend: &str, tag: &str) -> Child {
        let out = std::fs::File::create(self.dir.join(format!("{tag}.out"))).expect("out");
        let err = std::fs::File::create(self.dir.join(format!("{tag}.err"))).expect("err");
        let (src, dst) = (self.src.as_str(), self.dst.as_str());
        let mut cmd = match mode {
            Mode::Sync | Mode::Syncoid => zsync_cmd(
                &self.dir,
                backend,
                &[mode.word(), "--no-sync-snap", RATE, src, dst],
            ),
            Mode::Run => {
                let jobs = self.dir.join("jobs.toml");
                std::fs::write(
                    &jobs,
                    format!(
                        "[[job]]\nname = \"sig\"\nsource = \"{src}\"\ntarget = \"{dst}\"\n\
                         no-sync-snap = true\nsource-bwlimit = \"2M\"\n"
                    ),
                )
                .expect("job file");
                let mut c = zsync_cmd(&self.dir, backend, &[mode.word(), "--no-snapshots"]);
                c.env("ZSYNC_JOBS", &jobs)
                    .env("ZSYNC_STATE_DIR", self.dir.join("state"))
                    .env("ZSYNC_RUN_LOCK", self.dir.join("run.lock"));
                c
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("start zsync")
    }

    /// What the run `tag` printed (stdout then stderr).
    fn printed(&self, tag: &str) -> (String, String) {
        let read = |ext: &str| {
            std::fs::read_to_string(self.dir.join(format!("{tag}.{ext}"))).unwrap_or_default()
        };
        (read("out"), read("err"))
    }

    /// When the receive into the target began (its `%recv` exists); panics when zsync ends
    /// first or nothing shows within 90 s.
    fn receive_started(&self, child: &mut Child) -> Instant {
        let start = Instant::now();
        let recv = format!("{}/%recv", self.dst);
        loop {
            if let Some(st) = child.try_wait().expect("poll zsync") {
                panic!("zsync ended ({st:?}) before its receive was seen");
            }
            if self.pool.exists(&recv) || has_token(&self.pool, &self.dst) {
                eprintln!("receive visible after {:?}", start.elapsed());
                return Instant::now();
            }
            if start.elapsed() > Duration::from_secs(90) {
                kill_group(child);
                panic!("no partial receive on {} within 90 s", self.dst);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The next plain run resumes from `tok` and completes: (resumed from that token, bytes the
    /// resume moved).
    fn resume(&self, backend: &str, tok: &str) -> (bool, u64) {
        let o = zsync(
            &self.dir,
            backend,
            &["sync", "--no-sync-snap", "--json", &self.src, &self.dst],
        );
        assert_eq!(o.status.code(), Some(0), "the resumed sync");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("report JSON");
        let step = &report["datasets"][0]["steps"][0];
        let from_token = step["step"]["step"] == "resume"
            && step["step"]["token"]["token"].as_str() == Some(tok);
        (from_token, step["bytes"].as_u64().unwrap_or(u64::MAX))
    }

    /// Destroys `@s2`..`@s{n-1}` on both sides (their payloads), keeping `@s1` and `@s{n}`.
    fn drop_older(&self, n: u32) -> Result<(), LabError> {
        for i in 2..n {
            for ds in [&self.src, &self.dst] {
                let snap = format!("{ds}@s{i}");
                if self.pool.exists(&snap) {
                    self.pool.zfs(&["destroy", &snap])?;
                }
            }
        }
        Ok(())
    }

    /// Whether the target holds exactly the source's snapshots (by GUID) and the payload, with no
    /// token left, and the source still holds the payload.
    fn intact(&self, big: &[u8]) -> Result<bool, LabError> {
        let (p, src, dst) = (&self.pool, &self.src, &self.dst);
        let same = p.snapshot_guids(src)? == p.snapshot_guids(dst)?;
        p.zfs(&["set", "readonly=on", dst])?;
        let _ = p.zfs(&["mount", dst]);
        let got = p.read_file("dst/src/big")?;
        let source = p.read_file("src/big")?;
        eprintln!(
            "target big fnv {:x}, source {:x}, expected {:x}",
            fnv(&got),
            fnv(&source),
            fnv(big)
        );
        Ok(same
            && got == big
            && source == big
            && p.read_file("dst/src/small")? == b"one"
            && token(p, dst) == "-")
    }
}

/// Waits up to `limit` for `child` to end; its status and how long that took.
fn wait_for(child: &mut Child, limit: Duration) -> (Option<ExitStatus>, Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(st) = child.try_wait().expect("poll zsync") {
            return (Some(st), t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (None, t.elapsed())
}

/// SIGKILL of zsync (its whole group) at about 10 %, 50 % and 90 % of an incremental send,
/// measured against the `zfs send -nP` estimate (the kill time from the rate limit; the fraction
/// actually received read back from the token's `bytes`): each next run resumes from the token.
fn sigkill_at_fractions(backend: &str) -> Result<(), LabError> {
    let s = setup("fkill", backend)?;
    for (n, pct) in [(2u32, 10u32), (3, 50), (4, 90)] {
        let big = s.next_snapshot(n)?;
        let est = estimate(
            Some(&format!("{}@s{}", s.src, n - 1)),
            &format!("{}@s{n}", s.src),
        );
        let tag = format!("kill{pct}");
        let mut child = s.start(backend, &tag);
        let began = s.receive_started(&mut child);
        let at = Duration::from_secs_f64(est as f64 / RATE_BPS * f64::from(pct) / 100.0);
        while began.elapsed() < at {
            if let Some(st) = child.try_wait().expect("poll zsync") {
                panic!("zsync ended ({st:?}) before the kill at {pct}%");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_group(&mut child);
        let tok = settled_token(&s.pool, &s.dst);
        assert!(
            has_token(&s.pool, &s.dst),
            "no token after the kill at {pct}%"
        );
        let got = token_bytes(&tok);
        let measured = got as f64 * 100.0 / est as f64;
        eprintln!("killed at {pct}% by time: the token says {got} of {est} bytes ({measured:.0}%)");
        let (from_token, moved) = s.resume(backend, &tok);
        let intact = s.intact(&big)?;
        tally::fault(
            &format!("SIGKILL of zsync sync ({backend}) at ~{pct}% of an incremental send"),
            intact,
        );
        assert!(intact, "data after the kill at {pct}% and the resume");
        assert!(from_token, "the next run resumed from the token");
        assert!(
            moved < est,
            "the resume moved {moved} bytes, not the whole {est}"
        );
        assert!(
            (measured - f64::from(pct)).abs() < 30.0 && got > 0,
            "killed at {measured:.0}% instead of about {pct}%"
        );
        s.drop_older(n)?;
    }
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_sigkill_at_10_50_90_percent_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    sigkill_at_fractions("cli")
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_sigkill_at_10_50_90_percent_lzc() -> Result<(), LabError> {
    zsync_lab::require_lab();
    sigkill_at_fractions("lzc")
}

/// How long a run may take to stop after SIGTERM/SIGINT (zsync's grace: 3 s after its last child).
const STOP_WITHIN: Duration = Duration::from_secs(8);

/// `sig` sent to zsync alone (not its group) mid-stream: it stops within seconds with 128 + sig,
/// its children end, it says what is left resumable, no hold stays, and the next run resumes.
fn interrupt(s: &Setup, backend: &str, n: u32, sig: i32, name: &str) -> Result<(), LabError> {
    interrupt_as(s, Mode::Sync, backend, n, sig, name)
}

/// [`interrupt`] of zsync started as `mode`.
fn interrupt_as(
    s: &Setup,
    mode: Mode,
    backend: &str,
    n: u32,
    sig: i32,
    name: &str,
) -> Result<(), LabError> {
    let big = s.next_snapshot(n)?;
    let tag = format!("{name}-{mode:?}-{backend}");
    let mut child = s.start_as(mode, backend, &tag);
    let began = s.receive_started(&mut child);
    while began.elapsed() < Duration::from_millis(2500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let pgid = child.id() as i32;
    // SAFETY: kill(2) of our own child; no memory is involved.
    assert_eq!(unsafe { libc::kill(pgid, sig) }, 0);
    let (status, took) = wait_for(&mut child, Duration::from_secs(30));
    let (out, err) = s.printed(&tag);
    eprintln!("{name}: zsync ended {status:?} after {took:?}\n{out}{err}");
    let Some(status) = status else {
        kill_group(&mut child);
        panic!("zsync still running 30 s after {name}");
    };
    let children_gone = wait_group_gone(pgid, Duration::from_secs(10));
    let tok = settled_token(&s.pool, &s.dst);
    let held: Vec<_> = (1..=n)
        .flat_map(|i| s.pool.holds(&format!("{}@s{i}", s.src)).unwrap_or_default())
        .collect();
    let resumable = has_token(&s.pool, &s.dst);
    let (from_token, moved) = if resumable {
        s.resume(backend, &tok)
    } else {
        (false, 0)
    };
    let intact = s.intact(&big)?;
    tally::fault(
        &format!(
            "{name} to zsync {} ({backend}) mid-stream, then resumed",
            mode.word()
        ),
        intact,
    );
    assert!(intact, "data after {name} and the resume");
    assert_eq!(
        status.code(),
        Some(128 + sig),
        "exit code after {name}: {err}"
    );
    assert!(took <= STOP_WITHIN, "{name}: stopped after {took:?}");
    assert!(children_gone, "{name}: zsync's children outlived it");
    assert!(held.is_empty(), "{name}: holds left: {held:?}");
    assert!(resumable, "{name}: no resume token on {}", s.dst);
    assert!(
        from_token && moved < BIG as u64,
        "{name}: resumed, not restarted"
    );
    // Both backends name the target left resumable (libzfs_core's in-process stream ends with
    // the process, and the watcher's line names what it was moving).
    let line = format!(
        "zsync: interrupted ({name}): {} left resumable; the next run resumes it",
        s.dst
    );
    assert!(err.contains(&line), "{name}: no line {line:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_sigterm_and_sigint_mid_sync_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let s = setup("fint", "cli")?;
    interrupt(&s, "cli", 2, libc::SIGTERM, "SIGTERM")?;
    interrupt(&s, "cli", 3, libc::SIGINT, "SIGINT")?;
    // Room for @s4: @s2's payload goes (@s3 stays, the newest on both sides and the base).
    s.drop_older(3)?;
    interrupt(&s, "cli", 4, libc::SIGHUP, "SIGHUP")
}

/// SIGTERM to syncoid mode and SIGINT to a job file's `zsync run`: the same clean stop (the run
/// also records the dataset as cancelled).
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_sigterm_syncoid_and_sigint_run_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let s = setup("fmode", "cli")?;
    interrupt_as(&s, Mode::Syncoid, "cli", 2, libc::SIGTERM, "SIGTERM")?;
    interrupt_as(&s, Mode::Run, "cli", 3, libc::SIGINT, "SIGINT")?;
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.dir.join("state/last-run.json")).expect("the run record"),
    )
    .expect("record JSON");
    let outcome = &record["jobs"][0]["datasets"][0]["outcome"];
    assert_eq!(outcome, "cancelled", "{record}");
    Ok(())
}

#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_sigterm_mid_sync_lzc() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let s = setup("fint", "lzc")?;
    interrupt(&s, "lzc", 2, libc::SIGTERM, "SIGTERM")
}

/// The receiving `zfs receive` killed with SIGKILL: zsync fails the dataset naming the target,
/// its `zfs send` ends, exit 2, and the next run resumes.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_receive_killed_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let s = setup("frecv", "cli")?;
    let big = s.next_snapshot(2)?;
    let mut child = s.start("cli", "recvkill");
    let began = s.receive_started(&mut child);
    while began.elapsed() < Duration::from_millis(2500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let pgid = child.id() as i32;
    let receivers = group_members(pgid, "receive");
    assert!(!receivers.is_empty(), "no zfs receive in zsync's group");
    for pid in &receivers {
        // SAFETY: kill(2) of a process our child started; no memory is involved.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let (status, took) = wait_for(&mut child, Duration::from_secs(30));
    let (out, err) = s.printed("recvkill");
    eprintln!("zfs receive killed: zsync ended {status:?} after {took:?}\n{out}{err}");
    if status.is_none() {
        kill_group(&mut child);
    }
    let no_send = wait_group_gone(pgid, Duration::from_secs(15));
    let tok = settled_token(&s.pool, &s.dst);
    let resumable = has_token(&s.pool, &s.dst);
    let (from_token, _) = if resumable {
        s.resume("cli", &tok)
    } else {
        let o = zsync(&s.dir, "cli", &["sync", "--no-sync-snap", &s.src, &s.dst]);
        assert_eq!(o.status.code(), Some(0), "the next sync");
        (false, 0)
    };
    let intact = s.intact(&big)?;
    tally::fault(
        "the receiving zfs receive killed (SIGKILL), then resumed",
        intact,
    );
    assert!(intact, "data after the killed receive and the next run");
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{out}{err}");
    assert!(
        format!("{out}{err}").contains(&s.dst),
        "the failure names the target {}: {out}{err}",
        s.dst
    );
    assert!(no_send, "zfs send outlived its receive");
    assert!(
        resumable && from_token,
        "the next run resumed from the token"
    );
    Ok(())
}

/// The target pool full: a receive that does not fit fails naming the target and the space needed
/// against the space available; the source and the target's earlier snapshots are untouched; once
/// space is freed (a reservation on the target pool dropped) the next run completes.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_space_target_pool_full_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let sp = TestPool::new("fspace-src")?;
    let tp = TestPool::with_size("fspace-dst", 128 << 20)?;
    let dir = common::scratch(&sp, "fault", "space");
    let (src, dst) = (sp.dataset("src"), tp.dataset("bk"));
    sp.zfs(&["create", &src])?;
    sp.write_file("src/small", b"one")?;
    sp.zfs(&["snapshot", &format!("{src}@s1")])?;
    let o = zsync(&dir, "cli", &["sync", "--no-sync-snap", &src, &dst]);
    assert_eq!(o.status.code(), Some(0), "first full sync");
    let target_before = tp.snapshot_guids(&dst)?;

    let big = pattern(BIG, 0x5ace);
    sp.write_file("src/big", &big)?;
    sp.zfs(&["snapshot", &format!("{src}@s2")])?;
    let source_before = sp.snapshot_guids(&src)?;
    let est = estimate(Some(&format!("{src}@s1")), &format!("{src}@s2"));
    // A reservation leaves about half of the stream's size free on the target pool.
    let avail = tp.get_u64("available", tp.name())?;
    let filler = tp.dataset("filler");
    let reserve = avail.saturating_sub(est / 2);
    tp.zfs(&[
        "create",
        "-o",
        &format!("refreservation={reserve}"),
        &filler,
    ])?;
    eprintln!(
        "target available {avail}, stream {est}, reserved {reserve}, left {}",
        tp.get_u64("available", tp.name())?
    );
    let o = zsync(&dir, "cli", &["sync", "--no-sync-snap", &src, &dst]);
    let said = format!("{}{}", common::text(&o.stdout), common::text(&o.stderr));
    let clear = said.contains(&format!(
        "target {dst} is out of space: the stream needs about "
    )) && said.contains(&format!(" available on {dst}"));
    let untouched = sp.snapshot_guids(&src)? == source_before
        && sp.read_file("src/big")? == big
        && tp.snapshot_guids(&dst)? == target_before;

    tp.zfs(&["destroy", &filler])?;
    let o2 = zsync(
        &dir,
        "cli",
        &["sync", "--no-sync-snap", "--json", &src, &dst],
    );
    let done = o2.status.code() == Some(0);
    tp.zfs(&["set", "readonly=on", &dst])?;
    let _ = tp.zfs(&["mount", &dst]);
    let intact = untouched
        && done
        && sp.snapshot_guids(&src)? == tp.snapshot_guids(&dst)?
        && tp.read_file("bk/big")? == big
        && tp.get("receive_resume_token", &dst)? == "-";
    tally::fault(
        "target pool full (ENOSPC) mid-receive, then space freed",
        intact,
    );
    assert_eq!(o.status.code(), Some(2), "{said}");
    assert!(
        clear,
        "one clear line naming the target and the sizes: {said}"
    );
    assert!(untouched, "source or earlier target snapshots changed");
    assert!(done, "the run after freeing space");
    assert!(intact, "data after the run that followed the freed space");
    Ok(())
}

/// `zsync plan`, `zsync sync -r` and `zsync status` with stdout a pipe whose reader is gone
/// (read the first line, then closed; and closed before anything was written): no panic (not
/// 101, no "panicked"), and the sync replicated every dataset.
#[test]
#[ignore = "lab: needs real ZFS, run by cargo xtask lab test"]
fn lab_fault_signals_stdout_closed_early_cli() -> Result<(), LabError> {
    zsync_lab::require_lab();
    let pool = TestPool::new("fpipe")?;
    let dir = common::scratch(&pool, "fault", "pipe");
    let src = pool.dataset("src");
    pool.zfs(&["create", &src])?;
    for c in ["a", "b", "c"] {
        pool.zfs(&["create", &format!("{src}/{c}")])?;
        pool.write_file(&format!("src/{c}/f"), c.as_bytes())?;
    }
    pool.zfs(&["snapshot", "-r", &format!("{src}@s1")])?;
    pool.zfs(&["create", &pool.dataset("dst")])?;
    let dst = pool.dataset("dst/src");
    let jobs = dir.join("jobs.toml");
    std::fs::write(
        &jobs,
        format!(
            "[[job]]\nname = \"t\"\nsource = \"{src}\"\ntarget = \"{dst}\"\nrecursive = true\n\
             no-sync-snap = true\n"
        ),
    )
    .unwrap();
    let jobs = jobs.to_string_lossy().into_owned();
    let state = dir.join("state").to_string_lossy().into_owned();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("plan", vec!["plan", "-r", "--no-sync-snap", &src, &dst]),
        ("sync", vec!["sync", "-r", "--no-sync-snap", &src, &dst]),
        (
            "status",
            vec!["status", "--jobs-file", &jobs, "--state-dir", &state],
        ),
    ];
    let mut all_ok = true;
    for (what, args) in &runs {
        for read_first in [false, true] {
            let mut child = zsync_cmd(&dir, "cli", args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start zsync");
            let out = child.stdout.take().expect("stdout");
            if read_first {
                use std::io::BufRead;
                let mut line = String::new();
                let _ = std::io::BufReader::new(out).read_line(&mut line);
                eprintln!("{what}: first line {line:?}");
            } else {
                drop(out);
            }
            let o = child.wait_with_output().expect("wait zsync");
            let err = common::text(&o.stderr);
            eprintln!(
                "{what} (first line read: {read_first}) -> {:?}\n{err}",
                o.status.code()
            );
            let ok = o.status.code().is_some_and(|c| c != 101) && !err.contains("panicked");
            all_ok &= ok;
            assert!(ok, "{what}: panicked or killed: {:?} {err}", o.status);
        }
    }
    // The sync completed although nobody read its lines.
    let mut intact = all_ok;
    for c in ["", "/a", "/b", "/c"] {
        let (s, d) = (format!("{src}{c}"), format!("{dst}{c}"));
        intact &= pool.exists(&d) && pool.snapshot_guids(&s)? == pool.snapshot_guids(&d)?;
    }
    tally::fault("stdout closed early (plan, sync -r, status)", intact);
    assert!(intact, "every dataset replicated with its snapshots");
    Ok(())
}
