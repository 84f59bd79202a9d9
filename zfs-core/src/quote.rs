//! The one place that turns argv into a POSIX shell command line (for remote commands run through `ssh`).
//!
//! Everything else in zsync passes argv vectors and never builds shell strings. A remote shell receives one
//! string; [`join`] builds it so that the remote `sh` (dash, bash, busybox ash, zsh in sh mode) splits it
//! back into exactly the original words, with no expansion of any kind.
//!
//! Rule: a word made only of `[A-Za-z0-9_@%+:,./-]` (and not empty) is left bare, because no POSIX shell
//! gives any of those characters a meaning in that position; every other word is wrapped in single quotes,
//! inside which nothing is special except the single quote itself, written as `'\''` (close, escaped
//! quote, reopen). `=` is always quoted so that a first word is never taken for a variable assignment, and
//! `~`/`#` so that no word is taken for a home directory or a comment.
//!
//! A NUL byte cannot be passed in argv at all (the kernel would cut the word there); [`shell_quote`] keeps
//! it, and spawning such a command fails rather than running something else.

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'@' | b'%' | b'+' | b':' | b',' | b'.' | b'/' | b'-'
        )
}

/// Quotes one word for a POSIX shell.
///
/// ```
/// use zfs_core::quote::shell_quote;
/// assert_eq!(shell_quote("tank/data@s1"), "tank/data@s1");
/// assert_eq!(shell_quote("pool/my data@s 1"), "'pool/my data@s 1'");
/// assert_eq!(shell_quote("it's"), r"'it'\''s'");
/// assert_eq!(shell_quote(""), "''");
/// ```
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(is_bare) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Joins argv into one command line, each word quoted by [`shell_quote`] and separated by one space.
///
/// ```
/// use zfs_core::quote::join;
/// assert_eq!(join(&["zfs", "send", "pool/-x@s 1"]), "zfs send 'pool/-x@s 1'");
/// ```
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    let mut out = String::new();
    for (i, w) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&shell_quote(w.as_ref()));
    }
    out
}

/// The POSIX shells of this machine, for tests that run a command line through each of them.
#[cfg(test)]
pub(crate) mod test_shells {
    use std::process::Command;

    /// Shells available on this machine to check against (at least `sh`).
    pub(crate) fn shells() -> Vec<&'static str> {
        let mut v = vec!["sh"];
        for s in ["dash", "bash", "busybox", "zsh", "mksh", "ksh"] {
            if Command::new("sh")
                .args(["-c", &format!("command -v {s} >/dev/null")])
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
            {
                v.push(s);
            }
        }
        v
    }

    /// `shell` started as a POSIX `sh` (`busybox sh`, `zsh --emulate sh`); add `-c LINE`.
    pub(crate) fn shell_command(shell: &str) -> Command {
        let mut cmd = Command::new(shell);
        if shell == "busybox" {
            cmd.arg("sh");
        }
        if shell == "zsh" {
            cmd.args(["--emulate", "sh"]);
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::test_shells::{shell_command, shells};
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    /// Runs `printf '%s\0' <words>` through `shell -c` and returns the words it saw.
    fn argv_through(shell: &str, words: &[String]) -> Vec<String> {
        let mut line = String::from("printf '%s\\0'");
        for w in words {
            line.push(' ');
            line.push_str(&shell_quote(w));
        }
        let out = shell_command(shell)
            .arg("-c")
            .arg(&line)
            .output()
            .expect("run shell");
        assert!(
            out.status.success(),
            "{shell} failed on {line:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut seen: Vec<String> = out
            .stdout
            .split(|&b| b == 0)
            .map(|w| String::from_utf8(w.to_vec()).expect("utf8"))
            .collect();
        // printf with no words still prints one empty word; the trailing NUL leaves one extra empty split.
        seen.pop();
        if words.is_empty() {
            seen.clear();
        }
        seen
    }

    const HOSTILE: &[&str] = &[
        "pool/my data@s 1",
        "pool/-x",
        "ds@-s",
        "-n",
        "--",
        "a:b.c",
        "it's",
        "'",
        "''",
        "'\\''",
        "a;rm -rf /",
        "$(touch /tmp/zsync-quote-pwned)",
        "`touch /tmp/zsync-quote-pwned`",
        "$HOME",
        "${IFS}",
        "\"double\"",
        "back\\slash",
        "new\nline",
        "tab\there",
        "*",
        "?",
        "[a-z]",
        "~",
        "~root",
        "#comment",
        "a#b",
        "A=b",
        "&",
        "|",
        "a>b",
        "<",
        "(sub)",
        "{a,b}",
        "!",
        "!!",
        "",
        " ",
        "  leading and trailing  ",
        "\u{7f}\u{1}\u{1b}[31m",
        "ünïcödé ☃",
        "%",
        "a\\'b",
        "\\",
    ];

    #[test]
    fn quoting_examples() {
        assert_eq!(shell_quote("zfs"), "zfs");
        assert_eq!(shell_quote("-o"), "-o");
        assert_eq!(shell_quote("A=b"), "'A=b'");
        assert_eq!(shell_quote("~"), "'~'");
        assert_eq!(shell_quote("'"), r"''\'''");
        assert_eq!(join::<&str>(&[]), "");
        assert_eq!(join(&["a", "b c"]), "a 'b c'");
    }

    #[test]
    fn hostile_words_survive_every_shell() {
        let words: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        for sh in shells() {
            assert_eq!(argv_through(sh, &words), words, "shell {sh}");
            for w in &words {
                assert_eq!(
                    argv_through(sh, std::slice::from_ref(w)),
                    vec![w.clone()],
                    "shell {sh}, word {w:?}"
                );
            }
        }
        assert!(!std::path::Path::new("/tmp/zsync-quote-pwned").exists());
    }

    #[test]
    fn first_word_assignment_is_not_taken_as_assignment() {
        // `A=b printf ...` would be an assignment; quoted it must be a command name that is not found.
        let out = Command::new("sh")
            .arg("-c")
            .arg(join(&["A=b", "true"]))
            .output()
            .unwrap();
        assert!(!out.status.success());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_words_round_trip(words in proptest::collection::vec("[^\\x00]{0,12}", 0..6)) {
            prop_assert_eq!(argv_through("sh", &words), words);
        }
    }
}
