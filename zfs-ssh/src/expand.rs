//! ssh_config value expansion: `%` tokens (`%%`, `%h`, `%d`, ...) and a leading `~` or `~user`.

use crate::local_user::LocalUser;
use std::path::PathBuf;

/// Replaces `%X` tokens from `tokens` (`%%` is always a `%`); an unknown token or a lone `%` at the
/// end is an error naming it.
pub(crate) fn percent(text: &str, tokens: &[(char, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match tokens.iter().find(|(k, _)| *k == t) {
                Some((_, v)) => out.push_str(v),
                None => {
                    let known: Vec<String> = std::iter::once("%%".to_string())
                        .chain(tokens.iter().map(|(k, _)| format!("%{k}")))
                        .collect();
                    return Err(format!(
                        "unknown token %{t} in {text:?} (supported here: {})",
                        known.join(" ")
                    ));
                }
            },
            None => return Err(format!("{text:?} ends with a lone '%'")),
        }
    }
    Ok(out)
}

/// Expands a leading `~` (the local user's home) or `~name` (that user's home).
pub(crate) fn tilde(text: &str, local: &LocalUser) -> Result<PathBuf, String> {
    let Some(rest) = text.strip_prefix('~') else {
        return Ok(PathBuf::from(text));
    };
    let (name, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let home = if name.is_empty() {
        local.home.clone()
    } else {
        LocalUser::home_of(name).ok_or_else(|| format!("no local user {name:?} for {text:?}"))?
    };
    Ok(if tail.is_empty() {
        home
    } else {
        home.join(tail)
    })
}

/// The tokens a path in ssh_config may use (`IdentityFile`, `UserKnownHostsFile`): `%d` local home,
/// `%u` local user, `%i` local uid, `%h` remote host name, `%n` host as given, `%p` port, `%r`
/// remote user.
pub(crate) struct PathTokens<'a> {
    /// The local user.
    pub local: &'a LocalUser,
    /// The remote host name (after `HostName`).
    pub host: &'a str,
    /// The host as given on the command line.
    pub original: &'a str,
    /// The port.
    pub port: u16,
    /// The remote user.
    pub remote_user: &'a str,
}

impl PathTokens<'_> {
    /// `~` first, then `%` tokens, as OpenSSH expands an `IdentityFile`.
    pub(crate) fn path(&self, text: &str) -> Result<PathBuf, String> {
        let home = self.local.home.to_string_lossy();
        let uid = self.local.uid.to_string();
        let port = self.port.to_string();
        let tokens = [
            ('d', home.as_ref()),
            ('u', self.local.name.as_str()),
            ('i', uid.as_str()),
            ('h', self.host),
            ('n', self.original),
            ('p', port.as_str()),
            ('r', self.remote_user),
        ];
        let tilded = tilde(text, self.local)?;
        let expanded = percent(&tilded.to_string_lossy(), &tokens)?;
        Ok(PathBuf::from(expanded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> LocalUser {
        LocalUser {
            name: "alice".into(),
            home: "/home/alice".into(),
            uid: 1000,
        }
    }

    #[test]
    fn percent_tokens() {
        assert_eq!(percent("%h.lan", &[('h', "b1")]).unwrap(), "b1.lan");
        assert_eq!(percent("100%%", &[]).unwrap(), "100%");
        assert!(percent("%x", &[('h', "b")]).unwrap_err().contains("%x"));
        assert!(percent("a%", &[]).unwrap_err().contains("lone"));
    }

    #[test]
    fn tilde_forms() {
        let me = me();
        assert_eq!(tilde("~", &me).unwrap(), PathBuf::from("/home/alice"));
        assert_eq!(
            tilde("~/.ssh/k", &me).unwrap(),
            PathBuf::from("/home/alice/.ssh/k")
        );
        assert_eq!(tilde("/abs", &me).unwrap(), PathBuf::from("/abs"));
        assert_eq!(tilde("rel/x", &me).unwrap(), PathBuf::from("rel/x"));
        assert_eq!(tilde("~root/x", &me).unwrap(), PathBuf::from("/root/x"));
        assert!(tilde("~zsync-nobody-here/x", &me).is_err());
    }

    #[test]
    fn path_tokens() {
        let me = me();
        let t = PathTokens {
            local: &me,
            host: "b1.lan",
            original: "b1",
            port: 2222,
            remote_user: "root",
        };
        assert_eq!(
            t.path("~/.ssh/id_%h_%r_%p").unwrap(),
            PathBuf::from("/home/alice/.ssh/id_b1.lan_root_2222")
        );
        assert_eq!(
            t.path("%d/k-%u-%i-%n").unwrap(),
            PathBuf::from("/home/alice/k-alice-1000-b1")
        );
        assert!(t.path("%C").is_err());
    }
}
