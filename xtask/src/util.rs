//! Small helpers shared by the xtask modules: paths, running commands, timing.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The workspace root (the directory holding the root Cargo.toml).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ lives inside the workspace root")
        .to_path_buf()
}

/// The cargo target directory (`$CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        _ => repo_root().join("target"),
    }
}

/// The `cargo` that runs us (cargo sets `$CARGO`), else `cargo` from PATH.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root());
    cmd
}

/// True when running as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A command line for humans: program and args, quoted only where needed.
pub fn display(cmd: &Command) -> String {
    let mut words = vec![crate::vm::sh_quote(&cmd.get_program().to_string_lossy())];
    words.extend(
        cmd.get_args()
            .map(|a| crate::vm::sh_quote(&a.to_string_lossy())),
    );
    words.join(" ")
}

/// Runs `cmd` with inherited stdout/stderr and stdin from /dev/null; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; fails (with its stderr) unless it exits 0.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with stdout and stderr merged into one pipe; every line goes to our stdout, to
/// `log` (if any) and to `on_line`. Returns the exit status.
pub fn tee(
    cmd: &mut Command,
    mut log: Option<File>,
    mut on_line: impl FnMut(&str),
) -> Result<ExitStatus> {
    let shown = display(cmd);
    let (reader, writer) = std::io::pipe().context("cannot create a pipe")?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone().context("cannot clone a pipe")?)
        .stderr(writer);
    let spawned = cmd.spawn();
    // Drop the Command's copies of the write end, or the reader never sees EOF.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = spawned.with_context(|| format!("could not start `{shown}`"))?;
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let _ = std::io::stdout().lock().write_all(&line);
        if let Some(log) = log.as_mut() {
            let _ = log.write_all(&line);
        }
        on_line(&String::from_utf8_lossy(&line));
    }
    child
        .wait()
        .with_context(|| format!("waiting for `{shown}`"))
}

/// Formats a duration as `12.3s` or `4m05s`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// A started stopwatch.
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    pub fn show(&self) -> String {
        fmt_duration(self.elapsed())
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`, from `date` (or `?` when it cannot run).
pub fn today() -> String {
    output(Command::new("date").args(["-u", "+%F"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(fmt_duration(Duration::from_secs(245)), "4m05s");
    }

    #[test]
    fn display_quotes_only_when_needed() {
        let mut cmd = Command::new("zfs");
        cmd.args(["list", "-o", "name,used", "it's"]);
        assert_eq!(display(&cmd), r"zfs list -o name,used 'it'\''s'");
    }
}
