//! A regression reads cleanly in CI: with `RUST_BACKTRACE=1`, a case without a baseline and a
//! case whose scores moved each get one precise message and insta's diff, and no stack trace.
//!
//! The harness runs in a child process (this test binary again, entering `harness_child`), as
//! `cargo test --test robustness` would run it, so the test reads exactly what a CI log shows.

mod common;

use std::path::Path;

/// The entry the parent re-executes (see `common::harness_child`).
#[test]
fn harness_child() {
    common::harness_child();
}

/// A copy of `tests/suites/small.yaml` reduced to one model and 8 images, with impact `delta`.
fn write_suite(dir: &Path, delta: f64) {
    let rest = format!(
        "impact:\n  rule: ground_truth\n  delta: {delta}\nrisk_factors:\n  noise:\n    perturbations:\n      \
         gaussian_noise:\n        std: 0.03\nbudgets:\n  risk: 100\n  factor_risk: 100\n"
    );
    common::write_yolov8n_suite(dir, "regress", 8, &rest);
}

/// Run the harness on the suite in `dir`: (succeeded, stdout + stderr).
fn run(dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut child = common::harness_command(&dir.join("regress.yaml"), &dir.join("results"));
    child.env("RUST_BACKTRACE", "1").envs(env.iter().copied());
    let out = child.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn baseline_failures_read_cleanly_with_backtraces_on() {
    let dir = tempfile::tempdir().unwrap();
    write_suite(dir.path(), 0.3);
    let cases = 3; // clean, the noise factor, its one setting

    // No baselines, in CI: every case says so once, and how to accept.
    let (ok, out) = run(dir.path(), &[("CI", "true")]);
    assert!(!ok, "{out}");
    assert_eq!(out.matches("baseline: no baseline yet").count(), cases, "{out}");
    assert!(out.contains("CI writes no snapshots, so run the suite locally"), "{out}");
    assert!(!out.contains("stack backtrace"), "{out}");
    assert!(!out.contains("Stopped on the first failure"), "{out}");

    // Accepted as written.
    let (ok, out) = run(dir.path(), &[("INSTA_UPDATE", "always")]);
    assert!(ok, "{out}");
    assert!(dir.path().join("snapshots/regress__yolov8n__clean.snap").is_file());

    // A stricter impact rule moves the risk scores: one message per moved case, with the diff.
    write_suite(dir.path(), 0.01);
    let (ok, out) = run(dir.path(), &[("CI", "true")]);
    assert!(!ok, "{out}");
    let moved = out.matches("baseline: moved beyond tolerance: risk ").count();
    assert!((1..=2).contains(&moved), "the factor and its setting may move: {out}");
    assert_eq!(out.matches("baseline:").count(), moved, "one message per failing case: {out}");
    assert!(out.contains("-old snapshot") && out.contains("+new results"), "insta's diff is shown: {out}");
    assert!(out.contains("(tolerance ±1)"), "{out}");
    assert!(!out.contains("stack backtrace"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(!out.contains("Stopped on the first failure"), "{out}");
    if std::env::var_os("SHAKEDOWN_SHOW_OUTPUT").is_some() {
        println!("{out}");
    }
}
