//! Reading and checking the job file.

use super::job::try_child_target;
use super::sources::Sources;
use super::{FailureCommand, Job, JobFileError, Location, Retention, SyncSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;
use zfs_core::Endpoint;

/// Where `zsync run` looks for the job file by default: beside zsync's own sanoid.conf,
/// `/etc/zsync/zsync.conf`.
pub const DEFAULT_PATH: &str = "/etc/zsync/jobs.toml";

/// A checked job file: at least one job, names unique.
#[derive(Debug, Clone, PartialEq)]
pub struct JobFile {
    /// The file's name as given (the prefix of every error).
    pub label: String,
    /// The jobs in file order.
    pub jobs: Vec<Job>,
    /// The file's top-level `on_failure`: run once when a run fails in a part no job owns (the
    /// snapshot stage) or a failed job has no `on_failure` of its own.
    pub on_failure: Option<FailureCommand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(rename = "on_failure")]
    on_failure: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    job: Vec<Spanned<RawJob>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawJob {
    name: Spanned<String>,
    source: Spanned<Sources>,
    target: Spanned<String>,
    #[serde(rename = "on_failure")]
    on_failure: Option<Spanned<Vec<String>>>,
    retention: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    skip_parent: bool,
    #[serde(default)]
    exclude_datasets: Vec<String>,
    #[serde(default)]
    include_snaps: Vec<String>,
    #[serde(default)]
    exclude_snaps: Vec<String>,
    #[serde(default)]
    no_stream: bool,
    #[serde(default)]
    no_sync_snap: bool,
    #[serde(default)]
    keep_sync_snap: bool,
    identifier: Option<String>,
    #[serde(default)]
    create_bookmark: bool,
    #[serde(default)]
    use_hold: bool,
    #[serde(default)]
    no_resume: bool,
    #[serde(default)]
    force_delete: bool,
    #[serde(default)]
    delete_target_snapshots: bool,
    #[serde(default)]
    preserve_properties: bool,
    #[serde(default)]
    preserve_recordsize: bool,
    sendoptions: Option<String>,
    recvoptions: Option<String>,
    compress: Option<String>,
    small_stream: Option<Spanned<String>>,
    source_bwlimit: Option<Spanned<String>>,
    target_bwlimit: Option<Spanned<String>>,
    jobs: Option<Spanned<usize>>,
    #[serde(default)]
    rollback: bool,
    #[serde(default)]
    mount: bool,
    #[serde(default)]
    no_stream_check: bool,
    sshkey: Option<PathBuf>,
    sshport: Option<Spanned<u16>>,
    sshcipher: Option<String>,
    #[serde(default)]
    sshoption: Vec<String>,
    sshconfig: Option<String>,
    ssh_transport: Option<Spanned<String>>,
    #[serde(default)]
    accept_new_host_key: bool,
    #[serde(default)]
    no_privilege_elevation: bool,
}

/// An `on_failure` value checked: a program and its arguments.
fn failure_command(
    ctx: &Ctx,
    given: Option<Spanned<Vec<String>>>,
) -> Result<Option<FailureCommand>, JobFileError> {
    let Some(c) = given else { return Ok(None) };
    if c.get_ref().first().is_none_or(|p| p.is_empty()) {
        return Err(ctx.at(
            c.span().start,
            "'on_failure': needs a program: [\"/path/to/program\", \"arg\", ...]",
        ));
    }
    Ok(Some(FailureCommand {
        argv: c.into_inner(),
    }))
}

/// A parse in progress: the text, for turning byte offsets into places.
struct Ctx<'a> {
    label: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(&self, offset: usize, message: impl Into<String>) -> JobFileError {
        JobFileError::Invalid {
            label: self.label.to_string(),
            at: Location::of(self.text, offset),
            message: message.into(),
        }
    }

    /// The key whose value starts at `offset` (`key = value` on that line), if any.
    fn key_at(&self, offset: usize) -> Option<String> {
        let before = self.text.get(..offset)?;
        let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
        let (key, _) = line.rsplit_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty()).then(|| key.to_string())
    }

    /// toml's error as one line, naming the key where toml does not.
    fn toml_error(&self, e: &toml::de::Error) -> JobFileError {
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let offset = e.span().map_or(0, |s| s.start);
        // serde's "unknown field `x`, expected one of ..." → the key and where keys are listed.
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let key = rest.split('`').next().unwrap_or_default();
            let hint = if message.ends_with("expected `on_failure` or `job`") {
                "the file holds on_failure and [[job]] tables"
            } else {
                "the keys are listed in zsync-ops' README"
            };
            return self.at(offset, format!("unknown key '{key}' ({hint})"));
        }
        if let Some(rest) = message.strip_prefix("missing field `") {
            let key = rest.split('`').next().unwrap_or_default();
            return self.at(offset, format!("[[job]] without '{key}'"));
        }
        match self.key_at(offset) {
            Some(key) if message.starts_with("invalid") => {
                self.at(offset, format!("'{key}': {message}"))
            }
            _ => self.at(offset, message),
        }
    }
}

impl JobFile {
    /// Reads and checks the job file at `path` (its display form labels errors).
    pub fn load(path: &Path) -> Result<JobFile, JobFileError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| JobFileError::Read {
            label: label.clone(),
            reason: e.to_string(),
        })?;
        JobFile::parse(&text, &label)
    }

    /// Checks `text` as a job file; `label` prefixes errors (`jobs.toml:3:10: ...`).
    pub fn parse(text: &str, label: &str) -> Result<JobFile, JobFileError> {
        let ctx = Ctx { label, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
        if raw.job.is_empty() {
            return Err(ctx.at(text.len(), "no jobs: add a [[job]] table"));
        }
        let mut jobs: Vec<Job> = Vec::with_capacity(raw.job.len());
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for spanned in raw.job {
            let start = spanned.span().start;
            let raw = spanned.into_inner();
            let name_at = raw.name.span().start;
            let job = build(&ctx, start, raw)?;
            let line = Location::of(text, name_at).line;
            if let Some(first) = first_line.insert(job.name.clone(), line) {
                return Err(ctx.at(
                    name_at,
                    format!("duplicate job name '{}' (first on line {first})", job.name),
                ));
            }
            jobs.push(job);
        }
        Ok(JobFile {
            label: label.to_string(),
            jobs,
            on_failure: failure_command(&ctx, raw.on_failure)?,
        })
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// An error found after loading (by the binary's resolution of a job's options), in the
    /// file's form: `jobs.toml:3:1: job 'vms': MESSAGE`.
    pub fn error_at(&self, job: &Job, message: impl std::fmt::Display) -> JobFileError {
        JobFileError::Invalid {
            label: self.label.clone(),
            at: job.location,
            message: format!("job '{}': {message}", job.name),
        }
    }
}

fn endpoint(ctx: &Ctx, key: &str, s: &Spanned<String>) -> Result<Endpoint, JobFileError> {
    Endpoint::parse(s.get_ref()).map_err(|e| ctx.at(s.span().start, format!("'{key}': {e}")))
}

fn size(ctx: &Ctx, key: &str, s: &Option<Spanned<String>>, zero: bool) -> Result<(), JobFileError> {
    let Some(s) = s else { return Ok(()) };
    let v = s.get_ref();
    if zero && v.trim() == "0" {
        return Ok(());
    }
    match zfs_stream::parse_rate(v) {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err(ctx.at(s.span().start, format!("'{key}': must be above 0"))),
        Err(e) => Err(ctx.at(s.span().start, format!("'{key}': {e}"))),
    }
}

fn build(ctx: &Ctx, start: usize, r: RawJob) -> Result<Job, JobFileError> {
    let name = r.name.get_ref();
    let good_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !good_name {
        return Err(ctx.at(
            r.name.span().start,
            format!("'name': bad job name {name:?} (letters, digits, '_', '-', '.')"),
        ));
    }
    let names = r.source.get_ref().names(r.source.span().start);
    if names.is_empty() {
        return Err(ctx.at(r.source.span().start, "'source': no datasets"));
    }
    let mut sources = Vec::with_capacity(names.len());
    for (name, at) in &names {
        let e = Endpoint::parse(name).map_err(|e| ctx.at(*at, format!("'source': {e}")))?;
        sources.push(e);
    }
    let target = endpoint(ctx, "target", &r.target)?;
    if sources.len() > 1 {
        let mut seen = BTreeMap::new();
        for (s, (_, at)) in sources.iter().zip(&names) {
            let Some(child) = try_child_target(&target, s) else {
                return Err(ctx.at(
                    *at,
                    format!("'source': {s}: '{target}/<name>' is not a valid target"),
                ));
            };
            if let Some(other) = seen.insert(child.to_string(), s.to_string()) {
                return Err(ctx.at(
                    *at,
                    format!("'source': {s} and {other} would both replicate to {child}"),
                ));
            }
        }
    }
    size(ctx, "small-stream", &r.small_stream, true)?;
    size(ctx, "source-bwlimit", &r.source_bwlimit, false)?;
    size(ctx, "target-bwlimit", &r.target_bwlimit, false)?;
    if let Some(j) = &r.jobs {
        if *j.get_ref() == 0 {
            return Err(ctx.at(j.span().start, "'jobs': must be at least 1"));
        }
    }
    if let Some(p) = &r.sshport {
        if *p.get_ref() == 0 {
            return Err(ctx.at(p.span().start, "'sshport': must be 1..65535"));
        }
    }
    if let Some(t) = &r.ssh_transport {
        if !matches!(t.get_ref().as_str(), "ssh2" | "openssh" | "auto") {
            return Err(ctx.at(
                t.span().start,
                format!(
                    "'ssh-transport': {:?} is not ssh2, openssh or auto",
                    t.get_ref()
                ),
            ));
        }
    }
    let on_failure = failure_command(ctx, r.on_failure)?;
    let retention = match r.retention {
        None => None,
        Some(table) => {
            let mut ret = Retention::default();
            for (key, value) in &table {
                let text = match value.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(ctx.at(
                            value.span().start,
                            format!(
                                "retention '{}': a value of type {} is not a number or text",
                                key.get_ref(),
                                other.type_str()
                            ),
                        ))
                    }
                };
                ret.set(key.get_ref(), &text).map_err(|e| {
                    let at = if e.starts_with("unknown") {
                        key.span().start
                    } else {
                        value.span().start
                    };
                    ctx.at(at, format!("retention: {e}"))
                })?;
            }
            Some(ret)
        }
    };
    let take = |s: Option<Spanned<String>>| s.map(Spanned::into_inner);
    let settings = SyncSettings {
        recursive: r.recursive,
        skip_parent: r.skip_parent,
        exclude_datasets: r.exclude_datasets,
        include_snaps: r.include_snaps,
        exclude_snaps: r.exclude_snaps,
        no_stream: r.no_stream,
        no_sync_snap: r.no_sync_snap,
        keep_sync_snap: r.keep_sync_snap,
        identifier: r.identifier,
        create_bookmark: r.create_bookmark,
        use_hold: r.use_hold,
        no_resume: r.no_resume,
        force_delete: r.force_delete,
        delete_target_snapshots: r.delete_target_snapshots,
        preserve_properties: r.preserve_properties,
        preserve_recordsize: r.preserve_recordsize,
        sendoptions: r.sendoptions,
        recvoptions: r.recvoptions,
        compress: r.compress,
        small_stream: take(r.small_stream),
        source_bwlimit: take(r.source_bwlimit),
        target_bwlimit: take(r.target_bwlimit),
        jobs: r.jobs.map(Spanned::into_inner),
        rollback: r.rollback,
        mount: r.mount,
        no_stream_check: r.no_stream_check,
        sshkey: r.sshkey,
        sshport: r.sshport.map(Spanned::into_inner),
        sshcipher: r.sshcipher,
        sshoption: r.sshoption,
        sshconfig: r.sshconfig,
        ssh_transport: take(r.ssh_transport),
        accept_new_host_key: r.accept_new_host_key,
        no_privilege_elevation: r.no_privilege_elevation,
    };
    Ok(Job {
        name: r.name.into_inner(),
        location: Location::of(ctx.text, start),
        sources,
        target,
        settings,
        on_failure,
        retention,
    })
}
