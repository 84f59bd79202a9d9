//! The real-ZFS lab: installing it (`lab setup`), finding its kernel, running commands and the
//! `lab_*` test binaries inside the VM.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::host_sshd;
use crate::root21;
use crate::util::{self, Stopwatch};
use crate::vm::{self, VmOptions};

/// apt source for bookworm-backports (OpenZFS 2.3 and kernel 6.12 live there), deb822 format.
const SOURCES_PATH: &str = "/etc/apt/sources.list.d/zsync-lab-backports.sources";
const SOURCES: &str = "\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// Debian packages the lab needs (installed with `-t bookworm-backports`).
const PACKAGES: &[&str] = &[
    "linux-image-amd64",
    "linux-headers-amd64",
    "zfs-dkms",
    "zfsutils-linux",
    "libzfslinux-dev",
    "qemu-system-x86",
    "busybox-static",
    "libclang-dev",
    "clang",
    "pkg-config",
    "python3-venv",
];

/// Debian packages the VM's SSH lab (`zsync_lab::ssh`) needs, from bookworm itself: the private
/// sshd instances and their clients, `sudo` for privilege elevation, `ip` for network namespaces,
/// and the compressors the remote end of a compressed wire runs. Installing `openssh-server`
/// leaves the host's own sshd off (see `host_sshd`).
pub const SSH_PACKAGES: &[&str] = &[
    "openssh-server",
    "openssh-client",
    "sudo",
    "iproute2",
    "zstd",
    "lz4",
];

/// Where virtme-ng is installed (a venv, so the system Python stays untouched).
const VENV: &str = "/opt/zsync-lab/venv";
/// The virtme-ng release the lab is tested with.
const VIRTME_NG: &str = "virtme-ng==1.42";

/// What a VM run needs: the kernel with a zfs module, and virtme-ng.
#[derive(Debug, Clone)]
pub struct LabEnv {
    pub kernel_version: String,
    pub kernel_image: PathBuf,
    pub venv: PathBuf,
    /// The guest root: `None` boots the host root (OpenZFS 2.3), `Some` a root of its own
    /// (the OpenZFS 2.1 root, [`crate::root21`]).
    pub root: Option<PathBuf>,
    /// Host dirs a guest with a root of its own sees read-only at the same paths.
    pub rodirs: Vec<PathBuf>,
    /// Host dirs every guest sees read-write at the same paths, besides the run dir.
    pub rwdirs: Vec<PathBuf>,
}

impl LabEnv {
    /// Finds an installed lab (no installing); says to run `lab setup` otherwise.
    pub fn detect() -> Result<Self> {
        if !util::is_root() {
            bail!("the lab needs root (it reads /boot/vmlinuz-*); run as root");
        }
        let kernel = choose_kernel()?.context(
            "no kernel with a zfs module found in /lib/modules; run `cargo xtask lab setup` (as root)",
        )?;
        let venv = PathBuf::from(VENV);
        if !venv.join("bin/vng").is_file() {
            bail!("virtme-ng is not installed in {VENV}; run `cargo xtask lab setup` (as root)");
        }
        Ok(LabEnv {
            kernel_version: kernel.version,
            kernel_image: kernel.image,
            venv,
            root: None,
            rodirs: Vec::new(),
            rwdirs: Vec::new(),
        })
    }

    /// The lab for `--root NAME`: `None` is the host root ([`LabEnv::detect`]), `zfs21` the
    /// OpenZFS 2.1 root (which must be set up; virtme-ng comes from the host lab).
    pub fn for_root(name: Option<&str>) -> Result<Self> {
        let host = Self::detect()?;
        match name {
            None => Ok(host),
            Some(root21::NAME) => {
                let root = root21::detect()?;
                Ok(LabEnv {
                    kernel_version: format!(
                        "{} (OpenZFS {})",
                        root.kernel_version, root.zfs_version
                    ),
                    kernel_image: root.kernel_image,
                    root: Some(root.dir),
                    ..host
                })
            }
            Some(other) => bail!(
                "--root {other:?}: unknown lab root (known: {})",
                root21::NAME
            ),
        }
    }

    pub fn vng(&self) -> PathBuf {
        self.venv.join("bin/vng")
    }

    /// PATH with the venv first (vng runs `virtme-run` from PATH).
    pub fn path_with_venv(&self) -> std::ffi::OsString {
        let mut paths = vec![self.venv.join("bin")];
        if let Some(path) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).unwrap_or_else(|_| self.venv.join("bin").into_os_string())
    }
}

// ---------------------------------------------------------------------------------------------
// lab setup

/// Installs everything the lab needs; skips what is already there and says what it did.
pub fn setup() -> Result<LabEnv> {
    let clock = Stopwatch::start();
    if !util::is_root() {
        bail!("`cargo xtask lab setup` must run as root (it installs Debian packages)");
    }
    check_bookworm()?;
    let mut did = Vec::new();

    // 1. apt source for bookworm-backports.
    let current = fs::read_to_string(SOURCES_PATH).unwrap_or_default();
    let sources_changed = current != SOURCES;
    if sources_changed {
        fs::write(SOURCES_PATH, SOURCES).with_context(|| format!("cannot write {SOURCES_PATH}"))?;
        did.push(format!("wrote {SOURCES_PATH}"));
    }

    // 2. Debian packages: the lab's from backports, the SSH lab's from bookworm.
    let missing = not_installed(PACKAGES);
    let missing_ssh = not_installed(SSH_PACKAGES);
    if !missing.is_empty() || !missing_ssh.is_empty() {
        apt(&["update"])?;
    }
    if !missing.is_empty() {
        eprintln!(
            "lab setup: installing {} (dkms builds the zfs module: ~10 min on a fresh machine)",
            missing.join(" ")
        );
        let mut args = vec![
            "install",
            "-y",
            "--no-install-recommends",
            "-t",
            "bookworm-backports",
        ];
        args.extend(&missing);
        apt(&args)?;
        did.push(format!("installed {}", missing.join(" ")));
    }
    if !missing_ssh.is_empty() {
        eprintln!("lab setup: installing {}", missing_ssh.join(" "));
        let server = missing_ssh.contains(&"openssh-server");
        if server {
            host_sshd::before_install()?;
        }
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(&missing_ssh);
        apt(&args)?;
        did.push(format!("installed {}", missing_ssh.join(" ")));
        if server {
            did.push(host_sshd::after_install()?);
        }
    }

    // 3. A kernel with a built zfs module.
    let kernel = match choose_kernel()? {
        Some(k) => k,
        None => {
            let built = rebuild_zfs_module()?;
            did.push(format!("built the zfs module with dkms for {built}"));
            choose_kernel()?.with_context(|| {
                format!(
                    "dkms ran for {built}, but still no kernel with a zfs module in /lib/modules"
                )
            })?
        }
    };

    // 4. virtme-ng in a venv.
    let venv = PathBuf::from(VENV);
    let vng = venv.join("bin/vng");
    let vng_works = vng.is_file()
        && Command::new(&vng)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !vng_works {
        eprintln!("lab setup: installing {VIRTME_NG} into {VENV}");
        fs::create_dir_all(&venv).with_context(|| format!("cannot create {VENV}"))?;
        util::run(Command::new("/usr/bin/python3").args(["-m", "venv", VENV]))?;
        util::run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", VIRTME_NG]))?;
        did.push(format!("installed {VIRTME_NG} in {VENV}"));
    }

    let lab = LabEnv {
        kernel_version: kernel.version,
        kernel_image: kernel.image,
        venv,
        root: None,
        rodirs: Vec::new(),
        rwdirs: Vec::new(),
    };
    if did.is_empty() {
        eprintln!(
            "lab setup: everything present (kernel {}, zfs module built, virtme-ng in {VENV}, sshd and sudo for the SSH lab) [{}]",
            lab.kernel_version,
            clock.show()
        );
    } else {
        for line in &did {
            eprintln!("lab setup: {line}");
        }
        eprintln!(
            "lab setup: done; lab kernel {} [{}]",
            lab.kernel_version,
            clock.show()
        );
    }
    Ok(lab)
}

fn check_bookworm() -> Result<()> {
    let release = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    if codename != "bookworm" {
        bail!(
            "lab setup supports Debian bookworm hosts only (this host: {:?}); see README.md",
            if codename.is_empty() {
                "unknown"
            } else {
                &codename
            }
        );
    }
    Ok(())
}

/// The packages of `list` that dpkg does not have installed.
fn not_installed(list: &[&'static str]) -> Vec<&'static str> {
    list.iter().copied().filter(|p| !is_installed(p)).collect()
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev}", package])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"ii"))
}

fn apt(args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    // Wait for a dpkg lock held by someone else instead of failing at once.
    cmd.args(["-o", "DPkg::Lock::Timeout=1800"])
        .args(["-o", "Dpkg::Options::=--force-confdef"])
        .args(["-o", "Dpkg::Options::=--force-confold"])
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive");
    util::run(&mut cmd)
}

/// Runs dkms for the newest installed kernel that has headers; returns that kernel version.
fn rebuild_zfs_module() -> Result<String> {
    let newest = installed_kernels()?
        .into_iter()
        .filter(|k| {
            Path::new("/lib/modules")
                .join(&k.version)
                .join("build")
                .exists()
        })
        .max_by(|a, b| version_key(&a.version).cmp(&version_key(&b.version)))
        .context("no installed kernel has headers (linux-headers-*) to build the zfs module for")?;
    eprintln!(
        "lab setup: no zfs module found; running dkms for {}",
        newest.version
    );
    util::run(Command::new("dkms").args(["autoinstall", "-k", &newest.version]))?;
    Ok(newest.version)
}

#[derive(Debug, Clone)]
struct Kernel {
    version: String,
    image: PathBuf,
    has_zfs: bool,
}

/// Kernels with both an image in /boot and a module dir in /lib/modules.
fn installed_kernels() -> Result<Vec<Kernel>> {
    let mut kernels = Vec::new();
    let entries = match fs::read_dir("/lib/modules") {
        Ok(e) => e,
        Err(_) => return Ok(kernels),
    };
    for entry in entries {
        let entry = entry.context("reading /lib/modules")?;
        let version = entry.file_name().to_string_lossy().into_owned();
        let image = Path::new("/boot").join(format!("vmlinuz-{version}"));
        if !image.is_file() {
            continue;
        }
        let has_zfs = has_zfs_module(Path::new("/"), &version);
        kernels.push(Kernel {
            version,
            image,
            has_zfs,
        });
    }
    Ok(kernels)
}

/// Whether `<root>/lib/modules/<version>/modules.dep` lists a zfs module.
pub fn has_zfs_module(root: &Path, version: &str) -> bool {
    let deps = fs::read_to_string(root.join("lib/modules").join(version).join("modules.dep"))
        .unwrap_or_default();
    deps.lines().any(|l| {
        let module = l.split(':').next().unwrap_or("");
        let file = module.rsplit('/').next().unwrap_or("");
        file == "zfs.ko" || file.starts_with("zfs.ko.")
    })
}

/// The lab kernel: `$ZSYNC_LAB_KERNEL` if set, else the newest kernel with a zfs module.
fn choose_kernel() -> Result<Option<Kernel>> {
    let kernels = installed_kernels()?;
    if let Ok(want) = std::env::var("ZSYNC_LAB_KERNEL") {
        let k = kernels
            .into_iter()
            .find(|k| k.version == want)
            .with_context(|| {
                format!("ZSYNC_LAB_KERNEL={want}: no /boot/vmlinuz-{want} with /lib/modules/{want}")
            })?;
        if !k.has_zfs {
            bail!("ZSYNC_LAB_KERNEL={want}: that kernel has no zfs module");
        }
        return Ok(Some(k));
    }
    Ok(kernels
        .into_iter()
        .filter(|k| k.has_zfs)
        .max_by(|a, b| version_key(&a.version).cmp(&version_key(&b.version))))
}

/// Orders kernel versions numerically ("6.12.95+deb12-amd64" > "6.1.0-30-amd64").
pub fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// lab run

/// `lab run -- CMD...`: one VM, one command, its exit status.
pub fn run_command(opts: &VmOptions, argv: &[String]) -> Result<Option<i32>> {
    let lab = LabEnv::for_root(opts.root.as_deref())?;
    let rwdir = vm::new_run_dir("run")?;
    let status = vm::run(&lab, opts, &rwdir, &[], argv)?;
    finish_run_dir(&rwdir, status == Some(0));
    Ok(status)
}

/// Removes a run dir after success; keeps it (and says where) after a failure.
pub fn finish_run_dir(rwdir: &Path, success: bool) {
    if success {
        let _ = fs::remove_dir_all(rwdir);
    } else {
        eprintln!("lab: run dir kept for inspection: {}", rwdir.display());
    }
}

// ---------------------------------------------------------------------------------------------
// lab test

/// One compiled executable reported by cargo.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub package: String,
    pub target: String,
    pub kinds: Vec<String>,
    pub executable: PathBuf,
    pub manifest_dir: PathBuf,
}

/// Runs a cargo build with `--message-format=json-render-diagnostics` and returns the executables.
pub fn cargo_executables(args: &[&str]) -> Result<Vec<Artifact>> {
    let mut cmd = util::cargo();
    cmd.args(args)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let shown = util::display(&cmd);
    eprintln!("lab: $ {shown}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let manifest = msg["manifest_path"].as_str().unwrap_or("");
        let package = msg["package_id"].as_str().unwrap_or("");
        found.push(Artifact {
            package: package_name(package),
            target: msg["target"]["name"].as_str().unwrap_or("").to_string(),
            kinds: msg["target"]["kind"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            executable: PathBuf::from(exe),
            manifest_dir: Path::new(manifest)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        });
    }
    Ok(found)
}

/// Package name from a cargo package id: "path+file:///x/lab#zsync-lab@0.1.0" -> "zsync-lab",
/// "path+file:///x/xtask#0.1.0" -> "xtask".
fn package_name(id: &str) -> String {
    let (url, frag) = id.split_once('#').unwrap_or((id, ""));
    match frag.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(id)
            .to_string(),
    }
}

/// Builds the `zsync` binary (package zsync, folder zfs-cli); `None` (with a note) if it has none yet.
pub fn build_zsync() -> Result<Option<PathBuf>> {
    let artifacts = cargo_executables(&["build", "-p", "zsync"])?;
    let zsync = artifacts
        .into_iter()
        .find(|a| a.target == "zsync" && a.kinds.iter().any(|k| k == "bin"))
        .map(|a| a.executable);
    if zsync.is_none() {
        eprintln!("lab: note: package zsync builds no `zsync` binary yet; ZSYNC_BIN is not set");
    }
    Ok(zsync)
}

/// This very binary, readable even after a rebuild replaced the file (staged into the VM run dir).
pub const SELF_EXE: &str = "/proc/self/exe";

/// Copies `src` into `dir` as `name` (a snapshot, so concurrent rebuilds cannot change it mid-run).
pub fn stage(src: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dst = dir.join(name);
    fs::copy(src, &dst)
        .with_context(|| format!("cannot copy {} to {}", src.display(), dst.display()))?;
    Ok(dst)
}

/// `lab test [FILTER...]`: build on the host, run every `lab_*` test binary in one VM.
pub fn test(opts: &VmOptions, filters: &[String]) -> Result<()> {
    test_with(opts, filters, &[], &[])
}

/// [`test`] with more environment for the tests and more host dirs the VM mounts read-write at
/// their paths (`lab xrel`'s shared pool directory).
pub fn test_with(
    opts: &VmOptions,
    filters: &[String],
    extra_env: &[(String, String)],
    rwdirs: &[PathBuf],
) -> Result<()> {
    let mut lab = LabEnv::for_root(opts.root.as_deref())?;
    lab.rwdirs = rwdirs.to_vec();
    let clock = Stopwatch::start();
    let artifacts = cargo_executables(&["test", "--workspace", "--no-run"])?;
    let mut tests: Vec<Artifact> = artifacts
        .into_iter()
        .filter(|a| a.kinds.iter().any(|k| k == "test") && a.target.starts_with("lab_"))
        .collect();
    tests.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    tests.dedup_by(|a, b| a.executable == b.executable);
    let (tests, filters) = select_binaries(tests, filters)?;
    let filters = filters.as_slice();
    if tests.is_empty() {
        bail!("no lab test binaries found (integration tests named tests/lab_*.rs)");
    }
    let zsync = build_zsync()?;
    eprintln!(
        "lab: built in {}; {} lab test binaries",
        clock.show(),
        tests.len()
    );

    // A guest with a root of its own sees the tests' crate dirs (their working dirs) read-only.
    let mut crate_dirs: Vec<PathBuf> = tests.iter().map(|t| t.manifest_dir.clone()).collect();
    crate_dirs.sort();
    crate_dirs.dedup();
    lab.rodirs = crate_dirs;
    let rwdir = vm::new_run_dir("test")?;
    let bin = rwdir.join("bin");
    let xtask = stage(Path::new(SELF_EXE), &bin, "xtask")?;
    let mut env = extra_env.to_vec();
    // Fault and hostile-input cases count themselves here (zsync_lab::tally; `xtask reliability`).
    env.push((
        TALLY_ENV.to_string(),
        rwdir.join(TALLY_FILE).to_string_lossy().into_owned(),
    ));
    if let Some(zsync) = zsync {
        let staged = stage(&zsync, &bin, "zsync")?;
        env.push((
            "ZSYNC_BIN".to_string(),
            staged.to_string_lossy().into_owned(),
        ));
    }
    let mut entries = Vec::new();
    for t in &tests {
        let name = format!("{}/{}", t.package, t.target);
        let staged = stage(&t.executable, &bin, &format!("{}--{}", t.package, t.target))?;
        // A filter naming the binary selects all of its tests; other filters go to libtest.
        let whole = filters.iter().any(|f| t.target.contains(f.as_str()));
        let args: &[String] = if whole { &[] } else { filters };
        entries.push(json!({ "name": name, "path": staged, "cwd": t.manifest_dir, "args": args }));
    }
    let spec_path = rwdir.join("spec.json");
    let spec = json!({ "binaries": entries });
    fs::write(&spec_path, serde_json::to_vec_pretty(&spec)?)
        .with_context(|| format!("cannot write {}", spec_path.display()))?;

    let argv: Vec<String> = [
        xtask.to_string_lossy().as_ref(),
        "lab",
        "inside",
        "test",
        spec_path.to_string_lossy().as_ref(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let vm_status = vm::run(&lab, opts, &rwdir, &env, &argv)?;

    // The results file, not the console, is the record of what ran.
    let results_path = rwdir.join(RESULTS_FILE);
    let results: Vec<BinaryResult> = fs::read(&results_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v.as_array()
                .map(|a| a.iter().map(BinaryResult::from_json).collect())
        })
        .unwrap_or_default();
    let passed: u64 = results.iter().map(|r| r.passed).sum();
    let failed: u64 = results.iter().map(BinaryResult::failures).sum();
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(BinaryResult::describe)
        .collect();
    let not_run: Vec<&str> = tests
        .iter()
        .skip(results.len())
        .map(|t| t.target.as_str())
        .collect();

    println!("lab: {passed} passed, {failed} failed");
    if !bad.is_empty() {
        println!("lab: failed binaries: {}", bad.join(", "));
    }
    if !not_run.is_empty() {
        println!("lab: binaries that did not run: {}", not_run.join(", "));
    }
    eprintln!("lab: total {}", clock.show());
    let success =
        bad.is_empty() && not_run.is_empty() && failed == 0 && passed > 0 && vm_status == Some(0);
    if filters.is_empty() {
        // The whole suite ran: keep what `xtask reliability` reads before the run dir goes.
        keep_for_reliability(&rwdir, opts.root.as_deref())?;
    }
    finish_run_dir(&rwdir, success);
    if !success {
        if passed + failed == 0 {
            bail!("lab test: no lab tests ran (filters: {filters:?})");
        }
        if vm_status != Some(0) && bad.is_empty() && not_run.is_empty() {
            bail!("lab test: the VM run failed ({vm_status:?})");
        }
        bail!("lab test: failures (see above)");
    }
    Ok(())
}

/// Where a whole-suite lab run's tally and results are kept: `<target>/reliability/lab-<root>/`
/// (`lab-host` for the default root), read by `cargo xtask reliability`.
pub fn reliability_dir(root: Option<&str>) -> PathBuf {
    util::target_dir()
        .join("reliability")
        .join(format!("lab-{}", root.unwrap_or("host")))
}

fn keep_for_reliability(rwdir: &Path, root: Option<&str>) -> Result<()> {
    let keep = reliability_dir(root);
    let _ = fs::remove_dir_all(&keep);
    fs::create_dir_all(&keep).with_context(|| format!("cannot create {}", keep.display()))?;
    for name in [TALLY_FILE, RESULTS_FILE] {
        let from = rwdir.join(name);
        if from.is_file() {
            fs::copy(&from, keep.join(name))
                .with_context(|| format!("cannot copy {} to {}", from.display(), keep.display()))?;
        }
    }
    fs::write(keep.join("run"), rwdir.to_string_lossy().as_bytes())?;
    Ok(())
}

/// `lab xrel`: replication across OpenZFS releases in three boots (2.1, 2.3, 2.1) of the test
/// binary `lab_cli_xrel`, whose pools live in `<target>/lab/xrel` (fresh each time), mounted
/// read-write in every boot; see zfs-cli/tests/lab_cli_xrel.rs.
pub fn cross_release(opts: &VmOptions) -> Result<()> {
    let clock = Stopwatch::start();
    let shared = util::target_dir().join("lab").join("xrel");
    if shared.exists() {
        fs::remove_dir_all(&shared)
            .with_context(|| format!("cannot remove {}", shared.display()))?;
    }
    fs::create_dir_all(&shared).with_context(|| format!("cannot create {}", shared.display()))?;
    let filters = [format!("{BIN_FILTER}lab_cli_xrel")];
    for (root, step) in [
        (Some(root21::NAME), "old1"),
        (None, "new"),
        (Some(root21::NAME), "old2"),
    ] {
        eprintln!(
            "lab xrel: step {step} on the {} root",
            root.unwrap_or("host (OpenZFS 2.3)")
        );
        let mut opts = opts.clone();
        opts.root = root.map(str::to_string);
        let env = [
            (
                "ZSYNC_LAB_XREL".to_string(),
                shared.to_string_lossy().into_owned(),
            ),
            ("ZSYNC_XREL_STEP".to_string(), step.to_string()),
        ];
        test_with(&opts, &filters, &env, std::slice::from_ref(&shared)).with_context(|| {
            format!(
                "lab xrel: step {step} failed (pools kept in {})",
                shared.display()
            )
        })?;
    }
    let _ = fs::remove_dir_all(&shared);
    eprintln!("lab xrel: 2.1 -> 2.3 -> 2.1 passed [{}]", clock.show());
    Ok(())
}

/// Applies `bin:NAME` filters: when there are any, only the test binaries named exactly so run
/// (each must exist); the other filters are returned for the usual matching.
fn select_binaries(
    tests: Vec<Artifact>,
    filters: &[String],
) -> Result<(Vec<Artifact>, Vec<String>)> {
    let (names, rest): (Vec<&String>, Vec<&String>) =
        filters.iter().partition(|f| f.starts_with(BIN_FILTER));
    if names.is_empty() {
        return Ok((tests, filters.to_vec()));
    }
    let names: Vec<&str> = names.iter().map(|f| &f[BIN_FILTER.len()..]).collect();
    if let Some(missing) = names
        .iter()
        .find(|n| !tests.iter().any(|t| t.target == **n))
    {
        bail!("lab test: no lab test binary named {missing:?} (bin:{missing})");
    }
    let chosen = tests
        .into_iter()
        .filter(|t| names.contains(&t.target.as_str()))
        .collect();
    Ok((chosen, rest.into_iter().cloned().collect()))
}

/// Prefix of a filter that names one test binary exactly (`bin:lab_cli`).
pub const BIN_FILTER: &str = "bin:";

/// Results file written by the in-VM driver (rewritten after each binary).
const RESULTS_FILE: &str = "results.json";

/// The environment variable lab tests append their tally lines to (zsync_lab::tally::TALLY_ENV).
pub const TALLY_ENV: &str = "ZSYNC_TALLY";

/// The tally file in a lab test run's directory.
pub const TALLY_FILE: &str = "tally.jsonl";

/// What one test binary did inside the VM.
#[derive(Debug, Clone, PartialEq)]
struct BinaryResult {
    name: String,
    exit: Option<i32>,
    signal: Option<i32>,
    /// Whether libtest printed its `test result:` line.
    summary: bool,
    passed: u64,
    failed: u64,
}

impl BinaryResult {
    fn ok(&self) -> bool {
        self.exit == Some(0) && self.summary && self.failed == 0
    }

    /// Failed tests; a binary that crashed without reporting counts as one failure.
    fn failures(&self) -> u64 {
        if !self.ok() && self.failed == 0 {
            1
        } else {
            self.failed
        }
    }

    fn describe(&self) -> String {
        if let Some(sig) = self.signal {
            format!("{} (killed by signal {sig})", self.name)
        } else if !self.summary {
            format!(
                "{} (crashed: exit {:?}, no test summary)",
                self.name, self.exit
            )
        } else {
            format!("{} ({} failed)", self.name, self.failed)
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name, "exit": self.exit, "signal": self.signal,
            "summary": self.summary, "passed": self.passed, "failed": self.failed,
        })
    }

    fn from_json(v: &Value) -> Self {
        BinaryResult {
            name: v["name"].as_str().unwrap_or("?").to_string(),
            exit: v["exit"].as_i64().map(|c| c as i32),
            signal: v["signal"].as_i64().map(|c| c as i32),
            summary: v["summary"].as_bool().unwrap_or(false),
            passed: v["passed"].as_u64().unwrap_or(0),
            failed: v["failed"].as_u64().unwrap_or(0),
        }
    }
}

/// Parses libtest's "test result: ok. 3 passed; 1 failed; 0 ignored; ..." into (passed, failed).
pub fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    let mut passed = None;
    let mut failed = None;
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        match what {
            "passed" => passed = n.parse().ok(),
            "failed" => failed = n.parse().ok(),
            _ => {}
        }
    }
    Some((passed?, failed?))
}

/// Inside the VM: run each test binary from the spec, stream its output, record results.
/// Returns the exit status for the driver process.
pub fn inside_test(spec_path: &Path) -> Result<Option<i32>> {
    let spec: Value = serde_json::from_slice(
        &fs::read(spec_path).with_context(|| format!("cannot read {}", spec_path.display()))?,
    )
    .with_context(|| format!("bad spec {}", spec_path.display()))?;
    let rwdir = spec_path.parent().unwrap_or(Path::new("."));
    let logs = rwdir.join("logs");
    fs::create_dir_all(&logs)?;
    let binaries = spec["binaries"].as_array().cloned().unwrap_or_default();

    let mut results: Vec<BinaryResult> = Vec::new();
    for (i, b) in binaries.iter().enumerate() {
        let name = b["name"].as_str().unwrap_or("?").to_string();
        let path = b["path"].as_str().unwrap_or("");
        let cwd = b["cwd"].as_str().unwrap_or(".");
        let filters: Vec<&str> = b["args"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
            .unwrap_or_default();
        println!("lab: ===== [{}/{}] {name} =====", i + 1, binaries.len());
        let clock = Stopwatch::start();
        let mut cmd = Command::new(path);
        cmd.args(["--ignored", "--test-threads=2"])
            .args(&filters)
            .current_dir(cwd)
            .env("CARGO_MANIFEST_DIR", cwd)
            .env("RUST_BACKTRACE", "1");
        let log_path = logs.join(format!("{i:02}.log"));
        let result = run_teed(&mut cmd, &log_path, &name)?;
        if result.ok() {
            println!("lab: ===== {name}: ok [{}] =====", clock.show());
        } else {
            println!(
                "lab: ===== {}: FAILED [{}] =====",
                result.describe(),
                clock.show()
            );
        }
        results.push(result);
        write_results(rwdir, &results)?;
    }
    let all_ok = !results.is_empty()
        && results.iter().all(BinaryResult::ok)
        && results.iter().map(|r| r.passed).sum::<u64>() > 0;
    Ok(Some(if all_ok { 0 } else { 1 }))
}

/// Runs one test binary, streaming its output to the console and `log_path`.
fn run_teed(cmd: &mut Command, log_path: &Path, name: &str) -> Result<BinaryResult> {
    let mut result = BinaryResult {
        name: name.to_string(),
        exit: None,
        signal: None,
        summary: false,
        passed: 0,
        failed: 0,
    };
    let log = fs::File::create(log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let status = util::tee(cmd, Some(log), |line| {
        if let Some((p, f)) = parse_test_result(line) {
            result.summary = true;
            result.passed += p;
            result.failed += f;
        }
    });
    match status {
        Ok(status) => {
            result.exit = status.code();
            result.signal = std::os::unix::process::ExitStatusExt::signal(&status);
        }
        Err(e) => {
            println!("lab: {name}: {e:#}");
            result.exit = Some(127);
        }
    }
    Ok(result)
}

fn write_results(rwdir: &Path, results: &[BinaryResult]) -> Result<()> {
    let value = Value::Array(results.iter().map(BinaryResult::to_json).collect());
    let tmp = rwdir.join(format!("{RESULTS_FILE}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(&value)?)?;
    fs::rename(&tmp, rwdir.join(RESULTS_FILE))?;
    // Make sure it reaches the host side of the 9p share before the VM powers off.
    if let Ok(f) = fs::File::open(rwdir.join(RESULTS_FILE)) {
        let _ = f.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_summaries() {
        assert_eq!(
            parse_test_result("test result: ok. 3 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s"),
            Some((3, 0))
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            Some((1, 2))
        );
        assert_eq!(parse_test_result("test foo ... ok"), None);
        assert_eq!(parse_test_result("test result: garbage"), None);
    }

    #[test]
    fn crashed_binary_counts_as_a_failure() {
        let r = BinaryResult {
            name: "x/lab_a".into(),
            exit: None,
            signal: Some(11),
            summary: false,
            passed: 0,
            failed: 0,
        };
        assert!(!r.ok());
        assert_eq!(r.failures(), 1);
        assert_eq!(BinaryResult::from_json(&r.to_json()), r);
        let good = BinaryResult {
            exit: Some(0),
            signal: None,
            summary: true,
            passed: 4,
            ..r
        };
        assert!(good.ok());
        assert_eq!(good.failures(), 0);
    }

    #[test]
    fn bin_filters_select_binaries_exactly() {
        let art = |t: &str| Artifact {
            package: "p".into(),
            target: t.into(),
            kinds: vec!["test".into()],
            executable: PathBuf::from(t),
            manifest_dir: PathBuf::new(),
        };
        let all = || vec![art("lab_cli"), art("lab_cli_sync"), art("lab_cli_ssh")];
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (chosen, rest) = select_binaries(all(), &f(&["bin:lab_cli", "some_test"])).unwrap();
        let names: Vec<&str> = chosen.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(names, ["lab_cli"]);
        assert_eq!(rest, ["some_test"]);
        let (chosen, rest) = select_binaries(all(), &f(&["lab_cli"])).unwrap();
        assert_eq!((chosen.len(), rest.len()), (3, 1));
        assert!(select_binaries(all(), &f(&["bin:lab_nope"])).is_err());
    }

    #[test]
    fn package_names_from_ids() {
        assert_eq!(
            package_name("path+file:///w/lab#zsync-lab@0.1.0"),
            "zsync-lab"
        );
        assert_eq!(package_name("path+file:///w/xtask#0.1.0"), "xtask");
    }

    #[test]
    fn kernel_versions_order_numerically() {
        assert!(version_key("6.12.95+deb12-amd64") > version_key("6.1.0-30-amd64"));
        assert!(version_key("6.12.10+deb12-amd64") > version_key("6.12.9+deb12-amd64"));
    }
}
