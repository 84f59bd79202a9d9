//! `cargo xtask dist-extras --out PREFIX`: shell completions and man pages for packagers.
//!
//! Runs the zsync crate's `dist_extras` example (`zsync_cli::extras::write_extras`) built for the
//! build host, so no target binary has to run (works when cross-compiling), and xtask itself does
//! not depend on zsync: `cargo xtask lab setup` must build on a fresh machine before the C
//! libraries zsync links (libssh2/OpenSSL) are installed. The files land under PREFIX as
//! distributions install them (`PREFIX/share/bash-completion/completions/zsync`,
//! `PREFIX/share/man/man1/zsync.1`, ...).

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, Result};

use crate::util;

/// The `cargo` arguments that write the extras under `prefix` (made absolute: cargo runs in the
/// repository root).
pub fn cargo_args(prefix: &Path) -> Result<Vec<OsString>> {
    let prefix = std::path::absolute(prefix)
        .with_context(|| format!("dist-extras: --out {}", prefix.display()))?;
    let mut args: Vec<OsString> = ["run", "--quiet", "-p", "zsync", "--example", "dist_extras"]
        .map(OsString::from)
        .into();
    args.extend(["--".into(), "--out".into(), prefix.into_os_string()]);
    Ok(args)
}

/// Writes the completions and man pages under `prefix`; the example prints each file written.
pub fn run(prefix: &Path) -> Result<()> {
    util::run(util::cargo().args(cargo_args(prefix)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_the_example_with_an_absolute_prefix() {
        let args = cargo_args(Path::new("pkg/usr")).unwrap();
        let words: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words[..6],
            ["run", "--quiet", "-p", "zsync", "--example", "dist_extras"]
        );
        assert_eq!(words[6..8], ["--", "--out"]);
        let prefix = Path::new(&words[8]);
        assert!(
            prefix.is_absolute() && prefix.ends_with("pkg/usr"),
            "{prefix:?}"
        );
    }
}
