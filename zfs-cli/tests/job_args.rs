//! A job of zsync-ops' job file means what the `zsync sync` command line means: its argument
//! vector ([`Job::sync_args`]) parses into the binary's own `SyncArgs` and resolves as flags do.
//! The struct literal below names every `SyncFlags`/`SshFlags` field, so a flag added to
//! `zsync sync` fails to compile here until the job file knows it.

use clap::Parser;
use std::path::PathBuf;
use zsync_cli::args::resolve::resolve;
use zsync_cli::args::ssh::SshFlags;
use zsync_cli::args::{SyncArgs, SyncFlags};
use zsync_ops::jobs::{Job, JobFile};

#[derive(Parser)]
struct Sync {
    #[command(flatten)]
    args: SyncArgs,
}

fn parsed(job: &Job, index: usize) -> SyncArgs {
    let mut argv = vec!["sync".to_string()];
    argv.extend(job.sync_args(index).unwrap());
    Sync::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
        .args
}

#[test]
fn every_option_reaches_the_same_flag() {
    let text = r#"
[[job]]
name = "all"
source = ["tank/a"]
target = "root@backup:pool/a"
recursive = true
skip-parent = true
exclude-datasets = ["tmp$"]
include-snaps = ["^auto"]
exclude-snaps = ["_frequently$"]
no-stream = true
no-sync-snap = true
keep-sync-snap = true
identifier = "nas1"
create-bookmark = true
use-hold = true
no-resume = true
force-delete = true
delete-target-snapshots = true
preserve-properties = true
preserve-recordsize = true
sendoptions = "L c e"
recvoptions = "-o compression=lz4"
compress = "zstd-5"
small-stream = "512k"
source-bwlimit = "20M"
target-bwlimit = "10M"
jobs = 3
rollback = true
mount = true
no-stream-check = true
sshkey = "/root/.ssh/id_zsync"
sshport = 2222
sshcipher = "aes128-gcm@openssh.com"
sshoption = ["ConnectTimeout=5"]
sshconfig = "none"
ssh-transport = "openssh"
accept-new-host-key = true
no-privilege-elevation = true
"#;
    let file = JobFile::parse(text, "jobs.toml").unwrap();
    let a = parsed(&file.jobs[0], 0);
    let s = |v: &str| Some(v.to_string());
    let v = |v: &str| vec![v.to_string()];
    let want = SyncFlags {
        recursive: true,
        skip_parent: true,
        exclude_datasets: v("tmp$"),
        include_snaps: v("^auto"),
        exclude_snaps: v("_frequently$"),
        no_stream: true,
        no_sync_snap: true,
        keep_sync_snap: true,
        identifier: s("nas1"),
        create_bookmark: true,
        use_hold: true,
        no_resume: true,
        force_delete: true,
        delete_target_snapshots: true,
        preserve_properties: true,
        preserve_recordsize: true,
        sendoptions: s("L c e"),
        recvoptions: s("-o compression=lz4"),
        compress: s("zstd-5"),
        small_stream: s("512k"),
        source_bwlimit: s("20M"),
        target_bwlimit: s("10M"),
        jobs: Some(3),
        // The run's output options, not a job's.
        json: false,
        quiet: false,
        debug: false,
        dumpsnaps: false,
        // The per-target lock's: the run's `--lock-wait` default, not a job's.
        lock_wait: None,
        target_lock_dir: None,
        ssh: SshFlags {
            sshkey: Some(PathBuf::from("/root/.ssh/id_zsync")),
            sshport: Some(2222),
            sshcipher: s("aes128-gcm@openssh.com"),
            sshoption: v("ConnectTimeout=5"),
            sshconfig: s("none"),
            ssh_transport: zfs_ssh::Transport::OpenSsh,
            accept_new_host_key: true,
            no_privilege_elevation: true,
        },
    };
    assert_eq!(a.flags, want);
    assert!(a.rollback && a.mount && a.no_stream_check);
    assert!(!a.progress && !a.no_progress);
    assert_eq!(
        (a.source.as_str(), a.target.as_str()),
        ("tank/a", "root@backup:pool/a")
    );
    let r = resolve(&a, false).unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(r.options.jobs, 3);
    assert_eq!(r.options.identifier, "nas1");
}

#[test]
fn the_contrib_example_resolves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../contrib/jobs/jobs.toml");
    let file = JobFile::load(std::path::Path::new(path)).unwrap();
    let mut n = 0;
    for job in &file.jobs {
        for i in 0..job.pairs().len() {
            let a = parsed(job, i);
            if let Err(e) = resolve(&a, false) {
                panic!("{}", file.error_at(job, e.message));
            }
            n += 1;
        }
    }
    assert_eq!(n, 3);
}

#[test]
fn an_option_the_binary_refuses_is_reported_at_its_job() {
    let file = JobFile::parse(
        "[[job]]\nname = \"a\"\nsource = [\"tank/a\"]\ntarget = \"root@b:pool/a\"\ncompress = \"brotli\"\n",
        "jobs.toml",
    )
    .unwrap();
    let job = &file.jobs[0];
    let e = resolve(&parsed(job, 0), false).unwrap_err();
    let line = file.error_at(job, e.message).to_string();
    assert!(
        line.starts_with("jobs.toml:1:1: job 'a': --compress=brotli: unknown compression"),
        "{line}"
    );
}
