//! Helpers for the lab tests of `zsync` over SSH (lab_cli_ssh*): the test tree (a filesystem with
//! a child, a zvol and a clone), reading replicated data back, comparing guids, and the state of
//! both pools before and after a run that must change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use zsync_lab::ssh::BackupHost;
use zsync_lab::{data::pattern, LabError, TestPool};

/// The datasets of the test tree, relative to its root ("" is the root).
pub const TREE: [&str; 4] = ["", "/child", "/vol", "/clone"];

/// Size of the file in `child` and of the data written to the zvol.
const FILE_LEN: usize = 150_000;
const VOL_LEN: usize = 512 * 1024;

/// Creates `root` with a child filesystem holding `a.bin`, a zvol holding data and a clone of
/// `child@base`, then snapshots the whole tree `@snap` (the first version: `seed`).
pub fn make_tree(pool: &TestPool, root: &str, snap: &str, seed: u32) -> Result<(), LabError> {
    pool.zfs(&["create", root])?;
    pool.zfs(&["create", &format!("{root}/child")])?;
    pool.zfs(&["create", "-s", "-V", "4M", &format!("{root}/vol")])?;
    write_version(pool, root, seed)?;
    pool.zfs(&["snapshot", &format!("{root}/child@base")])?;
    pool.zfs(&[
        "clone",
        &format!("{root}/child@base"),
        &format!("{root}/clone"),
    ])?;
    pool.zfs(&["snapshot", "-r", &format!("{root}@{snap}")])
        .map(|_| ())
}

/// Writes version `seed` of the data (file in `child`, bytes of the zvol) into the tree at `root`.
pub fn write_version(pool: &TestPool, root: &str, seed: u32) -> Result<(), LabError> {
    let mp = pool.get("mountpoint", &format!("{root}/child"))?;
    std::fs::write(Path::new(&mp).join("a.bin"), pattern(FILE_LEN, seed))
        .map_err(|e| LabError::Invalid(format!("write {mp}/a.bin: {e}")))?;
    write_zvol(&format!("{root}/vol"), &pattern(VOL_LEN, seed + 100))
}

/// Asserts that the tree at `dst` holds the same snapshots (by guid) as `src` and version `seed`
/// of the data (read through a temporary read-only mount and the zvol's device).
pub fn assert_tree(src: &str, dst: &str, seed: u32) {
    for rel in TREE {
        let (a, b) = (format!("{src}{rel}"), format!("{dst}{rel}"));
        let (ga, gb) = (snapshot_guids(&a), snapshot_guids(&b));
        assert!(!ga.is_empty(), "{a} has snapshots");
        assert_eq!(ga, gb, "snapshot guids of {a} and {b}");
    }
    assert_eq!(
        read_file_ro(&format!("{dst}/child"), "a.bin"),
        pattern(FILE_LEN, seed),
        "{dst}/child/a.bin"
    );
    assert_eq!(
        read_zvol(&format!("{dst}/vol"), VOL_LEN),
        pattern(VOL_LEN, seed + 100),
        "{dst}/vol bytes"
    );
    assert_eq!(
        zfs_get("origin", &format!("{dst}/clone")),
        format!("{dst}/child@base"),
        "{dst}/clone is a clone"
    );
}

/// `short snapshot name -> guid` of one dataset (any pool), through the real CLI.
pub fn snapshot_guids(ds: &str) -> Vec<(String, String)> {
    let out = zfs_ok(&[
        "list",
        "-H",
        "-p",
        "-o",
        "name,guid",
        "-t",
        "snapshot",
        "-s",
        "createtxg",
        "-d",
        "1",
        ds,
    ]);
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, g)| (n.rsplit_once('@').map_or(n, |x| x.1).to_string(), g.into()))
        .collect()
}

/// One property's value (`zfs get -Hp -o value`).
pub fn zfs_get(prop: &str, name: &str) -> String {
    zfs_ok(&["get", "-Hp", "-o", "value", prop, name])
        .trim()
        .to_string()
}

/// `zfs ARGS`, which must succeed; stdout.
pub fn zfs_ok(args: &[&str]) -> String {
    zsync_lab::zfs(args).unwrap_or_else(|e| panic!("zfs {args:?}: {e}"))
}

/// Everything in `pools` (datasets, snapshots, bookmarks) with guids and user properties that
/// zsync sets, plus resume tokens and holds: equal before and after a run that changes nothing.
pub fn state(pools: &[&TestPool]) -> String {
    let mut s = String::new();
    for p in pools {
        s += &zfs_ok(&[
            "list",
            "-H",
            "-p",
            "-t",
            "all",
            "-o",
            "name,guid,receive_resume_token,userrefs",
            "-r",
            p.name(),
        ]);
    }
    s
}

/// Reads `rel` in filesystem `ds` through a temporary read-only mount (received datasets stay
/// unmounted, and a read-write mount could count as a change before the next incremental).
pub fn read_file_ro(ds: &str, rel: &str) -> Vec<u8> {
    zfs_ok(&["mount", "-o", "ro", ds]);
    let mp = zfs_get("mountpoint", ds);
    let bytes = std::fs::read(Path::new(&mp).join(rel));
    zfs_ok(&["unmount", ds]);
    bytes.unwrap_or_else(|e| panic!("read {mp}/{rel}: {e}"))
}

/// The block device of zvol `vol`, once udev has made it (waits up to 30 s).
pub fn zvol_dev(vol: &str) -> PathBuf {
    let path = Path::new("/dev/zvol").join(vol);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        let _ = Command::new("udevadm").args(["settle", "-t", "5"]).status();
        std::thread::sleep(Duration::from_millis(100));
    }
    path
}

/// Writes `data` at the start of zvol `vol`.
pub fn write_zvol(vol: &str, data: &[u8]) -> Result<(), LabError> {
    use std::io::Write;
    let dev = zvol_dev(vol);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev)
        .map_err(|e| LabError::Invalid(format!("open {}: {e}", dev.display())))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| LabError::Invalid(format!("write {}: {e}", dev.display())))
}

/// The first `len` bytes of zvol `vol` (the device reads the newest received state: the caches of
/// a device that existed before the receive are dropped first).
pub fn read_zvol(vol: &str, len: usize) -> Vec<u8> {
    use std::io::Read;
    let dev = zvol_dev(vol);
    let _ = Command::new("blockdev")
        .arg("--flushbufs")
        .arg(&dev)
        .status();
    let mut buf = vec![0; len];
    std::fs::File::open(&dev)
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap_or_else(|e| panic!("read {}: {e}", dev.display()));
    buf
}

/// `--sshconfig FILE` for `host` (its alias names the endpoint: `user@NAME:pool/ds`).
pub fn ssh_flags(host: &BackupHost) -> Vec<String> {
    vec![
        "--sshconfig".into(),
        host.ssh_config_path().display().to_string(),
    ]
}

/// `user@NAME:ds` for `host` (reached through [`ssh_flags`]' config file).
pub fn remote(host: &BackupHost, user: &str, ds: &str) -> String {
    format!("{user}@{}:{ds}", host.name())
}

/// The JSON report of a run that must have exited 0.
pub fn report(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        super::text(&o.stdout),
        super::text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("report JSON: {e}"))
}

/// Asserts a failed run: exit 2 and exactly one stderr line (warnings aside) that mentions `host`
/// and `what` (case-insensitive); returns that line.
pub fn one_line_failure(o: &Output, host: &str, what: &str) -> String {
    let err = super::text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("zsync: warning:"))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {err:?}");
    let line = lines[0];
    assert!(line.contains(host), "names the host {host}: {line}");
    assert!(
        line.to_lowercase().contains(&what.to_lowercase()),
        "says {what:?}: {line}"
    );
    line.to_string()
}
