//! What a case measured: the outcomes the engine computes and that verdicts, baselines and
//! output read. Every stage after the engine speaks these types.

use std::collections::BTreeSet;

use crate::metrics::impact::{ClassRisk, ImageImpact};
use crate::metrics::Validation;
use crate::vocab::boxes::{Detection, ImageDetections};

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

    /// Splits off detectors' `val` lists (every box down to the evaluation threshold, often
    /// hundreds per image), which only mAP reads: what stays is what the impact rule reads, and
    /// mAP can consume the lists, so a large dataset's detections are not held twice.
    pub fn split_val(self) -> (Self, Option<Vec<Vec<Detection>>>) {
        match self {
            Predictions::Boxes(p) => {
                let (shown, val) =
                    p.into_iter().map(|d| (ImageDetections { val: Vec::new(), shown: d.shown }, d.val)).unzip();
                (Predictions::Boxes(shown), Some(val))
            }
            classes => (classes, None),
        }
    }
}

/// A model on clean images.
pub struct CleanOutcome {
    /// What the impact rule compares perturbed predictions with (`val` split off, see
    /// [`Predictions::split_val`]).
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
