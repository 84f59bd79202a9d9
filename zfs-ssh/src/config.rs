//! An ssh_config(5) reader for what zsync uses: `Host` blocks (patterns with `*`, `?`, `!negation`,
//! several per line), `Include` (globs, relative to `~/.ssh`), and the keywords `HostName`, `User`,
//! `Port`, `IdentityFile` (several), `UserKnownHostsFile`, `StrictHostKeyChecking`,
//! `ConnectTimeout`, `Ciphers`, `IdentitiesOnly`, `ServerAliveInterval`, plus `ProxyJump` and
//! `ProxyCommand`, which are recorded so a host that needs them is refused instead of dialled directly.
//!
//! As in OpenSSH, the first value obtained for a keyword wins (lines before the first `Host` apply to
//! every host), `IdentityFile` values accumulate, keywords are case-insensitive and `Key=Value` is
//! accepted. Other keywords are ignored. Values are kept as written with their `file:line`, and are
//! checked (and expanded) when a host is resolved, so an error names where the value came from.
//!
//! Limitation: `Match` blocks are not evaluated; their lines are skipped (and the skip is reported
//! by [`SshConfig::skipped_match`]).

use crate::error::Origin;
use crate::local_user::LocalUser;
use crate::pattern::{self, ListMatch};
use std::path::{Path, PathBuf};

/// How deep `Include` may nest (OpenSSH's limit).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Why a config file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct ConfigError {
    /// Where.
    pub origin: Origin,
    /// What is wrong.
    pub reason: String,
}

/// A value as written in a config file, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The arguments after the keyword (one for most keywords).
    pub args: Vec<String>,
    /// Where it was written.
    pub origin: Origin,
}

impl Value {
    /// The first argument.
    pub fn first(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }
}

/// What the config says for one host (raw values; see [`crate::resolve`] for their meaning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`.
    pub host_name: Option<Value>,
    /// `User`.
    pub user: Option<Value>,
    /// `Port`.
    pub port: Option<Value>,
    /// Every `IdentityFile`, in order.
    pub identity_files: Vec<Value>,
    /// `UserKnownHostsFile` (one or more files).
    pub user_known_hosts_file: Option<Value>,
    /// `StrictHostKeyChecking`.
    pub strict_host_key_checking: Option<Value>,
    /// `ConnectTimeout`.
    pub connect_timeout: Option<Value>,
    /// `Ciphers`.
    pub ciphers: Option<Value>,
    /// `IdentitiesOnly`.
    pub identities_only: Option<Value>,
    /// `ServerAliveInterval`.
    pub server_alive_interval: Option<Value>,
    /// `ProxyJump` or `ProxyCommand` (other than `none`): a host zsync cannot dial directly.
    pub proxy: Option<Value>,
}

/// One line of meaning in a config file.
#[derive(Debug, Clone)]
enum Item {
    /// `Host PATTERN...`.
    Host(Vec<String>),
    /// `Match ...` (not evaluated: its block never applies).
    Match,
    /// `Keyword ARGS...` (keyword lower-cased).
    Set(String, Value),
    /// The files an `Include` line named, parsed in place.
    Include(Vec<SshConfig>),
}

/// A parsed ssh_config file with its includes.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    items: Vec<Item>,
    skipped_match: Vec<Origin>,
}

/// Splits one config line into its keyword and arguments (`None` for a blank line or a comment),
/// as OpenSSH does: `Keyword args`, `Keyword=args`, double or single quotes around an argument,
/// `\` escaping a quote, a backslash or (outside quotes) a space, and a `#` at the start of an
/// unquoted argument ending the line.
fn split_line(line: &str) -> Result<Option<(String, Vec<String>)>, String> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..end].to_ascii_lowercase();
    let mut rest = line[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    if keyword.is_empty() {
        return Err("a line starting with '=' has no keyword".into());
    }
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (c, quote) {
                ('\\', q) => {
                    chars.next();
                    match chars.peek() {
                        Some(&n)
                            if n == '\'' || n == '"' || n == '\\' || (q.is_none() && n == ' ') =>
                        {
                            arg.push(n);
                            chars.next();
                        }
                        _ => arg.push('\\'),
                    }
                }
                ('"' | '\'', None) => {
                    quote = Some(c);
                    chars.next();
                }
                (c, Some(q)) if c == q => {
                    quote = None;
                    chars.next();
                }
                (c, None) if c.is_whitespace() => break,
                (c, _) => {
                    arg.push(c);
                    chars.next();
                }
            }
        }
        if let Some(q) = quote {
            return Err(format!("unterminated {q} quote"));
        }
        args.push(arg);
    }
    Ok(Some((keyword, args)))
}

/// Keywords whose value is one argument.
const ONE_ARG: &[&str] = &[
    "hostname",
    "user",
    "port",
    "identityfile",
    "stricthostkeychecking",
    "connecttimeout",
    "ciphers",
    "identitiesonly",
    "serveraliveinterval",
    "proxyjump",
];

/// Refuses a config file another user could have written (OpenSSH's rule: owned by the user or
/// root, not writable by group or others).
fn check_permissions(path: &Path, uid: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if (meta.uid() != 0 && meta.uid() != uid) || meta.mode() & 0o022 != 0 {
        return Err(format!(
            "bad owner or permissions (owner uid {}, mode {:o}): it must belong to you or root and \
             not be writable by group or others",
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

struct Parser<'a> {
    local: &'a LocalUser,
    /// Where relative `Include` paths start.
    include_base: PathBuf,
}

impl Parser<'_> {
    fn file(&self, path: &Path, depth: usize) -> Result<SshConfig, ConfigError> {
        let whole = |reason: String| ConfigError {
            origin: Origin {
                file: path.to_path_buf(),
                line: 0,
            },
            reason,
        };
        check_permissions(path, self.local.uid).map_err(whole)?;
        let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            ConfigError {
                origin: Origin {
                    file: path.to_path_buf(),
                    line,
                },
                reason: "not UTF-8".into(),
            }
        })?;
        self.text(&text, path, depth)
    }

    fn text(&self, text: &str, file: &Path, depth: usize) -> Result<SshConfig, ConfigError> {
        let mut config = SshConfig::default();
        for (i, line) in text.lines().enumerate() {
            let origin = Origin {
                file: file.to_path_buf(),
                line: i + 1,
            };
            let err = |reason: String| ConfigError {
                origin: origin.clone(),
                reason,
            };
            let Some((keyword, args)) = split_line(line).map_err(&err)? else {
                continue;
            };
            let item = match keyword.as_str() {
                "host" => {
                    if args.is_empty() {
                        return Err(err("Host needs at least one pattern".into()));
                    }
                    Item::Host(args)
                }
                "match" => {
                    config.skipped_match.push(origin.clone());
                    Item::Match
                }
                "include" => {
                    if args.is_empty() {
                        return Err(err("Include needs at least one file".into()));
                    }
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(err(format!(
                            "Include nested deeper than {MAX_INCLUDE_DEPTH} levels"
                        )));
                    }
                    let mut files = Vec::new();
                    for arg in &args {
                        for path in self.include_paths(arg).map_err(&err)? {
                            let included = self.file(&path, depth + 1)?;
                            config
                                .skipped_match
                                .extend(included.skipped_match.iter().cloned());
                            files.push(included);
                        }
                    }
                    Item::Include(files)
                }
                k => {
                    if args.is_empty() {
                        return Err(err(format!("{keyword} has no value")));
                    }
                    if ONE_ARG.contains(&k) && args.len() != 1 {
                        return Err(err(format!(
                            "{keyword} takes one value, found {}",
                            args.len()
                        )));
                    }
                    Item::Set(keyword, Value { args, origin })
                }
            };
            config.items.push(item);
        }
        Ok(config)
    }

    /// The files one `Include` argument names: `~` expanded, relative to the include base, a glob
    /// matched in sorted order (no match: no file).
    fn include_paths(&self, arg: &str) -> Result<Vec<PathBuf>, String> {
        let path = crate::expand::tilde(arg, self.local)?;
        let path = if path.is_absolute() {
            path
        } else {
            self.include_base.join(path)
        };
        let text = path.to_string_lossy().into_owned();
        let mut found: Vec<PathBuf> = glob::glob(&text)
            .map_err(|e| format!("bad Include pattern {arg:?}: {e}"))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        Ok(found)
    }
}

impl SshConfig {
    /// Reads a config file (relative `Include`s start at `~/.ssh`, as for the user's own config).
    /// The file must belong to the user or root and not be writable by others.
    pub fn parse_file(path: &Path, local: &LocalUser) -> Result<SshConfig, ConfigError> {
        Parser {
            local,
            include_base: local.ssh_dir(),
        }
        .file(path, 0)
    }

    /// Parses config text as if read from `file` (for messages); `Include`s are read from disk.
    pub fn parse_str(text: &str, file: &Path, local: &LocalUser) -> Result<SshConfig, ConfigError> {
        Parser {
            local,
            include_base: local.ssh_dir(),
        }
        .text(text, file, 0)
    }

    /// Where `Match` lines were skipped (this file and its includes).
    pub fn skipped_match(&self) -> &[Origin] {
        &self.skipped_match
    }

    /// The values for `host` (the name as given on the command line): first obtained wins,
    /// `IdentityFile` accumulates.
    pub fn lookup(&self, host: &str) -> HostConfig {
        let mut out = HostConfig::default();
        apply(&self.items, host, &mut out);
        out
    }
}

/// Applies `items` to `out` for `host`, starting active (lines before the first `Host` apply to
/// every host); an `Include` in an active block is read the same way, and the block's state is
/// restored after it.
fn apply(items: &[Item], host: &str, out: &mut HostConfig) {
    let mut active = true;
    for item in items {
        match item {
            Item::Host(patterns) => {
                active = pattern::list(patterns.iter().map(String::as_str), host) == ListMatch::Yes;
            }
            Item::Match => active = false,
            Item::Include(files) => {
                if active {
                    for f in files {
                        apply(&f.items, host, out);
                    }
                }
            }
            Item::Set(keyword, value) if active => set(out, keyword, value),
            Item::Set(..) => {}
        }
    }
}

fn set(out: &mut HostConfig, keyword: &str, value: &Value) {
    let first = |slot: &mut Option<Value>| {
        if slot.is_none() {
            *slot = Some(value.clone());
        }
    };
    match keyword {
        "hostname" => first(&mut out.host_name),
        "user" => first(&mut out.user),
        "port" => first(&mut out.port),
        "identityfile" => out.identity_files.push(value.clone()),
        "userknownhostsfile" => first(&mut out.user_known_hosts_file),
        "stricthostkeychecking" => first(&mut out.strict_host_key_checking),
        "connecttimeout" => first(&mut out.connect_timeout),
        "ciphers" => first(&mut out.ciphers),
        "identitiesonly" => first(&mut out.identities_only),
        "serveraliveinterval" => first(&mut out.server_alive_interval),
        "proxyjump" | "proxycommand" => {
            // `none` clears a proxy for this host (and, first obtained, keeps later ones away).
            first(&mut out.proxy);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs;

    fn me(home: &Path) -> LocalUser {
        LocalUser::for_tests(home)
    }

    fn parse(text: &str) -> SshConfig {
        SshConfig::parse_str(text, Path::new("/cfg"), &me(Path::new("/nonexistent"))).unwrap()
    }

    fn args(v: &Option<Value>) -> Option<Vec<&str>> {
        v.as_ref()
            .map(|v| v.args.iter().map(String::as_str).collect())
    }

    #[test]
    fn split_line_forms() {
        let s = |l: &str| split_line(l).unwrap();
        assert_eq!(s("  # comment"), None);
        assert_eq!(s(""), None);
        assert_eq!(
            s("HostName b1.lan"),
            Some(("hostname".into(), vec!["b1.lan".into()]))
        );
        assert_eq!(s("Port=2222"), Some(("port".into(), vec!["2222".into()])));
        assert_eq!(s("Port = 2222"), Some(("port".into(), vec!["2222".into()])));
        assert_eq!(
            s("IdentityFile \"~/my keys/id\" # trailing"),
            Some(("identityfile".into(), vec!["~/my keys/id".into()]))
        );
        assert_eq!(
            s("IdentityFile '/a b'\t"),
            Some(("identityfile".into(), vec!["/a b".into()]))
        );
        assert_eq!(
            s("IdentityFile /a\\ b"),
            Some(("identityfile".into(), vec!["/a b".into()]))
        );
        assert_eq!(
            s("Host a b\t!c"),
            Some(("host".into(), vec!["a".into(), "b".into(), "!c".into()]))
        );
        assert!(split_line("User \"x").unwrap_err().contains("unterminated"));
        assert!(split_line("=x").is_err());
    }

    #[test]
    fn first_obtained_value_wins_and_identity_files_accumulate() {
        let c = parse(
            "User global\n\
             Host b1\n  HostName %h.lan\n  Port 2222\n  IdentityFile ~/.ssh/b1\n\
             Host b*\n  HostName other\n  User buser\n  IdentityFile ~/.ssh/b\n\
             Host *\n  User late\n  IdentityFile ~/.ssh/all\n",
        );
        let b1 = c.lookup("b1");
        assert_eq!(args(&b1.host_name), Some(vec!["%h.lan"]));
        assert_eq!(args(&b1.user), Some(vec!["global"]));
        assert_eq!(args(&b1.port), Some(vec!["2222"]));
        let ids: Vec<&str> = b1.identity_files.iter().map(|v| v.first()).collect();
        assert_eq!(ids, ["~/.ssh/b1", "~/.ssh/b", "~/.ssh/all"]);
        assert_eq!(b1.port.as_ref().unwrap().origin.line, 4);
        assert_eq!(b1.port.as_ref().unwrap().origin.to_string(), "/cfg:4");
        let b2 = c.lookup("b2");
        assert_eq!(args(&b2.host_name), Some(vec!["other"]));
        assert_eq!(b2.port, None);
        let x = c.lookup("x");
        assert_eq!(args(&x.user), Some(vec!["global"]));
        assert_eq!(x.identity_files.len(), 1);
    }

    #[test]
    fn host_patterns_negation_and_case() {
        let c = parse(
            "Host *.example.org !bad.example.org\n  User ex\n\
             Host B?\n  User two\n\
             Host !only-negated\n  User never\n",
        );
        assert_eq!(args(&c.lookup("ok.example.org").user), Some(vec!["ex"]));
        assert_eq!(c.lookup("bad.example.org").user, None);
        assert_eq!(args(&c.lookup("b7").user), Some(vec!["two"]));
        assert_eq!(c.lookup("b77").user, None);
        assert_eq!(c.lookup("anything").user, None);
    }

    #[test]
    fn match_blocks_are_skipped_and_reported() {
        let c = parse(
            "Match host b1\n  User frommatch\n\
             Host b1\n  Port 22\n",
        );
        let b1 = c.lookup("b1");
        assert_eq!(b1.user, None);
        assert_eq!(args(&b1.port), Some(vec!["22"]));
        assert_eq!(c.skipped_match().len(), 1);
        assert_eq!(c.skipped_match()[0].line, 1);
    }

    #[test]
    fn proxies_are_recorded_unless_none() {
        let c = parse("Host j\n  ProxyJump gw\nHost n\n  ProxyCommand none\nHost c\n  ProxyCommand ssh -W %h:%p gw\n");
        assert_eq!(args(&c.lookup("j").proxy), Some(vec!["gw"]));
        assert_eq!(args(&c.lookup("n").proxy), Some(vec!["none"]));
        assert_eq!(c.lookup("c").proxy.unwrap().args.len(), 4);
        assert_eq!(c.lookup("other").proxy, None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = SshConfig::parse_str(
            "Host a\n  Port 1 2\n",
            Path::new("/cfg"),
            &me(Path::new("/x")),
        )
        .unwrap_err();
        assert_eq!(e.origin.line, 2);
        assert!(
            e.to_string().starts_with("/cfg:2: port takes one value"),
            "{e}"
        );
        let e =
            SshConfig::parse_str("Host\n", Path::new("/cfg"), &me(Path::new("/x"))).unwrap_err();
        assert_eq!(e.to_string(), "/cfg:1: Host needs at least one pattern");
        let e =
            SshConfig::parse_str("User\n", Path::new("/cfg"), &me(Path::new("/x"))).unwrap_err();
        assert!(e.to_string().contains("no value"), "{e}");
    }

    #[test]
    fn include_globs_relative_to_ssh_dir_and_restores_the_block() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        fs::create_dir_all(ssh.join("conf.d")).unwrap();
        fs::write(ssh.join("conf.d/20-b.conf"), "Host b2\n  User from20\n").unwrap();
        fs::write(
            ssh.join("conf.d/10-a.conf"),
            "User top-of-include\nHost b1\n  User from10\n",
        )
        .unwrap();
        fs::write(ssh.join("conf.d/ignored.txt"), "User nope\n").unwrap();
        let main = ssh.join("config");
        fs::write(
            &main,
            "Host b1 b2\n  Include conf.d/*.conf\n  Port 2200\nHost zz\n  Include conf.d/*.conf\n",
        )
        .unwrap();
        let c = SshConfig::parse_file(&main, &me(home.path())).unwrap();
        let b1 = c.lookup("b1");
        assert_eq!(args(&b1.user), Some(vec!["top-of-include"]));
        // After the include, the `Host b1 b2` block is active again.
        assert_eq!(args(&b1.port), Some(vec!["2200"]));
        assert_eq!(
            b1.port.as_ref().unwrap().origin.file,
            main,
            "the Port line is the main file's"
        );
        let b2 = c.lookup("b2");
        assert_eq!(args(&b2.user), Some(vec!["top-of-include"]));
        // An include inside an inactive block gives nothing.
        let other = c.lookup("other");
        assert_eq!(other.user, None);
        // A value from an included file names that file.
        let only = SshConfig::parse_str(
            "Include ~/.ssh/conf.d/20-b.conf\n",
            Path::new("/cfg"),
            &me(home.path()),
        )
        .unwrap();
        let v = only.lookup("b2").user.unwrap();
        assert_eq!(v.origin.file, ssh.join("conf.d/20-b.conf"));
        assert_eq!(v.origin.line, 2);
        // No match: no file, no error.
        assert!(SshConfig::parse_str(
            "Include nothing-*.conf\n",
            Path::new("/c"),
            &me(home.path())
        )
        .is_ok());
    }

    #[test]
    fn include_loops_stop_at_the_depth_limit() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        fs::write(ssh.join("loop"), "Include loop\n").unwrap();
        let e = SshConfig::parse_file(&ssh.join("loop"), &me(home.path())).unwrap_err();
        assert!(e.reason.contains("nested deeper"), "{e}");
    }

    #[test]
    fn a_world_writable_config_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config");
        fs::write(&f, "User x\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
        let e = SshConfig::parse_file(&f, &me(dir.path())).unwrap_err();
        assert!(e.reason.contains("bad owner or permissions"), "{e}");
        assert_eq!(e.origin.to_string(), f.display().to_string());
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(SshConfig::parse_file(&f, &me(dir.path())).is_ok());
        let missing = SshConfig::parse_file(&dir.path().join("nope"), &me(dir.path())).unwrap_err();
        assert!(missing.reason.contains("cannot read"), "{missing}");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(text in "(?s).{0,400}", host in ".{0,20}") {
            if let Ok(c) = SshConfig::parse_str(&text, Path::new("/g"), &me(Path::new("/nonexistent"))) {
                let _ = c.lookup(&host);
            }
        }

        #[test]
        fn config_like_garbage_never_panics(
            lines in proptest::collection::vec(
                "(Host|HostName|User|Port|IdentityFile|Match|Include|Ciphers)[ =\t]{0,2}[a-z*?!%\"'\\\\# .=-]{0,20}",
                0..20),
            host in "[a-z.]{0,10}",
        ) {
            let text = lines.join("\n");
            if let Ok(c) = SshConfig::parse_str(&text, Path::new("/g"), &me(Path::new("/nonexistent"))) {
                let _ = c.lookup(&host);
            }
        }
    }
}
