//! Parsing `zfs send -nvP` output: the estimated stream size.

/// Finds the `size<TAB>N` line of `zfs send -nvP` output.
pub fn parse_send_size(text: &str) -> Option<u64> {
    text.lines().rev().find_map(|l| {
        let mut it = l.split('\t');
        match (it.next(), it.next(), it.next()) {
            (Some("size"), Some(n), None) => n.trim().parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_size_parsing() {
        let out = "full\tp/a@s\t12345\nsize\t12345\n";
        assert_eq!(parse_send_size(out), Some(12345));
        let inc = "incremental\tp/a@a\tp/a@b\t4096\nsize\t4096\n";
        assert_eq!(parse_send_size(inc), Some(4096));
        assert_eq!(parse_send_size("garbage"), None);
        assert_eq!(parse_send_size("size\tx"), None);
    }
}
