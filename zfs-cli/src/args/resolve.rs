//! Parsed arguments → the libraries' options (the step after parsing, before the run): the tree
//! to replicate ([`TreeSpec`]) and the planner's and executor's [`SyncOptions`] from `zsync sync`
//! / `plan` and syncoid mode, each flag checked with a one-line error naming it.

use super::sync::SyncArgs;
use crate::exit::Fail;
use zfs_core::{DatasetName, Endpoint, Wire};
use zfs_sync::{
    InitialReplication, Pattern, PlanOptions, RecvOptions, SendOptions, SnapshotFilter,
    SyncOptions, TreeSpec,
};

/// A sync or plan run's input, checked: where, what to replicate and how.
#[derive(Debug)]
pub struct Resolved {
    /// Where the source tree is.
    pub source: Endpoint,
    /// Where the target tree goes.
    pub target: Endpoint,
    /// The tree to replicate.
    pub spec: TreeSpec,
    /// Planner and executor options.
    pub options: SyncOptions,
    /// What the run does other than the flags say, one line each (a `--compress` name mapped onto
    /// another codec, compression asked for between two local datasets).
    pub warnings: Vec<String>,
}

/// Checks the endpoints and builds the tree and options; `syncoid_mode` names sync snapshots and
/// holds as syncoid does, per host.
pub fn resolve(args: &SyncArgs, syncoid_mode: bool) -> Result<Resolved, Fail> {
    let source = endpoint("source", &args.source)?;
    let target = endpoint("target", &args.target)?;
    // A target is created by receiving: refuse a name ZFS reserves before any host is reached.
    zfs_core::name::check_creatable(target.dataset.as_str())
        .map_err(|e| Fail::failure(format!("target '{}': {e}", args.target)))?;
    let mut spec = tree_spec(args)?;
    if syncoid_mode {
        // syncoid reads `syncoid:sync` on every source dataset and matches this host's name.
        spec.sync_host = Some(raw_hostname());
    }
    let mut warnings = Vec::new();
    let mut options = sync_options_and_warnings(args, &mut warnings)?;
    if let Some(c) = &args.flags.compress {
        if source.is_local() && target.is_local() {
            if options.compress != Some(Wire::Plain) {
                warnings.push(format!(
                    "--compress={c}: local transfers are not compressed; ignored"
                ));
            }
        } else {
            warnings.extend(compression(c)?.1);
        }
    }
    if syncoid_mode {
        // syncoid's names: `syncoid_<id_><host>_<local date>-GMT<offset>`, holds `syncoid_<id_><host>`;
        // unlike syncoid, only exactly this identifier + host is pruned (not `<host>2`).
        options.identifier = syncoid_identifier(args.flags.identifier.as_deref(), &hostname());
        options.naming = zfs_sync::SyncNaming::Syncoid;
    }
    // Here, not only when the executor starts: `plan` must refuse it too, before any host.
    zfs_sync::naming::check_identifier(&options.identifier)
        .map_err(|e| Fail::failure(format!("--identifier: {e}")))?;
    Ok(Resolved {
        source,
        target,
        spec,
        options,
        warnings,
    })
}

/// The local host name as `gethostname` gives it (empty when it fails): what syncoid matches the
/// `syncoid:sync` host list against.
pub fn raw_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// The local host name (`gethostname`), reduced to the characters an identifier allows.
pub fn hostname() -> String {
    let raw = raw_hostname();
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .collect();
    if clean.is_empty() {
        "localhost".to_string()
    } else {
        clean
    }
}

/// syncoid mode's job identifier: `<identifier>_<host>` or just `<host>`, as syncoid names its sync
/// snapshots and holds per host.
pub fn syncoid_identifier(identifier: Option<&str>, host: &str) -> String {
    match identifier {
        Some(id) if !id.is_empty() => format!("{id}_{host}"),
        _ => host.to_string(),
    }
}

/// `pool/ds` or `[user@]host[:port]:pool/ds`; a bad local name fails with the dataset's own error,
/// a bad remote form with the endpoint's, each naming the argument.
pub fn endpoint(what: &str, s: &str) -> Result<Endpoint, Fail> {
    if Endpoint::is_remote_form(s) {
        Endpoint::parse(s).map_err(|e| Fail::failure(format!("{what}: {e}")))
    } else {
        dataset(what, s).map(Endpoint::local)
    }
}

fn dataset(what: &str, s: &str) -> Result<DatasetName, Fail> {
    DatasetName::parse(s).map_err(|e| Fail::failure(format!("{what} '{s}': {e}")))
}

fn patterns(flag: &str, v: &[String]) -> Result<Vec<Pattern>, Fail> {
    v.iter()
        .map(|r| Pattern::new(r).map_err(|e| Fail::failure(format!("{flag} '{r}': {}", e.reason))))
        .collect()
}

/// The tree to replicate: the endpoints' datasets (on whichever host each is).
pub fn tree_spec(a: &SyncArgs) -> Result<TreeSpec, Fail> {
    let src = endpoint("source", &a.source)?.dataset;
    let dst = endpoint("target", &a.target)?.dataset;
    if a.flags.skip_parent && !a.flags.recursive {
        return Err(Fail::failure("--skip-parent needs --recursive"));
    }
    let mut spec = if a.flags.recursive {
        TreeSpec::recursive(src, dst)
    } else {
        TreeSpec::single(src, dst)
    };
    spec.skip_parent = a.flags.skip_parent;
    spec.exclude_datasets = patterns("--exclude-datasets", &a.flags.exclude_datasets)?;
    Ok(spec)
}

/// Planner and executor options from the flags.
pub fn sync_options(a: &SyncArgs) -> Result<SyncOptions, Fail> {
    sync_options_and_warnings(a, &mut Vec::new())
}

/// [`sync_options`], with what the flags ask that is ignored added to `warnings`.
pub fn sync_options_and_warnings(
    a: &SyncArgs,
    warnings: &mut Vec<String>,
) -> Result<SyncOptions, Fail> {
    let filter = SnapshotFilter {
        include: patterns("--include-snaps", &a.flags.include_snaps)?,
        exclude: patterns("--exclude-snaps", &a.flags.exclude_snaps)?,
    };
    let plan = PlanOptions {
        intermediates: !a.flags.no_stream,
        initial: if a.flags.no_stream {
            InitialReplication::Newest
        } else {
            InitialReplication::All
        },
        rollback: a.rollback,
        force_delete: a.flags.force_delete,
        delete_target_snapshots: a.flags.delete_target_snapshots,
        resume: !a.flags.no_resume,
        abort_stale_token: true,
        snapshots: filter,
    };
    let send = parse_sendoptions(a.flags.sendoptions.as_deref().unwrap_or(""), warnings)?;
    let mut recv = parse_recvoptions(a.flags.recvoptions.as_deref().unwrap_or(""), warnings)?;
    // Unmounted unless --mount (syncoid mode: mounted unless `u`).
    recv.no_mount |= !a.mount;
    let mut o = SyncOptions {
        plan,
        sync_snapshot: !a.flags.no_sync_snap,
        keep_sync_snapshots: a.flags.keep_sync_snap,
        use_hold: a.flags.use_hold,
        create_bookmark: a.flags.create_bookmark,
        send,
        recv,
        preserve_properties: a.flags.preserve_properties,
        preserve_recordsize: a.flags.preserve_recordsize,
        ..SyncOptions::default()
    };
    if let Some(id) = &a.flags.identifier {
        o.identifier = id.clone();
    }
    if let Some(c) = &a.flags.compress {
        o.compress = Some(compression(c)?.0);
    }
    if let Some(s) = &a.flags.small_stream {
        o.small_stream = match s.trim() {
            "0" => 0,
            _ => parse_rate(s).map_err(|_| {
                Fail::failure(format!("bad --small-stream '{s}' (a size: 2M, 512k, or 0)"))
            })?,
        };
    }
    if let Some(j) = a.flags.jobs {
        if j == 0 {
            return Err(Fail::failure("--jobs must be at least 1"));
        }
        o.jobs = j;
    }
    Ok(o)
}

/// syncoid's `--sendoptions`: letters, optionally dashed and space separated (`"L c e"`, `"-Lce"`,
/// `"w"`). Supported: `L` large blocks, `c` compressed, `e` embedded, `w`
/// raw, `p` properties in the stream. `v`, `V` and `P` (what `zfs send` prints about itself) are
/// accepted and ignored, each with a warning in `warnings`. Every other letter is refused with the
/// reason.
pub fn parse_sendoptions(s: &str, warnings: &mut Vec<String>) -> Result<SendOptions, Fail> {
    let mut o = SendOptions::default();
    let refuse = |c: char, why: &str| {
        Err(Fail::failure(format!(
            "--sendoptions: '{c}' is not supported: {why}"
        )))
    };
    for w in s.split_whitespace() {
        for c in w.chars().filter(|c| *c != '-') {
            match c {
                'L' => o.large_block = true,
                'c' => o.compressed = true,
                'e' => o.embed = true,
                'w' => o.raw = true,
                'p' => o.props = true,
                'v' | 'V' | 'P' => warnings.push(format!(
                    "--sendoptions: '{c}' ignored (zsync reports the streams itself: the progress \
                     line, --debug)"
                )),
                'R' => return refuse(c, "zsync sends each dataset on its own; use -r/--recursive"),
                'X' => {
                    return refuse(
                        c,
                        "it leaves datasets out of an -R stream, which zsync does not send; use \
                         --exclude-datasets",
                    )
                }
                's' => {
                    return refuse(
                        c,
                        "it skips snapshots missing from an -R stream, which zsync does not send",
                    )
                }
                'b' => {
                    return refuse(
                        c,
                        "zsync does not send -b (received property values) streams; use p, or \
                         --preserve-properties",
                    )
                }
                'h' => {
                    return refuse(
                        c,
                        "zsync does not put holds in the stream; --use-hold holds the replicated \
                         snapshot on both sides",
                    )
                }
                other => {
                    return refuse(other, "no such zfs send option here (supported: L c e w p)")
                }
            }
        }
    }
    Ok(o)
}

/// syncoid's `--recvoptions`: `u` (no mount), `o prop=value`, `x prop`, space separated
/// (`"u o compression=lz4 x mountpoint"`; dashes allowed). `h` (skip holds in the stream: zsync's
/// streams carry none) and `v` (what `zfs receive` prints about itself) are accepted and ignored with
/// a warning in `warnings`; `s` (resumable) is what zsync always does; anything else is refused.
pub fn parse_recvoptions(s: &str, warnings: &mut Vec<String>) -> Result<RecvOptions, Fail> {
    let mut o = RecvOptions {
        no_mount: false,
        ..RecvOptions::default()
    };
    let mut words = s.split_whitespace().map(|w| w.trim_start_matches('-'));
    while let Some(w) = words.next() {
        let (flag, rest) = w.split_at(w.chars().next().map_or(0, char::len_utf8));
        // `ocompression=lz4` and `o compression=lz4` are both accepted.
        let mut value = || -> Result<String, Fail> {
            if !rest.is_empty() {
                return Ok(rest.to_string());
            }
            words
                .next()
                .map(str::to_string)
                .ok_or_else(|| Fail::failure(format!("--recvoptions: '{flag}' needs a value")))
        };
        match flag {
            "u" if rest.is_empty() => o.no_mount = true,
            "o" => {
                let v = value()?;
                let Some((k, val)) = v.split_once('=') else {
                    return Err(Fail::failure(format!(
                        "--recvoptions: 'o {v}' must be property=value"
                    )));
                };
                o.props.push((property_name(k)?.to_string(), val.to_string()));
            }
            "x" => {
                let v = value()?;
                o.exclude_props.push(property_name(&v)?.to_string());
            }
            "h" if rest.is_empty() => warnings.push(
                "--recvoptions: 'h' ignored (zsync's streams carry no holds to skip)".into(),
            ),
            "v" if rest.is_empty() => warnings.push(
                "--recvoptions: 'v' ignored (zsync reports the streams itself: the progress line, \
                 --debug)"
                    .into(),
            ),
            "s" if rest.is_empty() => {} // every zsync receive is resumable (`-s`)
            "F" if rest.is_empty() => {
                return Err(Fail::failure(
                    "--recvoptions: 'F' is not supported: syncoid mode receives with -F unless \
                     --no-rollback (zsync sync: --rollback)",
                ))
            }
            _ => {
                return Err(Fail::failure(format!(
                    "--recvoptions: '{w}' is not supported (supported: u, o prop=value, x prop, h, v, s)"
                )))
            }
        }
    }
    Ok(o)
}

/// A property name in `--recvoptions` as ZFS can hold it: 1..=255 bytes (ZAP_MAXNAMELEN) of
/// letters, digits and `_ - . : @`; anything else is refused here, naming it, before any host
/// is reached.
fn property_name(name: &str) -> Result<&str, Fail> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_-.:@".contains(c);
    if name.is_empty() || name.len() > 255 || !name.chars().all(ok_char) {
        let shown: String = name.chars().take(64).collect();
        let more = if name.chars().count() > 64 { "..." } else { "" };
        return Err(Fail::failure(format!(
            "--recvoptions: bad property name '{shown}{more}' ({} bytes; 1 to 255 of letters, \
             digits and _ - . : @)",
            name.len()
        )));
    }
    Ok(name)
}

/// `--compress`: the wire asked for where an end is remote, and a warning when a syncoid name is
/// mapped onto another codec. zsync's names: `zstd` (level 3), `zstd-N`/`zstd:N` (N 1..=19), `lz4`,
/// `none`. syncoid's: `zstd-fast`/`zstdmt-fast` → zstd-3 and `zstd-slow`/`zstdmt-slow` → zstd-19
/// (syncoid's levels; zsync's own zstd is multithreaded, so no `zstdmt`); and, with a warning, as
/// zsync has only the zstd and lz4 codecs in-process: `lzo` (syncoid's default) → lz4, the same fast
/// and light class; `gzip`, `pigz-fast` → zstd-3 and `pigz-slow`, `xz` → zstd-19, each smaller and
/// faster than what it replaces. Anything else is refused naming it (syncoid silently uses lzo).
/// Without the flag a run compresses with zstd-3 when an end is remote.
pub fn compression(s: &str) -> Result<(Wire, Option<String>), Fail> {
    let name = s.trim().to_ascii_lowercase();
    let mapped = |wire: Wire, from: &str, why: &str| {
        let w = format!("--compress={s}: zsync has no {from} codec; using {wire} ({why})");
        Ok((wire, Some(w)))
    };
    let zstd = |level| Wire::Zstd { level };
    match name.as_str() {
        "none" => Ok((Wire::Plain, None)),
        "zstd" => Ok((Wire::ZSTD, None)),
        "lz4" => Ok((Wire::Lz4, None)),
        "zstd-fast" | "zstdmt-fast" => Ok((zstd(3), None)),
        "zstd-slow" | "zstdmt-slow" => Ok((zstd(19), None)),
        "lzo" => mapped(Wire::Lz4, "lzo", "the same fast, light class"),
        "gzip" | "pigz-fast" => mapped(zstd(3), "gzip", "smaller and faster than gzip -3"),
        "pigz-slow" => mapped(zstd(19), "gzip", "smaller than gzip -9"),
        "xz" => mapped(zstd(19), "xz", "close to xz's size, much faster"),
        _ => {
            let level = name
                .strip_prefix("zstd-")
                .or_else(|| name.strip_prefix("zstd:"))
                .and_then(|l| l.parse::<i32>().ok())
                .filter(|l| (1..=19).contains(l));
            match level {
                Some(l) => Ok((zstd(l), None)),
                None => Err(Fail::failure(format!(
                    "--compress={s}: unknown compression (zstd, zstd-N with N 1..19, lz4, none; or \
                     syncoid's zstd-fast, zstd-slow, zstdmt-fast, zstdmt-slow, lzo, gzip, pigz-fast, \
                     pigz-slow, xz)"
                ))),
            }
        }
    }
}

/// A rate like `10M`, `500k`, `1G`, `2048` (bytes per second; binary multiples as mbuffer uses):
/// zfs-stream's [`zfs_stream::parse_rate`], its error as one line.
pub fn parse_rate(s: &str) -> Result<u64, Fail> {
    zfs_stream::parse_rate(s).map_err(|e| Fail::failure(e.to_string()))
}

/// The transfer rate limit: the lower of `--source-bwlimit` and `--target-bwlimit`, if any.
pub fn rate_limit(a: &SyncArgs) -> Result<Option<u64>, Fail> {
    let named = |flag: &str, v: &str| {
        parse_rate(v).map_err(|e| Fail::failure(format!("{flag}: {}", e.message)))
    };
    let s = a
        .flags
        .source_bwlimit
        .as_deref()
        .map(|v| named("--source-bwlimit", v))
        .transpose()?;
    let t = a
        .flags
        .target_bwlimit
        .as_deref()
        .map(|v| named("--target-bwlimit", v))
        .transpose()?;
    Ok(match (s, t) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::SyncFlags;

    #[test]
    fn sendoptions() {
        let mut w = Vec::new();
        let o = parse_sendoptions("L c e", &mut w).unwrap();
        assert!(o.large_block && o.compressed && o.embed && !o.raw && !o.props);
        let o = parse_sendoptions("-w -p", &mut w).unwrap();
        assert!(o.raw && o.props && w.is_empty());
        // What zfs send prints about itself: ignored, one warning each.
        let o = parse_sendoptions("pvP", &mut w).unwrap();
        assert!(o.props);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("--sendoptions: 'v' ignored"), "{w:?}");
        // Every other letter refused in one line naming it and why.
        for (opt, why) in [
            ("R", "-r/--recursive"),
            ("X tank/a,tank/b", "--exclude-datasets"),
            ("s", "-R stream"),
            ("b", "--preserve-properties"),
            ("h", "--use-hold"),
            ("q", "supported: L c e w p"),
        ] {
            let m = parse_sendoptions(opt, &mut w).unwrap_err().message;
            let c = opt.chars().next().unwrap();
            assert!(
                m.starts_with(&format!("--sendoptions: '{c}' is not supported: "))
                    && m.contains(why),
                "{m}"
            );
            assert_eq!(m.lines().count(), 1);
        }
    }

    #[test]
    fn recvoptions() {
        let mut w = Vec::new();
        let o =
            parse_recvoptions("u o compression=lz4 x mountpoint -ocanmount=off", &mut w).unwrap();
        assert!(o.no_mount);
        assert_eq!(
            o.props,
            vec![
                ("compression".to_string(), "lz4".to_string()),
                ("canmount".to_string(), "off".to_string())
            ]
        );
        assert_eq!(o.exclude_props, vec!["mountpoint"]);
        assert!(w.is_empty());
        let m = parse_recvoptions("F", &mut w).unwrap_err().message;
        assert!(m.contains("--no-rollback"), "{m}");
        assert!(parse_recvoptions("o", &mut w).is_err());
        assert!(parse_recvoptions("o novalue", &mut w).is_err());
        assert!(parse_recvoptions("q", &mut w).is_err());
        // h and v accepted with a warning each; s is what zsync does anyway.
        let o = parse_recvoptions("h v s u", &mut w).unwrap();
        assert!(o.no_mount);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("--recvoptions: 'h' ignored"), "{w:?}");
    }

    #[test]
    fn compress_names_zsyncs_and_syncoids() {
        let ok = |s: &str| compression(s).unwrap();
        assert_eq!(ok("none"), (Wire::Plain, None));
        assert_eq!(ok("zstd"), (Wire::ZSTD, None));
        assert_eq!(ok("ZSTD-7"), (Wire::Zstd { level: 7 }, None));
        assert_eq!(ok("zstd:19"), (Wire::Zstd { level: 19 }, None));
        assert_eq!(ok("lz4"), (Wire::Lz4, None));
        for (name, level) in [
            ("zstd-fast", 3),
            ("zstdmt-fast", 3),
            ("zstd-slow", 19),
            ("zstdmt-slow", 19),
        ] {
            assert_eq!(ok(name), (Wire::Zstd { level }, None), "{name}");
        }
        // Mapped onto zsync's codecs, each with one line saying so.
        for (name, wire) in [
            ("lzo", Wire::Lz4),
            ("gzip", Wire::ZSTD),
            ("pigz-fast", Wire::ZSTD),
            ("pigz-slow", Wire::Zstd { level: 19 }),
            ("xz", Wire::Zstd { level: 19 }),
        ] {
            let (w, warning) = ok(name);
            assert_eq!(w, wire, "{name}");
            let warning = warning.unwrap();
            assert!(
                warning.starts_with(&format!("--compress={name}: zsync has no "))
                    && warning.contains(&format!("using {wire} (")),
                "{warning}"
            );
        }
        // Anything else is refused, naming it.
        for bad in ["bzip2", "zstd-0", "zstd-20", "zstd-x", ""] {
            let m = compression(bad).unwrap_err().message;
            assert!(
                m.starts_with(&format!("--compress={bad}: unknown compression")),
                "{m}"
            );
        }
    }

    #[test]
    fn compress_reaches_the_options_and_warns_when_it_cannot_apply() {
        let mut a = SyncArgs {
            source: "tank/a".into(),
            target: "backup/a".into(),
            ..SyncArgs::default()
        };
        // No flag: the executor's default (zstd where an end is remote).
        let r = resolve(&a, false).unwrap();
        assert_eq!((r.options.compress, r.warnings.len()), (None, 0));
        a.flags.compress = Some("lz4".into());
        let r = resolve(&a, false).unwrap();
        assert_eq!(r.options.compress, Some(Wire::Lz4));
        assert_eq!(
            r.warnings,
            ["--compress=lz4: local transfers are not compressed; ignored"]
        );
        a.flags.compress = Some("none".into());
        assert!(resolve(&a, false).unwrap().warnings.is_empty());
        // A remote end: the mapping's own warning.
        a.target = "root@backup1:backup/a".into();
        a.flags.compress = Some("lzo".into());
        let r = resolve(&a, true).unwrap();
        assert_eq!(r.options.compress, Some(Wire::Lz4));
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].starts_with("--compress=lzo: zsync has no lzo codec; using lz4"));
        a.flags.compress = Some("zstd".into());
        assert!(resolve(&a, false).unwrap().warnings.is_empty());
        a.flags.compress = Some("brotli".into());
        assert!(resolve(&a, false).is_err());
    }

    #[test]
    fn small_stream_takes_a_size_or_zero() {
        let mut a = SyncArgs {
            source: "tank/a".into(),
            target: "root@backup1:backup/a".into(),
            ..SyncArgs::default()
        };
        let small = |a: &SyncArgs| resolve(a, false).map(|r| r.options.small_stream);
        assert_eq!(small(&a).unwrap(), zfs_sync::SMALL_STREAM);
        for (given, bytes) in [("0", 0), ("512k", 512 << 10), ("8M", 8 << 20)] {
            a.flags.small_stream = Some(given.into());
            assert_eq!(small(&a).unwrap(), bytes, "{given}");
        }
        for bad in ["-1", "lots", ""] {
            a.flags.small_stream = Some(bad.into());
            let e = small(&a).unwrap_err().message;
            assert!(e.contains("--small-stream"), "{bad}: {e}");
        }
    }

    #[test]
    fn syncoid_naming() {
        assert_eq!(syncoid_identifier(None, "nas"), "nas");
        assert_eq!(syncoid_identifier(Some("job"), "nas"), "job_nas");
        let h = hostname();
        assert!(
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        );
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10M").unwrap(), 10 << 20);
        assert_eq!(parse_rate("500k").unwrap(), 500 << 10);
        assert_eq!(parse_rate("2048").unwrap(), 2048);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn options_mapping() {
        let a = SyncArgs {
            source: "tank/a".into(),
            target: "backup/a".into(),
            flags: SyncFlags {
                recursive: true,
                skip_parent: true,
                exclude_datasets: vec!["tmp$".into()],
                no_stream: true,
                identifier: Some("nas1".into()),
                jobs: Some(3),
                ..SyncFlags::default()
            },
            ..SyncArgs::default()
        };
        let spec = tree_spec(&a).unwrap();
        assert!(spec.recursive && spec.skip_parent);
        assert_eq!(spec.exclude_datasets.len(), 1);
        let o = sync_options(&a).unwrap();
        assert!(!o.plan.intermediates);
        assert_eq!(o.plan.initial, InitialReplication::Newest);
        assert!(!o.plan.rollback && !o.plan.force_delete && o.plan.resume);
        assert_eq!(o.identifier, "nas1");
        assert_eq!(o.jobs, 3);
        // Received unmounted unless --mount; `u` keeps it unmounted either way.
        assert!(o.recv.no_mount);
        let m = SyncArgs {
            mount: true,
            ..a.clone()
        };
        assert!(!sync_options(&m).unwrap().recv.no_mount);
        let mut mu = m;
        mu.flags.recvoptions = Some("u".into());
        assert!(sync_options(&mu).unwrap().recv.no_mount);
        let mut bad = a.clone();
        bad.flags.exclude_datasets = vec!["(".into()];
        assert!(tree_spec(&bad)
            .unwrap_err()
            .message
            .contains("--exclude-datasets"));
        let bad = SyncArgs {
            source: "tank/a;rm".into(),
            ..a
        };
        assert!(tree_spec(&bad).unwrap_err().message.contains("tank/a;rm"));
    }

    #[test]
    fn bad_snapshot_patterns_name_the_flag_and_the_pattern() {
        let mut a = SyncArgs {
            source: "tank/a".into(),
            target: "backup/a".into(),
            ..SyncArgs::default()
        };
        a.flags.include_snaps = vec!["^auto".into()];
        a.flags.exclude_snaps = vec!["a(".into()];
        let m = sync_options(&a).unwrap_err().message;
        assert!(m.starts_with("--exclude-snaps 'a(': "), "{m}");
        assert_eq!(m.lines().count(), 1, "{m}");
        // Perl look-around, as syncoid's patterns: accepted.
        a.flags.exclude_snaps = vec!["^(?!autosnap_)".into()];
        let f = sync_options(&a).unwrap().plan.snapshots;
        assert!(f.selects("autosnap_hourly") && !f.selects("manual"));
        a.flags.exclude_snaps = vec!["a(".into()];
        a.flags.include_snaps = vec!["[".into()];
        let m = sync_options(&a).unwrap_err().message;
        assert!(m.starts_with("--include-snaps '[': "), "{m}");
        a.flags.include_snaps = vec!["^auto".into()];
        a.flags.exclude_snaps = vec!["_frequent$".into()];
        let f = sync_options(&a).unwrap().plan.snapshots;
        assert!(f.selects("autosnap_hourly") && !f.selects("autosnap_frequent"));
    }
}
