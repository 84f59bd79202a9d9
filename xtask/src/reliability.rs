//! `cargo xtask reliability`: the README's reliability table, generated from a test run.
//!
//! Inputs, all written by `cargo xtask ci` (or by hand with the commands it runs):
//! - the last whole-suite lab run's tally and `results.json` (tests passed and failed), which
//!   `cargo xtask lab test` (without filters) keeps in `target/reliability/lab-host/`;
//! - the host tests' tally (`target/reliability/host-tally.jsonl`), from `cargo test --workspace`
//!   with `ZSYNC_TALLY` set;
//! - the fuzz campaigns (`fuzz/campaigns.tsv`), from `cargo xtask fuzz campaign`.
//!
//! Each tally line is one case a test tried (`zsync_lab::tally`): a fault on real pools, with
//! whether the data was intact afterwards, or a hostile input, with whether zsync answered as it
//! must. `--write` replaces the table between the README's markers.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::fuzz::{self, Campaign};
use crate::lab::TALLY_FILE;
use crate::util;

/// Where `cargo xtask ci` points `ZSYNC_TALLY` for the host tests (relative to the target dir).
pub const HOST_TALLY: &str = "reliability/host-tally.jsonl";

const BEGIN: &str = "<!-- reliability:begin -->";
const END: &str = "<!-- reliability:end -->";

/// One tally line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub kind: String,
    pub case: String,
    pub test: String,
    pub ok: bool,
}

/// Reads a tally file (JSON lines); a line that does not parse is an error naming file:line.
pub fn read_tally(path: &Path) -> Result<Vec<Case>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a tally line", path.display(), i + 1))?;
        let field = |k: &str| v[k].as_str().unwrap_or("").to_string();
        out.push(Case {
            kind: field("kind"),
            case: field("case"),
            test: field("test"),
            ok: v["ok"].as_bool().unwrap_or(false),
        });
    }
    Ok(out)
}

/// Lab tests passed and failed in a run (its results.json).
fn lab_counts(run: &Path) -> Option<(u64, u64)> {
    let v: Value = serde_json::from_slice(&fs::read(run.join("results.json")).ok()?).ok()?;
    let mut passed = 0;
    let mut failed = 0;
    for b in v.as_array()? {
        passed += b["passed"].as_u64().unwrap_or(0);
        failed += b["failed"].as_u64().unwrap_or(0);
    }
    Some((passed, failed))
}

/// Groups cases by test: (kind, test) → (cases, ok).
fn by_test(cases: &[Case]) -> BTreeMap<(String, String), (usize, usize)> {
    let mut m: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for c in cases {
        let e = m.entry((c.kind.clone(), c.test.clone())).or_default();
        e.0 += 1;
        e.1 += usize::from(c.ok);
    }
    m
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

/// The table (markdown) from the cases, the lab run's counts and the campaigns.
pub fn render(
    lab: &[Case],
    host: &[Case],
    lab_run: Option<(&str, u64, u64)>,
    campaigns: &[Campaign],
) -> String {
    let all: Vec<&Case> = lab.iter().chain(host).collect();
    let faults: Vec<&&Case> = all.iter().filter(|c| c.kind == "fault").collect();
    let hostile: Vec<&&Case> = all.iter().filter(|c| c.kind == "hostile").collect();
    let fault_tests = by_test(&faults.iter().map(|c| (**c).clone()).collect::<Vec<_>>()).len();
    let lost = faults.iter().filter(|c| !c.ok).count();
    let hostile_ok = hostile.iter().filter(|c| c.ok).count();
    let execs: u64 = campaigns.iter().map(|c| c.executions).sum();
    let crashes: u64 = campaigns.iter().map(|c| c.crashes).sum();
    let mut t = String::new();
    t.push_str("| | tried | as required | runs that lost data |\n|---|---|---|---|\n");
    t.push_str(&format!(
        "| Faults on real pools (lab) | {} cases in {} tests | {} with the data intact | **{}** |\n",
        faults.len(),
        fault_tests,
        faults.len() - lost,
        lost
    ));
    t.push_str(&format!(
        "| Hostile inputs | {} | {} refused in one line, nothing changed | — |\n",
        thousands(hostile.len() as u64),
        thousands(hostile_ok as u64)
    ));
    t.push_str(&format!(
        "| Fuzzing | {} targets, {} executions | {} crashes | — |\n",
        campaigns.len(),
        thousands(execs),
        crashes
    ));
    t.push('\n');
    if let Some((dir, passed, failed)) = lab_run {
        t.push_str(&format!(
            "From the lab run `{dir}` ({passed} lab tests passed, {failed} failed) and the host tests.\n\n"
        ));
    }
    t.push_str("| where | test | cases | as required |\n|---|---|---|---|\n");
    for (source, cases) in [("lab", lab), ("host", host)] {
        for ((kind, test), (n, ok)) in by_test(cases) {
            t.push_str(&format!("| {source} {kind} | `{test}` | {n} | {ok} |\n"));
        }
    }
    t.push('\n');
    t.push_str("| fuzz target | executions | sanitizer | crashes | date | corpus (files) |\n");
    t.push_str("|---|---|---|---|---|---|\n");
    for c in campaigns {
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            c.target,
            thousands(c.executions),
            c.sanitizer,
            c.crashes,
            c.date,
            c.corpus_files
        ));
    }
    t
}

/// Builds the table from `target` (a cargo target dir; default the repo's) and prints it; with
/// `write`, also puts it between the README's markers.
pub fn run(target: Option<&Path>, write: bool) -> Result<()> {
    let target = target
        .map(Path::to_path_buf)
        .unwrap_or_else(util::target_dir);
    let run = Some(target.join("reliability/lab-host")).filter(|d| d.is_dir());
    let lab = match &run {
        Some(r) => read_tally(&r.join(TALLY_FILE))?,
        None => Vec::new(),
    };
    let host = read_tally(&target.join(HOST_TALLY))?;
    if lab.is_empty() && host.is_empty() {
        bail!(
            "reliability: no tally in {} (run `cargo xtask ci`, or `cargo xtask lab test` without \
             filters and `ZSYNC_TALLY={}/{HOST_TALLY} cargo test --workspace`)",
            target.display(),
            target.display()
        );
    }
    let counts = run.as_ref().and_then(|r| {
        let (p, f) = lab_counts(r)?;
        let dir = fs::read_to_string(r.join("run")).unwrap_or_default();
        let name = Path::new(dir.trim())
            .file_name()?
            .to_string_lossy()
            .into_owned();
        Some((name, p, f))
    });
    let table = render(
        &lab,
        &host,
        counts.as_ref().map(|(n, p, f)| (n.as_str(), *p, *f)),
        &fuzz::campaigns()?,
    );
    print!("{table}");
    let out = target.join("reliability/table.md");
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&out, &table).with_context(|| format!("cannot write {}", out.display()))?;
    if write {
        let readme = util::repo_root().join("README.md");
        let text = fs::read_to_string(&readme)?;
        let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
            bail!("README.md has no {BEGIN} ... {END} markers");
        };
        let new = format!("{}{BEGIN}\n{table}{}", &text[..a], &text[b..]);
        fs::write(&readme, new)?;
        eprintln!("reliability: README.md table updated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(kind: &str, test: &str, ok: bool) -> Case {
        Case {
            kind: kind.into(),
            case: "c".into(),
            test: test.into(),
            ok,
        }
    }

    #[test]
    fn lost_data_is_counted_from_fault_cases_that_were_not_intact() {
        let lab = vec![
            case("fault", "kill", true),
            case("fault", "kill", false),
            case("fault", "enospc", true),
        ];
        let host = vec![
            case("hostile", "flags", true),
            case("hostile", "flags", false),
        ];
        let t = render(&lab, &host, Some(("test-1", 10, 0)), &[]);
        assert!(
            t.contains("| Faults on real pools (lab) | 3 cases in 2 tests | 2 with the data intact | **1** |"),
            "{t}"
        );
        assert!(t.contains("| Hostile inputs | 2 | 1 refused"), "{t}");
        assert!(t.contains("| lab fault | `kill` | 2 | 1 |"), "{t}");
    }

    #[test]
    fn tally_lines_parse_and_bad_ones_are_named() {
        let d = std::env::temp_dir().join(format!("xtask-tally-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let p = d.join("t.jsonl");
        fs::write(
            &p,
            "{\"kind\":\"fault\",\"case\":\"x\",\"test\":\"t\",\"ok\":true}\n",
        )
        .unwrap();
        assert_eq!(
            read_tally(&p).unwrap(),
            vec![Case {
                kind: "fault".into(),
                case: "x".into(),
                test: "t".into(),
                ok: true
            }]
        );
        fs::write(&p, "{\"kind\":\"fault\"}\nnot json\n").unwrap();
        let e = format!("{:#}", read_tally(&p).unwrap_err());
        assert!(e.contains("t.jsonl:2: not a tally line"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }
}
