//! OpenSSH host patterns: `*` (any run of characters) and `?` (one character), a list of them with
//! `!negation`, as `Host` lines in ssh_config and host fields in known_hosts use them. Matching
//! ignores ASCII case, as OpenSSH does for host names.

/// Whether `text` matches the wildcard `pattern` (`*`, `?`; everything else literal, ASCII case
/// ignored).
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<u8> = pattern.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let t: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
    // Iterative matcher with one backtrack point (the last `*`): linear in practice, never
    // exponential on hostile patterns.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// How a pattern list judged a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListMatch {
    /// A positive pattern matched and no negated one did.
    Yes,
    /// No pattern matched.
    No,
    /// A negated pattern (`!pat`) matched: the list never matches this name, whatever else does.
    Negated,
}

/// Matches `name` against a list of patterns, each optionally negated with a leading `!`.
pub(crate) fn list<'a>(patterns: impl IntoIterator<Item = &'a str>, name: &str) -> ListMatch {
    let mut hit = false;
    for pat in patterns {
        match pat.strip_prefix('!') {
            Some(neg) => {
                if wildcard(neg, name) {
                    return ListMatch::Negated;
                }
            }
            None => hit |= wildcard(pat, name),
        }
    }
    if hit {
        ListMatch::Yes
    } else {
        ListMatch::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards() {
        let yes = [
            ("*", ""),
            ("*", "anything"),
            ("backup", "BACKUP"),
            ("*.example.org", "b1.example.org"),
            ("b?", "b1"),
            ("b*1", "b-x-1"),
            ("*a*b*", "xxaxxbxx"),
            ("[10.0.0.2]:2222", "[10.0.0.2]:2222"),
        ];
        for (p, t) in yes {
            assert!(wildcard(p, t), "{p} ~ {t}");
        }
        let no = [
            ("*.example.org", "example.org"),
            ("b?", "b"),
            ("b?", "b12"),
            ("backup", "backup2"),
            ("", "x"),
            ("a*b", "acbx"),
        ];
        for (p, t) in no {
            assert!(!wildcard(p, t), "{p} !~ {t}");
        }
    }

    #[test]
    fn negation_wins_over_any_positive_match() {
        assert_eq!(list(["*.org", "!bad.org"], "ok.org"), ListMatch::Yes);
        assert_eq!(list(["*.org", "!bad.org"], "bad.org"), ListMatch::Negated);
        assert_eq!(list(["!bad.org", "*.org"], "bad.org"), ListMatch::Negated);
        assert_eq!(list(["!bad.org"], "other"), ListMatch::No);
        assert_eq!(list(["a", "b"], "b"), ListMatch::Yes);
        assert_eq!(list([], "b"), ListMatch::No);
    }

    proptest! {
        #[test]
        fn star_patterns_never_hang_or_panic(p in "[*?a]{0,40}", t in "[ab]{0,40}") {
            let _ = wildcard(&p, &t);
        }

        #[test]
        fn a_literal_matches_itself(t in "[a-z0-9.:\\[\\]-]{0,30}") {
            prop_assert!(wildcard(&t, &t));
            prop_assert!(wildcard("*", &t));
        }
    }
}
