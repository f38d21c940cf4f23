//! `shakedown run`: the suites without cargo, with the harness's verdicts and exit code, the
//! results file and report, baselines only read unless `--accept` writes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/suites/small.yaml` copied into `dir/suites/` with absolute paths, so that its
/// baselines go to `dir/suites/snapshots/`.
fn small_suite_in(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/suites/small.yaml")).unwrap();
    let text = text.replace("../../examples/", &format!("{}/examples/", root.display()));
    std::fs::create_dir_all(dir.join("suites")).unwrap();
    let path = dir.join("suites/small.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(dir: &Path, suite: &Path, accept: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shakedown"));
    command.arg("run").arg(suite).env("SHAKEDOWN_RESULTS", dir.join("results"));
    command.env("SHAKEDOWN_CACHE", dir.join("cache")).env_remove("CI").env_remove("INSTA_UPDATE");
    if accept {
        command.arg("--accept");
    }
    command.output().unwrap()
}

fn snapshots(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("suites/snapshots"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn runs_suites_with_the_harness_verdicts_and_baselines_read_only_unless_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let suite = small_suite_in(dir.path());

    // No baselines yet: every case fails, and nothing is written.
    let first = run(dir.path(), &suite, false);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILED (10 failed): 10 cases"), "{stdout}");
    assert!(snapshots(dir.path()).is_empty(), "baselines are only read: {:?}", snapshots(dir.path()));
    assert!(dir.path().join("results/small.json").is_file() && dir.path().join("results/small.html").is_file());

    // --accept writes them; the budget breach still fails, as in the harness.
    let accepted = run(dir.path(), &suite, true);
    assert_eq!(accepted.status.code(), Some(1));
    assert_eq!(snapshots(dir.path()).len(), 10, "{:?}", snapshots(dir.path()));
    let again = run(dir.path(), &suite, false);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("FAILED (1 failed): 10 cases"), "{stdout}");
    assert!(stdout.contains("FAILED small::yolov8n-epoch4::clean\nmodel yolov8n-epoch4: clean mAP@0.5"), "{stdout}");
    assert!(stdout.contains("report "), "{stdout}");
}
