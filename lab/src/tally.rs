//! The reliability tally: every fault tried and every hostile input tried, one JSON line each.
//!
//! Fault tests (lab) and hostile-input tests (host and lab) call [`fault`] or [`hostile`] once per
//! case, after checking the outcome and before asserting it, so a case that went wrong is counted
//! as such and then fails its test. The lines go to the file named by `$ZSYNC_TALLY` (set by
//! `cargo xtask lab test` and `cargo xtask ci`); without it nothing is written.
//! `cargo xtask reliability` turns the files into the README's table.

use std::fs::OpenOptions;
use std::io::Write;

/// The environment variable naming the tally file (JSON lines, appended).
pub const TALLY_ENV: &str = "ZSYNC_TALLY";

/// What kind of case a tally line counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A fault injected into a run on real pools (kill, cut, full pool, race, clock jump...).
    Fault,
    /// A hostile input (garbage flag, damaged file, name at a validity edge, damaged stream...).
    Hostile,
}

impl Kind {
    /// The word in the tally line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fault => "fault",
            Kind::Hostile => "hostile",
        }
    }
}

/// Counts one fault: `case` says what was done ("SIGKILL at 50% of a full send"), `data_intact`
/// whether every dataset held exactly the data it should afterwards (no loss, no corruption).
pub fn fault(case: &str, data_intact: bool) {
    record(Kind::Fault, case, data_intact);
}

/// Counts one hostile input: `case` names it ("--bwlimit=garbage"), `handled` whether zsync
/// answered as it must (one clear error naming the thing, the right exit, nothing changed).
pub fn hostile(case: &str, handled: bool) {
    record(Kind::Hostile, case, handled);
}

/// Appends one line `{"kind":..,"case":..,"test":..,"ok":..}` to `$ZSYNC_TALLY` (if set). The
/// test is the current thread's name, which libtest sets to the test's path. Errors writing the
/// tally are printed, not raised: the tally reports, the test's own assertions decide.
pub fn record(kind: Kind, case: &str, ok: bool) {
    let Some(path) = std::env::var_os(TALLY_ENV).filter(|p| !p.is_empty()) else {
        return;
    };
    let test = format!(
        "{}::{}",
        test_binary(),
        std::thread::current().name().unwrap_or("?")
    );
    let line = format!(
        "{{\"kind\":\"{}\",\"case\":{},\"test\":{},\"ok\":{ok}}}\n",
        kind.as_str(),
        json_string(case),
        json_string(&test)
    );
    // One write(2) per line on an O_APPEND file: lines from parallel tests do not interleave.
    let written = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("tally: cannot append to {}: {e}", path.to_string_lossy());
    }
}

/// The test binary's target name: `hostile_flags-0123456789abcdef` (cargo's) or
/// `zsync--lab_fault_signals` (staged by `cargo xtask lab test`) become `hostile_flags` and
/// `lab_fault_signals`.
fn test_binary() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    binary_target(&name).to_string()
}

fn binary_target(file_name: &str) -> &str {
    let name = file_name.rsplit_once("--").map_or(file_name, |(_, t)| t);
    match name.rsplit_once('-') {
        Some((stem, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            stem
        }
        _ => name,
    }
}

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_binaries_are_named_by_their_target() {
        assert_eq!(
            binary_target("hostile_flags-0123456789abcdef"),
            "hostile_flags"
        );
        assert_eq!(
            binary_target("zsync--lab_fault_signals"),
            "lab_fault_signals"
        );
        assert_eq!(binary_target("zsync-lab--lab_smoke"), "lab_smoke");
        assert_eq!(binary_target("plain"), "plain");
    }

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_string("plain"), "\"plain\"");
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(json_string("snap@ü %"), "\"snap@ü %\"");
    }
}
