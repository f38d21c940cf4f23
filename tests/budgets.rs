//! Budgets catch a bad model: the under-trained checkpoint fails its clean-accuracy budget, a
//! tighter risk budget fails exactly the cases above it, and every failure message gives the
//! measured value and the budget. The trained model passes the suite as written.

mod common;

use shakedown::engine::SuiteRun;
use shakedown::harness;
use shakedown::vocab::Score;

fn small_suite() -> SuiteRun {
    common::load("small.yaml")
}

/// (case name, failure message) of every case of `model` that fails.
fn failures(run: &SuiteRun, model: &str) -> Vec<(String, String)> {
    run.cases
        .iter()
        .enumerate()
        .filter(|(_, c)| run.suite.models[c.model].name == model)
        .filter_map(|(i, c)| {
            harness::check_case(run, i).err().map(|e| (c.name.clone(), e.message().unwrap_or_default().to_owned()))
        })
        .collect()
}

#[test]
fn trained_model_passes_and_degraded_model_fails_its_clean_budget() {
    let run = small_suite();
    assert_eq!(failures(&run, "yolov8n"), []);
    let failed = failures(&run, "yolov8n-epoch4");
    let clean = failed.iter().find(|(name, _)| name == "small::yolov8n-epoch4::clean");
    let (_, message) = clean.unwrap_or_else(|| panic!("the 4-epoch model must fail clean: {failed:?}"));
    assert!(message.contains("clean mAP@0.5 0.") && message.contains("is below budget 0.7000"), "{message}");
    assert!(!message.contains("baseline:"), "fails on its budget, not its baseline: {message}");
}

#[test]
fn a_tighter_risk_budget_fails_exactly_the_cases_above_it() {
    let mut run = small_suite();
    let budget = 2.0;
    run.suite.budgets.risk = budget;
    for factor in &mut run.suite.risk_factors {
        factor.budget = budget;
    }
    let failed = failures(&run, "yolov8n");
    for (index, case) in run.cases.iter().enumerate().filter(|(_, c)| c.model == 0) {
        let scores = common::scores(&run, case);
        let expected = scores.get(Score::Risk).is_some_and(|risk| risk > budget);
        let message = failed.iter().find(|(n, _)| *n == case.name).map(|(_, m)| m.as_str());
        assert_eq!(message.is_some(), expected, "{} (index {index}): {scores:?} {message:?}", case.name);
        if let Some(message) = message {
            assert!(message.contains("% exceeds") && message.contains("budget 2%"), "{message}");
            assert!(message.contains("worst images:") || message.contains("worst setting:"), "{message}");
        }
    }
    assert!(!failed.is_empty(), "some case of the trained model has risk above {budget}%");
}
