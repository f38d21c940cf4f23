//! Same suite, same scores: outcomes are byte-identical whatever the number of threads.

use std::path::Path;

use shakedown::harness;

fn rendered_scores(threads: usize) -> Vec<String> {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/small.yaml");
    let runs = harness::load_suites(&suite).unwrap_or_else(|_| panic!("{} is valid", suite.display()));
    let run = &runs[0];
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        run.cases
            .iter()
            .filter(|c| c.model == 0)
            .map(|c| format!("{}\n{}", c.name, run.outcome_scores(c).unwrap().render()))
            .collect()
    })
}

#[test]
fn scores_do_not_depend_on_thread_count() {
    let one = rendered_scores(1);
    let two = rendered_scores(2);
    assert_eq!(one, two);
    assert!(one.iter().any(|s| s.contains("risk: ") && !s.contains("risk: 0\n")), "some case must show risk: {one:?}");
}
