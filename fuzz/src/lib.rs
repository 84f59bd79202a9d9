//! Shared helpers for the zsync fuzz targets (in `fuzz_targets/`). Intentionally small.
