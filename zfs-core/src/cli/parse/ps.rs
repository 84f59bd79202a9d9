//! `ps -Ao args=`: which datasets running `zfs receive` processes write into (syncoid's busy check,
//! so a second run into the same target skips it instead of failing mid-receive).

/// The datasets that running `zfs receive` / `zfs recv` processes write into, read from `ps -Ao
/// args=` output: a command line with a `zfs` word (any path) followed by `receive` or `recv`, whose
/// last word (not an option) is the target; a `DS@snap` target counts as `DS`. Lines that are not
/// such a command are ignored; duplicates are kept once, in order.
pub fn receive_targets(ps: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in ps.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = words.windows(2).position(|w| {
            w[0].rsplit('/').next() == Some("zfs") && matches!(w[1], "receive" | "recv")
        }) else {
            continue;
        };
        let Some(last) = words.last().filter(|_| words.len() > i + 2) else {
            continue;
        };
        if last.starts_with('-') {
            continue;
        }
        let ds = last.split('@').next().unwrap_or(last).to_string();
        if !out.contains(&ds) {
            out.push(ds);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receives_and_their_targets() {
        let ps = "/sbin/init\n\
                  zfs receive -s -F tank/dst\n\
                  sudo -n /usr/sbin/zfs recv -u -o compression=lz4 backup/a@s1\n\
                  zfs send -I tank/a@s1 tank/a@s2\n\
                  zfs receive -A\n\
                  zfs receive\n\
                  vim zfs receive notes\n\
                  zfs receive -s -F tank/dst\n\
                  \n";
        assert_eq!(
            receive_targets(ps),
            ["tank/dst", "backup/a", "notes"],
            "an editor named like a receive counts, as in syncoid's pattern"
        );
        assert!(receive_targets("").is_empty());
        assert!(receive_targets("\u{0}\u{1}zfs\treceive\t\n").is_empty());
    }
}
