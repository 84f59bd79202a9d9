//! The job file: good files, the exact one-line error for each kind of bad input, and the
//! example shipped in contrib/.

use proptest::prelude::*;
use zsync_ops::jobs::{JobFile, Location};

fn err(text: &str) -> String {
    JobFile::parse(text, "jobs.toml").unwrap_err().to_string()
}

const MINIMAL: &str = "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n";

#[test]
fn a_minimal_job() {
    let f = JobFile::parse(MINIMAL, "jobs.toml").unwrap();
    assert_eq!(f.jobs.len(), 1);
    let j = &f.jobs[0];
    assert_eq!(j.name, "a");
    assert_eq!(j.location, Location { line: 1, column: 1 });
    assert_eq!(j.sync_args(0).unwrap(), ["tank/a", "backup/a"]);
    assert!(j.sync_args(1).is_none());
    assert!(j.on_failure.is_none() && j.retention.is_none());
    assert!(f.job("a").is_some() && f.job("b").is_none());
    // One source may be written without the list.
    let one = MINIMAL.replace("[\"tank/a\"]", "\"tank/a\"");
    assert_eq!(JobFile::parse(&one, "jobs.toml").unwrap(), f);
}

#[test]
fn bad_inputs_each_give_one_exact_line() {
    let table: &[(&str, &str)] = &[
        ("", "jobs.toml:1:1: no jobs: add a [[job]] table"),
        ("# nothing\n", "jobs.toml:2:1: no jobs: add a [[job]] table"),
        (
            "[[job]\n",
            "jobs.toml:1:7: unclosed array table, expected `]`",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\nrecursiv = true\n",
            "jobs.toml:5:1: unknown key 'recursiv' (the keys are listed in zsync-ops' README)",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\nrecursive = \"yes\"\n",
            "jobs.toml:5:13: 'recursive': invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = 3\ntarget = \"backup/a\"\n",
            "jobs.toml:3:10: 'source': invalid type: integer `3`, expected a dataset or a list of datasets",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = \"tank/a b;\"\ntarget = \"backup/a\"\n",
            "jobs.toml:3:10: 'source': invalid endpoint \"tank/a b;\": ",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\n",
            "jobs.toml:1:1: [[job]] without 'target'",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n[[job]]\nname = \"a\"\nsource = [\"tank/b\"]\ntarget = \"backup/b\"\n",
            "jobs.toml:6:8: duplicate job name 'a' (first on line 2)",
        ),
        (
            "[[job]]\nname = \"a b\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n",
            "jobs.toml:2:8: 'name': bad job name \"a b\" (letters, digits, '_', '-', '.')",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a;rm\"]\ntarget = \"backup/a\"\n",
            "jobs.toml:3:11: 'source': ",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"root@:backup/a\"\n",
            "jobs.toml:4:10: 'target': ",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = []\ntarget = \"backup/a\"\n",
            "jobs.toml:3:10: 'source': no datasets",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\", \"other/a\"]\ntarget = \"backup\"\n",
            "jobs.toml:3:21: 'source': other/a and tank/a would both replicate to backup/a",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\ntarget-bwlimit = \"fast\"\n",
            "jobs.toml:5:18: 'target-bwlimit': bad rate \"fast\": no number (examples: 512k, 10M, 1.5G; units are powers of 1024)",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\nsmall-stream = \"2X\"\n",
            "jobs.toml:5:16: 'small-stream': bad rate \"2X\": ",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\njobs = 0\n",
            "jobs.toml:5:8: 'jobs': must be at least 1",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\nssh-transport = \"telnet\"\n",
            "jobs.toml:5:17: 'ssh-transport': \"telnet\" is not ssh2, openssh or auto",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\non_failure = []\n",
            "jobs.toml:5:14: 'on_failure': needs a program: [\"/path/to/program\", \"arg\", ...]",
        ),
        (
            "on_failure = [\"\"]\n[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n",
            "jobs.toml:1:14: 'on_failure': needs a program: [\"/path/to/program\", \"arg\", ...]",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n[job.retention]\ndaily = \"lots\"\n",
            "jobs.toml:6:9: retention: bad value 'lots' for 'daily': ",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n[job.retention]\nautosnap = true\n",
            "jobs.toml:6:1: retention: unknown retention key 'autosnap' (known: frequently, hourly, daily, weekly, monthly, yearly, prune_grid, prune_keep_last, prune_defer)",
        ),
        (
            "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"backup/a\"\n[job.retention]\ndaily = [1]\n",
            "jobs.toml:6:9: retention 'daily': a value of type array is not a number or text",
        ),
        (
            "[[jobs]]\nname = \"a\"\n",
            "jobs.toml:1:3: unknown key 'jobs' (the file holds on_failure and [[job]] tables)",
        ),
    ];
    for (text, want) in table {
        let got = err(text);
        assert_eq!(got.lines().count(), 1, "{text:?}: {got}");
        // Entries ending in ": " check the place and key; the rest comes from zfs-core or
        // zfs-policy, whose own tests pin their wording.
        if want.ends_with(": ") {
            assert!(
                got.starts_with(want),
                "{text:?}\n got: {got}\nwant: {want}..."
            );
        } else {
            assert_eq!(&got, want, "{text:?}");
        }
    }
}

#[test]
fn options_become_the_sync_command_line() {
    let text = "[[job]]\nname = \"a\"\nsource = [\"tank/a\", \"tank/b\"]\n\
                target = \"root@backup:pool/bk\"\nrecursive = true\ncompress = \"lz4\"\n\
                sshport = 2222\nexclude-snaps = [\"_frequently$\"]\n";
    let f = JobFile::parse(text, "jobs.toml").unwrap();
    let j = &f.jobs[0];
    assert_eq!(
        j.sync_args(1).unwrap(),
        [
            "--recursive",
            "--exclude-snaps=_frequently$",
            "--compress=lz4",
            "--sshport=2222",
            "tank/b",
            "root@backup:pool/bk/b",
        ]
    );
    let e = f.error_at(j, "--compress=x: unknown compression");
    assert_eq!(
        e.to_string(),
        "jobs.toml:1:1: job 'a': --compress=x: unknown compression"
    );
}

#[test]
fn the_contrib_example_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contrib/jobs/jobs.toml");
    let f = JobFile::load(std::path::Path::new(path)).unwrap();
    let names: Vec<_> = f.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["vms", "home-and-etc"]);
    let vms = &f.jobs[0];
    assert!(vms.settings.recursive && vms.settings.use_hold);
    assert_eq!(vms.retention.as_ref().unwrap().policy().daily, 30);
    assert_eq!(vms.on_failure.as_ref().unwrap().argv.len(), 2);
    // The file-wide command, for failures no job's own command covers.
    assert_eq!(
        f.on_failure.as_ref().unwrap().argv,
        ["/usr/local/bin/notify-admin", "zsync run failed"]
    );
    let pairs = f.jobs[1].pairs();
    assert_eq!(pairs[1].1.to_string(), "backup/etc");
}

#[test]
fn a_missing_file_is_named() {
    let e = JobFile::load(std::path::Path::new("/nonexistent/jobs.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/jobs.toml: cannot read: "),
        "{e}"
    );
}

proptest! {
    // Garbage never panics, and every refusal is one line with file:line:column inside the text.
    #[test]
    fn any_text_is_accepted_or_refused_in_one_line(text in "[\\[\\]a-z=\"0-9 ,\n._/-]{0,120}") {
        if let Err(e) = JobFile::parse(&text, "jobs.toml") {
            let s = e.to_string();
            prop_assert_eq!(s.lines().count(), 1, "{}", s);
            let at = e.location().unwrap();
            prop_assert!(at.line >= 1 && at.line <= text.lines().count() + 1, "{}", s);
        }
    }

    // Any valid job survives a mutation of one value's type with an error naming that key.
    #[test]
    fn a_wrongly_typed_flag_is_named(key in prop::sample::select(vec![
        "recursive", "skip-parent", "no-stream", "use-hold", "rollback", "mount",
    ])) {
        let text = format!("{MINIMAL}{key} = 3\n");
        let e = err(&text);
        prop_assert!(
            e.starts_with(&format!("jobs.toml:5:{}: '{key}': invalid type: integer `3`, expected a boolean", key.len() + 4)),
            "{}", e
        );
    }
}
