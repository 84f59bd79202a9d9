//! syncoid's per-dataset opt-out: the user property `syncoid:sync` on a source dataset (inherited as
//! any user property) says whether syncoid replicates it. Unset, empty or `true`: replicated; `false`:
//! never; anything else is a comma-separated list of host names, and only a run on a host whose name
//! (`gethostname`, compared exactly) is in the list replicates it.

/// The property's name.
pub const SYNC_PROPERTY: &str = "syncoid:sync";

/// Why a dataset whose `syncoid:sync` value is `value` (`None`: unset) is not replicated by a run on
/// `host`, in syncoid's words (`syncoid:sync=false`, `syncoid:sync doesn't include HOST`); `None`
/// when it is replicated.
pub fn sync_property_skip(value: Option<&str>, host: &str) -> Option<String> {
    match value {
        None | Some("" | "-" | "true") => None,
        Some("false") => Some(format!("{SYNC_PROPERTY}=false")),
        Some(list) if list.split(',').any(|h| h == host) => None,
        Some(_) => Some(format!("{SYNC_PROPERTY} doesn't include {host}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_syncoid_reads_them() {
        for v in [None, Some(""), Some("-"), Some("true"), Some("a,nas,b")] {
            assert_eq!(sync_property_skip(v, "nas"), None, "{v:?}");
        }
        assert_eq!(
            sync_property_skip(Some("false"), "nas").as_deref(),
            Some("syncoid:sync=false")
        );
        // Exact names, split on commas only: no prefix match, no trimming, case matters.
        for v in ["nas2", "a, nas", "NAS", "nas.example.org"] {
            assert_eq!(
                sync_property_skip(Some(v), "nas").as_deref(),
                Some("syncoid:sync doesn't include nas"),
                "{v}"
            );
        }
    }
}
