//! The planner-only build stays free of C: this crate's normal and build dependencies (`cargo tree`)
//! hold no `cc`, no `*-sys` crate, no libloading and no zfs-stream.

use std::process::Command;

/// The packages of a `cargo tree --prefix none` listing that would bring C code, a library loader or
/// the executor's stream crate.
fn offending(tree: &str) -> Vec<&str> {
    let mut bad: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| {
            *name == "cc"
                || name.ends_with("-sys")
                || *name == "libloading"
                || *name == "zfs-stream"
        })
        .collect();
    bad.sort_unstable();
    bad.dedup();
    bad
}

#[test]
fn the_rule_names_c_crates_and_the_executor() {
    let tree =
        "zsync-planner-only v0.1.0 (/x)\nzfs-sync v0.1.0 (/x)\nzstd-sys v2.0.16+zstd.1.5.7\n\
                cc v1.2.60\nlibloading v0.8.9\nlibzfs-sys v0.1.0 (/x)\nzfs-stream v0.1.0 (/x)\n\
                serde v1.0.229\nzstd-sys v2.0.16+zstd.1.5.7 (*)\nccc v1.0.0\n";
    assert_eq!(
        offending(tree),
        ["cc", "libloading", "libzfs-sys", "zfs-stream", "zstd-sys"]
    );
    assert!(offending("zfs-core v0.1.0 (/x)\nregex v1.13.2\n").is_empty());
}

#[test]
fn the_planner_only_tree_compiles_no_c() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "-p", env!("CARGO_PKG_NAME"), "-e", "normal,build"])
        .args(["--prefix", "none"])
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tree.contains("zfs-sync v"),
        "not the planner's tree:\n{tree}"
    );
    assert!(
        offending(&tree).is_empty(),
        "the planner-only tree gained {:?}:\n{tree}",
        offending(&tree)
    );
}
