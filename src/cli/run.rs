//! `shakedown run`: the suites without cargo, for shells and Python CI jobs — the harness's
//! cases, verdicts, results files and reports, with a progress bar instead of libtest's lines.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{Config, INSTA_UPDATE};
use crate::engine::SuiteRun;
use crate::errors::Error;
use crate::harness;
use crate::output::terminal;

/// Runs every case of the suites at `locations` (files or folders), as many at once as the
/// machine has cores. Baselines are only read, unless `accept` writes them (insta's
/// `INSTA_UPDATE=always`). Success when every case passes.
pub fn run(locations: &[PathBuf], accept: bool) -> Result<ExitCode, Vec<Error>> {
    // Before insta or the configuration read it, and before any thread starts.
    std::env::set_var(INSTA_UPDATE, if accept { "always" } else { "no" });
    let config = Config::get().map_err(|e| vec![e])?;
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for location in locations {
        match harness::load_suites(location, config) {
            Ok(loaded) => runs.extend(loaded.into_iter().map(Arc::new)),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let cases: Vec<(usize, usize)> = (runs.iter().enumerate())
        .flat_map(|(r, run)| {
            (0..run.cases.len()).filter(move |&c| !run.suite.models[run.cases[c].model].ignore).map(move |c| (r, c))
        })
        .collect();
    let started = Instant::now();
    let progress = terminal::Progress::new(cases.len() as u64);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(cases.len().max(1));
    // Cases run on plain threads, as libtest's do: a rayon task waiting on a case another task
    // computes could be handed that very task.
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&(r, c)) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let run: &SuiteRun = &runs[r];
                    let result = harness::check_case(run, c);
                    let images = run.loaded_if_done().map_or(0, |l| l.dims.len() as u64);
                    let name = &run.cases[c].name;
                    progress.case_done(name, images, result.is_err());
                    if let Err(failed) = result {
                        let message = failed.message().unwrap_or("failed").to_owned();
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push((name.clone(), message));
                    }
                }
            });
        }
    });
    progress.finish();
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let order = |name: &str| cases.iter().position(|&(r, c)| runs[r].cases[c].name == name);
    failures.sort_by_key(|(name, _)| order(name));
    terminal::emit(&terminal::failures(&failures, cases.len(), started.elapsed()));
    let runs: Vec<&SuiteRun> = runs.iter().map(Arc::as_ref).collect();
    harness::finish(&runs, started.elapsed(), config);
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
