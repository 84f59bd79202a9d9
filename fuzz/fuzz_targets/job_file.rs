//! The job file parser of zsync-ops (`/etc/zsync/jobs.toml`) must never panic: any text parses
//! into checked jobs or gives one error line naming the file (and, for a TOML or value error, the
//! line and column). Jobs that parse render their `zsync sync` argument vectors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_ops::jobs::JobFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match JobFile::parse(text, "jobs.toml") {
        Ok(file) => {
            assert!(!file.jobs.is_empty());
            for job in &file.jobs {
                for i in 0..job.pairs().len() {
                    let argv = job.sync_args(i).expect("a pair's arguments");
                    assert!(argv.len() >= 2);
                }
                assert!(job.sync_args(job.pairs().len()).is_none());
                if let Some(r) = &job.retention {
                    let _ = r.config(&["pool/ds"], "fuzz");
                }
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("jobs.toml"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
});
