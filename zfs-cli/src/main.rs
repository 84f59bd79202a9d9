//! `zsync` entry point (also `sanoid` and `syncoid` through symlinks): see `zsync_cli::app`.
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(zsync_cli::app::main_with(std::env::args_os().collect()))
}
