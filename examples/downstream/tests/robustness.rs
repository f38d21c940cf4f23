//! Robustness tests: every suite in `suites/` becomes one test per model × perturbation ×
//! setting (shakedown). `cargo test --test robustness -- --list` lists them.

fn main() -> std::process::ExitCode {
    shakedown::harness::main(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites"))
}
