//! Suite files: parsed in two stages, raw (shape, via serde) then validated (meaning), then
//! expanded into cases.
//!
//! `load` returns a `Suite` whose every name resolves, every file exists and every value is in
//! range, or an `InvalidSuite` listing each problem with its line and column.

pub mod expand;
mod grid;
pub(crate) mod raw;
mod schema;
mod validate;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use globset::GlobMatcher;

use crate::errors::Error;
use crate::perturb::PerturbationInfo;
pub use crate::vocab::{Backend, Channels, Family, ImpactRuleKind, Layout, Resize, RiskFactor, Split};
pub use expand::{Case, CaseKind};
use raw::RawSuite;
use validate::Validator;

/// A validated suite, ready to expand into cases.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    /// The suite file; baselines live in `snapshots/` beside it.
    pub path: PathBuf,
    pub seed: u64,
    pub backend: Backend,
    pub models: Vec<ModelSpec>,
    pub dataset: DatasetSpec,
    pub impact: ImpactRule,
    pub risk_factors: Vec<RiskFactorSpec>,
    pub budgets: Budgets,
    pub tolerance: Tolerance,
}

#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: String,
    pub path: PathBuf,
    pub family: Family,
    pub classes: Vec<String>,
    pub input_size: Option<[u32; 2]>,
    pub confidence: f32,
    pub iou: f32,
    pub max_detections: usize,
    /// Overrides of the family's pre-processing.
    pub preprocess: PreprocessSpec,
    /// Tests of this model run only on request (`--ignored`).
    pub ignore: bool,
}

impl ModelSpec {
    /// Minimum score of a detection the impact rule counts, unless the suite says otherwise.
    pub const DEFAULT_CONFIDENCE: f64 = 0.25;
    /// NMS IoU threshold, as ultralytics' default.
    pub const DEFAULT_IOU: f64 = 0.7;
    pub const DEFAULT_MAX_DETECTIONS: usize = 300;

    /// A model with every optional setting at its default.
    pub fn new(name: String, path: PathBuf, family: Family, classes: Vec<String>) -> Self {
        Self {
            name,
            path,
            family,
            classes,
            input_size: None,
            confidence: Self::DEFAULT_CONFIDENCE as f32,
            iou: Self::DEFAULT_IOU as f32,
            max_detections: Self::DEFAULT_MAX_DETECTIONS,
            preprocess: PreprocessSpec::default(),
            ignore: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// COCO annotations; `None` for a plain image folder, labelled or not by `class_folders`.
    pub annotations: Option<PathBuf>,
    /// Each image's class is its folder's name (classification datasets).
    pub class_folders: bool,
    /// A YOLO data.yaml and split: it lists the images, so `pattern` and `matcher` are unused.
    pub yolo: Option<YoloSpec>,
    /// Directory the glob is relative to (the suite's).
    pub root: PathBuf,
    pub pattern: String,
    pub matcher: GlobMatcher,
    pub limit: Option<usize>,
}

/// A model's `preprocess` overrides from the suite; `None` keeps the family's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreprocessSpec {
    pub resize: Option<Resize>,
    pub mean: Option<[f32; 3]>,
    pub std: Option<[f32; 3]>,
    pub channels: Option<Channels>,
    pub layout: Option<Layout>,
    /// Pixel values are divided by it before `mean` and `std` apply.
    pub scale: Option<f32>,
}

/// A YOLO dataset as a suite names it.
#[derive(Debug, Clone, PartialEq)]
pub struct YoloSpec {
    /// The data.yaml.
    pub data: PathBuf,
    pub split: Split,
}

/// When an image counts as heavily impacted, with its thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImpactRule {
    /// F1 against the labels drops by more than `delta`.
    GroundTruth { delta: f32, iou: f32 },
    /// F1 of the perturbed predictions against the clean ones is below `1 - delta`.
    Consistency { delta: f32, iou: f32 },
    /// Classifiers: the top-1 class changes, or the true class's probability drops by more
    /// than `delta`.
    Classification { delta: f32 },
}

impl ImpactRule {
    pub fn kind(self) -> ImpactRuleKind {
        match self {
            ImpactRule::GroundTruth { .. } => ImpactRuleKind::GroundTruth,
            ImpactRule::Consistency { .. } => ImpactRuleKind::Consistency,
            ImpactRule::Classification { .. } => ImpactRuleKind::Classification,
        }
    }

    pub fn delta(self) -> f32 {
        match self {
            ImpactRule::GroundTruth { delta, .. }
            | ImpactRule::Consistency { delta, .. }
            | ImpactRule::Classification { delta } => delta,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RiskFactorSpec {
    pub factor: RiskFactor,
    /// Largest risk score (0-100) of the factor as a whole.
    pub budget: f64,
    pub grids: Vec<Grid>,
}

impl RiskFactorSpec {
    /// One setting as written after the model in test names, `blur::gaussian_blur::sigma=2`.
    /// It is also the seed key of the setting's random draws, so every model sees the very same
    /// perturbed images.
    pub fn setting(&self, grid: usize, point: usize) -> String {
        format!("{}::{}", self.factor, self.grids[grid].setting(point))
    }
}

/// One perturbation over a grid of parameter values.
#[derive(Debug, Clone)]
pub struct Grid {
    pub perturbation: &'static PerturbationInfo,
    pub points: Vec<GridPoint>,
    /// Find the breaking point (`search: true` on the perturbation or its factor).
    pub search: bool,
}

/// The parameter a breaking-point search moves, and over which values.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchAxis {
    /// Index of the parameter in the catalog's order.
    pub param: usize,
    /// The search's two ends: `mild` (the risk should hold) and `harsh`.
    pub mild: f64,
    pub harsh: f64,
    /// Whether the parameter only takes whole numbers (a JPEG quality, a kernel size).
    pub integer: bool,
    /// The values of the other parameters: the grid's first point's.
    pub base: Vec<f64>,
}

/// Bisection steps after the two ends: 2 + 6 = 8 evaluations at most.
pub const SEARCH_STEPS: u32 = 6;

impl SearchAxis {
    /// The parameter values at `value` of the searched one.
    pub fn values_at(&self, value: f64) -> Vec<f64> {
        let mut values = self.base.clone();
        values[self.param] = value;
        values
    }

    /// A point between `a` and `b`, rounded as the parameter allows (and to 6 decimals, so
    /// that names and seeds read cleanly).
    pub fn between(&self, a: f64, b: f64) -> f64 {
        let mid = (a + b) / 2.0;
        if self.integer {
            mid.round()
        } else {
            (mid * 1e6).round() / 1e6
        }
    }

    /// The resolution the search ends at: the range over 2^steps (at least 1 for whole numbers).
    pub fn step(&self) -> f64 {
        let step = (self.harsh - self.mild).abs() / f64::from(1u32 << SEARCH_STEPS);
        if self.integer {
            step.ceil().max(1.0)
        } else {
            step
        }
    }
}

impl Grid {
    /// What a breaking-point search on this grid moves: the parameter its points vary (or,
    /// for one point, the first whose standard severities vary), from a little milder than
    /// severity 1 (toward no change, within the catalog's range) to severity 5, widened to
    /// cover the grid's own values; `None` without a numeric parameter.
    pub fn search_axis(&self) -> Option<SearchAxis> {
        let info = self.perturbation;
        let first = self.points.first()?;
        if info.params.is_empty() || first.values.len() != info.params.len() {
            return None;
        }
        let sev = |s: usize, i: usize| info.severities[s].get(i).copied();
        let varies = |i: usize| self.points.iter().any(|p| p.values[i] != first.values[i]);
        let param = (0..info.params.len())
            .find(|&i| varies(i))
            .or_else(|| (0..info.params.len()).find(|&i| sev(0, i) != sev(4, i)))
            .unwrap_or(0);
        let p = &info.params[param];
        let (s1, s5) = (sev(0, param).unwrap_or(p.default), sev(4, param).unwrap_or(p.max));
        let up = s5 >= s1;
        let grid_values = self.points.iter().map(|pt| pt.values[param]);
        let (mut mild, mut harsh) = ((s1 - (s5 - s1) / 4.0).clamp(p.min, p.max), s5);
        for v in grid_values {
            (mild, harsh) = if up { (mild.min(v), harsh.max(v)) } else { (mild.max(v), harsh.min(v)) };
        }
        // Rounded like the midpoints, so that names and seeds read cleanly.
        let (mild, harsh) = ((mild * 1e6).round() / 1e6, (harsh * 1e6).round() / 1e6);
        Some(SearchAxis { param, mild, harsh, integer: p.integer, base: first.values.clone() })
    }

    /// Point `p` as written in test names: `gaussian_blur::sigma=2`, or just `horizontal_flip` for a
    /// perturbation without parameters.
    pub fn setting(&self, p: usize) -> String {
        match self.points[p].label.as_str() {
            "" => self.perturbation.name.to_owned(),
            label => format!("{}::{label}", self.perturbation.name),
        }
    }
}

/// One setting of a perturbation's parameters: one case per model.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// As written in test names: `sigma=1.5`, `severity=3`.
    pub label: String,
    /// Values of all parameters, in catalog order (defaults filled in).
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub risk: f64,
    pub clean_map50: f64,
    pub clean_top1: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    pub risk: f64,
    pub metric: f64,
}

/// Read, parse and validate a suite file; `backend` (from `SHAKEDOWN_BACKEND`) overrides the
/// suite's own.
pub fn load(path: &Path, backend: Option<&str>) -> Result<Suite, Error> {
    // Refused before reading: a huge file costs its whole size in memory and parse time.
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size > yaml::MAX_SUITE_BYTES {
        let mut v = Validator::new(path, String::new());
        v.too_large(size);
        return Err(v.into_error());
    }
    let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(path, source, backend)
}

/// Parse and validate suite text; `path` locates relative files and names the source.
pub fn parse(path: &Path, source: String, backend_env: Option<&str>) -> Result<Suite, Error> {
    if source.len() as u64 > yaml::MAX_SUITE_BYTES {
        let mut v = Validator::new(path, String::new());
        v.too_large(source.len() as u64);
        return Err(v.into_error());
    }
    let mut v = Validator::new(path, source);
    let raw: RawSuite = match yaml::parse(&v.source) {
        Ok(raw) => raw,
        Err(e) => {
            v.raw_error(e);
            return Err(v.into_error());
        }
    };
    match v.suite(raw, backend_env) {
        Some(suite) if v.errors.is_empty() => Ok(suite),
        _ => Err(v.into_error()),
    }
}

pub use schema::json_schema;

#[cfg(test)]
mod tests;
