//! What the integration tests share: loading a committed test suite, finding its cases by kind
//! or name, and scoring them.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

use shakedown::config::Config;
use shakedown::engine::SuiteRun;
use shakedown::harness;
use shakedown::judge::Scores;
use shakedown::suite::{Case, CaseKind};

/// A suite file under `tests/suites/`.
pub fn suite_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites").join(file)
}

/// The suite `tests/suites/<file>`, validated, ready to run (ignoring the environment, so a
/// developer's `SHAKEDOWN_BACKEND` does not change what a test measures).
pub fn load(file: &str) -> SuiteRun {
    let path = suite_path(file);
    let mut runs = harness::load_suites(&path, &Config::default())
        .unwrap_or_else(|errors| panic!("{} is valid: {errors:?}", path.display()));
    assert_eq!(runs.len(), 1, "one suite per file");
    runs.remove(0)
}

/// The clean case of model `model`.
pub fn clean_case(run: &SuiteRun, model: usize) -> &Case {
    run.cases.iter().find(|c| c.model == model && c.kind == CaseKind::Clean).expect("every model has a clean case")
}

/// The one case whose name ends with `suffix`.
pub fn case_ending<'a>(run: &'a SuiteRun, suffix: &str) -> &'a Case {
    let found: Vec<&Case> = run.cases.iter().filter(|c| c.name.ends_with(suffix)).collect();
    assert_eq!(found.len(), 1, "one case ends with {suffix}: {found:?}");
    found[0]
}

/// A case's scores, computing its outcome.
pub fn scores(run: &SuiteRun, case: &Case) -> Scores {
    Scores::of(run, case).unwrap_or_else(|e| panic!("{}: {}", case.name, shakedown::errors::render(&*e)))
}

/// The body of a test binary's `harness_child` entry, which a test re-executes to run the
/// harness in a child process as `cargo test --test robustness` would: the suite in
/// `SHAKEDOWN_SUITES`, filtered to the test `SHAKEDOWN_TEST_FILTER` names exactly, if set.
/// Does nothing unless `SHAKEDOWN_TEST_CHILD` is set; exits with the harness's verdict.
pub fn harness_child() {
    if std::env::var_os("SHAKEDOWN_TEST_CHILD").is_none() {
        return;
    }
    let config = Config::get().expect("the parent sets a valid environment");
    let location = config.suites.clone().expect("the parent names the suite");
    let filter = std::env::var("SHAKEDOWN_TEST_FILTER").ok();
    let args =
        libtest_mimic::Arguments { exact: filter.is_some(), filter, test_threads: Some(1), ..Default::default() };
    let conclusion = harness::run(&args, &location, config).expect("the suite is valid");
    std::process::exit(if conclusion.has_failed() { 101 } else { 0 });
}

/// Writes `<dir>/<name>.yaml`: the shapes yolov8n on the first `limit` validation images,
/// followed by `rest` (impact rule, risk factors, budgets as YAML lines); returns its path.
pub fn write_yolov8n_suite(dir: &Path, name: &str, limit: usize, rest: &str) -> PathBuf {
    let shapes = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes");
    let suite = format!(
        "name: {name}\nseed: 7\nmodels:\n  - name: yolov8n\n    path: {model}\n    family: yolov8\n    \
         classes: [circle, square, triangle]\ndataset:\n  annotations: {ann}\n  images: {images}/*.jpg\n  \
         limit: {limit}\n{rest}",
        model = shapes.join("models/yolov8n.onnx").display(),
        ann = shapes.join("val/annotations.json").display(),
        images = shapes.join("val/images").display(),
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, suite).unwrap();
    path
}

/// This test binary again, entering its `harness_child` entry on `suite` with results in
/// `results`, in an environment cleared of what would change the run (CI, insta's mode, the
/// backend, a nextest run id).
pub fn harness_command(suite: &Path, results: &Path) -> std::process::Command {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["--exact", "harness_child", "--nocapture", "--test-threads", "1"]);
    for var in ["CI", "INSTA_UPDATE", "INSTA_FORCE_PASS", "SHAKEDOWN_BACKEND", "TF_BUILD", "NEXTEST_RUN_ID"] {
        child.env_remove(var);
    }
    child.env("SHAKEDOWN_TEST_CHILD", "1").env("SHAKEDOWN_SUITES", suite).env("SHAKEDOWN_RESULTS", results);
    child
}
