//! Build script: only does work with the `regenerate` feature, which runs bindgen against the installed
//! OpenZFS headers and writes `$OUT_DIR/bindings.rs` (the crate then includes that instead of the committed
//! `src/bindings.rs`). Without the feature nothing is probed or linked: the libraries are loaded at run time.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=wrapper.h");
    #[cfg(feature = "regenerate")]
    regen::run();
}

#[cfg(feature = "regenerate")]
#[path = "src/regen.rs"]
mod regen;
