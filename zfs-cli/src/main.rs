//! `zsync` entry point (also `sanoid` and `syncoid` through symlinks): see `zfs_cli::app`.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(zfs_cli::app::main_with(std::env::args_os().collect()))
}
