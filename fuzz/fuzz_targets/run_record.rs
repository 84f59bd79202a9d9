//! The run record reader of zsync-ops (`/var/lib/zsync/last-run.json`, read by `zsync status` and
//! the metrics) must never panic on a damaged or foreign file: it reads a record or says why not.
//! A record that reads renders as metrics and writes back to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zsync_ops::state::RunRecord;

fuzz_target!(|data: &[u8]| {
    let Ok(rec) = RunRecord::parse(data) else {
        return;
    };
    let text = zsync_ops::metrics::render(Some(&rec), &[]);
    assert!(text.lines().all(|l| l.starts_with('#') || l.starts_with("zsync_")));
    let again = serde_json::to_vec(&rec).expect("a record serialises");
    let back = RunRecord::parse(&again).expect("a written record reads back");
    assert_eq!(back.jobs.len(), rec.jobs.len());
});
