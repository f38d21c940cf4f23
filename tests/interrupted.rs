//! A run killed mid-way (SIGKILL, as a CI timeout or an out-of-memory kill ends it) leaves the
//! prediction cache, the results and the baselines consistent: the next run gives the results
//! of an uninterrupted one, byte for byte, and writes no baseline that was not asked for.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The entry the parent re-executes (see `common::harness_child`).
#[test]
fn harness_child() {
    common::harness_child();
}

const FACTORS: &str = "risk_factors:\n  noise:\n    perturbations:\n      gaussian_noise:\n        \
    std: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08]\nbudgets:\n  risk: 100\n  factor_risk: 100\n";

fn harness(dir: &Path, results: &Path, cache: &Path) -> Command {
    let mut child = common::harness_command(&dir.join("killed.yaml"), results);
    child.env("SHAKEDOWN_CACHE", cache).env("INSTA_UPDATE", "always").stdout(Stdio::null()).stderr(Stdio::null());
    child
}

#[test]
fn a_killed_run_leaves_everything_consistent() {
    let dir = tempfile::tempdir().unwrap();
    common::write_yolov8n_suite(dir.path(), "killed", 12, FACTORS);
    let (reference, results, cache) =
        (dir.path().join("reference"), dir.path().join("results"), dir.path().join("cache"));
    // An uninterrupted run, its own cache: the results to expect.
    assert!(harness(dir.path(), &reference, &dir.path().join("reference-cache")).status().unwrap().success());
    let expected = std::fs::read_to_string(reference.join("killed.json")).unwrap();
    let snapshots = dir.path().join("snapshots");
    let baselines = std::fs::read_dir(&snapshots).unwrap().count();
    std::fs::remove_dir_all(&snapshots).unwrap();

    // Killed once some settings are cached, before the run ends.
    let mut child = harness(dir.path(), &results, &cache).spawn().unwrap();
    let started = Instant::now();
    let entries = |c: &Path| walk(c).iter().filter(|p| p.extension().is_some_and(|e| e == "bin")).count();
    while entries(&cache) < 3 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let cached = entries(&cache);
    assert!((3..10).contains(&cached), "killed mid-way: {cached} of 9 predictions cached");
    assert!(!results.join("killed.json").exists(), "killed before writing results");
    let written = if snapshots.exists() { std::fs::read_dir(&snapshots).unwrap().count() } else { 0 };

    // The next run: the same results as the uninterrupted one, and every baseline.
    assert!(harness(dir.path(), &results, &cache).status().unwrap().success());
    assert_eq!(std::fs::read_to_string(results.join("killed.json")).unwrap(), expected);
    assert_eq!(std::fs::read_dir(&snapshots).unwrap().count(), baselines);
    assert!(written <= baselines);
    // Every prediction is cached now, and what the killed run cached was read back, not redone.
    assert_eq!(entries(&cache), 9);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}
