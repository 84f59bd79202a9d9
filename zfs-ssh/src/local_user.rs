//! Who runs zsync on this machine: the login name, home directory and uid from the password
//! database (as OpenSSH takes `~` from it, not from `$HOME`).

use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// The local user: default remote login name, `~` for paths, `%u`/`%d`/`%i` tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalUser {
    /// Login name.
    pub name: String,
    /// Home directory.
    pub home: PathBuf,
    /// User id.
    pub uid: u32,
}

/// A passwd entry's name and home, from `getpwuid_r` or `getpwnam_r` (`None` when there is none).
fn passwd(by: Lookup<'_>) -> Option<(String, PathBuf, u32)> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpw*_r writes into `pwd` and `buf` (of the length we pass) and
    // sets `result` to `&pwd` on success; we read the strings before `buf` is dropped.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = match by {
            Lookup::Uid(uid) => libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            ),
            Lookup::Name(name) => {
                let name = CString::new(name).ok()?;
                libc::getpwnam_r(
                    name.as_ptr(),
                    &mut pwd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut result,
                )
            }
        };
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        let name = CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
        let home = PathBuf::from(CStr::from_ptr(pwd.pw_dir).to_string_lossy().into_owned());
        Some((name, home, pwd.pw_uid))
    }
}

enum Lookup<'a> {
    Uid(u32),
    Name(&'a str),
}

impl LocalUser {
    /// The user this process runs as. Without a passwd entry: the uid as the name and `$HOME` (or `/`)
    /// as the home.
    pub fn current() -> LocalUser {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        match passwd(Lookup::Uid(uid)) {
            Some((name, home, uid)) => LocalUser { name, home, uid },
            None => LocalUser {
                name: uid.to_string(),
                home: std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| "/".into()),
                uid,
            },
        }
    }

    /// The home directory of another local user (for `~name/...`).
    pub(crate) fn home_of(name: &str) -> Option<PathBuf> {
        passwd(Lookup::Name(name)).map(|(_, home, _)| home)
    }

    /// A user named `alice` with this home and the real uid (for tests).
    #[cfg(test)]
    pub(crate) fn for_tests(home: &std::path::Path) -> LocalUser {
        LocalUser {
            name: "alice".into(),
            home: home.to_path_buf(),
            // SAFETY: getuid cannot fail.
            uid: unsafe { libc::getuid() },
        }
    }

    /// `~/.ssh`.
    pub fn ssh_dir(&self) -> PathBuf {
        self.home.join(".ssh")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_user_has_a_name_and_a_home() {
        let me = LocalUser::current();
        assert!(!me.name.is_empty());
        assert!(me.home.is_absolute(), "{me:?}");
        assert_eq!(me.ssh_dir(), me.home.join(".ssh"));
        assert_eq!(LocalUser::home_of(&me.name), Some(me.home.clone()));
        assert_eq!(LocalUser::home_of("zsync-no-such-user"), None);
        assert_eq!(LocalUser::home_of("nul\0name"), None);
    }
}
