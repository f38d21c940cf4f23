//! Classifiers run end to end: class folders label the images, the clean case reports top-1
//! accuracy against `budgets.clean_top1`, and the `classification` impact rule turns a changed
//! top-1 class into risk that grows with the noise.

mod common;

use shakedown::vocab::Score;

#[test]
fn classifier_suite_reports_top1_and_risk() {
    let run = &common::load("classify.yaml");
    let clean = common::scores(run, common::clean_case(run, 0));
    let top1 = clean.get(Score::Top1).unwrap();
    assert!(top1 > 0.9, "the shapes classifier is trained to > 90 % top-1: {clean:?}");
    assert!(clean.get(Score::Top5) == Some(1.0), "three classes: the label is always in the top 5");
    assert!(clean.get(Score::Map50).is_none(), "no box metrics for a classifier");
    let risk = |suffix: &str| common::scores(run, common::case_ending(run, suffix)).get(Score::Risk).unwrap();
    assert!(risk("std=0.2") > risk("std=0.02"), "{} vs {}", risk("std=0.2"), risk("std=0.02"));
    assert!(risk("std=0.2") > 5.0, "strong noise changes some top-1 classes");

    // The results file holds the per-class breakdown and the worst images of each case.
    let dir = tempfile::tempdir().unwrap();
    let files = shakedown::output::results::write(&[run], dir.path()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0].0).unwrap()).unwrap();
    assert_eq!((json["backend"].as_str(), json["models"][0]["runs_on"].as_str()), (Some("tract"), Some("CPU")));
    let strong = &json["models"][0]["cases"][1];
    assert!(strong["case"].as_str().unwrap().ends_with("std=0.2"), "{strong}");
    let class_risk = strong["class_risk"].as_object().unwrap();
    assert_eq!(class_risk.keys().collect::<Vec<_>>(), ["circle", "square", "triangle"]);
    assert!(class_risk.values().all(|c| c["images"] == 100), "{strong}");
    let worst = strong["worst_images"].as_array().unwrap();
    assert!(!worst.is_empty() && worst.len() <= shakedown::output::results::WORST_LISTED);
    assert!(worst[0]["before"].as_f64().unwrap() - worst[0]["after"].as_f64().unwrap() > 0.3, "{}", worst[0]);
}
