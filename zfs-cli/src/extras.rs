//! Shell completions and man pages rendered from the clap grammar ([`crate::args::Cli`]).
//!
//! Packagers call [`write_extras`] (through `cargo xtask dist-extras --out DIR`) to lay the files out
//! under a prefix the way distributions install them:
//!
//! | file | for |
//! |---|---|
//! | `share/bash-completion/completions/zsync` | bash-completion |
//! | `share/zsh/site-functions/_zsync` | zsh `fpath` |
//! | `share/fish/vendor_completions.d/zsync.fish` | fish |
//! | `share/man/man1/zsync.1`, `zsync-sync.1`, `zsync-config-show.1`, ... | `man` |
//!
//! Rendering is pure (no ZFS, no files) except [`write_extras`].

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
pub use clap_complete::Shell;

/// The shells [`write_extras`] writes completions for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// One rendered manual page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManPage {
    /// File name, e.g. `zsync.1`, `zsync-sync.1`.
    pub file_name: String,
    /// The page in roff (man macros).
    pub roff: Vec<u8>,
}

/// The `zsync` completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = crate::args::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "zsync", &mut out);
    out
}

/// Where `shell`'s completion file goes, relative to an install prefix (e.g. `/usr`).
pub fn completion_path(shell: Shell) -> PathBuf {
    match shell {
        Shell::Bash => "share/bash-completion/completions/zsync".into(),
        Shell::Zsh => "share/zsh/site-functions/_zsync".into(),
        Shell::Fish => "share/fish/vendor_completions.d/zsync.fish".into(),
        Shell::Elvish => "share/elvish/lib/zsync.elv".into(),
        Shell::PowerShell => "share/powershell/zsync.ps1".into(),
        _ => format!("share/zsync/completions/zsync.{shell}").into(),
    }
}

/// `zsync.1` and one page per visible subcommand, nested ones included (`zsync-config-show.1`).
pub fn man_pages() -> Vec<ManPage> {
    let mut cmd = crate::args::Cli::command();
    // Building gives subcommands their display names (`zsync-sync`) and propagates global flags.
    cmd.build();
    let mut pages = Vec::new();
    collect_pages(&cmd, &mut pages);
    pages
}

fn collect_pages(cmd: &clap::Command, pages: &mut Vec<ManPage>) {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut roff = Vec::new();
    man.render(&mut roff)
        .expect("rendering into a Vec<u8> cannot fail");
    pages.push(ManPage {
        file_name: man.get_filename(),
        roff,
    });
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect_pages(sub, pages);
    }
}

/// Where the man pages go, relative to an install prefix.
pub const MAN_DIR: &str = "share/man/man1";

/// Writes the bash, zsh and fish completions and every man page under `prefix` (creating the
/// directories); returns the files written. An error names the file it could not write.
pub fn write_extras(prefix: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for shell in SHELLS {
        let path = prefix.join(completion_path(shell));
        write_file(&path, &completion(shell))?;
        written.push(path);
    }
    let man_dir = prefix.join(MAN_DIR);
    for page in man_pages() {
        let path = man_dir.join(&page.file_name);
        write_file(&path, &page.roff)?;
        written.push(path);
    }
    Ok(written)
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(named)?;
    }
    std::fs::write(path, bytes).map_err(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible subcommand name of `cmd`, nested ones as `config show`.
    fn subcommands(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{prefix}{}", sub.get_name());
            out.push(name.clone());
            subcommands(sub, &format!("{name} "), out);
        }
    }

    fn all_subcommands() -> Vec<String> {
        let mut out = Vec::new();
        subcommands(&crate::args::Cli::command(), "", &mut out);
        out
    }

    #[test]
    fn bash_completion_names_every_subcommand_and_value() {
        let bash = String::from_utf8(completion(Shell::Bash)).unwrap();
        assert!(bash.contains("complete -F _zsync"), "{bash}");
        let subs = all_subcommands();
        for needed in [
            "sync",
            "plan",
            "cron",
            "monitor",
            "clone",
            "config show",
            "syncoid",
        ] {
            assert!(
                subs.iter().any(|s| s == needed),
                "{needed} missing from {subs:?}"
            );
        }
        for sub in &subs {
            let leaf = sub.rsplit(' ').next().unwrap();
            assert!(
                bash.contains(leaf),
                "bash completion lacks subcommand {sub}"
            );
        }
        for flag in ["--ssh-transport", "--sshkey", "--backend", "--dry-run"] {
            assert!(bash.contains(flag), "bash completion lacks {flag}");
        }
        // --ssh-transport's values are offered (not just the flag).
        let line = bash
            .lines()
            .skip_while(|l| !l.contains("--ssh-transport)"))
            .take(3)
            .collect::<String>();
        for value in ["ssh2", "openssh", "auto"] {
            assert!(
                line.contains(value),
                "--ssh-transport lacks {value}: {line}"
            );
        }
        // monitor's checks too.
        for value in ["snapshots", "health", "capacity"] {
            assert!(
                bash.contains(value),
                "bash completion lacks monitor check {value}"
            );
        }
    }

    #[test]
    fn zsh_and_fish_completions_name_the_subcommands() {
        let zsh = String::from_utf8(completion(Shell::Zsh)).unwrap();
        let fish = String::from_utf8(completion(Shell::Fish)).unwrap();
        assert!(zsh.starts_with("#compdef zsync"), "{zsh}");
        for sub in ["sync", "plan", "cron", "monitor", "clone"] {
            assert!(zsh.contains(sub), "zsh lacks {sub}");
            assert!(fish.contains(&format!("-a \"{sub}\"")), "fish lacks {sub}");
        }
        assert!(fish.contains("ssh-transport"), "{fish}");
    }

    /// `roff` with the common escapes undone (`\-` → `-`), so flags read as typed.
    fn plain(roff: &[u8]) -> String {
        String::from_utf8(roff.to_vec())
            .unwrap()
            .replace("\\-", "-")
    }

    /// The `.TH` title and the `.SH` section names of a man page; panics on a malformed page.
    fn headers(page: &str) -> (String, Vec<String>) {
        let mut lines = page.lines();
        let th = lines
            .by_ref()
            .find(|l| !l.starts_with(".ie") && !l.starts_with(".el") && !l.starts_with(".\\\""))
            .expect("empty page");
        assert!(th.starts_with(".TH "), "first macro is not .TH: {th:?}");
        let title = th[4..].split_whitespace().next().unwrap().to_string();
        let sections = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|s| s.trim_matches('"').to_string())
            .collect();
        (title, sections)
    }

    #[test]
    fn man_pages_are_roff_with_every_subcommand_and_flag() {
        let pages = man_pages();
        let names: Vec<&str> = pages.iter().map(|p| p.file_name.as_str()).collect();
        assert_eq!(names[0], "zsync.1");
        for sub in all_subcommands() {
            let file = format!("zsync-{}.1", sub.replace(' ', "-"));
            assert!(
                names.contains(&file.as_str()),
                "{file} missing from {names:?}"
            );
        }
        let mut cmd = crate::args::Cli::command();
        cmd.build();
        let top = plain(&pages[0].roff);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            assert!(
                top.contains(sub.get_name()),
                "zsync.1 lacks {}",
                sub.get_name()
            );
        }
        for page in &pages {
            let text = plain(&page.roff);
            let (title, sections) = headers(&text);
            assert_eq!(format!("{title}.1"), page.file_name);
            for needed in ["NAME", "SYNOPSIS", "DESCRIPTION"] {
                assert!(
                    sections.iter().any(|s| s == needed),
                    "{title}: no .SH {needed}"
                );
            }
            // Every visible flag of the page's command is documented on it.
            let path: Vec<&str> = title.split('-').skip(1).collect();
            let mut sub = &cmd;
            for part in &path {
                sub = sub.find_subcommand(part).unwrap();
            }
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    assert!(
                        text.contains(&format!("--{long}")),
                        "{title} lacks --{long}"
                    );
                }
            }
        }
        let sync = plain(
            &pages
                .iter()
                .find(|p| p.file_name == "zsync-sync.1")
                .unwrap()
                .roff,
        );
        for needed in [
            "--ssh-transport",
            "ssh2",
            "openssh",
            "--sshkey",
            "--backend",
        ] {
            assert!(sync.contains(needed), "zsync-sync.1 lacks {needed}");
        }
    }

    #[test]
    fn write_extras_lays_out_the_usual_tree() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_extras(dir.path()).unwrap();
        for rel in [
            "share/bash-completion/completions/zsync",
            "share/zsh/site-functions/_zsync",
            "share/fish/vendor_completions.d/zsync.fish",
            "share/man/man1/zsync.1",
            "share/man/man1/zsync-sync.1",
            "share/man/man1/zsync-config-show.1",
        ] {
            let path = dir.path().join(rel);
            assert!(written.contains(&path), "{rel} not reported");
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 100, "{rel} is {len} bytes");
        }
        assert_eq!(written.len(), SHELLS.len() + man_pages().len());
    }

    #[test]
    fn an_unwritable_prefix_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"").unwrap();
        let err = write_extras(&file).unwrap_err().to_string();
        assert!(err.contains("not-a-dir"), "{err}");
    }

    /// Every page formats without a groff warning (`-ww`) when groff is installed (Debian:
    /// groff-base, which man-db needs); skipped with a note otherwise.
    #[test]
    fn man_pages_format_cleanly_with_groff() {
        let dir = tempfile::tempdir().unwrap();
        for page in man_pages() {
            let path = dir.path().join(&page.file_name);
            std::fs::write(&path, &page.roff).unwrap();
            // -k: preconv, as man(1) runs it (the help text has UTF-8 arrows).
            let out = match std::process::Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(&path)
                .output()
            {
                Ok(out) => out,
                Err(e) => {
                    eprintln!("groff not runnable ({e}); skipping the roff check");
                    return;
                }
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.is_empty(),
                "{}: {stderr}",
                page.file_name
            );
        }
    }
}
