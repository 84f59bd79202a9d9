#![doc = include_str!("../README.md")]
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    missing_docs
)]
#![allow(clippy::missing_safety_doc, clippy::too_many_arguments)]

#[cfg(not(feature = "regenerate"))]
#[rustfmt::skip]
mod bindings;
#[cfg(feature = "regenerate")]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub use bindings::*;
pub use libloading;

/// The library file [`load`] opens (soname of OpenZFS 2.x's libzfs_core on Linux).
pub const LIBZFS_CORE_SONAME: &str = "libzfs_core.so.3";

/// Loads `libzfs_core.so.3` with the dynamic loader and resolves every bound function.
///
/// The `nvlist_*`/`nvpair_*` symbols live in `libnvpair.so.3`, which `libzfs_core.so.3` lists as a
/// dependency, so the loader brings it in and symbol lookup through the libzfs_core handle finds them.
/// Fails (without side effects) when the library or any bound symbol is missing.
///
/// This does not call `libzfs_core_init()`; the caller does that once before any `lzc_*` call.
///
/// # Safety
/// Loading a shared library runs its initialisers; the caller trusts the system's libzfs_core.
pub unsafe fn load() -> Result<LibZfsCore, libloading::Error> {
    LibZfsCore::new(LIBZFS_CORE_SONAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_match_the_header() {
        assert_eq!(LZC_SEND_FLAG_EMBED_DATA, 1);
        assert_eq!(LZC_SEND_FLAG_LARGE_BLOCK, 2);
        assert_eq!(LZC_SEND_FLAG_COMPRESS, 4);
        assert_eq!(LZC_SEND_FLAG_RAW, 8);
        assert_eq!(LZC_SEND_FLAG_SAVED, 16);
        assert_eq!(NV_UNIQUE_NAME, 1);
        assert_eq!(DATA_TYPE_NVLIST, 19);
        assert_eq!(DATA_TYPE_BOOLEAN_VALUE, 21);
    }

    /// Loads the real library when the host has it; a host without OpenZFS userland skips the check and
    /// says so (the crate must build and test without it).
    #[test]
    fn loads_when_installed() {
        let present = [
            "/lib",
            "/usr/lib",
            "/lib64",
            "/usr/lib64",
            "/usr/lib/x86_64-linux-gnu",
            "/lib/x86_64-linux-gnu",
        ]
        .iter()
        .any(|d| std::path::Path::new(d).join(LIBZFS_CORE_SONAME).exists());
        // SAFETY: loading the system library; no function is called except pure nvlist ones below.
        match unsafe { load() } {
            Ok(lib) => unsafe {
                let mut nvl: *mut nvlist_t = std::ptr::null_mut();
                assert_eq!((lib.nvlist_alloc)(&mut nvl, NV_UNIQUE_NAME, 0), 0);
                assert!(!nvl.is_null());
                assert_eq!((lib.nvlist_add_uint64)(nvl, c"k".as_ptr(), 42), 0);
                let mut v = 0u64;
                assert_eq!((lib.nvlist_lookup_uint64)(nvl, c"k".as_ptr(), &mut v), 0);
                assert_eq!(v, 42);
                (lib.nvlist_free)(nvl);
            },
            Err(e) => {
                assert!(
                    !present,
                    "{LIBZFS_CORE_SONAME} is installed but did not load: {e}"
                );
                eprintln!("skipped: {LIBZFS_CORE_SONAME} not installed on this host ({e})");
            }
        }
    }

    /// With `--features regenerate`, the freshly generated bindings must equal the committed file.
    #[cfg(feature = "regenerate")]
    #[test]
    fn committed_bindings_are_current() {
        let fresh = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/bindings.rs")).unwrap();
        let committed = include_str!("bindings.rs");
        assert!(
            fresh == committed,
            "src/bindings.rs is stale: run LIBZFS_SYS_UPDATE_BINDINGS=1 cargo build -p libzfs-sys --features regenerate"
        );
    }
}
