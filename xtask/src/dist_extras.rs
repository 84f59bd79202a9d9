//! `cargo xtask dist-extras --out PREFIX`: shell completions and man pages for packagers.
//!
//! Renders them from the zsync crate's clap grammar ([`zsync_cli::extras`]) on the build host, so
//! no target binary has to run (works when cross-compiling), and lays them out under PREFIX as
//! distributions install them (`PREFIX/share/bash-completion/completions/zsync`,
//! `PREFIX/share/man/man1/zsync.1`, ...).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Writes the completions and man pages under `prefix`; returns the files written.
pub fn run(prefix: &Path) -> Result<Vec<PathBuf>> {
    zsync_cli::extras::write_extras(prefix)
        .with_context(|| format!("dist-extras: writing under {}", prefix.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_usual_layout() {
        let dir = tempfile::tempdir().unwrap();
        let written = run(dir.path()).unwrap();
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
        let bash =
            std::fs::read_to_string(dir.path().join("share/bash-completion/completions/zsync"));
        assert!(bash.unwrap().contains("--ssh-transport"));
    }

    #[test]
    fn an_unwritable_prefix_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"").unwrap();
        let err = format!("{:#}", run(&file).unwrap_err());
        assert!(err.contains("not-a-dir"), "{err}");
    }

    /// Every page formats without a groff warning (`-ww`), when groff is installed (it is in the
    /// lab's and CI's Debian image: groff-base); skipped with a note otherwise.
    #[test]
    fn man_pages_format_cleanly_with_groff() {
        let dir = tempfile::tempdir().unwrap();
        let pages: Vec<PathBuf> = run(dir.path())
            .unwrap()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "1"))
            .collect();
        assert!(pages.len() > 5, "{pages:?}");
        for page in pages {
            // -k: preconv, as man(1) runs it (the help text has UTF-8 arrows).
            let out = match std::process::Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(&page)
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
                page.display()
            );
        }
    }
}
