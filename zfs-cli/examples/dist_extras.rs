//! Writes zsync's shell completions and man pages under a prefix (what `cargo xtask dist-extras`
//! runs): `cargo run -p zsync --example dist_extras -- --out PREFIX`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = match args.as_slice() {
        [flag, prefix] if flag == "--out" => PathBuf::from(prefix),
        _ => {
            eprintln!("usage: dist_extras --out PREFIX");
            return ExitCode::from(2);
        }
    };
    match zsync_cli::extras::write_extras(&prefix) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dist_extras: error: {e}");
            ExitCode::from(2)
        }
    }
}
