//! Verdicts: a case passes when its measured score is within its budget. A failure says what was
//! measured, what the budget is, and which images broke worst.

use crate::dataset::Dataset;
use crate::metrics::{impact, Validation};
use crate::run::{FactorOutcome, PerturbedOutcome};
use crate::spec::Budgets;

/// How many images a failure message names.
pub const WORST_SHOWN: usize = 5;

/// Clean accuracy: a detector's mAP@0.5 must reach `budgets.clean_map50`, a classifier's top-1
/// `budgets.clean_top1`.
pub fn clean(model: &str, validation: &Validation, budgets: &Budgets) -> Result<(), String> {
    let (what, measured, min, key, detail) = match validation {
        Validation::Detection(s) => {
            ("mAP@0.5", s.stats[1], budgets.clean_map50, "clean_map50", format!(" (mAP@[.5:.95] {:.4})", s.stats[0]))
        }
        Validation::Classification(s) => {
            ("top-1 accuracy", s.top1, budgets.clean_top1, "clean_top1", format!(" (top-5 {:.4})", s.top5))
        }
    };
    if measured < 0.0 && min > 0.0 {
        return Err(format!("model {model}: the dataset has no labels, so clean {what} cannot be checked against budget {min:.2}; set `budgets.{key}: 0`"));
    }
    if measured < 0.0 {
        return Ok(()); // no labels and no budget: nothing to check
    }
    if measured < min {
        return Err(format!("model {model}: clean {what} {measured:.4} is below budget {min:.4}{detail}"));
    }
    Ok(())
}

/// One perturbation setting: risk must not exceed the per-case budget.
pub fn perturbed(case: &str, outcome: &PerturbedOutcome, budget: f64, dataset: &Dataset) -> Result<(), String> {
    if outcome.risk <= budget {
        return Ok(());
    }
    let impacted = outcome.impacts.iter().filter(|i| i.impacted).count();
    // The impact rule's per-image score: F1 for boxes, the true class's probability for classes.
    let score = match outcome.validation {
        Validation::Detection(_) => "F1",
        Validation::Classification(_) => "p",
    };
    let worst: Vec<String> = impact::worst(&outcome.impacts, WORST_SHOWN)
        .iter()
        .map(|i| format!("{} ({score} {:.2} → {:.2})", file_name(dataset, i.image_id), i.before, i.after))
        .collect();
    Err(format!(
        "{case}: risk {:.2}% exceeds budget {budget}% ({impacted} of {} images heavily impacted)\n  worst images: {}",
        outcome.risk,
        outcome.impacts.len(),
        worst.join(", ")
    ))
}

/// A whole risk factor: share of images impacted by any of its settings.
pub fn factor(case: &str, outcome: &FactorOutcome, budget: f64, dataset: &Dataset) -> Result<(), String> {
    if outcome.risk <= budget {
        return Ok(());
    }
    let examples: Vec<&str> = outcome.impacted.iter().take(WORST_SHOWN).map(|&id| file_name(dataset, id)).collect();
    let worst = outcome
        .worst_case
        .as_ref()
        .map(|(name, risk)| format!("\n  worst setting: {name} (risk {risk:.2}%)"))
        .unwrap_or_default();
    Err(format!(
        "{case}: risk {:.2}% exceeds the risk factor's budget {budget}% ({} of {} images impacted by some setting){worst}\n  e.g. {}",
        outcome.risk,
        outcome.impacted.len(),
        outcome.images,
        examples.join(", ")
    ))
}

fn file_name(dataset: &Dataset, image_id: u64) -> &str {
    dataset.images.iter().find(|i| i.id == image_id).map_or("?", |i| i.file_name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::ImageRecord;
    use crate::metrics::classification::ClassificationStats;
    use crate::metrics::coco_eval::CocoStats;
    use crate::metrics::impact::ImageImpact;

    fn dataset() -> Dataset {
        let images = (1..=4)
            .map(|id| ImageRecord {
                id,
                file_name: format!("{id}.jpg"),
                path: "x".into(),
                annotations: vec![],
                class_id: None,
            })
            .collect();
        Dataset { images, categories: vec![] }
    }

    fn stats(map50: f64) -> Validation {
        let mut s = [0.0; 12];
        s[1] = map50;
        Validation::Detection(CocoStats { stats: s, per_category: vec![] })
    }

    fn budgets(clean_map50: f64, clean_top1: f64) -> Budgets {
        Budgets { risk: 30.0, clean_map50, clean_top1 }
    }

    #[test]
    fn clean_budget() {
        assert!(clean("m", &stats(0.8), &budgets(0.7, 0.99)).is_ok());
        let err = clean("m", &stats(0.6), &budgets(0.7, 0.0)).unwrap_err();
        assert!(err.contains("mAP@0.5 0.6000") && err.contains("0.7000"), "{err}");
        assert!(clean("m", &stats(-1.0), &budgets(0.7, 0.0)).unwrap_err().contains("no labels"));
        assert!(clean("m", &stats(-1.0), &budgets(0.0, 0.0)).is_ok());
    }

    #[test]
    fn classifiers_answer_to_the_top1_budget() {
        let top1 = |top1| Validation::Classification(ClassificationStats { top1, top5: 1.0, per_class: vec![] });
        assert!(clean("m", &top1(0.9), &budgets(0.99, 0.8)).is_ok());
        let err = clean("m", &top1(0.7), &budgets(0.0, 0.8)).unwrap_err();
        assert!(err.contains("top-1 accuracy 0.7000 is below budget 0.8000"), "{err}");
    }

    #[test]
    fn perturbed_budget_names_risk_budget_and_worst_images() {
        let impacts = vec![
            ImageImpact { image_id: 1, before: 1.0, after: 0.0, impacted: true },
            ImageImpact { image_id: 2, before: 1.0, after: 1.0, impacted: false },
            ImageImpact { image_id: 3, before: 0.8, after: 0.4, impacted: true },
            ImageImpact { image_id: 4, before: 1.0, after: 1.0, impacted: false },
        ];
        let outcome = PerturbedOutcome { impacts, risk: 50.0, class_risk: Vec::new(), validation: stats(0.5) };
        assert!(perturbed("c", &outcome, 50.0, &dataset()).is_ok());
        let err = perturbed("c", &outcome, 20.0, &dataset()).unwrap_err();
        assert!(err.contains("risk 50.00% exceeds budget 20%"), "{err}");
        assert!(err.contains("2 of 4 images"), "{err}");
        assert!(err.contains("1.jpg (F1 1.00 → 0.00), 3.jpg (F1 0.80 → 0.40)"), "{err}");
    }

    #[test]
    fn factor_budget() {
        let outcome = FactorOutcome {
            impacted: [2, 3].into_iter().collect(),
            images: 4,
            risk: 50.0,
            worst_case: Some(("blur::sigma=3".into(), 25.0)),
        };
        assert!(factor("f", &outcome, 60.0, &dataset()).is_ok());
        let err = factor("f", &outcome, 40.0, &dataset()).unwrap_err();
        assert!(err.contains("risk 50.00% exceeds the risk factor's budget 40%"), "{err}");
        assert!(err.contains("blur::sigma=3") && err.contains("2.jpg, 3.jpg"), "{err}");
    }
}
