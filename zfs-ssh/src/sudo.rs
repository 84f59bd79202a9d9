//! How `zfs` and `zpool` are started on the remote host: by the absolute path found when connecting
//! (a non-root login's `PATH` often lacks `/usr/sbin`), and through `sudo -n --` when the remote
//! user is not root and privilege elevation is on. Built as argv; the whole command becomes one
//! string only through zfs-core's `remote_command_line`.

use zfs_core::runner::Cmd;

/// The remote programs and whether they need `sudo -n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Elevation {
    /// Absolute path of `zfs` on the host, when found.
    pub zfs: Option<String>,
    /// Absolute path of `zpool` on the host, when found.
    pub zpool: Option<String>,
    /// Prefix `zfs`/`zpool` stages with `sudo -n --`.
    pub sudo: bool,
}

/// The programs this applies to (by base name).
const PROGRAMS: [&str; 2] = ["zfs", "zpool"];

impl Elevation {
    /// `argv` with a bare `zfs`/`zpool` replaced by its path and, when elevating, `sudo -n --` in
    /// front of a `zfs`/`zpool` program (bare or by path). Other programs are left alone.
    pub(crate) fn argv(&self, argv: &[String]) -> Vec<String> {
        let Some(program) = argv.first() else {
            return argv.to_vec();
        };
        let base = program.rsplit('/').next().unwrap_or(program);
        if !PROGRAMS.contains(&base) {
            return argv.to_vec();
        }
        let path = match (program.contains('/'), base) {
            (false, "zfs") => self.zfs.clone(),
            (false, "zpool") => self.zpool.clone(),
            _ => None,
        }
        .unwrap_or_else(|| program.clone());
        let mut out = Vec::with_capacity(argv.len() + 3);
        if self.sudo {
            out.extend(["sudo".to_string(), "-n".into(), "--".into()]);
        }
        out.push(path);
        out.extend(argv[1..].iter().cloned());
        out
    }

    /// `cmd` with every stage passed through [`Elevation::argv`].
    pub(crate) fn apply(&self, cmd: &Cmd) -> Cmd {
        let mut out = cmd.clone();
        out.argv = self.argv(&cmd.argv);
        for stage in &mut out.then {
            stage.argv = self.argv(&stage.argv);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_core::runner::remote_command_line;

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zfs_stages_get_the_path_and_sudo() {
        let e = Elevation {
            zfs: Some("/usr/sbin/zfs".into()),
            zpool: Some("/usr/sbin/zpool".into()),
            sudo: true,
        };
        assert_eq!(
            e.argv(&v(&["zfs", "list", "-H"])),
            v(&["sudo", "-n", "--", "/usr/sbin/zfs", "list", "-H"])
        );
        assert_eq!(
            e.argv(&v(&["zpool", "list"])),
            v(&["sudo", "-n", "--", "/usr/sbin/zpool", "list"])
        );
        // A program given by path keeps it; others are untouched.
        assert_eq!(
            e.argv(&v(&["/opt/zfs/bin/zfs", "list"])),
            v(&["sudo", "-n", "--", "/opt/zfs/bin/zfs", "list"])
        );
        assert_eq!(e.argv(&v(&["zstd", "-c"])), v(&["zstd", "-c"]));
        assert_eq!(e.argv(&v(&["sh", "-c", "zfs"])), v(&["sh", "-c", "zfs"]));
        assert_eq!(e.argv(&[]), Vec::<String>::new());
        let root = Elevation {
            zfs: None,
            zpool: None,
            sudo: false,
        };
        assert_eq!(root.argv(&v(&["zfs", "list"])), v(&["zfs", "list"]));
    }

    #[test]
    fn hostile_words_reach_the_program_intact_through_a_shell() {
        // The rewritten argv goes through zfs-core's quoting and a real `sh`: with `printf` standing
        // in as the program path, the words it prints are the words we gave.
        let words = [
            "pool/my data@s 1",
            "pool/-x",
            "a:b",
            "it's",
            "\"q\"",
            "$(id)",
            "-n",
            "x;y",
        ];
        let e = Elevation {
            zfs: Some("printf".into()),
            zpool: None,
            sudo: false,
        };
        let mut argv = vec!["zfs", "%s|"];
        argv.extend(words);
        let line = remote_command_line(&e.apply(&Cmd::new(argv)));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            words.map(|w| format!("{w}|")).concat()
        );
    }

    #[test]
    fn pipelines_wrap_each_zfs_stage_and_hostile_names_stay_one_word() {
        let e = Elevation {
            zfs: Some("/usr/sbin/zfs".into()),
            zpool: None,
            sudo: true,
        };
        let cmd = Cmd::new(["zfs", "send", "pool/my data@-s 1"])
            .pipe(Cmd::new(["zstd", "-c"]))
            .bulk(true);
        let wrapped = e.apply(&cmd);
        assert!(wrapped.bulk);
        assert_eq!(
            wrapped.argv,
            v(&[
                "sudo",
                "-n",
                "--",
                "/usr/sbin/zfs",
                "send",
                "pool/my data@-s 1"
            ])
        );
        assert_eq!(wrapped.then[0].argv, v(&["zstd", "-c"]));
        let line = remote_command_line(&Cmd::new(["zfs", "list", "tank/-x:y 'q'"]));
        let elevated = remote_command_line(&e.apply(&Cmd::new(["zfs", "list", "tank/-x:y 'q'"])));
        assert_eq!(line, "env 'LC_ALL=C' zfs list 'tank/-x:y '\\''q'\\'''");
        assert_eq!(
            elevated,
            "env 'LC_ALL=C' sudo -n -- /usr/sbin/zfs list 'tank/-x:y '\\''q'\\'''"
        );
    }
}
