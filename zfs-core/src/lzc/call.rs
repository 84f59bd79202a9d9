//! Making one libzfs_core call: C string arguments, nvlists (built, adopted, grouped one call per
//! pool), and the `(name, errno)` error list many calls return.

use super::errors::{call_error, nv_err};
use super::nvlist::{self, NvList};
use crate::error::ZfsError;
use libzfs_sys as sys;
use std::ffi::CString;

/// The loaded library, with the helpers every call needs. Derefs to the function table, so
/// `(lib.lzc_hold)(..)` calls through it.
#[derive(Clone, Copy)]
pub(super) struct Lib(pub(super) &'static sys::LibZfsCore);

impl std::ops::Deref for Lib {
    type Target = sys::LibZfsCore;
    fn deref(&self) -> &sys::LibZfsCore {
        self.0
    }
}

impl Lib {
    /// A new empty nvlist.
    pub(super) fn nvlist(self, op: &'static str) -> Result<NvList, ZfsError> {
        NvList::new(self.0).map_err(nv_err(op))
    }

    /// Takes ownership of an out-parameter list.
    pub(super) fn adopt(self, ptr: *mut sys::nvlist_t) -> Option<NvList> {
        // SAFETY: `ptr` came from a libzfs_core out-parameter (NULL or a list we must free).
        unsafe { NvList::from_raw(self.0, ptr) }
    }

    /// Runs an errlist-style call: its return code and the decoded `(name, errno)` error entries.
    pub(super) fn errlist_raw(
        self,
        f: impl FnOnce(*mut *mut sys::nvlist_t) -> i32,
    ) -> (i32, Vec<(String, i32)>) {
        let mut errs: *mut sys::nvlist_t = std::ptr::null_mut();
        let rc = f(&mut errs);
        let entries = self
            .adopt(errs)
            .map(|l| nvlist::errlist_entries(&l.decode()))
            .unwrap_or_default();
        (rc, entries.into_iter().filter(|(_, e)| *e != 0).collect())
    }

    /// Runs an errlist-style call and maps failure; a non-empty error list counts as failure even when the
    /// call returned 0 (lzc_hold reports missing snapshots that way).
    pub(super) fn errlist_call(
        self,
        op: &'static str,
        fallback: &str,
        f: impl FnOnce(*mut *mut sys::nvlist_t) -> i32,
    ) -> Result<(), ZfsError> {
        let (rc, entries) = self.errlist_raw(f);
        if rc == 0 && entries.is_empty() {
            Ok(())
        } else {
            Err(call_error(op, rc, &entries, fallback))
        }
    }
}

/// `s` as a C string; a NUL inside is an invalid argument of `op`.
pub(super) fn cstr(op: &'static str, s: &str) -> Result<CString, ZfsError> {
    CString::new(s).map_err(|_| ZfsError::InvalidArgument {
        op,
        detail: format!("{s:?} contains a NUL byte"),
    })
}

/// Items grouped by pool name.
pub(super) type PoolGroups<'a, T> = Vec<(String, Vec<&'a T>)>;

/// Groups items by pool, keeping input order within each pool; pools in first-seen order. Calls that
/// take a list of names act on one pool at a time.
pub(super) fn by_pool<'a, T>(
    items: impl IntoIterator<Item = &'a T>,
    pool: impl Fn(&T) -> String,
) -> PoolGroups<'a, T> {
    let mut groups: PoolGroups<'a, T> = Vec::new();
    for it in items {
        let p = pool(it);
        match groups.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(it),
            None => groups.push((p, vec![it])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::SnapshotName;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    #[test]
    fn grouping_by_pool_keeps_order() {
        let snaps = [snap("b/x@1"), snap("a/y@1"), snap("b/z@1")];
        let g = by_pool(&snaps, |s| s.dataset().pool().as_str().to_owned());
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, "b");
        assert_eq!(g[0].1, vec![&snaps[0], &snaps[2]]);
        assert_eq!(g[1].1, vec![&snaps[1]]);
    }

    #[test]
    fn nul_in_a_c_string_is_an_invalid_argument() {
        assert!(cstr("x", "a\0").is_err());
        assert_eq!(cstr("x", "p/a@s 1").unwrap().as_bytes(), b"p/a@s 1");
    }
}
