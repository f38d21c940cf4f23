//! A dataset without labels runs: an image folder, the label-free `consistency` impact rule,
//! no mAP (reported as -1, as pycocotools does), risk scores that still separate settings.

use std::path::Path;

use shakedown::harness;

#[test]
fn image_folder_suite_runs_with_the_consistency_rule() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/unlabeled.yaml");
    let runs = harness::load_suites(&suite).unwrap_or_else(|_| panic!("{} is valid", suite.display()));
    let run = &runs[0];
    assert!(run.suite.dataset.annotations.is_none());
    let mut risks = Vec::new();
    for (index, case) in run.cases.iter().enumerate() {
        harness::check_case(run, index).unwrap_or_else(|e| panic!("{}: {:?}", case.name, e.message()));
        let scores = run.outcome_scores(case).unwrap();
        if let Some(risk) = scores.get("risk") {
            risks.push((case.name.clone(), risk));
        }
    }
    let clean = run.outcome_scores(&run.cases[0]).unwrap();
    assert_eq!(clean.get("map50"), Some(-1.0), "no labels, no mAP");
    let risk = |name: &str| risks.iter().find(|(n, _)| n.ends_with(name)).map(|(_, r)| *r).unwrap();
    assert!(risk("std=0.06") > risk("std=0.01"), "{risks:?}");
    assert!(risk("std=0.06") > 0.0, "strong noise changes the predictions: {risks:?}");
}
