//! Loading the config file: discovery, reading, parsing, one error line.

use crate::discover;
use crate::exit::Fail;
use std::path::{Path, PathBuf};

/// A parsed config and the file it came from.
pub struct LoadedConfig {
    /// The file.
    pub path: PathBuf,
    /// The parsed config.
    pub config: zfs_policy::Config,
}

/// Finds, reads and parses the config. Any problem is ONE line with `file:line:col`, exit 2.
pub fn load_config(explicit: Option<&Path>, candidates: &[PathBuf]) -> Result<LoadedConfig, Fail> {
    let path = discover::find_config(explicit, candidates)?;
    let bytes = std::fs::read(&path)
        .map_err(|e| Fail::failure(format!("cannot read config {}: {e}", path.display())))?;
    let label = path.display().to_string();
    let config = zfs_policy::Config::parse_bytes(&bytes, &label)
        .map_err(|e| Fail::failure(format!("bad config: {e}")))?;
    Ok(LoadedConfig { path, config })
}
