//! Hook scripts (`pre_snapshot_script`, `post_snapshot_script`, `pre_pruning_script`,
//! `pruning_script`).
//!
//! The config value is a command line the USER wrote; like sanoid, it is run as `sh -c VALUE`
//! (zsync builds no shell string of its own). Environment as sanoid sets it:
//!
//! | variable | snapshot hooks | pruning hooks |
//! |---|---|---|
//! | `SANOID_SCRIPT` | `pre` / `post` | `prune` |
//! | `SANOID_TARGET` | first dataset (deprecated in sanoid) | the dataset |
//! | `SANOID_TARGETS` | comma list of datasets | the dataset |
//! | `SANOID_SNAPNAME` | first snapshot name, without dataset (deprecated) | the snapshot name |
//! | `SANOID_SNAPNAMES` | comma list of snapshot names, without dataset | the snapshot name |
//! | `SANOID_TYPES` | comma list of types (`hourly,daily`) | the type |
//! | `SANOID_PRE_FAILURE` | post only: `1` if the pre script failed, else `0` | – |
//!
//! Unlike sanoid (whose alarm only stops waiting), `script_timeout` KILLS the script: it runs in
//! its own process group, which gets SIGTERM at the deadline and SIGKILL after a short grace.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Which hook runs (for messages and `SANOID_SCRIPT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `pre_snapshot_script`.
    PreSnapshot,
    /// `post_snapshot_script`.
    PostSnapshot,
    /// `pre_pruning_script`.
    PrePruning,
    /// `pruning_script`.
    Pruning,
}

impl HookKind {
    /// Config key name.
    pub fn key(self) -> &'static str {
        match self {
            HookKind::PreSnapshot => "pre_snapshot_script",
            HookKind::PostSnapshot => "post_snapshot_script",
            HookKind::PrePruning => "pre_pruning_script",
            HookKind::Pruning => "pruning_script",
        }
    }
    /// `SANOID_SCRIPT` value.
    pub fn script_var(self) -> &'static str {
        match self {
            HookKind::PreSnapshot => "pre",
            HookKind::PostSnapshot => "post",
            HookKind::PrePruning | HookKind::Pruning => "prune",
        }
    }
}

/// What the hook is about.
#[derive(Debug, Clone, Default)]
pub struct HookContext {
    /// Datasets (full names).
    pub targets: Vec<String>,
    /// Snapshot names without the dataset part.
    pub snapnames: Vec<String>,
    /// Snapshot types (`hourly`, ...).
    pub types: Vec<String>,
    /// For post scripts: whether the pre script failed.
    pub pre_failure: Option<bool>,
}

impl HookContext {
    /// The `SANOID_*` variables for this hook.
    pub fn env(&self, kind: HookKind) -> Vec<(String, String)> {
        let first = |v: &[String]| v.first().cloned().unwrap_or_default();
        let mut env = vec![
            ("SANOID_SCRIPT".to_string(), kind.script_var().to_string()),
            ("SANOID_TARGET".to_string(), first(&self.targets)),
            ("SANOID_TARGETS".to_string(), self.targets.join(",")),
            ("SANOID_SNAPNAME".to_string(), first(&self.snapnames)),
            ("SANOID_SNAPNAMES".to_string(), self.snapnames.join(",")),
            ("SANOID_TYPES".to_string(), self.types.join(",")),
        ];
        if let Some(f) = self.pre_failure {
            env.push((
                "SANOID_PRE_FAILURE".to_string(),
                if f { "1" } else { "0" }.to_string(),
            ));
        }
        env
    }
}

/// How a hook ended.
#[derive(Debug)]
pub enum HookOutcome {
    /// Exit status 0.
    Success,
    /// Non-zero exit or killed by a signal.
    Failed(ExitStatus),
    /// Ran past the timeout; its process group was killed.
    TimedOut(Duration),
    /// `sh` could not be started.
    SpawnError(io::Error),
}

impl HookOutcome {
    /// Exit 0 within the time limit.
    pub fn ok(&self) -> bool {
        matches!(self, HookOutcome::Success)
    }
}

impl std::fmt::Display for HookOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HookOutcome::Success => write!(f, "succeeded"),
            HookOutcome::Failed(st) => match (st.code(), st.signal()) {
                (Some(c), _) => write!(f, "failed with exit status {c}"),
                (None, Some(s)) => write!(f, "killed by signal {s}"),
                _ => write!(f, "failed ({st})"),
            },
            HookOutcome::TimedOut(d) => {
                write!(f, "timed out after {} s and was killed", d.as_secs_f64())
            }
            HookOutcome::SpawnError(e) => write!(f, "could not be started: {e}"),
        }
    }
}

/// Runs hooks: `sh -c COMMAND` in a new process group.
#[derive(Debug, Clone)]
pub struct HookRunner {
    /// Shell used for `-c` (`sh`, as sanoid's `system` does).
    pub shell: String,
    /// Time between SIGTERM and SIGKILL to the group after a timeout.
    pub kill_grace: Duration,
    /// How often the child is checked while waiting.
    pub poll: Duration,
    /// Send the hook's stdout to our stderr (keeps `--json` output clean).
    pub stdout_to_stderr: bool,
}

impl Default for HookRunner {
    fn default() -> Self {
        HookRunner {
            shell: "sh".to_string(),
            kill_grace: Duration::from_secs(2),
            poll: Duration::from_millis(20),
            stdout_to_stderr: false,
        }
    }
}

impl HookRunner {
    /// Runs `command` with the extra `env`; `timeout` of `None` waits forever.
    pub fn run(
        &self,
        command: &str,
        env: &[(String, String)],
        timeout: Option<Duration>,
    ) -> HookOutcome {
        let mut cmd = Command::new(&self.shell);
        cmd.arg("-c").arg(command);
        self.run_command(cmd, env, None, timeout)
    }

    /// Runs the argument vector `argv` (no shell; `argv[0]` looked up in `PATH`) with the extra
    /// `env` and `stdin` written to its standard input (then closed; a program that does not read
    /// it is not an error). `on_failure` commands of `zsync run` go this way.
    pub fn run_argv(
        &self,
        argv: &[String],
        env: &[(String, String)],
        stdin: &[u8],
        timeout: Option<Duration>,
    ) -> HookOutcome {
        let Some((program, args)) = argv.split_first() else {
            return HookOutcome::SpawnError(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty command",
            ));
        };
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.run_command(cmd, env, Some(stdin), timeout)
    }

    fn run_command(
        &self,
        mut cmd: Command,
        env: &[(String, String)],
        stdin: Option<&[u8]>,
        timeout: Option<Duration>,
    ) -> HookOutcome {
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .process_group(0);
        if self.stdout_to_stderr {
            if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
                cmd.stdout(Stdio::from(fd));
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return HookOutcome::SpawnError(e),
        };
        // Fed from a thread: a child that does not read its input must not block us (its pipe
        // breaks when it exits; that error is ignored).
        let feeder = match (child.stdin.take(), stdin) {
            (Some(mut pipe), Some(bytes)) => {
                let bytes = bytes.to_vec();
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                }))
            }
            _ => None,
        };
        // The child is the leader of its own group: its pid is the group id.
        let pgid = child.id() as libc::pid_t;
        let start = Instant::now();
        let outcome = loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    break if status.success() {
                        HookOutcome::Success
                    } else {
                        HookOutcome::Failed(status)
                    };
                }
                Ok(None) => {}
                Err(e) => break HookOutcome::SpawnError(e),
            }
            if let Some(t) = timeout {
                if start.elapsed() >= t {
                    self.kill_group(pgid, &mut child);
                    break HookOutcome::TimedOut(t);
                }
            }
            std::thread::sleep(self.poll);
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        outcome
    }

    fn kill_group(&self, pgid: libc::pid_t, child: &mut std::process::Child) {
        // SAFETY: kill(2) with a negative pid signals the group we created; no memory involved.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + self.kill_grace;
        while Instant::now() < deadline {
            // The group is gone when kill(-pgid, 0) fails (ESRCH); the leader may already be reaped.
            let leader_done = matches!(child.try_wait(), Ok(Some(_)));
            // SAFETY: as above, signal 0 only checks existence.
            let group_alive = unsafe { libc::kill(-pgid, 0) } == 0;
            if leader_done && !group_alive {
                return;
            }
            std::thread::sleep(self.poll);
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_commands_get_stdin_and_env_without_a_shell() {
        let dir = std::env::temp_dir().join(format!("zsync-argv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("got");
        let runner = HookRunner::default();
        // `$X` stays literal: no shell between us and the program.
        let argv: Vec<String> = [
            "sh",
            "-c",
            "cat > \"$1\"; printf '%s' \"$ZSYNC_T\" >> \"$1\"",
            "sh",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect();
        let env = [("ZSYNC_T".to_string(), " $X".to_string())];
        let o = runner.run_argv(&argv, &env, b"{\"json\":1}", Some(Duration::from_secs(10)));
        assert!(o.ok(), "{o}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"json\":1} $X");
        // A program that does not read a large input still ends normally.
        let big = vec![b'x'; 1 << 20];
        let o = runner.run_argv(&["true".into()], &[], &big, Some(Duration::from_secs(10)));
        assert!(o.ok(), "{o}");
        let o = runner.run_argv(&["false".into()], &[], b"", None);
        assert_eq!(o.to_string(), "failed with exit status 1");
        let o = runner.run_argv(&["/nonexistent/zsync-notify".into()], &[], b"", None);
        assert!(o.to_string().starts_with("could not be started: "), "{o}");
        assert!(!runner.run_argv(&[], &[], b"", None).ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_for_snapshot_hooks() {
        let ctx = HookContext {
            targets: vec!["tank/a".into(), "tank/b".into()],
            snapnames: vec!["autosnap_x_daily".into(), "autosnap_x_hourly".into()],
            types: vec!["daily".into(), "hourly".into()],
            pre_failure: Some(true),
        };
        let env = ctx.env(HookKind::PostSnapshot);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("SANOID_SCRIPT"), Some("post"));
        assert_eq!(get("SANOID_TARGET"), Some("tank/a"));
        assert_eq!(get("SANOID_TARGETS"), Some("tank/a,tank/b"));
        assert_eq!(get("SANOID_SNAPNAME"), Some("autosnap_x_daily"));
        assert_eq!(
            get("SANOID_SNAPNAMES"),
            Some("autosnap_x_daily,autosnap_x_hourly")
        );
        assert_eq!(get("SANOID_TYPES"), Some("daily,hourly"));
        assert_eq!(get("SANOID_PRE_FAILURE"), Some("1"));
        let pre = HookContext {
            pre_failure: None,
            ..ctx
        }
        .env(HookKind::PreSnapshot);
        assert!(pre.iter().all(|(k, _)| k != "SANOID_PRE_FAILURE"));
        assert_eq!(HookKind::Pruning.script_var(), "prune");
    }
}
