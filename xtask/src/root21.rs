//! The second lab root: Debian bookworm's own OpenZFS 2.1 line with its 6.1 kernel, debootstrapped
//! into [`ROOT_DIR`] and booted by the lab VM with `vng --root` (`lab test --root zfs21`).
//!
//! `setup()` is idempotent: each step leaves a stamp under `<root>/.zsync-lab/`, and a finished root
//! (stamp `ready`) is a no-op. The steps and their rough cost on a fresh 2-core machine: debootstrap
//! (~1 min), apt installs of kernel + headers + zfs + the SSH lab's tools (~3 min), dkms builds the
//! zfs module for the 6.1 kernel (~10 min).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::lab;
use crate::util::{self, Stopwatch};

/// Where the root lives (project-owned, outside any worktree so every checkout shares it).
pub const ROOT_DIR: &str = "/var/lib/zsync-lab/root-zfs21";
/// The name `--root` takes for this root.
pub const NAME: &str = "zfs21";
/// The Debian mirror debootstrap and apt use.
const MIRROR: &str = "http://deb.debian.org/debian";

/// apt sources inside the root: bookworm itself (OpenZFS 2.1 is in contrib), its updates and
/// security (the 6.1 kernel's fixes). No backports: that is where 2.3 lives.
const SOURCES: &str = "\
deb http://deb.debian.org/debian bookworm main contrib
deb http://deb.debian.org/debian bookworm-updates main contrib
deb http://deb.debian.org/debian-security bookworm-security main contrib
";

/// Packages installed in the root besides the SSH lab's ([`lab::SSH_PACKAGES`]): the kernel with
/// headers (dkms builds against them), OpenZFS 2.1, kmod for `modprobe`.
const PACKAGES: &[&str] = &[
    "linux-image-amd64",
    "linux-headers-amd64",
    "zfs-dkms",
    "zfsutils-linux",
    "kmod",
    "procps",
    "busybox-static",
];

/// A finished 2.1 root: the dir, its kernel and its OpenZFS package version.
#[derive(Debug, Clone)]
pub struct Root {
    pub dir: PathBuf,
    pub kernel_version: String,
    pub kernel_image: PathBuf,
    pub zfs_version: String,
}

fn stamp_dir(root: &Path) -> PathBuf {
    root.join(".zsync-lab")
}

fn stamp(root: &Path, step: &str) -> PathBuf {
    stamp_dir(root).join(step)
}

fn done(root: &Path, step: &str) -> bool {
    stamp(root, step).is_file()
}

fn mark(root: &Path, step: &str, note: &str) -> Result<()> {
    fs::create_dir_all(stamp_dir(root))?;
    fs::write(stamp(root, step), note).with_context(|| format!("cannot write stamp {step}"))
}

/// The finished root, or an error saying to run `lab setup --zfs21`.
pub fn detect() -> Result<Root> {
    let dir = PathBuf::from(ROOT_DIR);
    let ready = fs::read_to_string(stamp(&dir, "ready")).with_context(|| {
        format!("the OpenZFS 2.1 lab root {ROOT_DIR} is not set up; run `cargo xtask lab setup --zfs21` (as root)")
    })?;
    root_from_stamp(&dir, &ready)
}

fn root_from_stamp(dir: &Path, ready: &str) -> Result<Root> {
    let field = |key: &str| {
        ready
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
            .with_context(|| format!("{}: no {key}= line", stamp(dir, "ready").display()))
    };
    let kernel_version = field("kernel")?;
    let kernel_image = dir.join(format!("boot/vmlinuz-{kernel_version}"));
    if !kernel_image.is_file() {
        bail!(
            "{} is missing; remove {} and run `cargo xtask lab setup --zfs21`",
            kernel_image.display(),
            stamp(dir, "ready").display()
        );
    }
    Ok(Root {
        dir: dir.to_path_buf(),
        kernel_version,
        kernel_image,
        zfs_version: field("zfs")?,
    })
}

/// Builds the root (skipping finished steps) and returns it.
pub fn setup() -> Result<Root> {
    let clock = Stopwatch::start();
    if !util::is_root() {
        bail!("`cargo xtask lab setup --zfs21` must run as root (debootstrap, chroot)");
    }
    let dir = PathBuf::from(ROOT_DIR);
    if let Ok(ready) = fs::read_to_string(stamp(&dir, "ready")) {
        let root = root_from_stamp(&dir, &ready)?;
        eprintln!(
            "lab setup --zfs21: {ROOT_DIR} ready (kernel {}, zfs {}) [{}]",
            root.kernel_version,
            root.zfs_version,
            clock.show()
        );
        return Ok(root);
    }
    fs::create_dir_all(dir.parent().unwrap_or(Path::new("/")))?;

    // 1. debootstrap (a half-done one is started over).
    if !done(&dir, "debootstrap") {
        if !Path::new("/usr/sbin/debootstrap").is_file() {
            eprintln!("lab setup --zfs21: installing debootstrap");
            util::run(
                Command::new("apt-get")
                    .args(["-o", "DPkg::Lock::Timeout=1800", "install", "-y"])
                    .arg("debootstrap")
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )?;
        }
        if dir.exists() {
            eprintln!("lab setup --zfs21: removing the unfinished {ROOT_DIR}");
            fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove the unfinished {ROOT_DIR}"))?;
        }
        let step = Stopwatch::start();
        eprintln!("lab setup --zfs21: debootstrap bookworm (main, contrib) into {ROOT_DIR}");
        util::run(
            Command::new("debootstrap")
                .args([
                    "--variant=minbase",
                    "--components=main,contrib",
                    "--include=ca-certificates",
                    "bookworm",
                ])
                .arg(&dir)
                .arg(MIRROR),
        )?;
        mark(&dir, "debootstrap", "")?;
        eprintln!("lab setup --zfs21: debootstrap took {}", step.show());
    }

    // 2. apt sources, no service starts inside the chroot, and the packages.
    fs::write(dir.join("etc/apt/sources.list"), SOURCES)?;
    let policy = dir.join("usr/sbin/policy-rc.d");
    fs::write(&policy, "#!/bin/sh\nexit 101\n")?;
    fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    if !done(&dir, "packages") {
        let step = Stopwatch::start();
        let packages: Vec<&str> = PACKAGES.iter().chain(lab::SSH_PACKAGES).copied().collect();
        eprintln!(
            "lab setup --zfs21: installing {} in the root (dkms may build the zfs module here: ~10 min)",
            packages.join(" ")
        );
        chroot_apt(&dir, &["update"])?;
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(packages);
        chroot_apt(&dir, &args)?;
        mark(&dir, "packages", "")?;
        eprintln!("lab setup --zfs21: packages took {}", step.show());
    }

    // 3. The zfs module for the root's kernel (dkms skips the host's running kernel, whose headers the
    // root lacks, so the kernel version is given explicitly).
    let kernel = newest_kernel(&dir)?;
    if !lab::has_zfs_module(&dir, &kernel) {
        let step = Stopwatch::start();
        eprintln!("lab setup --zfs21: dkms autoinstall for {kernel}");
        util::run(&mut in_root(
            &dir,
            &["/usr/sbin/dkms", "autoinstall", "-k", &kernel],
        )?)?;
        if !lab::has_zfs_module(&dir, &kernel) {
            bail!("dkms ran for {kernel} in {ROOT_DIR}, but there is still no zfs module in its modules.dep");
        }
        eprintln!("lab setup --zfs21: dkms took {}", step.show());
    }
    let zfs_version = util::output(&mut in_root(
        &dir,
        &[
            "/usr/bin/dpkg-query",
            "-W",
            "-f=${Version}",
            "zfsutils-linux",
        ],
    )?)?;

    // 4. Done: the VM boots with the root read-only; the driver needs nothing else from it.
    mark(
        &dir,
        "ready",
        &format!("kernel={kernel}\nzfs={}\n", zfs_version.trim()),
    )?;
    let root = detect()?;
    eprintln!(
        "lab setup --zfs21: done; kernel {}, zfs {} [{}]",
        root.kernel_version,
        root.zfs_version,
        clock.show()
    );
    Ok(root)
}

/// `lab setup --zfs21` running as a child process (its output in a log file), so CI overlaps it
/// with the host steps.
pub struct Background {
    child: std::process::Child,
    log: PathBuf,
    clock: Stopwatch,
}

impl Background {
    /// Starts `xtask lab setup --zfs21` with its output in `<target>/lab/zfs21-setup.log`.
    pub fn start() -> Result<Self> {
        let dir = util::target_dir().join("lab");
        fs::create_dir_all(&dir)?;
        let log = dir.join("zfs21-setup.log");
        let out =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(std::env::current_exe().context("cannot find the xtask binary")?)
            .args(["lab", "setup", "--zfs21"])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("cannot start `xtask lab setup --zfs21`")?;
        eprintln!(
            "ci: building the OpenZFS 2.1 lab root in the background (log: {})",
            log.display()
        );
        Ok(Background {
            child,
            log,
            clock: Stopwatch::start(),
        })
    }

    /// Waits for the build; a failure names the log. Returns a note for the CI summary.
    pub fn join(mut self) -> Result<String> {
        let status = self
            .child
            .wait()
            .context("waiting for `lab setup --zfs21`")?;
        let tail = fs::read_to_string(&self.log).unwrap_or_default();
        let last: Vec<&str> = tail.lines().rev().take(3).collect();
        if !status.success() {
            bail!(
                "`xtask lab setup --zfs21` failed ({status}); log {}: {}",
                self.log.display(),
                last.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        Ok(format!(
            "2.1 root built in the background, done after {}",
            self.clock.show()
        ))
    }
}

/// The newest kernel installed in the root (`/boot/vmlinuz-*` with `/lib/modules/*`).
fn newest_kernel(root: &Path) -> Result<String> {
    let mut versions: Vec<String> = fs::read_dir(root.join("lib/modules"))
        .with_context(|| format!("no lib/modules in {}", root.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|v| root.join(format!("boot/vmlinuz-{v}")).is_file())
        .collect();
    versions.sort_by_key(|v| lab::version_key(v));
    versions
        .pop()
        .with_context(|| format!("no kernel installed in {}", root.display()))
}

fn chroot_apt(root: &Path, args: &[&str]) -> Result<()> {
    let mut argv = vec![
        "/usr/bin/apt-get",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        "Dpkg::Options::=--force-confold",
    ];
    argv.extend(args);
    util::run(&mut in_root(root, &argv)?)
}

/// A command run inside `root`: in a private mount namespace (so nothing leaks to the host and
/// nothing needs unmounting) with `/proc`, `/sys` and `/dev` mounted, then `chroot`.
fn in_root(root: &Path, argv: &[&str]) -> Result<Command> {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).context("path with a NUL byte");
    let root_c = c(root)?;
    let proc_c = c(&root.join("proc"))?;
    let sys_c = c(&root.join("sys"))?;
    let dev_c = c(&root.join("dev"))?;
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: between fork and exec only raw syscalls run, on C strings built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let none = std::ptr::null::<libc::c_char>();
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                none,
                c"/".as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"proc".as_ptr(),
                proc_c.as_ptr(),
                c"proc".as_ptr(),
                0,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"sysfs".as_ptr(),
                sys_c.as_ptr(),
                c"sysfs".as_ptr(),
                0,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"/dev".as_ptr(),
                dev_c.as_ptr(),
                none,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            check(libc::chroot(root_c.as_ptr()))?;
            check(libc::chdir(c"/".as_ptr()))
        });
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_stamp_names_kernel_and_zfs() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("boot")).unwrap();
        fs::write(dir.path().join("boot/vmlinuz-6.1.0-9-amd64"), b"").unwrap();
        let root =
            root_from_stamp(dir.path(), "kernel=6.1.0-9-amd64\nzfs=2.1.11-1+deb12u1\n").unwrap();
        assert_eq!(root.kernel_version, "6.1.0-9-amd64");
        assert_eq!(root.zfs_version, "2.1.11-1+deb12u1");
        assert!(root_from_stamp(dir.path(), "zfs=2.1.11\n").is_err());
        assert!(root_from_stamp(dir.path(), "kernel=6.1.0-10-amd64\nzfs=2.1\n").is_err());
    }
}
