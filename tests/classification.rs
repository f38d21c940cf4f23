//! Classifiers run end to end: class folders label the images, the clean case reports top-1
//! accuracy against `budgets.clean_top1`, and the `classification` impact rule turns a changed
//! top-1 class into risk that grows with the noise.

use std::path::Path;

use shakedown::harness;

#[test]
fn classifier_suite_reports_top1_and_risk() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/classify.yaml");
    let runs = harness::load_suites(&suite).unwrap_or_else(|_| panic!("{} is valid", suite.display()));
    let run = &runs[0];
    let clean = run.outcome_scores(&run.cases[0]).unwrap();
    let top1 = clean.get("top1").unwrap();
    assert!(top1 > 0.9, "the shapes classifier is trained to > 90 % top-1: {clean:?}");
    assert!(clean.get("top5") == Some(1.0), "three classes: the label is always in the top 5");
    assert!(clean.get("map50").is_none(), "no box metrics for a classifier");
    let risk = |suffix: &str| {
        let case = run.cases.iter().find(|c| c.name.ends_with(suffix)).unwrap();
        run.outcome_scores(case).unwrap().get("risk").unwrap()
    };
    assert!(risk("std=0.2") > risk("std=0.02"), "{} vs {}", risk("std=0.2"), risk("std=0.02"));
    assert!(risk("std=0.2") > 5.0, "strong noise changes some top-1 classes");

    // The results file holds the per-class breakdown and the worst images of each case.
    let dir = tempfile::tempdir().unwrap();
    let files = shakedown::results::write(&[run], dir.path()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!((json["backend"].as_str(), json["models"][0]["runs_on"].as_str()), (Some("tract"), Some("CPU")));
    let strong = &json["models"][0]["cases"][1];
    assert!(strong["case"].as_str().unwrap().ends_with("std=0.2"), "{strong}");
    let class_risk = strong["class_risk"].as_object().unwrap();
    assert_eq!(class_risk.keys().collect::<Vec<_>>(), ["circle", "square", "triangle"]);
    assert!(class_risk.values().all(|c| c["images"] == 100), "{strong}");
    let worst = strong["worst_images"].as_array().unwrap();
    assert!(!worst.is_empty() && worst.len() <= shakedown::results::WORST_LISTED);
    assert!(worst[0]["before"].as_f64().unwrap() - worst[0]["after"].as_f64().unwrap() > 0.3, "{}", worst[0]);
}
