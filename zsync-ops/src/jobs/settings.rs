//! A job's `zsync sync` options, named as the binary's flags, and their rendering as arguments.

use std::path::PathBuf;

/// Every `zsync sync` option a job can set, each named as the binary's `SyncArgs`/`SyncFlags`/
/// `SshFlags` field (the job file spells it as the flag: `skip-parent`, `ssh-transport`).
/// Not here: the output options (`--json`, `-q`, `--debug`, `--dumpsnaps`, `--progress`), which
/// belong to the run, not the job. Values are as written; the binary's resolution checks the ones
/// [`JobFile`](super::JobFile) does not (see the [module doc](super)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the `zsync sync` flag of the same name
pub struct SyncSettings {
    pub recursive: bool,
    pub skip_parent: bool,
    pub exclude_datasets: Vec<String>,
    pub include_snaps: Vec<String>,
    pub exclude_snaps: Vec<String>,
    pub no_stream: bool,
    pub no_sync_snap: bool,
    pub keep_sync_snap: bool,
    pub identifier: Option<String>,
    pub create_bookmark: bool,
    pub use_hold: bool,
    pub no_resume: bool,
    pub force_delete: bool,
    pub delete_target_snapshots: bool,
    pub preserve_properties: bool,
    pub preserve_recordsize: bool,
    pub sendoptions: Option<String>,
    pub recvoptions: Option<String>,
    pub compress: Option<String>,
    pub small_stream: Option<String>,
    pub source_bwlimit: Option<String>,
    pub target_bwlimit: Option<String>,
    pub jobs: Option<usize>,
    pub rollback: bool,
    pub mount: bool,
    pub no_stream_check: bool,
    pub sshkey: Option<PathBuf>,
    pub sshport: Option<u16>,
    pub sshcipher: Option<String>,
    pub sshoption: Vec<String>,
    pub sshconfig: Option<String>,
    pub ssh_transport: Option<String>,
    pub accept_new_host_key: bool,
    pub no_privilege_elevation: bool,
}

impl SyncSettings {
    /// The `zsync sync` flags these settings stand for, in `--flag=value` form (one argument per
    /// value, so a value starting with `-` stays a value); the positional source and target are
    /// not included.
    pub fn to_flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                out.push(format!("--{name}"));
            }
        };
        flag(self.recursive, "recursive");
        flag(self.skip_parent, "skip-parent");
        flag(self.no_stream, "no-stream");
        flag(self.no_sync_snap, "no-sync-snap");
        flag(self.keep_sync_snap, "keep-sync-snap");
        flag(self.create_bookmark, "create-bookmark");
        flag(self.use_hold, "use-hold");
        flag(self.no_resume, "no-resume");
        flag(self.force_delete, "force-delete");
        flag(self.delete_target_snapshots, "delete-target-snapshots");
        flag(self.preserve_properties, "preserve-properties");
        flag(self.preserve_recordsize, "preserve-recordsize");
        flag(self.rollback, "rollback");
        flag(self.mount, "mount");
        flag(self.no_stream_check, "no-stream-check");
        flag(self.accept_new_host_key, "accept-new-host-key");
        flag(self.no_privilege_elevation, "no-privilege-elevation");
        let mut value = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("--{name}={v}"));
            }
        };
        for (name, list) in [
            ("exclude-datasets", &self.exclude_datasets),
            ("include-snaps", &self.include_snaps),
            ("exclude-snaps", &self.exclude_snaps),
            ("sshoption", &self.sshoption),
        ] {
            for v in list {
                value(name, Some(v.clone()));
            }
        }
        value("identifier", self.identifier.clone());
        value("sendoptions", self.sendoptions.clone());
        value("recvoptions", self.recvoptions.clone());
        value("compress", self.compress.clone());
        value("small-stream", self.small_stream.clone());
        value("source-bwlimit", self.source_bwlimit.clone());
        value("target-bwlimit", self.target_bwlimit.clone());
        value("jobs", self.jobs.map(|j| j.to_string()));
        value(
            "sshkey",
            self.sshkey.as_ref().map(|p| p.display().to_string()),
        );
        value("sshport", self.sshport.map(|p| p.to_string()));
        value("sshcipher", self.sshcipher.clone());
        value("sshconfig", self.sshconfig.clone());
        value("ssh-transport", self.ssh_transport.clone());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_spelled_as_the_cli_and_keep_values_whole() {
        let s = SyncSettings {
            recursive: true,
            exclude_snaps: vec!["_frequent$".into(), "^x".into()],
            recvoptions: Some("-o compression=lz4".into()),
            jobs: Some(2),
            sshport: Some(2222),
            ..SyncSettings::default()
        };
        assert_eq!(
            s.to_flags(),
            [
                "--recursive",
                "--exclude-snaps=_frequent$",
                "--exclude-snaps=^x",
                "--recvoptions=-o compression=lz4",
                "--jobs=2",
                "--sshport=2222",
            ]
        );
        assert!(SyncSettings::default().to_flags().is_empty());
    }
}
