//! What a case measured: the outcomes the engine computes and that verdicts, baselines and
//! output read. Every stage after the engine speaks these types.

use std::collections::BTreeSet;

use crate::metrics::impact::{ClassRisk, ImageImpact};
use crate::metrics::Validation;
use crate::vocab::boxes::ImageDetections;

/// What a model says about each image, in dataset order.
pub enum Predictions {
    /// Detectors: per image, the boxes mAP scores and the boxes the impact rule reads.
    Boxes(Vec<ImageDetections>),
    /// Classifiers: class probabilities.
    Classes(Vec<Vec<f32>>),
}

impl Predictions {
    /// How many images were predicted.
    pub fn len(&self) -> usize {
        match self {
            Predictions::Boxes(p) => p.len(),
            Predictions::Classes(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A model on clean images.
pub struct CleanOutcome {
    pub predictions: Predictions,
    /// `None` when the dataset has no labels to validate against.
    pub validation: Option<Validation>,
}

/// A model under one perturbation setting.
pub struct PerturbedOutcome {
    pub impacts: Vec<ImageImpact>,
    pub risk: f64,
    /// The risk score per class, over the images showing it.
    pub class_risk: Vec<ClassRisk>,
    /// `None` when the dataset has no labels to validate against.
    pub validation: Option<Validation>,
}

/// A model under all settings of a risk factor: an image counts when any case impacts it.
pub struct FactorOutcome {
    pub impacted: BTreeSet<u64>,
    pub images: usize,
    pub risk: f64,
    /// Worst case of the factor: (case name, risk).
    pub worst_case: Option<(String, f64)>,
}
