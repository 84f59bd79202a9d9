//! The user database a backup host sees: edited copies of `/etc/passwd`, `/etc/shadow`,
//! `/etc/group` and a complete `/etc/sudoers`, bind-mounted over the VM's files inside the host's
//! own mount namespace only (pure text here; tested on the host).

use super::Sudo;

/// The non-root user every backup host has.
pub const BACKUP_USER: &str = "zsyncbk";

/// Its uid and gid (checked to be free in the VM's `/etc/passwd` and `/etc/group`).
pub const BACKUP_UID: u32 = 4713;

/// A password field that no password matches and that sshd does not read as "locked" (it must
/// not start with `!` or `*`): key logins work, password logins and `sudo` passwords never do.
pub const NO_PASSWORD: &str = "zsync-lab-no-password";

/// Where sudo finds commands (Debian's default `secure_path`).
const SECURE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why the VM's user database cannot take the backup user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict(pub String);

/// `passwd` with root's shell set to `/bin/sh` (sshd runs remote commands with the user's shell,
/// and bash would source the machine's `/root/.bashrc`, slow and noisy) plus the backup user with
/// `home`; refuses a name or uid that is already taken and a home that breaks the file's format.
pub fn passwd(base: &str, home: &str) -> Result<String, Conflict> {
    if home.contains([':', '\n']) {
        return Err(Conflict(format!(
            "home directory {home:?} cannot go into /etc/passwd (it holds ':' or a newline)"
        )));
    }
    check_free(base, "/etc/passwd")?;
    let mut out = String::with_capacity(base.len() + 80);
    for line in base.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() == 7 && fields[0] == "root" {
            out.push_str(&fields[..6].join(":"));
            out.push_str(":/bin/sh\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "{BACKUP_USER}:x:{BACKUP_UID}:{BACKUP_UID}:zsync lab backup user:{home}:/bin/sh\n"
    ));
    Ok(out)
}

/// `group` plus the backup user's own group.
pub fn group(base: &str) -> Result<String, Conflict> {
    check_free(base, "/etc/group")?;
    Ok(format!(
        "{}{BACKUP_USER}:x:{BACKUP_UID}:\n",
        with_newline(base)
    ))
}

/// `shadow` with root's password field replaced by [`NO_PASSWORD`] (the VM's root is locked,
/// which sshd refuses even for keys) plus the backup user with the same field.
pub fn shadow(base: &str) -> Result<String, Conflict> {
    let mut out = String::with_capacity(base.len() + 64);
    for line in base.lines() {
        if line.split(':').next() == Some(BACKUP_USER) {
            return Err(Conflict(format!(
                "user {BACKUP_USER} already exists in /etc/shadow"
            )));
        }
        match line.strip_prefix("root:") {
            Some(rest) => {
                let after = rest.split_once(':').map_or("", |(_, after)| after);
                out.push_str(&format!("root:{NO_PASSWORD}:{after}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str(&format!("{BACKUP_USER}:{NO_PASSWORD}:19000:0:99999:7:::\n"));
    Ok(out)
}

/// A complete `/etc/sudoers` (Debian's defaults, no `@includedir`) giving [`BACKUP_USER`] `zfs`
/// and `zpool` as root as `sudo` says.
pub fn sudoers(sudo: Sudo) -> String {
    let rule = match sudo {
        Sudo::NoPassword => {
            format!("{BACKUP_USER}\tALL=(root) NOPASSWD: /usr/sbin/zfs, /usr/sbin/zpool\n")
        }
        Sudo::Password => format!("{BACKUP_USER}\tALL=(root) /usr/sbin/zfs, /usr/sbin/zpool\n"),
        Sudo::Denied => String::new(),
    };
    format!(
        "# Written by zsync_lab::ssh for one backup host.\n\
         Defaults\tenv_reset\n\
         Defaults\tsecure_path=\"{SECURE_PATH}\"\n\
         Defaults\tuse_pty\n\
         root\tALL=(ALL:ALL) ALL\n\
         {rule}"
    )
}

fn check_free(base: &str, file: &str) -> Result<(), Conflict> {
    for line in base.lines() {
        let mut fields = line.split(':');
        let name = fields.next().unwrap_or("");
        let id = fields.nth(1).unwrap_or("");
        if name == BACKUP_USER {
            return Err(Conflict(format!("{BACKUP_USER} already exists in {file}")));
        }
        if id == BACKUP_UID.to_string() {
            return Err(Conflict(format!(
                "id {BACKUP_UID} is already taken in {file} (by {name})"
            )));
        }
    }
    Ok(())
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n";

    #[test]
    fn adds_the_backup_user() {
        let p = passwd(PASSWD, "/lab/ssh/0-a/home").unwrap();
        assert!(p.starts_with(
            "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
        ));
        assert!(
            p.ends_with("zsyncbk:x:4713:4713:zsync lab backup user:/lab/ssh/0-a/home:/bin/sh\n")
        );
        let g = group("root:x:0:").unwrap();
        assert_eq!(g, "root:x:0:\nzsyncbk:x:4713:\n");
    }

    #[test]
    fn refuses_taken_names_ids_and_bad_homes() {
        assert!(passwd(&format!("{PASSWD}zsyncbk:x:5:5::/:/bin/sh\n"), "/h").is_err());
        let e = passwd("other:x:4713:4713::/:/bin/sh\n", "/h").unwrap_err();
        assert!(e.0.contains("4713") && e.0.contains("other"), "{e:?}");
        assert!(passwd(PASSWD, "/a:b").is_err());
        assert!(group("g:x:4713:\n").is_err());
        assert!(shadow("zsyncbk:!:1::::::\n").is_err());
    }

    #[test]
    fn unlocks_root_for_keys_only() {
        let s = shadow("root:!:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n").unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "root:zsync-lab-no-password:19000:0:99999:7:::");
        assert_eq!(lines[1], "bin:*:19000:0:99999:7:::");
        assert_eq!(lines[2], "zsyncbk:zsync-lab-no-password:19000:0:99999:7:::");
        assert!(!NO_PASSWORD.starts_with(['!', '*']));
    }

    #[test]
    fn sudoers_per_policy() {
        assert!(sudoers(Sudo::NoPassword).contains("zsyncbk\tALL=(root) NOPASSWD: /usr/sbin/zfs"));
        let with_password = sudoers(Sudo::Password);
        assert!(with_password.contains("zsyncbk\tALL=(root) /usr/sbin/zfs, /usr/sbin/zpool"));
        assert!(!with_password.contains("NOPASSWD"));
        assert!(!sudoers(Sudo::Denied).contains("zsyncbk"));
        assert!(!sudoers(Sudo::NoPassword).contains("includedir"));
    }
}
