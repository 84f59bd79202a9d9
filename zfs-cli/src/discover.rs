//! Config file discovery and the run clock.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};

/// zsync's own config file.
pub const ZSYNC_CONFIG: &str = "/etc/zsync/zsync.conf";
/// sanoid's config file, used when zsync's does not exist (drop-in).
pub const SANOID_CONFIG: &str = "/etc/sanoid/sanoid.conf";

/// The default search list: zsync's file, then sanoid's.
pub fn default_candidates() -> Vec<PathBuf> {
    vec![PathBuf::from(ZSYNC_CONFIG), PathBuf::from(SANOID_CONFIG)]
}

/// Picks the config file: an explicit path must exist; otherwise the first existing candidate.
pub fn find_config(explicit: Option<&Path>, candidates: &[PathBuf]) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!(
                "config file {} does not exist or is not a file",
                p.display()
            );
        }
        return Ok(p.to_path_buf());
    }
    for c in candidates {
        if c.is_file() {
            return Ok(c.clone());
        }
    }
    let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    bail!(
        "no config file: none of {} exists (use --config FILE)",
        tried.join(", ")
    )
}

/// The current time, or the injected one (`--now`/`ZSYNC_NOW`, a testing aid): RFC 3339
/// (`2026-03-29T01:59:00+01:00`), `YYYY-MM-DD HH:MM:SS` taken in UTC, or Unix seconds (`@1700000000`
/// or plain digits).
pub fn now(injected: Option<&str>) -> Result<DateTime<Utc>> {
    let Some(s) = injected else {
        return Ok(Utc::now());
    };
    let s = s.trim();
    let digits = s.strip_prefix('@').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = digits
            .parse()
            .with_context(|| format!("ZSYNC_NOW/--now: {s:?} is out of range"))?;
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .with_context(|| format!("ZSYNC_NOW/--now: {s:?} is out of range"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(t.and_utc());
    }
    bail!("ZSYNC_NOW/--now: cannot read {s:?} as a time (RFC 3339 or Unix seconds)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zsync-discover-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn discovery_order() {
        let d = tmpdir("order");
        let z = d.join("zsync.conf");
        let s = d.join("sanoid.conf");
        let cands = vec![z.clone(), s.clone()];
        let err = find_config(None, &cands).unwrap_err().to_string();
        assert!(
            err.contains("zsync.conf") && err.contains("sanoid.conf"),
            "{err}"
        );
        std::fs::write(&s, "").unwrap();
        assert_eq!(find_config(None, &cands).unwrap(), s);
        std::fs::write(&z, "").unwrap();
        assert_eq!(find_config(None, &cands).unwrap(), z);
        // Explicit wins, and must exist.
        assert_eq!(find_config(Some(&s), &cands).unwrap(), s);
        let missing = d.join("nope.conf");
        let err = find_config(Some(&missing), &cands).unwrap_err().to_string();
        assert!(err.contains("nope.conf"), "{err}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn injected_now() {
        let t = now(Some("1700000000")).unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(now(Some("@1700000000")).unwrap(), t);
        let r = now(Some("2026-03-29T01:59:00+01:00")).unwrap();
        assert_eq!(r.to_rfc3339(), "2026-03-29T00:59:00+00:00");
        let n = now(Some("2026-03-29 00:59:00")).unwrap();
        assert_eq!(n, r);
        assert!(now(Some("yesterday")).is_err());
        assert!(now(None).is_ok());
    }
}
