//! Breaking points: a search brackets the mildest setting whose risk passes the budget within
//! its resolution, in at most 8 evaluations, the same on every run, and a cached search loads
//! no model.

mod common;

use shakedown::engine::PredictionCache;
use shakedown::suite::CaseKind;

#[test]
fn a_search_brackets_the_breaking_point() {
    let run = common::load("search.yaml");
    let case = common::case_ending(&run, "::gaussian_noise::breaking_point");
    let CaseKind::Search { factor, grid } = case.kind else { panic!("{case:?} is a search") };
    let found = run.search(case.model, factor, grid).unwrap();
    let evaluations = &found.evaluations;
    assert!(evaluations.len() <= 8, "{evaluations:?}");
    assert_eq!(evaluations[0].0, found.harsh, "the harsh end first");
    let point = found.breaking_point.expect("noise breaks this model (README: 0.04 impacts 61 %)");
    assert!(found.mild < point && point < found.harsh, "{found:?}");
    // Over budget at the breaking point; within it at every milder value tried.
    let risk_at = |v: f64| evaluations.iter().find(|(x, _)| *x == v).map(|(_, r)| *r).unwrap();
    assert!(risk_at(point) > found.budget, "{found:?}");
    let holds: Vec<f64> = evaluations.iter().filter(|(v, _)| *v < point).map(|(v, _)| *v).collect();
    assert!(holds.iter().all(|&v| risk_at(v) <= found.budget), "{found:?}");
    // The mildest value that holds is within the search's resolution of the breaking point.
    let closest = holds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // (Each midpoint is rounded to 6 decimals.)
    assert!(point - closest <= found.step + 1e-5, "{closest} .. {point}, step {}", found.step);

    // The same on another run, and from the cache without loading the model.
    let dir = tempfile::tempdir().unwrap();
    let cache = PredictionCache::new(dir.path().to_owned(), PredictionCache::DEFAULT_MAX_BYTES);
    let cold = common::load("search.yaml").with_cache(Some(cache.clone()));
    assert_eq!(*cold.search(case.model, factor, grid).unwrap(), *found);
    let warm = common::load("search.yaml").with_cache(Some(cache));
    assert_eq!(*warm.search(case.model, factor, grid).unwrap(), *found);
    assert!(warm.model_if_done(case.model).is_none(), "a cached search loads no model");
}
