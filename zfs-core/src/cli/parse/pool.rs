//! Parsing `zpool list -Hp` (nom) into capacity and health, and `zpool status -p` into vdev detail.
//!
//! [`Backend::pools`](crate::Backend::pools) runs ONE
//! `zpool list -Hp -o name,health,size,allocated,free,capacity,fragmentation [POOL...]` (again, up to
//! three times, while it prints a pool as `-`: see [`PoolList::unreadable`]); that is all capacity
//! checks and `prune_defer` need. [`Backend::pool_status`](crate::Backend::pool_status) adds ONE
//! `zpool status -p [POOL...]` and attaches a [`PoolDetail`] to each pool: the vdev tree with each
//! device's state and read/write/checksum error counters, the `scan:` line (errors found by the last
//! scrub or resilver) and the `errors:` line (permanent data errors).
//!
//! `zpool status` has no machine-readable form before OpenZFS 2.3 (`-j`), and Proxmox and other systems
//! run 2.1/2.2, so its text is parsed. The parser is lenient: a line it does not understand is skipped,
//! never a panic or an error, so an unexpected addition in a future release degrades the detail instead
//! of the whole check. The vdev table is read by the column position of `STATE` in its header (device
//! names may contain spaces), falling back to whitespace splitting.

use super::error::ParseError;
use super::fields::{field, tab_field};
use crate::cli::argv::LIST_COLUMNS;
use crate::name::PoolName;
use crate::pool::{ErrorCounts, PoolDetail, PoolHealth, PoolStatus, VdevStatus};
use nom::combinator::all_consuming;
use nom::{IResult, Parser};

/// A state word `zpool status` uses for vdevs (the known ones plus spare states `AVAIL`/`INUSE`).
fn is_state_word(s: &str) -> bool {
    !matches!(PoolHealth::parse(s), PoolHealth::Other(_)) || matches!(s, "AVAIL" | "INUSE")
}

/// The seven tab-separated fields of one `zpool list -Hp` line.
fn list_line(i: &str) -> IResult<&str, [&str; 7]> {
    let (i, (a, b, c, d, e, f, g)) = all_consuming((
        field, tab_field, tab_field, tab_field, tab_field, tab_field, tab_field,
    ))
    .parse(i)?;
    Ok((i, [a, b, c, d, e, f, g]))
}

fn number(what: &str, s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("{what} {s:?} is not a byte count"))
}

fn percent(what: &str, s: &str) -> Result<Option<u8>, String> {
    let t = s.trim_end_matches('%');
    if t == "-" {
        return Ok(None);
    }
    // `zpool list -p` prints whole percentages; accept a fraction (rounded down) to be safe.
    let whole = t.split('.').next().unwrap_or(t);
    match whole.parse::<u64>() {
        Ok(v) => Ok(Some(v.min(u64::from(u8::MAX)) as u8)),
        Err(_) => Err(format!("{what} {s:?} is not a percentage")),
    }
}

/// What one `zpool list -Hp` run printed: the pools it could read, and the lines it could not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolList {
    /// Pools in `zpool list` order.
    pub pools: Vec<PoolStatus>,
    /// 1-based lines where `zpool` printed `-` for the name: it could not read that pool's
    /// properties. A pool exported or destroyed while `zpool list` ran shows up this way (the
    /// next listing no longer has it); so does a pool whose properties stay unreadable.
    pub unreadable: Vec<usize>,
}

/// Parses `zpool list -Hp -o name,health,size,allocated,free,capacity,fragmentation` output.
///
/// A row named `-` is not an error: it goes to [`PoolList::unreadable`] (see there).
pub fn parse_pool_list(text: &str) -> Result<PoolList, ParseError> {
    let mut pools = Vec::new();
    let mut unreadable = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if l.trim().is_empty() {
            continue;
        }
        let err = |detail: String| ParseError { line, detail };
        let (_, [name, health, size, alloc, free, cap, frag]) = list_line(l).map_err(|_| {
            err(format!(
                "expected {} tab-separated fields, got {:?}",
                LIST_COLUMNS.len(),
                l
            ))
        })?;
        if name == "-" {
            unreadable.push(line);
            continue;
        }
        let name = PoolName::parse(name).map_err(|e| err(e.to_string()))?;
        let capacity = percent("capacity", cap)
            .map_err(&err)?
            .ok_or_else(|| err(format!("pool {name}: capacity is `-`")))?;
        pools.push(PoolStatus {
            health: PoolHealth::parse(health),
            size: number("size", size).map_err(&err)?,
            allocated: number("allocated", alloc).map_err(&err)?,
            free: number("free", free).map_err(&err)?,
            capacity,
            fragmentation: percent("fragmentation", frag).map_err(&err)?,
            detail: None,
            name,
        });
    }
    Ok(PoolList { pools, unreadable })
}

/// An error counter: exact with `-p`; `1.2K`-style without it (read approximately).
fn counter(s: &str) -> Option<u64> {
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let mult: u64 = match unit {
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    let v: f64 = num.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v * mult as f64) as u64)
}

/// `... with N errors ...` in a `scan:` paragraph.
fn scan_errors(scan: &str) -> Option<u64> {
    let words: Vec<&str> = scan.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        (w[0] == "with" && (w[2] == "errors" || w[2] == "error"))
            .then(|| w[1].parse().ok())
            .flatten()
    })
}

/// `No known data errors` → 0; `N data errors, ...` → N.
fn data_errors(errors: &str) -> Option<u64> {
    let e = errors.trim();
    if e.eq_ignore_ascii_case("no known data errors") {
        return Some(0);
    }
    let mut w = e.split_whitespace();
    let n = w.next()?.parse().ok()?;
    (w.next() == Some("data")).then_some(n)
}

const SECTIONS: [&str; 5] = ["logs", "cache", "spares", "special", "dedup"];

/// Parses one row of the config table. `line` has the leading tab removed; `state_col` is where
/// `STATE` starts in the header.
fn vdev_row(line: &str, state_col: Option<usize>) -> Option<VdevStatus> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let body = &line[indent..];
    if body.is_empty() {
        return None;
    }
    let depth = indent / 2;
    // Column split: the name is padded to the STATE column (then two blanks).
    let by_column = state_col.and_then(|col| {
        let (name, rest) = (line.get(indent..col)?, line.get(col..)?);
        let name = name.trim_end();
        let first = rest.split_whitespace().next()?;
        (!name.is_empty() && rest.starts_with(first) && is_state_word(first))
            .then(|| (name.to_owned(), rest))
    });
    let (name, rest) = match by_column {
        Some(x) => x,
        None => {
            // Fallback: the first state word after the first token ends the name.
            let tokens: Vec<&str> = body.split(' ').collect();
            let mut found = None;
            let mut offset = 0;
            for (i, t) in tokens.iter().enumerate() {
                if i > 0 && is_state_word(t) {
                    found = Some(offset);
                    break;
                }
                offset += t.len() + 1;
            }
            match found {
                Some(off) => (body[..off].trim_end().to_owned(), &body[off..]),
                // A heading (`logs`) or a row with nothing after the name.
                None => (body.trim_end().to_owned(), ""),
            }
        }
    };
    let mut words = rest.split_whitespace();
    let state = match words.next() {
        Some(s) => PoolHealth::parse(s),
        None => PoolHealth::Other(String::new()),
    };
    let rest_words: Vec<&str> = words.collect();
    let counters = match rest_words.as_slice() {
        [r, w, c, ..] => match (counter(r), counter(w), counter(c)) {
            (Some(read), Some(write), Some(checksum)) => Some(ErrorCounts {
                read,
                write,
                checksum,
            }),
            _ => None,
        },
        _ => None,
    };
    let note_words = if counters.is_some() {
        &rest_words[3..]
    } else {
        &rest_words[..]
    };
    let note = (!note_words.is_empty()).then(|| note_words.join(" "));
    Some(VdevStatus {
        name,
        depth,
        section: None,
        state,
        counters,
        note,
    })
}

/// One parsed block of `zpool status` output.
fn finish_block(name: &str, d: PoolDetail, out: &mut Vec<(String, PoolDetail)>) {
    if !name.is_empty() {
        out.push((name.to_owned(), d));
    }
}

/// Parses `zpool status [-p]` text into (pool name, detail) pairs, in order. Never fails: lines it does
/// not recognise are skipped.
pub fn parse_pool_status(text: &str) -> Vec<(String, PoolDetail)> {
    #[derive(PartialEq)]
    enum Field {
        None,
        Status,
        Action,
        Scan,
        Config,
        Other,
    }
    let mut out = Vec::new();
    let mut name = String::new();
    let mut d = PoolDetail::default();
    let mut field = Field::None;
    let mut state_col: Option<usize> = None;
    let mut section: Option<String> = None;
    let append = |slot: &mut Option<String>, text: &str| {
        let t = text.trim();
        if t.is_empty() {
            return;
        }
        match slot {
            Some(s) => {
                s.push(' ');
                s.push_str(t);
            }
            None => *slot = Some(t.to_owned()),
        }
    };
    for raw in text.lines() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        // `  pool: NAME`, ` state: X`, `config:` ... : a key at the start, right-aligned to 6 chars.
        let key = trimmed.split_once(':').and_then(|(k, v)| {
            let lead = line.len() - trimmed.len();
            (lead <= 8
                && !line.starts_with('\t')
                && !k.is_empty()
                && k.chars().all(|c| c.is_ascii_lowercase()))
            .then_some((k, v))
        });
        if let Some((k, v)) = key {
            match k {
                "pool" => {
                    finish_block(&name, std::mem::take(&mut d), &mut out);
                    name = v.trim().to_owned();
                    field = Field::Other;
                }
                "state" => {
                    d.state = Some(PoolHealth::parse(v));
                    field = Field::Other;
                }
                "status" => {
                    append(&mut d.status, v);
                    field = Field::Status;
                }
                "action" => {
                    append(&mut d.action, v);
                    field = Field::Action;
                }
                "scan" => {
                    append(&mut d.scan, v);
                    field = Field::Scan;
                }
                "config" => {
                    field = Field::Config;
                    state_col = None;
                    section = None;
                }
                "errors" => {
                    let e = v.trim().to_owned();
                    d.data_errors = data_errors(&e);
                    d.errors = Some(e);
                    field = Field::Other;
                }
                _ => field = Field::Other,
            }
            continue;
        }
        match field {
            Field::Status => append(&mut d.status, line),
            Field::Action => append(&mut d.action, line),
            Field::Scan => append(&mut d.scan, line),
            Field::Config => {
                let Some(row) = line.strip_prefix('\t') else {
                    continue;
                };
                if row.trim().is_empty() {
                    continue;
                }
                if state_col.is_none() {
                    let mut w = row.split_whitespace();
                    if w.next() == Some("NAME") && w.next() == Some("STATE") {
                        state_col = row.find("STATE");
                        continue;
                    }
                }
                let Some(mut v) = vdev_row(row, state_col) else {
                    continue;
                };
                if v.depth == 0 && SECTIONS.contains(&v.name.as_str()) {
                    section = Some(v.name.clone());
                } else if v.depth == 0 {
                    section = None;
                }
                v.section = section.clone();
                d.vdevs.push(v);
            }
            Field::None | Field::Other => {}
        }
    }
    finish_block(&name, d, &mut out);
    for (_, d) in &mut out {
        d.scan_errors = d.scan.as_deref().and_then(scan_errors);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::argv::pools_args;

    #[test]
    fn list_args_and_parse() {
        assert_eq!(
            pools_args(&[PoolName::parse("tank").unwrap()]),
            vec![
                "list",
                "-Hp",
                "-o",
                "name,health,size,allocated,free,capacity,fragmentation",
                "tank"
            ]
        );
        let list = parse_pool_list(
            "tank\tONLINE\t1000\t250\t750\t25\t3\nmy pool\tDEGRADED\t10\t9\t1\t90%\t-\n\n",
        )
        .unwrap();
        assert!(list.unreadable.is_empty());
        let p = list.pools;
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name.as_str(), "tank");
        assert_eq!(p[0].health, PoolHealth::Online);
        assert_eq!((p[0].size, p[0].allocated, p[0].free), (1000, 250, 750));
        assert_eq!((p[0].capacity, p[0].fragmentation), (25, Some(3)));
        assert_eq!(p[1].name.as_str(), "my pool");
        assert_eq!(p[1].health, PoolHealth::Degraded);
        assert_eq!((p[1].capacity, p[1].fragmentation), (90, None));
        let e = parse_pool_list("tank\tONLINE\t1\t2\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_pool_list("tank\tONLINE\t1\t1\t0\t100\t0\nx\tONLINE\tbig\t1\t1\t1\t1\n")
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.detail.contains("size"), "{e}");
        assert_eq!(
            PoolHealth::parse("weird"),
            PoolHealth::Other("weird".into())
        );
        assert_eq!(PoolHealth::parse("suspended"), PoolHealth::Suspended);
    }

    #[test]
    fn counters_and_lines() {
        assert_eq!(counter("0"), Some(0));
        assert_eq!(counter("1.50K"), Some(1536));
        assert_eq!(counter("x"), None);
        assert_eq!(counter(""), None);
        assert_eq!(
            scan_errors("scrub repaired 0B in 00:00:01 with 0 errors on Fri Nov 27 2026"),
            Some(0)
        );
        assert_eq!(
            scan_errors("resilvered 1M in 00:00:01 with 7 errors on x"),
            Some(7)
        );
        assert_eq!(scan_errors("scrub in progress since x"), None);
        assert_eq!(data_errors("No known data errors"), Some(0));
        assert_eq!(data_errors("3 data errors, use '-v' for a list"), Some(3));
        assert_eq!(
            data_errors("List of errors unavailable: pool I/O is currently suspended"),
            None
        );
    }

    /// `zpool status -p` of five lab pools (OpenZFS 2.3.2): capc = mirror with checksum errors repaired
    /// by a scrub, caph = healthy, capm = mirror with one member offlined, caps = single vdev with
    /// permanent data errors, capu = mirror re-imported with one member missing.
    const STATUS: &str = include_str!("../../../testdata/zpool-status-2.3.2.txt");
    const STATUS_V: &str = include_str!("../../../testdata/zpool-status-v-2.3.2.txt");
    const LIST: &str = include_str!("../../../testdata/zpool-list-2.3.2.txt");
    const DIR: &str = "/work/main/target/lab/run-1795804849-5208/capd/";

    fn detail<'a>(all: &'a [(String, PoolDetail)], pool: &str) -> &'a PoolDetail {
        &all.iter().find(|(n, _)| n == pool).unwrap().1
    }

    #[test]
    fn unreadable_pool_rows_are_counted_not_fatal() {
        // What `zpool list -Hp` printed in the lab for a pool destroyed while it was being listed.
        let list = parse_pool_list(
            "a\tONLINE\t1000\t250\t750\t25\t3\n-\t-\t-\t-\t-\t-\t-\nb\tONLINE\t1\t0\t1\t0\t0\n",
        )
        .unwrap();
        let names: Vec<&str> = list.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(list.unreadable, [2]);
        // Other bad names are still errors.
        let e = parse_pool_list("a\tONLINE\t1\t0\t1\t0\t0\n-x\t-\t-\t-\t-\t-\t-\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn real_list_output() {
        let p = parse_pool_list(LIST).unwrap().pools;
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["capc", "caph", "capm", "caps", "capu"]);
        assert_eq!(p[2].health, PoolHealth::Degraded);
        assert_eq!(p[0].capacity, 25);
        assert_eq!(p[0].size, 50331648);
        assert_eq!(p[0].allocated + p[0].free, p[0].size);
        assert_eq!(p[0].fragmentation, Some(28));
    }

    #[test]
    fn real_status_healthy() {
        let all = parse_pool_status(STATUS);
        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["capc", "caph", "capm", "caps", "capu"]);
        let h = detail(&all, "caph");
        assert_eq!(h.state, Some(PoolHealth::Online));
        assert_eq!((h.status.as_deref(), h.scan.as_deref()), (None, None));
        assert_eq!(h.data_errors, Some(0));
        assert_eq!(h.vdevs.len(), 2);
        assert_eq!(h.vdevs[0].name, "caph");
        assert_eq!(h.vdevs[0].depth, 0);
        assert_eq!(h.vdevs[1].name, format!("{DIR}h.img"));
        assert_eq!(h.vdevs[1].depth, 1);
        assert_eq!(h.vdevs[1].counters, Some(ErrorCounts::default()));
        assert_eq!(h.problem_vdevs().count(), 0);
    }

    #[test]
    fn real_status_degraded_offline_and_unavail() {
        let all = parse_pool_status(STATUS);
        let m = detail(&all, "capm");
        assert_eq!(m.state, Some(PoolHealth::Degraded));
        assert!(m.status.as_deref().unwrap().starts_with(
            "One or more devices has been taken offline by the administrator. Sufficient"
        ));
        let names: Vec<(&str, usize, &PoolHealth)> = m
            .vdevs
            .iter()
            .map(|v| (v.name.as_str(), v.depth, &v.state))
            .collect();
        assert_eq!(names[1], ("mirror-0", 1, &PoolHealth::Degraded));
        assert_eq!(names[3].1, 2);
        let bad: Vec<&VdevStatus> = m.problem_vdevs().collect();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[1].name, format!("{DIR}m2.img"));
        assert_eq!(bad[1].state, PoolHealth::Offline);
        assert_eq!(bad[1].note, None);
        let u = detail(&all, "capu");
        let missing = u.problem_vdevs().last().unwrap();
        assert_eq!(missing.name, "4930432172782696273");
        assert_eq!(missing.state, PoolHealth::Unavail);
        assert_eq!(missing.note.clone().unwrap(), format!("was {DIR}u2.img"));
        assert_eq!(missing.errors().total(), 0);
    }

    #[test]
    fn real_status_checksum_errors() {
        let all = parse_pool_status(STATUS);
        let c = detail(&all, "capc");
        assert_eq!(c.state, Some(PoolHealth::Online));
        assert_eq!(c.scan_errors, Some(0));
        assert!(c
            .scan
            .as_deref()
            .unwrap()
            .starts_with("scrub repaired 12.1M"));
        assert_eq!(c.data_errors, Some(0));
        let bad: Vec<&VdevStatus> = c.problem_vdevs().collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].name, format!("{DIR}c2.img"));
        assert_eq!(
            bad[0].errors(),
            ErrorCounts {
                read: 0,
                write: 0,
                checksum: 152
            }
        );
        let s = detail(&all, "caps");
        assert_eq!(s.scan_errors, Some(155));
        assert_eq!(s.data_errors, Some(120));
        assert_eq!(
            s.errors.as_deref(),
            Some("120 data errors, use '-v' for a list")
        );
        assert_eq!(s.problem_vdevs().next().unwrap().errors().checksum, 402);
        // With -v the file list follows `errors:`; it must not become vdevs or fields.
        let v = parse_pool_status(STATUS_V);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1.vdevs, s.vdevs);
        assert_eq!(v[0].1.data_errors, None);
    }

    #[test]
    fn status_without_column_alignment_and_sections() {
        // Shifted columns (hand-edited or another release): the fallback splits on the state word.
        let text = "  pool: my pool\n state: DEGRADED\nconfig:\n\n\tNAME STATE READ WRITE CKSUM\n\
                    \tmy pool DEGRADED 0 0 0\n\t  raidz1-0 DEGRADED 0 0 0\n\t    sda ONLINE 0 0 0\n\
                    \t    sdb FAULTED 3 1.50K 0 too many errors\n\tlogs\n\t  sdc ONLINE 0 0 0\n\
                    \tspares\n\t  sdd AVAIL\n\nerrors: No known data errors\n";
        let all = parse_pool_status(text);
        assert_eq!(all[0].0, "my pool");
        let d = &all[0].1;
        assert_eq!(d.vdevs[0].name, "my pool");
        let sdb = &d.vdevs[3];
        assert_eq!(
            (sdb.name.as_str(), &sdb.state),
            ("sdb", &PoolHealth::Faulted)
        );
        assert_eq!(sdb.errors().write, 1536);
        assert_eq!(sdb.note.as_deref(), Some("too many errors"));
        assert_eq!(d.vdevs[4].name, "logs");
        assert_eq!(d.vdevs[5].section.as_deref(), Some("logs"));
        assert_eq!(d.vdevs[5].depth, 1);
        let sdd = &d.vdevs[7];
        assert_eq!(sdd.section.as_deref(), Some("spares"));
        assert_eq!((sdd.state.as_str(), sdd.counters), ("AVAIL", None));
        assert_eq!(d.vdevs[2].section, None);
    }

    #[test]
    fn odd_status_text_never_panics() {
        for t in [
            "",
            "\n\n",
            "no pools available\n",
            "  pool: \n",
            "  pool: x\nconfig:\n\tNAME\n\tx\n\t  \n\t\u{e9}\u{e9}\u{e9} ONLINE 0\n",
            "config:\n\t  a  b  c\n\tNAME  STATE\n\t\u{e9}x  ONLINE  1 2 3 4 5\n",
            "  pool: y\nerrors: \nscan: with x errors\n",
        ] {
            let _ = parse_pool_status(t);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(lines in proptest::collection::vec(
            proptest::string::string_regex("[ \t]{0,3}(pool:|state:|config:|errors:|scan:|NAME STATE|[a-z0-9/ .-]{0,12}|ONLINE|OFFLINE|[0-9]{1,3}|\u{e9}){0,5}").unwrap(), 0..20)) {
            let text = lines.join("\n");
            let _ = parse_pool_status(&text);
            let _ = parse_pool_list(&text.replace(' ', "\t"));
        }
    }
}
