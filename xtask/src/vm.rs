//! Booting the lab VM: virtme-ng (`vng`) on the backports kernel, TCG, host root read-only,
//! one writable per-run directory, one VM at a time on this machine. With `--root zfs21` the VM
//! boots the OpenZFS 2.1 root's own kernel with that root (read-only) instead of the host's, plus
//! the run dir and the read-only dirs the tests need at their host paths.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::lab::LabEnv;
use crate::util::{self, Stopwatch};

/// The machine-wide lock file: only one lab VM runs at a time.
pub const LOCK_PATH: &str = "/tmp/zsync-lab.lock";

/// PATH inside the VM (root's usual PATH; zfs tools live in /usr/sbin and /sbin).
const VM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Exit status the exec line uses when `modprobe zfs` fails inside the VM.
pub const MODPROBE_FAILED: i32 = 125;

/// How the VM is sized and how long it may run.
#[derive(Debug, Clone)]
pub struct VmOptions {
    pub timeout: Duration,
    pub memory: String,
    pub cpus: u32,
    /// `--root NAME`: boot a lab root of its own (`zfs21`) instead of the host root.
    pub root: Option<String>,
}

impl VmOptions {
    /// Defaults: 80 min (or `$ZSYNC_LAB_TIMEOUT` seconds; the whole lab suite takes 20-30 min in
    /// TCG on a busy 2-core machine), 3G, 2 cpus.
    pub fn from_env() -> Result<Self> {
        let timeout = match std::env::var("ZSYNC_LAB_TIMEOUT") {
            Ok(v) if !v.is_empty() => v
                .parse()
                .with_context(|| format!("ZSYNC_LAB_TIMEOUT: expected seconds, got {v:?}"))?,
            _ => 80 * 60,
        };
        Ok(VmOptions {
            timeout: Duration::from_secs(timeout),
            memory: "3G".into(),
            cpus: 2,
            root: None,
        })
    }
}

/// Quotes one word for a POSIX shell. Words made only of safe characters stay as they are;
/// everything else is wrapped in single quotes, with each `'` written as `'\''`.
pub fn sh_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The one shell line handed to `vng --exec`: cd into the run dir, export the lab environment,
/// load zfs, then run `argv`.
pub fn exec_line(rwdir: &Path, env: &[(String, String)], argv: &[String]) -> String {
    let dir = sh_quote(&rwdir.to_string_lossy());
    let mut exports = vec![
        format!("PATH={VM_PATH}"),
        "ZSYNC_LAB=1".to_string(),
        format!("ZSYNC_LAB_DIR={dir}"),
    ];
    exports.extend(env.iter().map(|(k, v)| format!("{k}={}", sh_quote(v))));
    let cmd: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
    format!(
        "cd {dir} && export {} && {{ modprobe zfs || {{ echo 'lab: modprobe zfs failed' >&2; exit {MODPROBE_FAILED}; }}; }} && {}",
        exports.join(" "),
        cmd.join(" ")
    )
}

/// Holds the machine-wide lab lock until dropped.
pub struct LabLock {
    _file: File,
}

impl LabLock {
    /// Takes the lock, waiting (and saying so) while another VM runs.
    pub fn acquire() -> Result<Self> {
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(LOCK_PATH)
            .with_context(|| format!("cannot open lock file {LOCK_PATH}"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                eprintln!(
                    "lab: another lab VM is running ({}); waiting for lock {LOCK_PATH} ...",
                    if holder.is_empty() {
                        "holder unknown"
                    } else {
                        holder
                    }
                );
                let waited = Stopwatch::start();
                file.lock()
                    .with_context(|| format!("cannot lock {LOCK_PATH}"))?;
                eprintln!("lab: got the lock after {}", waited.show());
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {LOCK_PATH}"))
            }
        }
        // Leave a note for whoever waits next (best effort).
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}", std::process::id());
        Ok(LabLock { _file: file })
    }
}

/// How many kept run dirs (from failed runs) survive; older ones are removed when a new run starts.
const KEEP_FAILED_RUN_DIRS: usize = 4;

/// A fresh per-run writable directory under `<target>/lab/`. Run dirs of failed runs are kept for
/// inspection; only the newest [`KEEP_FAILED_RUN_DIRS`] of them stay (a dir whose xtask is still running
/// is never removed).
pub fn new_run_dir(kind: &str) -> Result<PathBuf> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let lab = util::target_dir().join("lab");
    prune_run_dirs(&lab, KEEP_FAILED_RUN_DIRS);
    let dir = lab.join(format!("{kind}-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create run dir {}", dir.display()))?;
    Ok(dir)
}

/// Removes all but the newest `keep` run dirs (`<kind>-<stamp>-<pid>`) whose xtask is no longer running.
fn prune_run_dirs(lab: &std::path::Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(lab) else {
        return;
    };
    let mut dirs: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let mut parts = name.rsplitn(3, '-');
            let pid: i32 = parts.next()?.parse().ok()?;
            let stamp: u64 = parts.next()?.parse().ok()?;
            // SAFETY: kill with signal 0 only checks whether the process exists.
            let alive = unsafe { libc::kill(pid, 0) } == 0;
            (!alive && e.path().is_dir()).then(|| (stamp, e.path()))
        })
        .collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(keep);
    for (_, dir) in dirs.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn catch_interrupts() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    }
}

/// Boots the VM, runs `argv` (as root, cwd = `rwdir`, `extra_env` exported) and returns its exit
/// status (`None` if the VM died without one). Takes the lab lock for the whole run. The VM is
/// killed when `opts.timeout` passes or we get SIGINT/SIGTERM.
pub fn run(
    lab: &LabEnv,
    opts: &VmOptions,
    rwdir: &Path,
    extra_env: &[(String, String)],
    argv: &[String],
) -> Result<Option<i32>> {
    let _lock = LabLock::acquire()?;
    catch_interrupts();

    let line = exec_line(rwdir, extra_env, argv);
    let mut cmd = Command::new(lab.vng());
    cmd.arg("--run")
        .arg(&lab.kernel_image)
        .args(["--disable-kvm", "--force-9p"])
        .args(["--memory", &opts.memory])
        .args(["--cpus", &opts.cpus.to_string()]);
    let _mount_points = match &lab.root {
        None => {
            cmd.arg("--rwdir").arg(rwdir);
            for dir in &lab.rwdirs {
                cmd.arg("--rwdir").arg(dir);
            }
            None
        }
        Some(root) => {
            // A root of its own: the run dir and the read-only dirs appear at their host paths.
            cmd.arg("--root").arg(root);
            cmd.arg(format!("--rwdir={0}={0}", rwdir.display()));
            for dir in &lab.rwdirs {
                cmd.arg(format!("--rwdir={0}={0}", dir.display()));
            }
            for dir in &lab.rodirs {
                cmd.arg(format!("--rodir={0}={0}", dir.display()));
            }
            let dirs: Vec<&Path> = std::iter::once(rwdir)
                .chain(lab.rwdirs.iter().map(PathBuf::as_path))
                .chain(lab.rodirs.iter().map(PathBuf::as_path))
                .collect();
            Some(MountPoints::create_all(root, &dirs)?)
        }
    };
    cmd.args(["--exec", &line]);
    // The VM's console goes through a pipe that we copy to our stdout: qemu reopens a
    // file-backed stdout at offset 0, which would clobber output redirected to a file.
    let (reader, writer) = std::io::pipe().context("cannot create a pipe")?;
    cmd.env("PATH", lab.path_with_venv())
        .current_dir(rwdir)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().context("cannot clone a pipe")?)
        .stderr(writer);
    // Own process group, so a timeout can take down vng *and* qemu.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);

    eprintln!(
        "lab: booting {}{} (TCG, {} cpus, {}, timeout {}), run dir {}",
        lab.kernel_version,
        lab.root
            .as_ref()
            .map(|r| format!(" with root {}", r.display()))
            .unwrap_or_default(),
        opts.cpus,
        opts.memory,
        util::fmt_duration(opts.timeout),
        rwdir.display()
    );
    eprintln!("lab: exec: {line}");
    let clock = Stopwatch::start();
    let spawned = cmd.spawn();
    drop(cmd); // closes our copies of the pipe's write end
    let mut child = spawned.with_context(|| format!("cannot start {}", lab.vng().display()))?;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = reader;
        let _ = std::io::copy(&mut reader, &mut std::io::stdout());
        let _ = done_tx.send(());
    });
    let pgid = child.id() as libc::pid_t;
    let deadline = Instant::now() + opts.timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the VM")? {
            break status;
        }
        let timed_out = Instant::now() >= deadline;
        if timed_out || INTERRUPTED.load(Ordering::SeqCst) {
            kill_group(pgid, &mut child);
            if timed_out {
                bail!(
                    "lab VM timed out after {} and was killed (raise --timeout or ZSYNC_LAB_TIMEOUT)",
                    util::fmt_duration(opts.timeout)
                );
            }
            bail!("interrupted; lab VM killed");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Let the console copy drain (bounded: a stray process could keep the pipe open).
    let _ = done_rx.recv_timeout(Duration::from_secs(5));
    let _ = std::io::stdout().flush();
    let code = status.code();
    eprintln!(
        "lab: VM finished in {} ({})",
        clock.show(),
        match code {
            Some(MODPROBE_FAILED) => "modprobe zfs failed".to_string(),
            Some(c) => format!("exit status {c}"),
            None => format!("{status}"),
        }
    );
    Ok(code)
}

/// Directories created inside a guest root (which the VM sees read-only) for host dirs to be
/// mounted on; removed again (those still empty, deepest first) after the run.
struct MountPoints(Vec<PathBuf>);

impl MountPoints {
    /// Creates `<root>/<dir>` for each dir, remembering which levels did not exist before.
    fn create_all(root: &Path, dirs: &[&Path]) -> Result<MountPoints> {
        let mut made = MountPoints(Vec::new());
        for dir in dirs {
            let rel = dir.strip_prefix("/").unwrap_or(dir);
            let mut at = root.to_path_buf();
            for part in rel.components() {
                at.push(part);
                if !at.exists() {
                    std::fs::create_dir(&at)
                        .with_context(|| format!("cannot create mount point {}", at.display()))?;
                    made.0.push(at.clone());
                }
            }
        }
        Ok(made)
    }
}

impl Drop for MountPoints {
    fn drop(&mut self) {
        for dir in self.0.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// SIGTERM to the whole process group, then SIGKILL if it lingers.
fn kill_group(pgid: libc::pid_t, child: &mut std::process::Child) {
    // SAFETY: plain kill(2) on the process group we created.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let grace = Instant::now() + Duration::from_secs(10);
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: as above; the group may already be gone, which is fine.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_created_and_removed_deepest_first() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("work")).unwrap();
        let made = MountPoints::create_all(
            root.path(),
            &[
                Path::new("/work/wt/z/target/lab/run"),
                Path::new("/work/wt/z/zfs-core"),
            ],
        )
        .unwrap();
        assert!(root.path().join("work/wt/z/target/lab/run").is_dir());
        assert!(root.path().join("work/wt/z/zfs-core").is_dir());
        drop(made);
        assert!(!root.path().join("work/wt").exists());
        assert!(
            root.path().join("work").is_dir(),
            "what existed before stays"
        );
    }

    #[test]
    fn quoting_leaves_safe_words_alone() {
        assert_eq!(sh_quote("zfs"), "zfs");
        assert_eq!(
            sh_quote("/dev/zvol/tank/vm-100-disk-0"),
            "/dev/zvol/tank/vm-100-disk-0"
        );
        assert_eq!(sh_quote("name,used"), "name,used");
    }

    #[test]
    fn quoting_wraps_everything_else() {
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("''"), r"''\'''\'''");
        assert_eq!(sh_quote("a\nb"), "'a\nb'");
    }

    #[test]
    fn quoted_words_survive_a_real_shell() {
        let words = [
            "plain",
            "two words",
            "it's",
            "$HOME",
            "`x`",
            "\\",
            "*",
            "",
            "a\nb",
            "'",
        ];
        let argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let line = format!(
            "printf '%s\\0' {}",
            argv.iter()
                .map(|w| sh_quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = Command::new("sh").args(["-c", &line]).output().unwrap();
        assert!(out.status.success());
        let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        let want: Vec<&[u8]> = words
            .iter()
            .map(|w| w.as_bytes())
            .chain([&b""[..]])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn exec_line_exports_lab_env_and_quotes_argv() {
        let line = exec_line(
            Path::new("/x/run dir"),
            &[("ZSYNC_BIN".into(), "/x/bin/zsync".into())],
            &[
                "zfs".into(),
                "list".into(),
                "-o".into(),
                "name, used".into(),
            ],
        );
        assert!(
            line.starts_with("cd '/x/run dir' && export PATH="),
            "{line}"
        );
        assert!(line.contains("ZSYNC_LAB=1 ZSYNC_LAB_DIR='/x/run dir' ZSYNC_BIN=/x/bin/zsync"));
        assert!(line.contains("modprobe zfs ||"));
        assert!(line.ends_with("&& zfs list -o 'name, used'"), "{line}");
    }
}
