//! What zsync keeps between runs, in its state directory (default [`DEFAULT_STATE_DIR`]): the
//! record of the last `zsync run` ([`RunRecord`], read back by `zsync status` and the metrics), and
//! the one way files there are written ([`write_atomically`]: a reader never sees half a file).

mod atomic;
mod record;

pub use atomic::write_atomically;
pub use record::{
    DatasetRecord, JobRecord, PoolRecord, RecordError, RunRecord, RunResult, StageRecord,
    RECORD_FILE, RECORD_FORMAT,
};

/// The default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/zsync";
