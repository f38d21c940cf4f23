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

    /// The same predictions without detectors' `val` lists (every box down to the evaluation
    /// threshold, often hundreds per image), which only mAP reads.
    pub fn without_val(self) -> Self {
        match self {
            Predictions::Boxes(mut p) => {
                p.iter_mut().for_each(|d| d.val = Vec::new());
                Predictions::Boxes(p)
            }
            classes => classes,
        }
    }
}

/// A model on clean images.
pub struct CleanOutcome {
    /// What the impact rule compares perturbed predictions with (detectors' `val` lists
    /// already matched for mAP and dropped).
    pub predictions: Predictions,
    /// `None` when the dataset has no labels to validate against.
    pub validation: Option<Validation>,
}

/// What a model showed on one image: boxes above its confidence, or class probabilities.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Boxes(Vec<Detection>),
    Classes(Vec<f32>),
}

impl Predictions {
    /// What the model showed on image `index`.
    pub fn shown(&self, index: usize) -> Option<Shown> {
        match self {
            Predictions::Boxes(p) => p.get(index).map(|d| Shown::Boxes(d.shown.clone())),
            Predictions::Classes(p) => p.get(index).map(|c| Shown::Classes(c.clone())),
        }
    }
}

/// Images of a case drawn in the report, worst first.
pub const WORST_DRAWN: usize = 3;

/// A model under one perturbation setting.
pub struct PerturbedOutcome {
    pub impacts: Vec<ImageImpact>,
    /// What the model showed on the case's [`WORST_DRAWN`] worst images, by image id.
    pub worst_shown: Vec<(u64, Shown)>,
    pub risk: f64,
    /// The risk score per class, over the images showing it.
    pub class_risk: Vec<ClassRisk>,
    /// The risk score per object size (`category_id` indexes [`OBJECT_SIZES`]), over the
    /// images showing an object of that size; empty for classifiers.
    ///
    /// [`OBJECT_SIZES`]: crate::metrics::impact::OBJECT_SIZES
    pub size_risk: Vec<ClassRisk>,
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

/// A model's breaking point under one perturbation (`search: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// The parameter searched, and its unit.
    pub parameter: &'static str,
    pub unit: &'static str,
    /// The search's ends: the mild one and the harsh one.
    pub mild: f64,
    pub harsh: f64,
    /// The resolution it ended at.
    pub step: f64,
    /// The risk budget it searched against.
    pub budget: f64,
    /// The mildest value found with the risk over budget; `None` when the risk holds up to
    /// `harsh`.
    pub breaking_point: Option<f64>,
    /// Every evaluation: (value, risk score), in order.
    pub evaluations: Vec<(f64, f64)>,
}
