//! The robustness harness: every `suites/*.yaml` expands into one test per model × perturbation
//! × severity, plus a clean-accuracy test and a test per risk factor for each model.
//!
//! `cargo test --test robustness -- --list` lists them; filters, `--exact`, `--ignored` and
//! `--test-threads` work as for unit tests, and so does `cargo nextest run --test robustness`.

fn main() -> std::process::ExitCode {
    shakedown::harness::main(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites"))
}
