//! A dataset without labels runs: an image folder, the label-free `consistency` impact rule,
//! no mAP (the clean case records only how many images it saw), risk scores that still separate
//! settings.

mod common;

use shakedown::harness;
use shakedown::vocab::Score;

#[test]
fn image_folder_suite_runs_with_the_consistency_rule() {
    let run = &common::load("unlabeled.yaml");
    assert!(run.suite.dataset.annotations.is_none());
    let mut risks = Vec::new();
    for (index, case) in run.cases.iter().enumerate() {
        harness::check_case(run, index).unwrap_or_else(|e| panic!("{}: {:?}", case.name, e.message()));
        let scores = common::scores(run, case);
        assert_eq!(scores.get(Score::Map50), None, "no labels, no mAP: {scores:?}");
        if let Some(risk) = scores.get(Score::Risk) {
            risks.push((case.name.clone(), risk));
        }
    }
    let clean = common::scores(run, common::clean_case(run, 0));
    assert_eq!(clean.0, [(Score::Images, run.loaded().unwrap().dims.len() as f64)], "{clean:?}");
    let risk = |name: &str| risks.iter().find(|(n, _)| n.ends_with(name)).map(|(_, r)| *r).unwrap();
    assert!(risk("std=0.06") > risk("std=0.01"), "{risks:?}");
    assert!(risk("std=0.06") > 0.0, "strong noise changes the predictions: {risks:?}");
}
