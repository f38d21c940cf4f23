//! The libtest-mimic harness: every suite file becomes a list of `Trial`s that filter, list
//! and run in parallel like unit tests (and under cargo-nextest, one process per test).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use libtest_mimic::{Arguments, Conclusion, Failed, Trial};

use crate::baseline::{self, Scores};
use crate::errors::{self, Error};
use crate::expand::CaseKind;
use crate::run::SuiteRun;
use crate::{report, results, spec, verdict};

/// Environment variable naming a suite file or folder to run instead of `suites/`.
pub const SUITES_ENV: &str = "SHAKEDOWN_SUITES";

/// Entry point of `tests/robustness.rs`: run every suite in `default_dir` (or `SHAKEDOWN_SUITES`).
pub fn main(default_dir: &Path) -> ExitCode {
    let args = Arguments::from_args();
    let location = std::env::var_os(SUITES_ENV).map(PathBuf::from).unwrap_or_else(|| default_dir.to_owned());
    match run(&args, &location) {
        Ok(conclusion) => conclusion.exit_code(),
        Err(errors) => {
            errors.into_iter().for_each(report::suite_error);
            ExitCode::from(101)
        }
    }
}

/// Load the suites at `location`, run their trials, print the summary. When a suite is invalid
/// nothing runs and every problem is returned.
pub fn run(args: &Arguments, location: &Path) -> Result<Conclusion, Vec<Error>> {
    let runs = load_suites(location)?;
    let runs: Vec<Arc<SuiteRun>> = runs.into_iter().map(Arc::new).collect();
    let started = Instant::now();
    let conclusion = libtest_mimic::run(args, trials(&runs));
    if !args.list {
        let runs: Vec<&SuiteRun> = runs.iter().map(Arc::as_ref).collect();
        print!("{}", report::summary(&runs, started.elapsed()));
        match results::write(&runs, &results::folder()) {
            Ok(files) => print!("{}", report::results_written(&files)),
            Err(e) => report::suite_error(e),
        }
    }
    Ok(conclusion)
}

/// Suite files at `location`: the file itself, or every `*.yaml`/`*.yml` in the folder, sorted.
pub fn suite_files(location: &Path) -> Result<Vec<PathBuf>, Error> {
    if location.is_file() {
        return Ok(vec![location.to_owned()]);
    }
    let entries = std::fs::read_dir(location).map_err(|e| Error::io(location, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    Ok(files)
}

/// Validate every suite; all problems of all files are reported together.
pub fn load_suites(location: &Path) -> Result<Vec<SuiteRun>, Vec<Error>> {
    let files = suite_files(location).map_err(|e| vec![e])?;
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match spec::load(&file) {
            Ok(suite) => runs.push(SuiteRun::new(suite)),
            Err(e) => errors.push(e),
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for run in &runs {
        if !names.insert(run.suite.name.clone()) {
            errors.push(Error::Usage(format!(
                "two suites are named `{}`; names must be unique because they prefix test names",
                run.suite.name
            )));
        }
    }
    if errors.is_empty() {
        Ok(runs)
    } else {
        Err(errors)
    }
}

/// One trial per case of every suite.
pub fn trials(runs: &[Arc<SuiteRun>]) -> Vec<Trial> {
    let mut trials = Vec::new();
    for run in runs {
        for (index, case) in run.cases.iter().enumerate() {
            let ignored = run.suite.models[case.model].ignore;
            let run = Arc::clone(run);
            trials.push(Trial::test(case.name.clone(), move || check_case(&run, index)).with_ignored_flag(ignored));
        }
    }
    trials
}

/// Measure one case, compare with its baseline, and check its budget.
pub fn check_case(run: &SuiteRun, index: usize) -> Result<(), Failed> {
    let case = &run.cases[index];
    let suite = &run.suite;
    let fail = |e: Arc<Error>| Failed::from(errors::render(&*e));
    let loaded = run.loaded().map_err(fail)?;
    let (scores, budget): (Scores, Result<(), String>) = match case.kind {
        CaseKind::Clean => {
            let outcome = run.clean(case.model).map_err(fail)?;
            let model = &suite.models[case.model].name;
            (Scores::clean(&outcome.validation), verdict::clean(model, &outcome.validation, &suite.budgets))
        }
        CaseKind::Perturbed { factor, grid, point } => {
            let outcome = run.perturbed(case.model, factor, grid, point).map_err(fail)?;
            (Scores::perturbed(&outcome), verdict::perturbed(&case.name, &outcome, suite.budgets.risk, &loaded.dataset))
        }
        CaseKind::Factor { factor } => {
            let outcome = run.factor(case.model, factor).map_err(fail)?;
            let budget = suite.risk_factors[factor].budget;
            (Scores::factor(&outcome), verdict::factor(&case.name, &outcome, budget, &loaded.dataset))
        }
    };
    // insta fails by panicking; catch it so a breached budget is reported too.
    let snapshot = catch_unwind(AssertUnwindSafe(|| {
        baseline::assert_scores(&suite.path, &case.snapshot_name(), &scores, &suite.tolerance)
    }));
    let baseline_problem = match snapshot {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(errors::render(&e)),
        Err(_) => Some(format!(
            "scores moved beyond the suite's tolerance (risk ±{}, metrics ±{}) or have no baseline yet; \
             see the snapshot diff above and run `cargo insta review`",
            suite.tolerance.risk, suite.tolerance.metric
        )),
    };
    match (budget, baseline_problem) {
        (Ok(()), None) => Ok(()),
        (Err(b), None) => Err(b.into()),
        (Ok(()), Some(p)) => Err(format!("baseline: {p}").into()),
        (Err(b), Some(p)) => Err(format!("{b}\nbaseline: {p}").into()),
    }
}
