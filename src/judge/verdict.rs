//! Verdicts: a case passes when its measured score is within its budget. A failure says what was
//! measured, what the budget is, and which images broke worst.

use std::fmt;

use crate::dataset::Dataset;
use crate::metrics::{impact, Validation};
use crate::outcome::{FactorOutcome, PerturbedOutcome};
use crate::suite::Budgets;

/// How many images a failure message names.
pub const WORST_SHOWN: usize = 5;

/// A budget a case did not keep, with what was measured and the images that broke worst.
#[derive(Debug, Clone, PartialEq)]
pub enum Breach {
    /// Clean accuracy below `clean_map50` (detectors) or `clean_top1` (classifiers).
    CleanAccuracy { model: String, metric: &'static str, measured: f64, budget: f64, detail: String },
    /// A clean accuracy budget on a dataset without labels.
    NoLabels { model: String, metric: &'static str, budget: f64, key: &'static str },
    /// One setting's risk above `budgets.risk`.
    Risk { case: String, risk: f64, budget: f64, impacted: usize, images: usize, worst: Vec<String> },
    /// A risk factor's risk above its budget.
    FactorRisk {
        case: String,
        risk: f64,
        budget: f64,
        impacted: usize,
        images: usize,
        worst_setting: Option<(String, f64)>,
        examples: Vec<String>,
    },
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breach::CleanAccuracy { model, metric, measured, budget, detail } => {
                write!(f, "model {model}: clean {metric} {measured:.4} is below budget {budget:.4}{detail}")
            }
            Breach::NoLabels { model, metric, budget, key } => write!(
                f,
                "model {model}: the dataset has no labels, so clean {metric} cannot be checked against budget \
                 {budget:.2}; set `budgets.{key}: 0`"
            ),
            Breach::Risk { case, risk, budget, impacted, images, worst } => write!(
                f,
                "{case}: risk {risk:.2}% exceeds budget {budget}% ({impacted} of {images} images heavily \
                 impacted)\n  worst images: {}",
                worst.join(", ")
            ),
            Breach::FactorRisk { case, risk, budget, impacted, images, worst_setting, examples } => {
                write!(
                    f,
                    "{case}: risk {risk:.2}% exceeds the risk factor's budget {budget}% ({impacted} of {images} \
                     images impacted by some setting)"
                )?;
                if let Some((name, risk)) = worst_setting {
                    write!(f, "\n  worst setting: {name} (risk {risk:.2}%)")?;
                }
                write!(f, "\n  e.g. {}", examples.join(", "))
            }
        }
    }
}

/// Clean accuracy: a detector's mAP@0.5 must reach `budgets.clean_map50`, a classifier's top-1
/// `budgets.clean_top1`. Without labels (`None`) only a zero budget passes.
pub fn clean(model: &str, validation: Option<&Validation>, budgets: &Budgets) -> Result<(), Breach> {
    let Some(validation) = validation else {
        // Which budget applies follows the task: detectors are the label-free case.
        return match budgets.clean_map50 > 0.0 {
            true => Err(Breach::NoLabels {
                model: model.into(),
                metric: "mAP@0.5",
                budget: budgets.clean_map50,
                key: "clean_map50",
            }),
            false => Ok(()),
        };
    };
    let (metric, measured, budget, detail) = match validation {
        Validation::Detection(s) => {
            ("mAP@0.5", s.map50(), budgets.clean_map50, format!(" (mAP@[.5:.95] {:.4})", s.map()))
        }
        Validation::Classification(s) => {
            ("top-1 accuracy", s.top1, budgets.clean_top1, format!(" (top-5 {:.4})", s.top5))
        }
    };
    if measured < budget {
        return Err(Breach::CleanAccuracy { model: model.into(), metric, measured, budget, detail });
    }
    Ok(())
}

/// One perturbation setting: risk must not exceed the per-case budget.
pub fn perturbed(case: &str, outcome: &PerturbedOutcome, budget: f64, dataset: &Dataset) -> Result<(), Breach> {
    if outcome.risk <= budget {
        return Ok(());
    }
    // The impact rule's per-image score: F1 for boxes, the true class's probability for classes.
    let score = match outcome.validation {
        Some(Validation::Classification(_)) => "p",
        _ => "F1",
    };
    let worst = impact::worst(&outcome.impacts, WORST_SHOWN)
        .iter()
        .map(|i| format!("{} ({score} {:.2} → {:.2})", file_name(dataset, i.image_id), i.before, i.after))
        .collect();
    Err(Breach::Risk {
        case: case.into(),
        risk: outcome.risk,
        budget,
        impacted: outcome.impacts.iter().filter(|i| i.impacted).count(),
        images: outcome.impacts.len(),
        worst,
    })
}

/// A whole risk factor: share of images impacted by any of its settings.
pub fn factor(case: &str, outcome: &FactorOutcome, budget: f64, dataset: &Dataset) -> Result<(), Breach> {
    if outcome.risk <= budget {
        return Ok(());
    }
    Err(Breach::FactorRisk {
        case: case.into(),
        risk: outcome.risk,
        budget,
        impacted: outcome.impacted.len(),
        images: outcome.images,
        worst_setting: outcome.worst_case.clone(),
        examples: outcome.impacted.iter().take(WORST_SHOWN).map(|&id| file_name(dataset, id).to_owned()).collect(),
    })
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

    fn stats(map50: f64) -> Option<Validation> {
        let mut s = [0.0; 12];
        s[1] = map50;
        Some(Validation::Detection(CocoStats { stats: s, per_category: vec![] }))
    }

    fn budgets(clean_map50: f64, clean_top1: f64) -> Budgets {
        Budgets { risk: 30.0, clean_map50, clean_top1 }
    }

    #[test]
    fn clean_budget() {
        assert!(clean("m", stats(0.8).as_ref(), &budgets(0.7, 0.99)).is_ok());
        let err = clean("m", stats(0.6).as_ref(), &budgets(0.7, 0.0)).unwrap_err().to_string();
        assert!(err.contains("mAP@0.5 0.6000") && err.contains("0.7000"), "{err}");
        assert!(clean("m", None, &budgets(0.7, 0.0)).unwrap_err().to_string().contains("no labels"));
        assert!(clean("m", None, &budgets(0.0, 0.0)).is_ok());
    }

    #[test]
    fn classifiers_answer_to_the_top1_budget() {
        let top1 = |top1| Some(Validation::Classification(ClassificationStats { top1, top5: 1.0, per_class: vec![] }));
        assert!(clean("m", top1(0.9).as_ref(), &budgets(0.99, 0.8)).is_ok());
        let err = clean("m", top1(0.7).as_ref(), &budgets(0.0, 0.8)).unwrap_err().to_string();
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
        let outcome = PerturbedOutcome {
            impacts,
            worst_shown: Vec::new(),
            risk: 50.0,
            class_risk: Vec::new(),
            size_risk: Vec::new(),
            validation: stats(0.5),
        };
        assert!(perturbed("c", &outcome, 50.0, &dataset()).is_ok());
        let err = perturbed("c", &outcome, 20.0, &dataset()).unwrap_err().to_string();
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
        let err = factor("f", &outcome, 40.0, &dataset()).unwrap_err().to_string();
        assert!(err.contains("risk 50.00% exceeds the risk factor's budget 40%"), "{err}");
        assert!(err.contains("blur::sigma=3") && err.contains("2.jpg, 3.jpg"), "{err}");
    }
}
