//! Verdicts: a case passes when its measured score is within its budget. A failure says what was
//! measured, what the budget is, and which images broke worst.

use crate::dataset::Dataset;
use crate::metrics::coco_eval::CocoStats;
use crate::metrics::impact;
use crate::run::{FactorOutcome, PerturbedOutcome};

/// How many images a failure message names.
pub const WORST_SHOWN: usize = 5;

/// Clean accuracy: mAP@0.5 must reach the model's minimum.
pub fn clean(model: &str, stats: &CocoStats, min_map50: f64) -> Result<(), String> {
    let map50 = stats.stats[1];
    if map50 < 0.0 && min_map50 > 0.0 {
        return Err(format!("model {model}: the dataset has no labels, so clean mAP@0.5 cannot be checked against budget {min_map50:.2}; set `budgets.clean_map50: 0`"));
    }
    if map50 < 0.0 {
        return Ok(()); // no labels and no budget: nothing to check
    }
    if map50 < min_map50 {
        return Err(format!(
            "model {model}: clean mAP@0.5 {map50:.4} is below budget {min_map50:.4} (mAP@[.5:.95] {:.4})",
            stats.stats[0]
        ));
    }
    Ok(())
}

/// One perturbation setting: risk must not exceed the per-case budget.
pub fn perturbed(case: &str, outcome: &PerturbedOutcome, budget: f64, dataset: &Dataset) -> Result<(), String> {
    if outcome.risk <= budget {
        return Ok(());
    }
    let impacted = outcome.impacts.iter().filter(|i| i.impacted).count();
    let worst: Vec<String> = impact::worst(&outcome.impacts, WORST_SHOWN)
        .iter()
        .map(|i| format!("{} (F1 {:.2} → {:.2})", file_name(dataset, i.image_id), i.before, i.after))
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
    use crate::metrics::impact::ImageImpact;

    fn dataset() -> Dataset {
        let images = (1..=4)
            .map(|id| ImageRecord { id, file_name: format!("{id}.jpg"), path: "x".into(), annotations: vec![] })
            .collect();
        Dataset { images, categories: vec![] }
    }

    fn stats(map50: f64) -> CocoStats {
        let mut s = [0.0; 12];
        s[1] = map50;
        CocoStats { stats: s, per_category: vec![] }
    }

    #[test]
    fn clean_budget() {
        assert!(clean("m", &stats(0.8), 0.7).is_ok());
        let err = clean("m", &stats(0.6), 0.7).unwrap_err();
        assert!(err.contains("0.6000") && err.contains("0.7000"), "{err}");
        assert!(clean("m", &stats(-1.0), 0.7).unwrap_err().contains("no labels"));
        assert!(clean("m", &stats(-1.0), 0.0).is_ok());
    }

    #[test]
    fn perturbed_budget_names_risk_budget_and_worst_images() {
        let impacts = vec![
            ImageImpact { image_id: 1, before: 1.0, after: 0.0, impacted: true },
            ImageImpact { image_id: 2, before: 1.0, after: 1.0, impacted: false },
            ImageImpact { image_id: 3, before: 0.8, after: 0.4, impacted: true },
            ImageImpact { image_id: 4, before: 1.0, after: 1.0, impacted: false },
        ];
        let outcome = PerturbedOutcome { impacts, risk: 50.0, stats: stats(0.5) };
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
