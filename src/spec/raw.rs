//! The suite file as written: serde + JSON-schema types, checked only for shape.
//!
//! Everything here mirrors the YAML one to one; meaning (files exist, names resolve, values are
//! in range) is checked in `validate`, which turns a `RawSuite` into a `Suite`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A robustness suite: models × perturbations over one dataset, with budgets.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "shakedown suite")]
pub struct RawSuite {
    /// Suite name: the first segment of every test name. Lowercase letters, digits, `_`, `-`.
    pub name: String,
    /// Seed of every random perturbation (combined with the case id and the image id).
    #[serde(default)]
    pub seed: u64,
    /// Inference backend: `tract` (embedded, default) or `ort` (ONNX Runtime). The environment
    /// variable `SHAKEDOWN_BACKEND` overrides it.
    #[serde(default)]
    pub backend: Option<String>,
    /// Models under test.
    pub models: Vec<RawModel>,
    /// The images (and labels) every model is evaluated on.
    pub dataset: RawDataset,
    /// When an image counts as heavily impacted by a perturbation.
    #[serde(default)]
    pub impact: RawImpact,
    /// Perturbation grids grouped by risk factor (`blur`, `noise`, `image_quality`, `lighting`,
    /// `color`, `geometry`, `weather`, `occlusion`, `sensor`).
    pub risk_factors: BTreeMap<String, RawRiskFactor>,
    /// Pass/fail limits.
    #[serde(default)]
    pub budgets: RawBudgets,
    /// Score changes within these bounds leave the baseline untouched.
    #[serde(default)]
    pub tolerance: RawTolerance,
}

/// One ONNX model.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Name used in test names. Lowercase letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// Path of the `.onnx` file, relative to the suite file.
    pub path: String,
    /// Model family, which fixes pre-processing and output decoding: `yolov8`.
    pub family: String,
    /// Class names in the model's output order; matched by name to the dataset's categories.
    pub classes: Vec<String>,
    /// Network input `[height, width]`; read from the model when omitted and static.
    #[serde(default)]
    pub input_size: Option<[u32; 2]>,
    /// Minimum score of a detection counted by the impact rule (default 0.25).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// IoU threshold of non-maximum suppression (default 0.7).
    #[serde(default)]
    pub iou: Option<f64>,
    /// Most detections kept per image (default 300).
    #[serde(default)]
    pub max_detections: Option<usize>,
    /// Mark this model's tests ignored: they run only with `--ignored` or `--include-ignored`.
    #[serde(default)]
    pub ignore: bool,
}

/// The images: a COCO dataset, or a plain image folder without labels.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// COCO annotations json, relative to the suite file. Without it the images carry no labels
    /// (ids follow file order) and only the label-free `consistency` impact rule applies.
    #[serde(default)]
    pub annotations: Option<String>,
    /// Glob (relative to the suite file) selecting the image files; with annotations, each must
    /// be listed in them by file name.
    pub images: String,
    /// Use only the first N images (by id) of the selection.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Per-image impact rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImpact {
    /// `ground_truth`: the image's F1 against its labels drops by more than `delta`;
    /// `consistency`: the perturbed predictions agree with the clean ones with an F1 below
    /// `1 - delta` (needs no labels).
    #[serde(default = "default_rule")]
    pub rule: String,
    /// Largest F1 drop that still counts as not impacted, in (0, 1].
    #[serde(default = "default_delta")]
    pub delta: f64,
    /// IoU at which a prediction matches a box, in (0, 1).
    #[serde(default = "default_iou")]
    pub iou: f64,
}

impl Default for RawImpact {
    fn default() -> Self {
        Self { rule: default_rule(), delta: default_delta(), iou: default_iou() }
    }
}

fn default_rule() -> String {
    "ground_truth".into()
}
fn default_delta() -> f64 {
    0.3
}
fn default_iou() -> f64 {
    0.5
}

/// One risk factor: its perturbation grids and an optional budget of its own.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRiskFactor {
    /// Largest risk score (0-100) of the factor as a whole; defaults to `budgets.factor_risk`.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Perturbation name → parameter grid. Each parameter takes one value or a list; the grid is
    /// their cartesian product. `severity: [1, 3, 5]` picks the perturbation's standard
    /// severities instead.
    pub perturbations: BTreeMap<String, BTreeMap<String, RawValues>>,
}

/// One value or a list of values.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawValues {
    One(f64),
    Many(Vec<f64>),
}

impl RawValues {
    pub fn to_vec(&self) -> Vec<f64> {
        match self {
            RawValues::One(v) => vec![*v],
            RawValues::Many(v) => v.clone(),
        }
    }
}

/// Pass/fail limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudgets {
    /// Largest risk score (0-100) of one case.
    #[serde(default = "default_risk")]
    pub risk: f64,
    /// Largest risk score (0-100) of a risk factor.
    #[serde(default = "default_factor_risk")]
    pub factor_risk: f64,
    /// Smallest clean mAP@0.5 (0-1) of every model.
    #[serde(default)]
    pub clean_map50: f64,
}

impl Default for RawBudgets {
    fn default() -> Self {
        Self { risk: default_risk(), factor_risk: default_factor_risk(), clean_map50: 0.0 }
    }
}

fn default_risk() -> f64 {
    20.0
}
fn default_factor_risk() -> f64 {
    40.0
}

/// How far a score may move before the baseline shows a diff.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTolerance {
    /// Risk-score points (0-100).
    #[serde(default = "default_risk_tolerance")]
    pub risk: f64,
    /// Absolute change of a 0-1 metric such as mAP.
    #[serde(default = "default_metric_tolerance")]
    pub metric: f64,
}

impl Default for RawTolerance {
    fn default() -> Self {
        Self { risk: default_risk_tolerance(), metric: default_metric_tolerance() }
    }
}

fn default_risk_tolerance() -> f64 {
    1.0
}
fn default_metric_tolerance() -> f64 {
    0.005
}
