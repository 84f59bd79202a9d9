//! A small safe layer over libnvpair's `nvlist_t`, enough to build libzfs_core arguments and read its
//! results.
//!
//! [`NvList`] owns one list and frees it on drop. Reading decodes a list into owned Rust values
//! ([`NvValue`]), so nothing borrowed from C outlives the list it came from.

use libzfs_sys as sys;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

/// Building or reading an nvlist failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NvError {
    /// A libnvpair call returned an errno (usually `ENOMEM` or `EINVAL`).
    #[error("{op}({key:?}): errno {errno}")]
    Errno {
        /// The libnvpair function.
        op: &'static str,
        /// The key concerned.
        key: String,
        /// Returned errno.
        errno: i32,
    },
    /// A key or string value contains a NUL byte and cannot be passed to C.
    #[error("{0:?}: contains a NUL byte")]
    Nul(String),
}

/// A decoded nvpair value. Types zsync never reads are kept as [`NvValue::Other`] with their type code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NvValue {
    /// `DATA_TYPE_BOOLEAN`: a key with no value (set membership).
    Flag,
    /// `DATA_TYPE_BOOLEAN_VALUE`.
    Bool(bool),
    /// `DATA_TYPE_INT32` (libzfs_core error lists hold errnos as int32).
    Int32(i32),
    /// `DATA_TYPE_UINT32`.
    UInt32(u32),
    /// `DATA_TYPE_INT64`.
    Int64(i64),
    /// `DATA_TYPE_UINT64`.
    UInt64(u64),
    /// `DATA_TYPE_STRING` (lossily decoded if not UTF-8).
    String(String),
    /// `DATA_TYPE_NVLIST`, decoded recursively.
    List(Vec<(String, NvValue)>),
    /// Any other type, by its `data_type_t` code.
    Other(i32),
}

impl NvValue {
    /// The value as an unsigned integer, for any integer type that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            NvValue::UInt64(v) => Some(v),
            NvValue::UInt32(v) => Some(v.into()),
            NvValue::Int64(v) => u64::try_from(v).ok(),
            NvValue::Int32(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// The value as a signed integer, for any integer type that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            NvValue::UInt64(v) => i64::try_from(v).ok(),
            NvValue::UInt32(v) => Some(v.into()),
            NvValue::Int64(v) => Some(v),
            NvValue::Int32(v) => Some(v.into()),
            _ => None,
        }
    }
    /// The nested list, when this is one.
    pub fn as_list(&self) -> Option<&[(String, NvValue)]> {
        match self {
            NvValue::List(l) => Some(l),
            _ => None,
        }
    }
}

/// Looks `key` up in a decoded list.
pub fn get<'a>(pairs: &'a [(String, NvValue)], key: &str) -> Option<&'a NvValue> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Key libzfs_core adds to an error list when it left entries out.
const MORE_ERRORS_KEY: &str = "N_MORE_ERRORS";

/// Reads a libzfs_core error list (`{name: errno}`) into `(name, errno)` pairs, skipping the
/// "more errors" counter. Entries whose value is not an integer are reported with errno 0.
pub fn errlist_entries(pairs: &[(String, NvValue)]) -> Vec<(String, i32)> {
    pairs
        .iter()
        .filter(|(k, _)| k != MORE_ERRORS_KEY)
        .map(|(k, v)| {
            let errno = v.as_i64().and_then(|e| i32::try_from(e).ok()).unwrap_or(0);
            (k.clone(), errno)
        })
        .collect()
}

fn cstring(s: &str) -> Result<CString, NvError> {
    CString::new(s).map_err(|_| NvError::Nul(s.to_owned()))
}

/// An owned `nvlist_t` (unique names), freed on drop.
pub struct NvList {
    lib: &'static sys::LibZfsCore,
    ptr: *mut sys::nvlist_t,
}

// SAFETY: the list is exclusively owned; libnvpair has no thread affinity.
unsafe impl Send for NvList {}

impl std::fmt::Debug for NvList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.decode()).finish()
    }
}

impl NvList {
    /// A new empty list whose keys are unique (adding a key again replaces it).
    pub fn new(lib: &'static sys::LibZfsCore) -> Result<NvList, NvError> {
        let mut ptr: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: valid out-pointer; flags per nvpair.h; kmflag 0 is ignored in userland.
        let rc = unsafe { (lib.nvlist_alloc)(&mut ptr, sys::NV_UNIQUE_NAME, 0) };
        if rc != 0 || ptr.is_null() {
            return Err(NvError::Errno {
                op: "nvlist_alloc",
                key: String::new(),
                errno: rc,
            });
        }
        Ok(NvList { lib, ptr })
    }

    /// Takes ownership of a list libzfs_core returned through an out-parameter; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or a list allocated by this libnvpair that nothing else frees.
    pub unsafe fn from_raw(
        lib: &'static sys::LibZfsCore,
        ptr: *mut sys::nvlist_t,
    ) -> Option<NvList> {
        (!ptr.is_null()).then_some(NvList { lib, ptr })
    }

    /// The raw pointer, for passing to libzfs_core (which does not take ownership).
    pub fn as_ptr(&self) -> *mut sys::nvlist_t {
        self.ptr
    }

    fn check(&self, op: &'static str, key: &str, rc: i32) -> Result<(), NvError> {
        if rc == 0 {
            Ok(())
        } else {
            Err(NvError::Errno {
                op,
                key: key.to_owned(),
                errno: rc,
            })
        }
    }

    /// Adds a key without value (`DATA_TYPE_BOOLEAN`), as libzfs_core uses for name sets.
    pub fn add_flag(&mut self, key: &str) -> Result<(), NvError> {
        let k = cstring(key)?;
        // SAFETY: valid list and NUL-terminated key; libnvpair copies the key.
        let rc = unsafe { (self.lib.nvlist_add_boolean)(self.ptr, k.as_ptr()) };
        self.check("nvlist_add_boolean", key, rc)
    }

    /// Adds a string value.
    pub fn add_string(&mut self, key: &str, value: &str) -> Result<(), NvError> {
        let k = cstring(key)?;
        let v = cstring(value)?;
        // SAFETY: as above; the value is copied.
        let rc = unsafe { (self.lib.nvlist_add_string)(self.ptr, k.as_ptr(), v.as_ptr()) };
        self.check("nvlist_add_string", key, rc)
    }

    /// Adds a uint64 value.
    pub fn add_u64(&mut self, key: &str, value: u64) -> Result<(), NvError> {
        let k = cstring(key)?;
        // SAFETY: as above.
        let rc = unsafe { (self.lib.nvlist_add_uint64)(self.ptr, k.as_ptr(), value) };
        self.check("nvlist_add_uint64", key, rc)
    }

    /// Adds an int32 value.
    pub fn add_i32(&mut self, key: &str, value: i32) -> Result<(), NvError> {
        let k = cstring(key)?;
        // SAFETY: as above.
        let rc = unsafe { (self.lib.nvlist_add_int32)(self.ptr, k.as_ptr(), value) };
        self.check("nvlist_add_int32", key, rc)
    }

    /// Adds a copy of `value` as a nested list.
    pub fn add_list(&mut self, key: &str, value: &NvList) -> Result<(), NvError> {
        let k = cstring(key)?;
        // SAFETY: both lists valid; libnvpair deep-copies `value`.
        let rc = unsafe { (self.lib.nvlist_add_nvlist)(self.ptr, k.as_ptr(), value.ptr) };
        self.check("nvlist_add_nvlist", key, rc)
    }

    /// Whether `key` is present (any type).
    pub fn contains(&self, key: &str) -> bool {
        let Ok(k) = cstring(key) else { return false };
        // SAFETY: valid list and key.
        unsafe { (self.lib.nvlist_exists)(self.ptr, k.as_ptr()) != sys::B_FALSE }
    }

    /// Whether the list has no pairs.
    pub fn is_empty(&self) -> bool {
        // SAFETY: valid list; NULL asks for the first pair.
        unsafe { (self.lib.nvlist_next_nvpair)(self.ptr, std::ptr::null()).is_null() }
    }

    /// Decodes every pair (recursively) into owned values, in list order.
    pub fn decode(&self) -> Vec<(String, NvValue)> {
        // SAFETY: `self.ptr` is a valid list for the duration of the call.
        unsafe { decode_raw(self.lib, self.ptr, 0) }
    }
}

impl Drop for NvList {
    fn drop(&mut self) {
        // SAFETY: we own the list; it is freed exactly once.
        unsafe { (self.lib.nvlist_free)(self.ptr) }
    }
}

/// Nesting depth beyond which nested lists are not decoded (libzfs_core results are 2-3 deep).
const MAX_DEPTH: usize = 16;

unsafe fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// # Safety
/// `nvl` must be a valid list that stays alive during the call.
unsafe fn decode_raw(
    lib: &'static sys::LibZfsCore,
    nvl: *mut sys::nvlist_t,
    depth: usize,
) -> Vec<(String, NvValue)> {
    let mut out = Vec::new();
    let mut pair = (lib.nvlist_next_nvpair)(nvl, std::ptr::null());
    while !pair.is_null() {
        let name = cstr_lossy((lib.nvpair_name)(pair));
        let ty = (lib.nvpair_type)(pair);
        let value = match ty {
            sys::DATA_TYPE_BOOLEAN => NvValue::Flag,
            sys::DATA_TYPE_BOOLEAN_VALUE => {
                let mut v: sys::boolean_t = sys::B_FALSE;
                match (lib.nvpair_value_boolean_value)(pair, &mut v) {
                    0 => NvValue::Bool(v != sys::B_FALSE),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_INT32 => {
                let mut v = 0i32;
                match (lib.nvpair_value_int32)(pair, &mut v) {
                    0 => NvValue::Int32(v),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_UINT32 => {
                let mut v = 0u32;
                match (lib.nvpair_value_uint32)(pair, &mut v) {
                    0 => NvValue::UInt32(v),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_INT64 => {
                let mut v = 0i64;
                match (lib.nvpair_value_int64)(pair, &mut v) {
                    0 => NvValue::Int64(v),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_UINT64 => {
                let mut v = 0u64;
                match (lib.nvpair_value_uint64)(pair, &mut v) {
                    0 => NvValue::UInt64(v),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_STRING => {
                let mut v: *const c_char = std::ptr::null();
                match (lib.nvpair_value_string)(pair, &mut v) {
                    0 => NvValue::String(cstr_lossy(v)),
                    _ => NvValue::Other(ty),
                }
            }
            sys::DATA_TYPE_NVLIST if depth < MAX_DEPTH => {
                let mut v: *mut sys::nvlist_t = std::ptr::null_mut();
                match (lib.nvpair_value_nvlist)(pair, &mut v) {
                    // The nested list belongs to `pair`; it is only read here.
                    0 if !v.is_null() => NvValue::List(decode_raw(lib, v, depth + 1)),
                    _ => NvValue::Other(ty),
                }
            }
            other => NvValue::Other(other),
        };
        out.push((name, value));
        pair = (lib.nvlist_next_nvpair)(nvl, pair);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errlist_skips_more_errors_counter() {
        let pairs = vec![
            ("tank/a@s".to_owned(), NvValue::Int32(libc::EEXIST)),
            (MORE_ERRORS_KEY.to_owned(), NvValue::Int32(3)),
            ("tank/b@s".to_owned(), NvValue::String("x".into())),
        ];
        assert_eq!(
            errlist_entries(&pairs),
            vec![
                ("tank/a@s".to_owned(), libc::EEXIST),
                ("tank/b@s".to_owned(), 0)
            ]
        );
    }

    #[test]
    fn integer_accessors_convert_only_when_fitting() {
        assert_eq!(NvValue::Int64(-1).as_u64(), None);
        assert_eq!(NvValue::UInt64(u64::MAX).as_i64(), None);
        assert_eq!(NvValue::UInt32(7).as_i64(), Some(7));
        assert_eq!(NvValue::String("1".into()).as_u64(), None);
    }

    /// The loaded library, or `None` (after saying why) on a host without OpenZFS userland. Fails if the
    /// library is installed but does not load.
    fn lib_or_skip() -> Option<&'static sys::LibZfsCore> {
        match super::super::library() {
            Ok(lib) => Some(lib),
            Err(why) => {
                let installed = [
                    "/lib",
                    "/usr/lib",
                    "/usr/lib/x86_64-linux-gnu",
                    "/lib/x86_64-linux-gnu",
                ]
                .iter()
                .any(|d| {
                    std::path::Path::new(d)
                        .join(sys::LIBZFS_CORE_SONAME)
                        .exists()
                });
                assert!(!installed, "installed but not loadable: {why}");
                eprintln!("skipped (libnvpair not installed on this host): {why}");
                None
            }
        }
    }

    /// Round trips through the real libnvpair when this host has it (the crate must also test green on
    /// machines without OpenZFS; then this says it skipped).
    #[test]
    fn builder_round_trip_with_real_libnvpair() {
        let Some(lib) = lib_or_skip() else { return };
        let mut inner = NvList::new(lib).unwrap();
        inner.add_flag("tag one").unwrap();
        inner.add_u64("n", u64::MAX).unwrap();
        let mut l = NvList::new(lib).unwrap();
        assert!(l.is_empty());
        l.add_string("pool/my data@s 1", "pool/-x#b").unwrap();
        l.add_i32("err", libc::EBUSY).unwrap();
        l.add_list("nested", &inner).unwrap();
        l.add_u64("n", 1).unwrap();
        l.add_u64("n", 2).unwrap(); // unique names: replaces
        drop(inner); // the nested copy is independent
        assert!(!l.is_empty());
        assert!(l.contains("nested") && !l.contains("missing"));
        let d = l.decode();
        assert_eq!(
            d,
            vec![
                (
                    "pool/my data@s 1".into(),
                    NvValue::String("pool/-x#b".into())
                ),
                ("err".into(), NvValue::Int32(libc::EBUSY)),
                (
                    "nested".into(),
                    NvValue::List(vec![
                        ("tag one".into(), NvValue::Flag),
                        ("n".into(), NvValue::UInt64(u64::MAX)),
                    ])
                ),
                ("n".into(), NvValue::UInt64(2)),
            ]
        );
        assert_eq!(get(&d, "n").and_then(NvValue::as_u64), Some(2));
        assert!(matches!(l.add_flag("a\0b"), Err(NvError::Nul(_))));
        assert!(matches!(l.add_string("k", "v\0"), Err(NvError::Nul(_))));
    }

    /// Many build/decode/drop cycles with nested copies: a double free or use after free in the Drop
    /// paths aborts under glibc's allocator checks.
    #[test]
    fn repeated_build_and_drop() {
        let Some(lib) = lib_or_skip() else { return };
        for i in 0..1000u64 {
            let mut a = NvList::new(lib).unwrap();
            a.add_u64("i", i).unwrap();
            let mut b = NvList::new(lib).unwrap();
            b.add_list("a", &a).unwrap();
            assert_eq!(b.decode().len(), 1);
        }
    }
}
