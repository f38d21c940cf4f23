//! The libtest-mimic harness: every suite file becomes a list of `Trial`s that filter, list
//! and run in parallel like unit tests (and under cargo-nextest, one process per test).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Conclusion, Failed, Trial};

use crate::config::{CacheSetting, Config};
use crate::engine::{PredictionCache, SuiteRun};
use crate::errors::{self, Error};
use crate::judge::baseline::{self, Baseline};
use crate::judge::{verdict, Scores};
use crate::output::{results, terminal};
use crate::report;
use crate::suite::{self, CaseKind};

/// Entry point of `tests/robustness.rs`: run every suite in `default_dir` (or `SHAKEDOWN_SUITES`).
pub fn main(default_dir: &Path) -> ExitCode {
    crate::model::prepare_process();
    let args = Arguments::from_args();
    let config = match Config::get() {
        Ok(config) => config,
        Err(e) => {
            terminal::error(e);
            return ExitCode::from(101);
        }
    };
    let location = config.suites.clone().unwrap_or_else(|| default_dir.to_owned());
    match run(&args, &location, config) {
        Ok(conclusion) => conclusion.exit_code(),
        Err(errors) => {
            errors.into_iter().for_each(terminal::error);
            ExitCode::from(101)
        }
    }
}

/// Load the suites at `location`, run their trials, print the summary. When a suite is invalid
/// nothing runs and every problem is returned.
pub fn run(args: &Arguments, location: &Path, config: &Config) -> Result<Conclusion, Vec<Error>> {
    let runs = load_suites(location, config)?;
    let runs: Vec<Arc<SuiteRun>> = runs.into_iter().map(Arc::new).collect();
    insta_reports_only(); // before the trials' threads start
    let started = Instant::now();
    let conclusion = libtest_mimic::run(args, trials(&runs));
    if !args.list {
        let runs: Vec<&SuiteRun> = runs.iter().map(Arc::as_ref).collect();
        finish(&runs, started.elapsed(), config);
    }
    Ok(conclusion)
}

/// After the cases ran: warnings, the summary table, the results files and the reports.
pub fn finish(runs: &[&SuiteRun], wall: Duration, config: &Config) {
    runs.iter().flat_map(|r| r.warnings()).for_each(|w| terminal::warning(&w));
    terminal::emit(&terminal::summary(runs, wall));
    match results::write(runs, &results::folder(config.results.as_deref())) {
        Ok(written) => {
            for (path, merged) in written {
                terminal::emit(&terminal::results_written(&path));
                let Some(run) = runs.iter().find(|r| r.suite.name == merged.suite) else { continue };
                let html = report::path_for(&path);
                let facts = report::RunFacts { wall: Some(wall), durations: run.timings() };
                match write_report(run, &merged, &facts, &html) {
                    Ok(made_in) => terminal::emit(&terminal::report_written(&html, made_in)),
                    Err(e) => terminal::error(e),
                }
            }
        }
        Err(e) => terminal::error(e),
    }
}

/// The report of `run`'s merged results at `path`; how long it took.
fn write_report(
    run: &SuiteRun,
    merged: &results::SuiteResults,
    facts: &report::RunFacts,
    path: &Path,
) -> Result<Duration, Error> {
    let started = Instant::now();
    let loaded = run.loaded_if_done();
    let source = match &loaded {
        Some(l) => Ok(report::Source { suite: &run.suite, dataset: &l.dataset }),
        None => Err("the dataset was not loaded".to_owned()),
    };
    report::write(merged, facts, source, path)?;
    Ok(started.elapsed())
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

/// The prediction cache `SHAKEDOWN_CACHE` and `SHAKEDOWN_CACHE_MAX` ask for.
pub fn prediction_cache(config: &Config) -> Option<PredictionCache> {
    let dir = match &config.cache {
        CacheSetting::Off => return None,
        CacheSetting::InTarget => results::folder(None).join("cache"),
        CacheSetting::At(dir) => dir.clone(),
    };
    Some(PredictionCache::new(dir, config.cache_max.unwrap_or(PredictionCache::DEFAULT_MAX_BYTES)))
}

/// Validate every suite; all problems of all files are reported together.
pub fn load_suites(location: &Path, config: &Config) -> Result<Vec<SuiteRun>, Vec<Error>> {
    let files = suite_files(location).map_err(|e| vec![e])?;
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    let backend = config.backend.map(|b| b.name());
    let cache = prediction_cache(config);
    for file in files {
        match suite::load(&file, backend) {
            Ok(suite) => {
                let run = SuiteRun::new(suite).with_cache(cache.clone());
                runs.push(match config.memory {
                    Some(bytes) => run.with_image_memory(bytes),
                    None => run,
                });
            }
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

/// insta decides nothing here: it shows the diff and writes pending snapshots, and the harness
/// gives each failing case one message of its own. So insta must not panic (its panic would
/// print a stack trace under `RUST_BACKTRACE` and advice meant for plain `cargo test`).
fn insta_reports_only() {
    static SET: Once = Once::new();
    // Set before any insta call and before trials start threads; insta reads it once.
    SET.call_once(|| std::env::set_var("INSTA_FORCE_PASS", "1"));
}

/// Measure one case, compare with its baseline, and check its budget.
pub fn check_case(run: &SuiteRun, index: usize) -> Result<(), Failed> {
    insta_reports_only();
    let case = &run.cases[index];
    let suite = &run.suite;
    let fail = |e: Arc<Error>| Failed::from(errors::render(&*e));
    let loaded = run.loaded().map_err(fail)?;
    let (scores, budget) = match case.kind {
        CaseKind::Clean => {
            let outcome = run.clean(case.model).map_err(fail)?;
            let model = &suite.models[case.model].name;
            (Scores::clean(&outcome), verdict::clean(model, outcome.validation.as_ref(), &suite.budgets))
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
        // A breaking point is reported and baselined; no budget applies to it.
        CaseKind::Search { factor, grid } => {
            (Scores::search(&*run.search(case.model, factor, grid).map_err(fail)?), Ok(()))
        }
    };
    let checked = catch_unwind(AssertUnwindSafe(|| {
        baseline::check(&suite.path, &case.snapshot_name(), &scores, &suite.tolerance)
    }));
    let baseline_problem = match checked {
        Ok(Ok(Baseline::Kept | Baseline::Written)) => None,
        Ok(Ok(problem)) => Some(terminal::baseline_problem(&problem, Config::get().is_ok_and(|c| c.ci))),
        Ok(Err(e)) => Some(errors::render(&e)),
        Err(_) => Some("the baseline check panicked; see the message above".to_owned()),
    };
    let messages: Vec<String> = budget.err().map(|b| b.to_string()).into_iter().chain(baseline_problem).collect();
    match messages.is_empty() {
        true => Ok(()),
        false => Err(messages.join("\n").into()),
    }
}
