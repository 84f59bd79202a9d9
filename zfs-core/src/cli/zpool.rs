//! Pool health and capacity through `zpool`: one `zpool list` (retried while a pool shows up as `-`),
//! plus one `zpool status` for the detail.

use super::argv::{pools_args, status_args};
use super::command::Cli;
use super::parse::{parse_pool_list, parse_pool_status};
use crate::error::ZfsError;
use crate::name::PoolName;
use crate::pool::PoolStatus;

/// How many `zpool list` runs a pool printed as `-` gets before that is an error.
const TRIES: u32 = 3;

/// [`Backend::pools`](crate::Backend::pools) for the CLI backend.
pub(super) fn pools(cli: &Cli, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
    // A pool exported or destroyed while `zpool list` runs is printed as a row named `-`; a later
    // listing no longer has it (pools of a busy host may come and go more than once, hence a few
    // tries, a moment apart). A row still unreadable then is a pool whose properties cannot be
    // read: an error, never a pool silently left out.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (what, text) = cli.run_zpool(pools_args(names), names)?;
        let list = parse_pool_list(&text).map_err(|e| cli.parse_err(&what, e))?;
        match list.unreadable.first() {
            None => return Ok(list.pools),
            Some(_) if attempt < TRIES => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Some(&line) => {
                let detail = format!(
                    "zpool printed `-` for the name of {} pool(s) in {TRIES} listings in a \
                     row: it cannot read their properties (`zpool status` may say why)",
                    list.unreadable.len()
                );
                return Err(cli.parse_err(&what, super::parse::ParseError { line, detail }));
            }
        }
    }
}

/// [`Backend::pool_status`](crate::Backend::pool_status) for the CLI backend.
pub(super) fn pool_status(cli: &Cli, names: &[PoolName]) -> Result<Vec<PoolStatus>, ZfsError> {
    let mut pools = pools(cli, names)?;
    let (_, text) = cli.run_zpool(status_args(names), names)?;
    let mut details = parse_pool_status(&text);
    for p in &mut pools {
        if let Some(i) = details.iter().position(|(n, _)| n == p.name.as_str()) {
            p.detail = Some(details.swap_remove(i).1);
        }
    }
    Ok(pools)
}
