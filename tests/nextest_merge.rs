//! cargo-nextest runs each test in its own process: the processes of one run (one
//! `NEXTEST_RUN_ID`) each write their part and merge all parts into `<suite>.json`, which ends
//! byte-identical to what `cargo test` writes from one process running every test.
//!
//! Partitions of a run on several machines (`--partition count:K/N`, each its own target folder
//! and run) merge with `shakedown merge` into the same file too.
//!
//! The harness runs in child processes (this test binary again, entering `harness_child`), one
//! per test as nextest would start them.

mod common;

use std::path::Path;

/// The entry the parent re-executes (see `common::harness_child`).
#[test]
fn harness_child() {
    common::harness_child();
}

const FACTORS: &str = "risk_factors:\n  noise:\n    perturbations:\n      gaussian_noise:\n        \
    std: [0.03, 0.08]\n  geometry:\n    perturbations:\n      rotation:\n        angle: 10\nbudgets:\n  \
    risk: 100\n  factor_risk: 100\n";

/// The harness on the suite in `dir`, writing results to `results`; `filter` picks one test.
fn run(dir: &Path, results: &Path, filter: Option<&str>, run_id: Option<&str>) {
    let mut child = common::harness_command(&dir.join("merged.yaml"), results);
    child.env("SHAKEDOWN_CACHE", "off").env("INSTA_UPDATE", "always");
    if let Some(filter) = filter {
        child.env("SHAKEDOWN_TEST_FILTER", filter);
    }
    if let Some(id) = run_id {
        child.env("NEXTEST_RUN_ID", id);
    }
    let out = child.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
}

#[test]
fn one_process_per_test_gives_the_results_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    common::write_yolov8n_suite(dir.path(), "merged", 8, FACTORS);
    let (together, apart) = (dir.path().join("together"), dir.path().join("apart"));
    run(dir.path(), &together, None, None);
    let whole = std::fs::read_to_string(together.join("merged.json")).unwrap();

    let tests = [
        "merged::yolov8n::clean",
        "merged::yolov8n::noise",
        "merged::yolov8n::noise::gaussian_noise::std=0.03",
        "merged::yolov8n::noise::gaussian_noise::std=0.08",
        "merged::yolov8n::geometry",
        "merged::yolov8n::geometry::rotation::angle=10",
    ];
    // A stale part of an earlier run must not leak in.
    run(dir.path(), &apart, Some(tests[2]), Some("an-earlier-run"));
    for (i, test) in tests.iter().enumerate() {
        run(dir.path(), &apart, Some(test), Some("this-run"));
        let so_far = std::fs::read_to_string(apart.join("merged.json")).unwrap();
        // The clean test alone measured less than the whole run.
        if i == 0 {
            assert_ne!(so_far, whole, "after {test}");
        }
    }
    let merged = std::fs::read_to_string(apart.join("merged.json")).unwrap();
    assert_eq!(merged, whole, "the merged parts are the single process's results, byte for byte");
    let parts = apart.join("merged.parts");
    let runs: Vec<_> = std::fs::read_dir(&parts).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
    assert_eq!(runs.len(), 1, "only this run's parts are kept");

    // Two machines, each a partition of the tests (nextest's count:1/2 and count:2/2 deal tests
    // out in turn), merged afterwards.
    let machines = [dir.path().join("machine-1"), dir.path().join("machine-2")];
    for (i, test) in tests.iter().enumerate() {
        run(dir.path(), &machines[i % 2], Some(test), Some(&format!("machine-{}", i % 2 + 1)));
    }
    let merged_dir = dir.path().join("merged");
    let written = shakedown::output::results::merge_folders(&machines, &merged_dir).unwrap();
    assert_eq!(written.len(), 1);
    let merged = std::fs::read_to_string(merged_dir.join("merged.json")).unwrap();
    assert_eq!(merged, whole, "the partitions' merge is the single machine's results");
}
