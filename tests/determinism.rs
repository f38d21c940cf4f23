//! Same suite, same scores: outcomes are byte-identical whatever the number of threads.

mod common;

fn rendered_scores(threads: usize) -> Vec<String> {
    let run = &common::load("small.yaml");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        run.cases
            .iter()
            .filter(|c| c.model == 0)
            .map(|c| format!("{}\n{}", c.name, common::scores(run, c).render()))
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
