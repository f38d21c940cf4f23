//! The suite file as written: serde + JSON-schema types, checked only for shape.
//!
//! Everything here mirrors the YAML one to one; meaning (files exist, names resolve, values are
//! in range) is checked in `validate`, which turns a `RawSuite` into a `Suite`. Values those
//! checks look at are `At<T>`: they keep where the file writes them, for the diagnostics.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::yaml::{At, Keyed};
use crate::vocab::{Backend, Channels, Family, ImpactRuleKind, Layout, Resize};

/// A robustness suite: models × perturbations over one dataset, with budgets.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "shakedown suite")]
pub struct RawSuite {
    /// Suite name: the first segment of every test name. Lowercase letters, digits, `_`, `-`.
    pub name: At<String>,
    /// Seed of every random perturbation (combined with the case id and the image id).
    #[serde(default)]
    pub seed: u64,
    /// Inference backend: `tract` (embedded, default) or `ort` (ONNX Runtime). The environment
    /// variable `SHAKEDOWN_BACKEND` overrides it.
    #[serde(default)]
    #[schemars(with = "Option<Backend>")]
    pub backend: Option<At<String>>,
    /// Models under test.
    pub models: At<Vec<RawModel>>,
    /// The images (and labels) every model is evaluated on.
    pub dataset: At<RawDataset>,
    /// When an image counts as heavily impacted by a perturbation.
    #[serde(default)]
    pub impact: At<RawImpact>,
    /// Perturbation grids grouped by risk factor (`blur`, `noise`, `image_quality`, `lighting`,
    /// `color`, `geometry`, `weather`, `occlusion`, `sensor`).
    #[schemars(schema_with = "super::schema::risk_factors")]
    pub risk_factors: At<Keyed<RawRiskFactor>>,
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
    pub name: At<String>,
    /// Path of the `.onnx` file, relative to the suite file.
    pub path: At<String>,
    /// Model family, which fixes output decoding and the default pre-processing: `yolov8`
    /// (ultralytics, `[1, 4 + C, N]` or end-to-end `[1, K, 6]`), `yolov5` (`[1, N, 5 + C]`),
    /// `yolox` (raw head), `detr` (`logits` + `pred_boxes`), `rtdetr`, `boxes-scores-labels`
    /// (exports with NMS inside), `classifier` (`[1, C]`). May be left out when the export's
    /// metadata says its task (ultralytics).
    #[serde(default)]
    #[schemars(with = "Option<Family>")]
    pub family: Option<At<String>>,
    /// Class names in the model's output order; matched by name to the dataset's categories.
    /// May be left out when the export's metadata names them (ultralytics `names`).
    #[serde(default)]
    pub classes: Option<At<Vec<String>>>,
    /// A text file of the class names instead, one per line in output order (ImageNet's 1000,
    /// a repository's `coco_classes.txt`), relative to the suite file.
    #[serde(default)]
    pub classes_file: Option<At<String>>,
    /// Network input `[height, width]`; read from the model when omitted and static.
    #[serde(default)]
    pub input_size: Option<At<[u32; 2]>>,
    /// Minimum score of a detection counted by the impact rule (default 0.25).
    #[serde(default)]
    pub confidence: Option<At<f64>>,
    /// IoU threshold of non-maximum suppression (default 0.7) for the detections the impact rule
    /// reads, as `yolo predict --iou`. The mAP of `yolov8` and `yolov5` models is computed on
    /// detections selected as their validators select them (`yolo val`: multi-label, IoU 0.7;
    /// yolov5 `val.py`: IoU 0.6; both 300 per image above 0.001).
    #[serde(default)]
    pub iou: Option<At<f64>>,
    /// Most detections kept per image (default 300).
    #[serde(default)]
    pub max_detections: Option<At<usize>>,
    /// Overrides of the family's pre-processing.
    #[serde(default)]
    pub preprocess: Option<RawPreprocess>,
    /// Mark this model's tests ignored: they run only with `--ignored` or `--include-ignored`.
    #[serde(default)]
    pub ignore: bool,
}

/// How images become the network input; every key defaults per family.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPreprocess {
    /// `letterbox` (keep the aspect ratio, pad with grey 114; default of `yolov8`, `yolov5`,
    /// `boxes-scores-labels`) or `stretch` (resize each axis; default of `detr`, `classifier`).
    #[serde(default)]
    #[schemars(with = "Option<Resize>")]
    pub resize: Option<At<String>>,
    /// Subtracted per input channel after dividing by `scale` (default `[0, 0, 0]`; ImageNet's
    /// `[0.485, 0.456, 0.406]` for `detr` and `classifier`).
    #[serde(default)]
    pub mean: Option<[At<f64>; 3]>,
    /// Divides each input channel after `mean` (default `[1, 1, 1]`; ImageNet's
    /// `[0.229, 0.224, 0.225]` for `detr` and `classifier`).
    #[serde(default)]
    pub std: Option<[At<f64>; 3]>,
    /// Channel order the network expects: `rgb` (default) or `bgr`.
    #[serde(default)]
    #[schemars(with = "Option<Channels>")]
    pub channels: Option<At<String>>,
    /// Input layout: `nchw` (`[1, 3, H, W]`) or `nhwc` (`[1, H, W, 3]`); default: what the model
    /// declares, else `nchw`.
    #[serde(default)]
    #[schemars(with = "Option<Layout>")]
    pub layout: Option<At<String>>,
    /// Pixel values (0-255) are divided by it first (default 255; 1 keeps 0-255).
    #[serde(default)]
    pub scale: Option<At<f64>>,
}

/// The images: a COCO dataset, a YOLO dataset, class folders, or a plain image folder without
/// labels.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// COCO annotations json, relative to the suite file. Without it (or `yolo`) the images carry
    /// no labels (ids follow file order) and only the label-free `consistency` impact rule applies.
    #[serde(default)]
    pub annotations: Option<At<String>>,
    /// Glob (relative to the suite file) selecting the image files; with annotations, each must
    /// be listed in them by file name. Not with `yolo`, whose split lists the images.
    #[serde(default)]
    pub images: Option<At<String>>,
    /// Use only the first N images (by id) of the selection.
    #[serde(default)]
    pub limit: Option<At<usize>>,
    /// ImageNet-style layout for classifiers: each image's class is the name of the folder
    /// holding it (`images: val/*/*.png`). Not with `annotations`.
    #[serde(default)]
    pub class_folders: At<bool>,
    /// A YOLO (ultralytics) `data.yaml`, relative to the suite file: `names`, `path` and the
    /// split's folders or .txt image lists, with labels in `labels/` beside `images/`. Image ids
    /// are 1, 2, … in path order; category ids are class index + 1. Not with `annotations`,
    /// `images` or `class_folders`.
    #[serde(default)]
    pub yolo: Option<At<String>>,
    /// The split of the `yolo` data.yaml to run on: `train`, `val` (default) or `test`.
    #[serde(default)]
    #[schemars(with = "Option<crate::vocab::Split>")]
    pub split: Option<At<String>>,
}

/// Per-image impact rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImpact {
    /// `ground_truth`: the image's F1 against its labels drops by more than `delta`;
    /// `consistency`: the perturbed predictions agree with the clean ones with an F1 below
    /// `1 - delta` (needs no labels); `classification` (classifiers): the top-1 class changes or
    /// the true class's probability drops by more than `delta`.
    #[serde(default = "default_rule")]
    #[schemars(with = "ImpactRuleKind")]
    pub rule: At<String>,
    /// Largest F1 drop that still counts as not impacted, in (0, 1].
    #[serde(default = "default_delta")]
    pub delta: At<f64>,
    /// IoU at which a prediction matches a box, in (0, 1).
    #[serde(default = "default_iou")]
    pub iou: At<f64>,
}

impl Default for RawImpact {
    fn default() -> Self {
        Self { rule: default_rule(), delta: default_delta(), iou: default_iou() }
    }
}

fn default_rule() -> At<String> {
    At::absent("ground_truth".into())
}
fn default_delta() -> At<f64> {
    At::absent(0.3)
}
fn default_iou() -> At<f64> {
    At::absent(0.5)
}

/// One risk factor: its perturbation grids and an optional budget of its own.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRiskFactor {
    /// Largest risk score (0-100) of the factor as a whole; defaults to `budgets.factor_risk`.
    #[serde(default)]
    pub budget: Option<At<f64>>,
    /// Perturbation name → parameter grid. Each parameter takes one value or a list; the grid is
    /// their cartesian product. `severity: [1, 3, 5]` picks the perturbation's standard
    /// severities instead. `search: true` among a perturbation's parameters finds its breaking
    /// point (see the factor's `search`).
    pub perturbations: Keyed<Keyed<RawValues>>,
    /// Find each perturbation's breaking point: the mildest value of its parameter at which the
    /// risk score passes `budgets.risk`, by bisection (at most 8 extra evaluations per model).
    #[serde(default)]
    pub search: Option<At<bool>>,
}

/// One value, a list of values, or an evenly spaced range.
///
/// Deserialized by hand: serde's `untagged` buffers the value and loses where each list item
/// is written, and out-of-range items are pointed at one by one.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawValues {
    /// `search: true`, the one parameter that is a switch.
    Flag(bool),
    One(f64),
    Many(Vec<At<f64>>),
    Range(RawRange),
}

impl<'de> Deserialize<'de> for RawValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor;

        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = RawValues;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a list of numbers or a range `{from, to, step}`")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValues, E> {
                Ok(RawValues::One(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValues, E> {
                Ok(RawValues::Flag(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValues, E> {
                Ok(RawValues::One(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValues, E> {
                Ok(RawValues::One(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValues, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element()? {
                    values.push(v);
                }
                Ok(RawValues::Many(values))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawValues, A::Error> {
                RawRange::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawValues::Range)
            }
        }

        deserializer.deserialize_any(ValuesVisitor)
    }
}

/// `{from: 1, to: 3, step: 0.5}`: from, from + step, … up to `to` inclusive.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    pub from: f64,
    pub to: f64,
    pub step: f64,
}

/// Most values a range may expand to: each is a test per model.
pub const MAX_RANGE_VALUES: usize = 100;

impl RawValues {
    pub fn to_vec(&self) -> Vec<f64> {
        match self {
            RawValues::Flag(_) => Vec::new(),
            RawValues::One(v) => vec![*v],
            RawValues::Many(v) => v.iter().map(|x| x.value).collect(),
            RawValues::Range(r) if r.problem().is_some() => Vec::new(),
            RawValues::Range(r) => {
                let n = ((r.to - r.from) / r.step + 1e-9).floor() as usize + 1;
                // Rounded so that 0.1 steps give `sigma=0.3` in test names, not 0.30000000000000004.
                (0..n).map(|k| ((r.from + k as f64 * r.step) * 1e9).round() / 1e9).collect()
            }
        }
    }
}

impl RawRange {
    /// Why the range cannot be expanded, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if ![self.from, self.to, self.step].iter().all(|v| v.is_finite()) {
            return Some("a range needs finite `from`, `to` and `step`".into());
        }
        if self.step <= 0.0 {
            return Some(format!("a range's `step` must be positive, got {}", self.step));
        }
        if self.to < self.from {
            return Some(format!("a range runs up: `to` ({}) is below `from` ({})", self.to, self.from));
        }
        let n = (self.to - self.from) / self.step + 1.0;
        (n > MAX_RANGE_VALUES as f64)
            .then(|| format!("the range gives {} values; at most {MAX_RANGE_VALUES} (each is a test)", n.floor()))
    }
}

/// Pass/fail limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudgets {
    /// Largest risk score (0-100) of one case.
    #[serde(default = "default_risk")]
    pub risk: At<f64>,
    /// Largest risk score (0-100) of a risk factor.
    #[serde(default = "default_factor_risk")]
    pub factor_risk: At<f64>,
    /// Smallest clean mAP@0.5 (0-1) of every detector.
    #[serde(default)]
    pub clean_map50: At<f64>,
    /// Smallest clean top-1 accuracy (0-1) of every classifier.
    #[serde(default)]
    pub clean_top1: At<f64>,
}

impl Default for RawBudgets {
    fn default() -> Self {
        Self {
            risk: default_risk(),
            factor_risk: default_factor_risk(),
            clean_map50: At::absent(0.0),
            clean_top1: At::absent(0.0),
        }
    }
}

fn default_risk() -> At<f64> {
    At::absent(20.0)
}
fn default_factor_risk() -> At<f64> {
    At::absent(40.0)
}

/// How far a score may move before the baseline shows a diff.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTolerance {
    /// Risk-score points (0-100).
    #[serde(default = "default_risk_tolerance")]
    pub risk: At<f64>,
    /// Absolute change of a 0-1 metric such as mAP.
    #[serde(default = "default_metric_tolerance")]
    pub metric: At<f64>,
}

impl Default for RawTolerance {
    fn default() -> Self {
        Self { risk: default_risk_tolerance(), metric: default_metric_tolerance() }
    }
}

fn default_risk_tolerance() -> At<f64> {
    At::absent(1.0)
}
fn default_metric_tolerance() -> At<f64> {
    At::absent(0.005)
}
