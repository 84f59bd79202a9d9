//! Getopt::Long's single-dash long options (`-cron`), which sanoid and syncoid accept and clap
//! does not.

use std::ffi::OsString;

/// Getopt::Long accepts `-name` for `--name`; clap does not. Rewrites `-name[=v]` to `--name[=v]`
/// when `name` is one of `known` (so short flags like `-r` and values like `-1` are untouched).
/// Everything after a bare `--` is left alone.
pub fn normalize_getopt_long(args: &[OsString], known: &[&str]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for a in args {
        if rest {
            out.push(a.clone());
            continue;
        }
        let Some(s) = a.to_str() else {
            out.push(a.clone());
            continue;
        };
        if s == "--" {
            rest = true;
            out.push(a.clone());
            continue;
        }
        if s.len() > 2 && s.starts_with('-') && !s.starts_with("--") {
            let name = s[1..].split('=').next().unwrap_or("");
            if known.contains(&name) {
                out.push(OsString::from(format!("-{s}")));
                continue;
            }
        }
        out.push(a.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::os;
    use crate::args::syncoid::SYNCOID_LONG;

    #[test]
    fn normalize_leaves_short_flags_and_values() {
        let v = normalize_getopt_long(&os(&["-r", "-debug", "-x", "--", "-quiet"]), SYNCOID_LONG);
        assert_eq!(v, os(&["-r", "--debug", "-x", "--", "-quiet"]));
    }
}
