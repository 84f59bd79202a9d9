//! Job file errors: one line each, naming the file, line, column and key or job.

use super::Location;

/// Why a job file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFileError {
    /// The file could not be read.
    #[error("{label}: cannot read: {reason}")]
    Read {
        /// The file's name as given.
        label: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file's content is wrong at a place.
    #[error("{label}:{at}: {message}")]
    Invalid {
        /// The file's name as given.
        label: String,
        /// Where.
        at: Location,
        /// What, naming the key or job.
        message: String,
    },
}

impl JobFileError {
    /// Where the error is, when it is in the content.
    pub fn location(&self) -> Option<Location> {
        match self {
            JobFileError::Read { .. } => None,
            JobFileError::Invalid { at, .. } => Some(*at),
        }
    }
}
