//! What to run: [`Cmd`], argv vectors (one, or a pipeline of stages) with environment and stdin/stdout
//! handling, and [`remote_command_line`], the one place a `Cmd` becomes a shell string.

/// What a command's stdin or stdout is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Io {
    /// `/dev/null`.
    #[default]
    Null,
    /// A pipe to this process.
    Piped,
    /// Inherited from this process.
    Inherit,
}

/// A later stage of a pipeline: argv and its extra environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stage {
    /// Program and arguments; never a shell string.
    pub argv: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

/// A command to run: argv (program first), extra environment, stdin/stdout handling, and optionally
/// more stages, each reading the stdout of the one before (`argv | then[0] | then[1] ...`; see
/// [`Cmd::pipe`]). `stdin` is the first stage's, `stdout` the last stage's. The exit of a pipeline is
/// that of its first failing stage ([`Exit::of_pipeline`](super::Exit::of_pipeline)), so the first
/// stage's status is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cmd {
    /// Program and arguments of the first stage; never a shell string.
    pub argv: Vec<String>,
    /// Extra environment variables of the first stage (e.g. `LC_ALL=C`).
    pub env: Vec<(String, String)>,
    /// stdin handling.
    pub stdin: Io,
    /// stdout handling (captured by [`Runner::run`](super::Runner::run) regardless).
    pub stdout: Io,
    /// The stages after the first; empty for a plain command.
    pub then: Vec<Stage>,
    /// The command moves a send stream through its stdin or stdout (`zfs send`, `zfs receive`): a
    /// runner with a separate bulk data path (e.g. OpenSSH beside an ssh2 control session) starts it
    /// there. Everything else is control traffic.
    pub bulk: bool,
}

impl Cmd {
    /// A command from argv with `LC_ALL=C` (so messages can be read), stdin from `/dev/null`, stdout piped.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            argv: argv.into_iter().map(Into::into).collect(),
            env: vec![("LC_ALL".into(), "C".into())],
            stdin: Io::Null,
            stdout: Io::Piped,
            then: Vec::new(),
            bulk: false,
        }
    }
    /// Marks the command as moving a send stream ([`Cmd::bulk`]).
    pub fn bulk(mut self, on: bool) -> Self {
        self.bulk = on;
        self
    }
    /// Sets stdin handling.
    pub fn stdin(mut self, io: Io) -> Self {
        self.stdin = io;
        self
    }
    /// Sets stdout handling.
    pub fn stdout(mut self, io: Io) -> Self {
        self.stdout = io;
        self
    }
    /// Pipes this command's stdout into `next` (its argv, environment and own later stages; its
    /// stdin/stdout settings are not used: the pipeline's are this command's).
    pub fn pipe(mut self, next: Cmd) -> Self {
        self.then.push(Stage {
            argv: next.argv,
            env: next.env,
        });
        self.then.extend(next.then);
        self
    }
    /// Every stage, first to last: (argv, extra environment).
    pub fn stages(&self) -> impl Iterator<Item = (&[String], &[(String, String)])> {
        std::iter::once((self.argv.as_slice(), self.env.as_slice())).chain(
            self.then
                .iter()
                .map(|s| (s.argv.as_slice(), s.env.as_slice())),
        )
    }
    /// The command for display (POSIX-quoted; never executed as a string); stages joined by ` | `.
    pub fn display(&self) -> String {
        self.stages()
            .map(|(argv, _)| crate::quote::join(argv))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// One stage as words for a shell: `env K=V ... argv...`, every word quoted.
fn stage_line(argv: &[String], env: &[(String, String)]) -> String {
    let mut words: Vec<String> = Vec::with_capacity(argv.len() + env.len() + 1);
    if !env.is_empty() {
        words.push("env".into());
        words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    words.extend(argv.iter().cloned());
    crate::quote::join(&words)
}

/// The one-string form of `cmd` for a remote shell (what an SSH runner passes after `ssh HOST --`):
/// `env K=V ... argv...`, every word quoted with [`crate::quote::shell_quote`]. The remote `sh` splits it
/// back into exactly `cmd`'s argv with `cmd`'s environment; nothing in it is expanded.
///
/// A pipeline becomes a POSIX `sh` script (POSIX has no `pipefail`) that keeps every stage's status:
/// each stage writes `N=STATUS` to a status descriptor (3) read by a command substitution, the last
/// stage writes its stdout to the script's stdout (kept as descriptor 4), and the script exits with
/// the status of the first stage that failed other than by SIGPIPE (status 141), else of the first
/// that failed, in pipeline order, else 0, as a local pipeline reports
/// ([`Exit::of_pipeline`](super::Exit::of_pipeline)). A stage killed by a signal reports `128+N`, as
/// `sh` does. The stages close descriptors 3 and 4, so they see only stdin, stdout and stderr.
pub fn remote_command_line(cmd: &Cmd) -> String {
    if cmd.then.is_empty() {
        return stage_line(&cmd.argv, &cmd.env);
    }
    let last = cmd.then.len() + 1;
    let groups: Vec<String> = cmd
        .stages()
        .enumerate()
        .map(|(i, (argv, env))| {
            let n = i + 1;
            let to_stdout = if n == last { " >&4" } else { "" };
            format!(
                "{{ {}{to_stdout} 3>&- 4>&-; echo \"{n}=$?\" >&3; }}",
                stage_line(argv, env)
            )
        })
        .collect();
    let order: Vec<String> = (1..=last).map(|n| n.to_string()).collect();
    format!(
        "{{ zsync_st=$( {{ {}; }} 3>&1 ); }} 4>&1; \
         for zsync_skip in 141 0; do for zsync_n in {}; do for zsync_w in $zsync_st; do \
         case $zsync_w in \"$zsync_n=\"*) zsync_s=${{zsync_w#*=}}; \
         [ \"$zsync_s\" -eq 0 ] || [ \"$zsync_s\" -eq \"$zsync_skip\" ] || exit \"$zsync_s\";; \
         esac; done; done; done; exit 0",
        groups.join(" | "),
        order.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::test_shells::{shell_command, shells};
    use crate::runner::{LocalRunner, Runner};

    #[test]
    fn remote_command_line_runs_the_same_argv_through_a_shell() {
        let argv = [
            "printf",
            "%s|",
            "pool/my data@s 1",
            "pool/-x",
            "it's",
            "$(id)",
            "a\nb",
        ];
        let mut cmd = Cmd::new(argv);
        cmd.env.push(("ZSYNC_T".into(), "x y'z".into()));
        let line = remote_command_line(&cmd);
        assert!(
            line.starts_with("env 'LC_ALL=C' 'ZSYNC_T=x y'\\''z' printf"),
            "{line}"
        );
        // `sh -c LINE` stands in for the remote shell that `ssh HOST -- LINE` starts.
        let remote = LocalRunner.run(&Cmd::new(["sh", "-c", &line])).unwrap();
        let local = LocalRunner.run(&cmd).unwrap();
        assert!(remote.status.success(), "{}", remote.stderr);
        assert_eq!(remote.stdout, local.stdout);
        assert_eq!(
            remote.stdout,
            "pool/my data@s 1|pool/-x|it's|$(id)|a\nb|".as_bytes()
        );
        let env = LocalRunner
            .run(&Cmd::new([
                "sh",
                "-c",
                &remote_command_line(&Cmd {
                    argv: vec!["sh".into(), "-c".into(), "printf %s \"$ZSYNC_T\"".into()],
                    ..cmd.clone()
                }),
            ]))
            .unwrap();
        assert_eq!(env.stdout, b"x y'z");
    }

    /// Hostile words for every stage: spaces, quotes, a leading `-`, `$`, `;`, a newline.
    const HOSTILE: [&str; 7] = ["a b", "it's", "-n", "$(id)", "x;y", "l1\nl2", "\"q\""];

    /// `sh -c 'printf X; exit CODE'` as a stage (printing X, then failing with CODE or not).
    fn emit(x: &str, code: i32) -> Cmd {
        let script = format!("printf '%s' \"$1\"; exit {code}");
        Cmd::new(["sh", "-c", script.as_str(), "stage", x])
    }

    /// A stage that copies stdin to stdout, upper-cased, then exits with CODE.
    fn upper(code: i32) -> Cmd {
        let script = format!("tr a-z A-Z; exit {code}");
        Cmd::new(["sh", "-c", script.as_str()])
    }

    /// Runs `cmd` locally and through `shell -c remote_command_line(cmd)`: (stdout, code) of each.
    fn both_ways(cmd: &Cmd) -> Vec<(String, Vec<u8>, Option<i32>)> {
        let local = LocalRunner.run(cmd).unwrap();
        let mut v = vec![("local".to_owned(), local.stdout, local.status.code())];
        let line = remote_command_line(cmd);
        for sh in shells() {
            let out = shell_command(sh).arg("-c").arg(&line).output().unwrap();
            v.push((sh.to_owned(), out.stdout, out.status.code()));
        }
        v
    }

    #[test]
    fn pipeline_keeps_the_first_stage_status() {
        let cmd = emit("abc", 3).pipe(upper(0));
        assert_eq!(
            cmd.display(),
            "sh -c 'printf '\\''%s'\\'' \"$1\"; exit 3' stage abc | sh -c 'tr a-z A-Z; exit 0'"
        );
        for (how, out, code) in both_ways(&cmd) {
            assert_eq!((out.as_slice(), code), (&b"ABC"[..], Some(3)), "{how}");
        }
        // Both fail: still the first stage's status.
        for (how, _, code) in both_ways(&emit("abc", 4).pipe(upper(9))) {
            assert_eq!(code, Some(4), "{how}");
        }
    }

    #[test]
    fn pipeline_reports_a_later_failure_and_success() {
        for (how, out, code) in both_ways(&emit("abc", 0).pipe(upper(5))) {
            assert_eq!((out.as_slice(), code), (&b"ABC"[..], Some(5)), "{how}");
        }
        // Three stages, the middle one fails.
        let three = emit("x", 0).pipe(upper(6)).pipe(Cmd::new(["cat"]));
        for (how, out, code) in both_ways(&three) {
            assert_eq!((out.as_slice(), code), (&b"X"[..], Some(6)), "{how}");
        }
        for (how, out, code) in both_ways(&emit("ok", 0).pipe(upper(0))) {
            assert_eq!((out.as_slice(), code), (&b"OK"[..], Some(0)), "{how}");
        }
        // A stage that cannot be found is a failure of that stage (sh: 127). The first stage writes
        // nothing, so it cannot die of SIGPIPE first.
        let missing = Cmd::new(["true"]).pipe(Cmd::new(["/nonexistent/zsync-stage"]));
        let line = remote_command_line(&missing);
        let out = shell_command("sh").arg("-c").arg(&line).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
    }

    #[test]
    fn a_stage_dead_of_sigpipe_yields_to_the_later_stage_that_stopped_reading() {
        // `cat` dies writing to a stage that exits 5 without reading: 5, both ways.
        let cmd = Cmd::new(["cat", "/dev/zero"]).pipe(Cmd::new(["sh", "-c", "exit 5"]));
        for (how, _, code) in both_ways(&cmd) {
            assert_eq!(code, Some(5), "{how}");
        }
        // The later stage succeeded: the SIGPIPE is the pipeline's failure (a signal locally, 141
        // from a shell), never success.
        let cmd = Cmd::new(["cat", "/dev/zero"]).pipe(Cmd::new(["head", "-c", "1"]));
        for (how, out, code) in both_ways(&cmd) {
            assert_eq!(out, [0], "{how}");
            assert_eq!(code, (how != "local").then_some(141), "{how}");
        }
        // A stage that failed on its own before the SIGPIPE'd one still comes first.
        let cmd = Cmd::new(["sh", "-c", "exit 3"])
            .pipe(Cmd::new(["cat", "/dev/zero"]))
            .pipe(Cmd::new(["sh", "-c", "exit 6"]));
        for (how, _, code) in both_ways(&cmd) {
            assert_eq!(code, Some(3), "{how}");
        }
    }

    #[test]
    fn hostile_words_survive_every_stage() {
        // Each stage prints its words with printf (stage 1) or appends them after its input (later).
        let words: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        let mut first = vec!["printf".to_owned(), "%s|".into()];
        first.extend(words.clone());
        let mut second = vec![
            "sh".to_owned(),
            "-c".into(),
            "cat; shift; printf '%s|' \"$@\"".into(),
            "stage".into(),
            "skipped".into(),
        ];
        second.extend(words.clone());
        let mut cmd = Cmd::new(first).pipe(Cmd::new(second));
        cmd.then[0].env.push(("ZSYNC_T".into(), "$x 'y'; z".into()));
        let once: String = HOSTILE.iter().map(|w| format!("{w}|")).collect();
        let want = format!("{once}{once}");
        for (how, out, code) in both_ways(&cmd) {
            assert_eq!(code, Some(0), "{how}");
            assert_eq!(String::from_utf8(out).unwrap(), want, "{how}");
        }
        // The environment of a later stage arrives intact.
        let env = Cmd::new(["true"]).pipe(Cmd {
            env: vec![("ZSYNC_T".into(), "$x 'y'; z\n".into())],
            ..Cmd::new(["sh", "-c", "printf %s \"$ZSYNC_T\""])
        });
        for (how, out, _) in both_ways(&env) {
            assert_eq!(out, b"$x 'y'; z\n", "{how}");
        }
    }

    #[test]
    fn stdin_reaches_the_first_stage() {
        let cmd = Cmd::new(["tr", "a-z", "A-Z"])
            .pipe(Cmd::new(["sh", "-c", "cat; exit 2"]))
            .stdin(Io::Piped);
        let line = remote_command_line(&cmd);
        for sh in shells() {
            let mut c = shell_command(sh);
            c.arg("-c").arg(&line);
            c.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"in").unwrap();
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                (out.stdout.as_slice(), out.status.code()),
                (&b"IN"[..], Some(2)),
                "{sh}"
            );
        }
    }
}
