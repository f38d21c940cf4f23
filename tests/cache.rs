//! The prediction cache never changes a score: cold, warm and disabled runs of one suite give
//! byte-identical results files and the same scores; a warm run loads no model (every case
//! came from the cache), and a damaged entry is recomputed, never trusted.

mod common;

use shakedown::engine::{PredictionCache, SuiteRun};
use shakedown::output::results;

/// Every case's scores, and the results file, of `tests/suites/small.yaml` with `cache`.
fn run(cache: Option<PredictionCache>) -> (SuiteRun, String, String) {
    let run = common::load("small.yaml").with_cache(cache);
    let scores: Vec<String> = run.cases.iter().map(|c| format!("{}: {:?}", c.name, common::scores(&run, c))).collect();
    let dir = tempfile::tempdir().unwrap();
    let written = results::write(&[&run], dir.path()).unwrap();
    let file = std::fs::read_to_string(&written[0].0).unwrap();
    (run, scores.join("\n"), file)
}

#[test]
fn cold_warm_and_disabled_runs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let cache = PredictionCache::new(dir.path().join("cache"), PredictionCache::DEFAULT_MAX_BYTES);
    let (_, off_scores, off_file) = run(None);
    let (cold_run, cold_scores, cold_file) = run(Some(cache.clone()));
    assert!(cold_run.model_if_done(0).is_some(), "a cold run predicts");
    let entries = cache.stats().entries;
    // Clean and one per setting, for each of the two models.
    let settings = cold_run.cases.iter().filter(|c| c.name.matches("::").count() > 3).count() as u64;
    assert_eq!(entries, 2 + settings, "{settings} settings");

    let (warm_run, warm_scores, warm_file) = run(Some(cache.clone()));
    for m in 0..warm_run.suite.models.len() {
        assert!(warm_run.model_if_done(m).is_none(), "a warm run loads no model");
    }
    assert_eq!(cold_scores, off_scores);
    assert_eq!(warm_scores, off_scores);
    assert_eq!(cold_file, off_file, "results files are byte-identical");
    assert_eq!(warm_file, off_file);

    // Every entry damaged: all recomputed, the same scores again.
    for entry in walk(cache.dir()) {
        let mut bytes = std::fs::read(&entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(&entry, bytes).unwrap();
    }
    let (damaged_run, damaged_scores, damaged_file) = run(Some(cache.clone()));
    assert!(damaged_run.model_if_done(0).is_some(), "damaged entries are recomputed");
    assert_eq!((damaged_scores, damaged_file), (off_scores, off_file));
    assert_eq!(cache.stats().entries, entries, "and written again");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            files.extend(walk(&e.path()));
        } else {
            files.push(e.path());
        }
    }
    files
}
