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
