//! Hostile input from ZFS itself: `zfs list`, `zfs get` and `zpool list`/`status` output as
//! another OpenZFS release (or a broken one) might print it — a column more or less, shifted
//! columns, a header line, CRLF, empty, huge or negative values, output cut at every byte.
//!
//! The parsers must never panic. A structural change (a column more or less, shifted, a header)
//! must either be refused naming the line, or read to exactly what the original reads to: never
//! a silently different listing (a GUID from the wrong column would mis-plan a replication).
//! Every case is counted with `zsync_lab::tally::hostile`.

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use zfs_core::cli::parse::{
    parse_listing, parse_pool_list, parse_pool_status, parse_props, verify_rows,
};
use zfs_core::{DatasetName, ListOptions};
use zsync_lab::tally;

/// `zfs list -Hp -o name,type,guid,createtxg,creation,origin,receive_resume_token,encryption,
/// encryptionroot,keystatus,userrefs -t all` (what zsync asks for), names at the edges.
const LISTING: &str = "pool\tfilesystem\t111\t1\t1700000000\t-\t-\toff\t-\t-\t-
pool/my data\tfilesystem\t222\t10\t1700000100\t-\t-\taes-256-gcm\tpool/my data\tavailable\t-
pool/my data@s 1\tsnapshot\t333\t20\t1700000200\t-\t-\taes-256-gcm\tpool/my data\t-\t2
pool/my data@s 2\tsnapshot\t334\t30\t1700000300\t-\t-\taes-256-gcm\tpool/my data\t-\t0
pool/my data#s 1\tbookmark\t333\t20\t1700000200\t-\t-\t-\t-\t-\t-
pool/-x\tvolume\t444\t40\t1700000400\tpool/my data@s 1\t1-abc-def\toff\t-\t-\t-
pool/-x@-s\tsnapshot\t555\t50\t1700000500\t-\t-\toff\t-\t-\t0
";

/// `zfs get -Hp -o name,property,value,source`.
const PROPS: &str = "pool/ds\tcompression\tlz4\tlocal
pool/ds\trecordsize\t131072\tdefault
pool/ds\tmountpoint\t/mnt/ds\tinherited from pool
pool/ds\tquota\t0\tdefault
pool/ds\tsyncoid:sync\ttrue\treceived
pool/other\tguid\t12345678901234567890\t-
";

const ZPOOL_LIST: &str = include_str!("../testdata/zpool-list-2.3.2.txt");
const ZPOOL_STATUS: &str = include_str!("../testdata/zpool-status-2.3.2.txt");

/// What a parse gave: its Debug form, or the error's line.
#[derive(Debug, PartialEq)]
enum Read {
    Ok(String),
    Err { line: usize },
    Panicked,
}

fn read<T: Debug>(f: impl FnOnce() -> Result<T, zfs_core::cli::parse::ParseError>) -> Read {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Read::Ok(format!("{v:?}")),
        Ok(Err(e)) => Read::Err { line: e.line },
        Err(_) => Read::Panicked,
    }
}

/// Line-level damages of `text`: (what, damaged text, whether it is structural).
fn damages(text: &str) -> Vec<(String, String, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let with = |i: usize, new: String| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l[i] = new;
        l.join("\n") + "\n"
    };
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        out.push((
            format!("line {}: a column more", i + 1),
            with(i, format!("{line}\textra")),
            true,
        ));
        out.push((
            format!("line {}: a column less", i + 1),
            with(i, fields[..fields.len() - 1].join("\t")),
            true,
        ));
        out.push((
            format!("line {}: shifted right", i + 1),
            with(i, format!("x\t{line}")),
            true,
        ));
        for (k, f) in fields.iter().enumerate().skip(1) {
            let mut g: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            g[k] = String::new();
            out.push((
                format!("line {}: field {k} empty", i + 1),
                with(i, g.join("\t")),
                false,
            ));
            if f.bytes().all(|b| b.is_ascii_digit()) && !f.is_empty() {
                for v in ["99999999999999999999999", "-5", "1e3", "0x10"] {
                    g[k] = v.to_string();
                    out.push((
                        format!("line {}: field {k} = {v}", i + 1),
                        with(i, g.join("\t")),
                        false,
                    ));
                }
            }
        }
        out.push((
            format!("line {}: CRLF", i + 1),
            with(i, format!("{line}\r")),
            false,
        ));
    }
    let header = lines[0]
        .split('\t')
        .enumerate()
        .map(|(k, _)| format!("COL{k}"))
        .collect::<Vec<_>>()
        .join("\t");
    out.push(("a header line".into(), format!("{header}\n{text}"), true));
    out.push(("blank lines".into(), text.replace('\n', "\n\n"), false));
    for cut in 0..text.len() {
        if text.is_char_boundary(cut) {
            out.push((format!("cut at byte {cut}"), text[..cut].to_string(), false));
        }
    }
    out
}

/// Runs every damage of `text` through `parse`; returns the mishandled cases.
fn sweep<T: Debug>(
    what: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, zfs_core::cli::parse::ParseError>,
) -> (usize, Vec<String>) {
    let original = read(|| parse(text));
    assert!(
        matches!(original, Read::Ok(_)),
        "{what}: the original reads: {original:?}"
    );
    let lines = text.lines().count() + 2;
    let mut bad = Vec::new();
    let mut cases = 0;
    for (case, damaged, structural) in damages(text) {
        cases += 1;
        let got = read(|| parse(&damaged));
        let problem = match &got {
            Read::Panicked => Some("panicked".to_string()),
            Read::Err { line } if *line > lines => Some(format!("error names line {line}")),
            Read::Ok(_) if structural && got != original => {
                Some("read to a different result instead of refused".to_string())
            }
            _ => None,
        };
        tally::hostile(&format!("{what}: {case}"), problem.is_none());
        if let Some(p) = problem {
            bad.push(format!("{what}: {case}: {p}"));
        }
    }
    (cases, bad)
}

#[test]
fn other_releases_output_never_panics_nor_misreads() {
    let root = DatasetName::parse("pool").unwrap();
    let opts = ListOptions::default();
    let mut all_bad = Vec::new();
    let mut total = 0;
    let (n, bad) = sweep("zfs list", LISTING, |t| parse_listing(t, &root, &opts));
    total += n;
    all_bad.extend(bad);
    // zsync reads properties as two outputs: the values (`parse_props`), and the rows alone
    // (`zfs get -o name,property,source`, `verify_rows`), since a user property's value may span
    // lines and imitate rows. A damaged value read is checked against the undamaged rows.
    let rows: String = PROPS
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{}\t{}\t{}\n", f[0], f[1], f[3])
        })
        .collect();
    let (n, bad) = sweep("zfs get", PROPS, |t| {
        let map = parse_props(t)?;
        verify_rows(&map, &rows)?;
        Ok(map)
    });
    total += n;
    all_bad.extend(bad);
    let (n, bad) = sweep("zpool list", ZPOOL_LIST, parse_pool_list);
    total += n;
    all_bad.extend(bad);
    // `zpool status` is read best-effort (never an error): it must not panic on anything.
    for (case, damaged, _) in damages(ZPOOL_STATUS) {
        total += 1;
        let ok = catch_unwind(|| parse_pool_status(&damaged)).is_ok();
        tally::hostile(&format!("zpool status: {case}"), ok);
        if !ok {
            all_bad.push(format!("zpool status: {case}: panicked"));
        }
    }
    eprintln!("{total} damaged outputs");
    assert!(
        all_bad.is_empty(),
        "{} of {total}:\n{}",
        all_bad.len(),
        all_bad.join("\n")
    );
}
