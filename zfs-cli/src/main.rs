//! `zsync` entry point: all logic lives in the library (`zfs_cli::app`).
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(0)
}
