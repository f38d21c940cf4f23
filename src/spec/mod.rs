//! Suite files: parsed in two stages, raw (shape, via serde) then validated (meaning).
//!
//! `load` returns a `Suite` whose every name resolves, every file exists and every value is in
//! range, or an `InvalidSuite` listing each problem with its line and column.

pub mod raw;
pub mod source_map;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use miette::{NamedSource, SourceSpan};

use crate::errors::{Error, InvalidSuite, SuiteError, SuiteErrorKind};
use crate::model::{BackendKind, Channels, Family, Layout, PreprocessSpec, Resize};
use crate::path;
use crate::perturb::{self, PerturbationInfo, RiskFactor};
use raw::RawSuite;
use source_map::{Seg, SourceMap};

/// Environment variable that overrides a suite's `backend`.
pub const BACKEND_ENV: &str = "SHAKEDOWN_BACKEND";

/// A validated suite, ready to expand into cases.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    /// The suite file; baselines live in `snapshots/` beside it.
    pub path: PathBuf,
    pub seed: u64,
    pub backend: BackendKind,
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
    /// Directory the glob is relative to (the suite's).
    pub root: PathBuf,
    pub pattern: String,
    pub matcher: GlobMatcher,
    pub limit: Option<usize>,
}

/// When an image counts as heavily impacted.
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
    pub const NAMES: [&'static str; 3] = ["ground_truth", "consistency", "classification"];

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

/// One perturbation over a grid of parameter values.
#[derive(Debug, Clone)]
pub struct Grid {
    pub perturbation: &'static PerturbationInfo,
    pub points: Vec<GridPoint>,
}

impl Grid {
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

/// Read, parse and validate a suite file.
pub fn load(path: &Path) -> Result<Suite, Error> {
    let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let backend_env = std::env::var(BACKEND_ENV).ok();
    parse(path, source, backend_env.as_deref())
}

/// Parse and validate suite text; `path` locates relative files and names the source.
pub fn parse(path: &Path, source: String, backend_env: Option<&str>) -> Result<Suite, Error> {
    let mut v = Validator::new(path, source);
    let raw: RawSuite = match serde_yaml::from_str(&v.source) {
        Ok(raw) => raw,
        Err(e) => {
            v.serde_error(&e);
            return Err(v.into_error());
        }
    };
    match v.suite(raw, backend_env) {
        Some(suite) if v.errors.is_empty() => Ok(suite),
        _ => Err(v.into_error()),
    }
}

/// Collects every problem of one suite instead of stopping at the first.
struct Validator {
    path: PathBuf,
    dir: PathBuf,
    source: String,
    map: SourceMap,
    errors: Vec<SuiteError>,
}

impl Validator {
    fn new(path: &Path, source: String) -> Self {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let map = SourceMap::new(&source);
        Self { path: path.to_owned(), dir, source, map, errors: Vec::new() }
    }

    fn into_error(self) -> Error {
        Error::Suite(Box::new(InvalidSuite { path: self.path, errors: self.errors }))
    }

    fn push(&mut self, kind: SuiteErrorKind, span: SourceSpan, message: String, label: &str, help: Option<String>) {
        self.errors.push(SuiteError {
            kind,
            message,
            source_code: NamedSource::new(self.path.display().to_string(), self.source.clone()),
            span,
            label: label.to_owned(),
            help,
        });
    }

    fn at_value(&mut self, kind: SuiteErrorKind, at: &[Seg], message: String, help: Option<String>) {
        let span = self.map.value(at);
        self.push(kind, span, message, "here", help);
    }

    fn at_key(&mut self, kind: SuiteErrorKind, at: &[Seg], message: String, help: Option<String>) {
        let span = self.map.key(at);
        self.push(kind, span, message, "here", help);
    }

    fn serde_error(&mut self, e: &serde_yaml::Error) {
        let span: SourceSpan = match e.location() {
            Some(loc) => {
                let start = loc.index().min(self.source.len());
                let len = self.source[start..].find(['\n', ':', ',']).unwrap_or(0).max(1);
                (start, len.min(self.source.len() - start)).into()
            }
            None => (0, 0).into(),
        };
        let text = e.to_string();
        // serde_yaml appends " at line L column C"; miette shows the position itself.
        let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
        let kind = if message.contains("unknown field")
            || message.contains("invalid type")
            || message.contains("missing field")
            || message.contains("did not match any variant")
            || message.contains("invalid value")
            || message.contains("invalid length")
        {
            SuiteErrorKind::Schema
        } else {
            SuiteErrorKind::Syntax
        };
        let help = match kind {
            SuiteErrorKind::Schema => Some(
                "see schemas/suite.schema.json for every key and type (editors with the YAML \
                 language server check it as you type)"
                    .to_owned(),
            ),
            _ => Some("this is not valid YAML: check indentation, colons and brackets".to_owned()),
        };
        self.push(kind, span, message, "here", help);
    }

    fn existing_file(&mut self, relative: &str, at: &[Seg], what: &str) -> PathBuf {
        let path = self.dir.join(relative);
        if !path.is_file() {
            self.at_value(
                SuiteErrorKind::MissingFile,
                at,
                format!("{what} {} does not exist", path.display()),
                Some(format!("paths are relative to the suite file's folder, {}", self.dir.display())),
            );
        }
        path
    }

    fn name(&mut self, name: &str, at: &[Seg], extra: &str) {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || extra.contains(c));
        if !ok {
            self.at_value(
                SuiteErrorKind::InvalidName,
                at,
                format!("`{name}` is not a valid name"),
                Some(format!("use lowercase letters, digits, `_`, `-`{extra}: names become test names and file names")),
            );
        }
    }

    fn in_range(&mut self, value: f64, lo: f64, hi: f64, at: &[Seg], what: &str) -> bool {
        let ok = value.is_finite() && (lo..=hi).contains(&value);
        if !ok {
            self.at_value(
                SuiteErrorKind::OutOfRange,
                at,
                format!("{what} must be between {lo} and {hi}, got {value}"),
                None,
            );
        }
        ok
    }

    fn suite(&mut self, raw: RawSuite, backend_env: Option<&str>) -> Option<Suite> {
        self.name(&raw.name, &path!["name"], "");
        let backend = self.backend(raw.backend.as_deref(), backend_env);
        let models = self.models(&raw);
        let dataset = self.dataset(&raw);
        let impact = self.impact(&raw);
        let risk_factors = self.risk_factors(&raw);
        let b = &raw.budgets;
        self.in_range(b.risk, 0.0, 100.0, &path!["budgets", "risk"], "budgets.risk");
        self.in_range(b.factor_risk, 0.0, 100.0, &path!["budgets", "factor_risk"], "budgets.factor_risk");
        self.in_range(b.clean_map50, 0.0, 1.0, &path!["budgets", "clean_map50"], "budgets.clean_map50");
        self.in_range(b.clean_top1, 0.0, 1.0, &path!["budgets", "clean_top1"], "budgets.clean_top1");
        self.task(&raw, &models);
        let t = &raw.tolerance;
        self.in_range(t.risk, 0.0, 100.0, &path!["tolerance", "risk"], "tolerance.risk");
        self.in_range(t.metric, 0.0, 1.0, &path!["tolerance", "metric"], "tolerance.metric");
        Some(Suite {
            name: raw.name,
            path: self.path.clone(),
            seed: raw.seed,
            backend: backend?,
            models,
            dataset: dataset?,
            impact: impact?,
            risk_factors,
            budgets: Budgets { risk: b.risk, clean_map50: b.clean_map50, clean_top1: b.clean_top1 },
            tolerance: Tolerance { risk: t.risk, metric: t.metric },
        })
    }

    /// One task per suite: classifiers with class folders and the `classification` rule, or
    /// detectors with COCO boxes (or no labels) and a box rule.
    fn task(&mut self, raw: &RawSuite, models: &[ModelSpec]) {
        let classifier = |m: &ModelSpec| m.family == Family::Classifier;
        let classifying = raw.impact.rule == "classification";
        if let Some(i) = models.iter().position(|m| classifier(m) != classifying) {
            let (message, help) = if classifying {
                (
                    format!(
                        "model `{}` is a {} detector, but the impact rule is `classification`",
                        models[i].name,
                        models[i].family.name()
                    ),
                    "detectors take `rule: ground_truth` or `consistency`; put classifiers in a suite of their own",
                )
            } else {
                (
                    format!(
                        "model `{}` is a classifier, but the impact rule `{}` compares boxes",
                        models[i].name, raw.impact.rule
                    ),
                    "classifiers take `impact: {rule: classification}`; put detectors in a suite of their own",
                )
            };
            self.at_value(SuiteErrorKind::Inconsistent, &path!["models", i, "family"], message, Some(help.into()));
        }
        if classifying && raw.dataset.annotations.is_some() {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["dataset", "annotations"],
                "the `classification` rule needs one class per image, and COCO annotations give boxes".into(),
                Some("use `class_folders: true` with `images: <folder>/*/*.png`".into()),
            );
        }
        if !classifying && raw.dataset.class_folders {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["dataset", "class_folders"],
                "class folders label whole images, and box impact rules need boxes".into(),
                Some("use `impact: {rule: classification}` with classifiers".into()),
            );
        }
        if !classifying && raw.budgets.clean_top1 > 0.0 {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["budgets", "clean_top1"],
                "`clean_top1` is a classifier budget, for suites under the `classification` rule".into(),
                Some("use `clean_map50` for detectors".into()),
            );
        }
    }

    fn backend(&mut self, from_suite: Option<&str>, from_env: Option<&str>) -> Option<BackendKind> {
        let (name, at) = match (from_env, from_suite) {
            (Some(env), _) => (env, None),
            (None, Some(s)) => (s, Some(path!["backend"].to_vec())),
            (None, None) => return Some(BackendKind::default()),
        };
        if let Some(kind) = BackendKind::from_name(name) {
            return Some(kind);
        }
        let message = match &at {
            Some(_) => format!("unknown backend `{name}`"),
            None => format!("unknown backend `{name}` in environment variable {BACKEND_ENV}"),
        };
        let help = Some(format!("valid backends: {}", BackendKind::NAMES.join(", ")));
        self.at_value(SuiteErrorKind::UnknownBackend, &at.unwrap_or_default(), message, help);
        None
    }

    fn models(&mut self, raw: &RawSuite) -> Vec<ModelSpec> {
        if raw.models.is_empty() {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["models"],
                "a suite needs at least one model".into(),
                None,
            );
        }
        let mut seen = BTreeSet::new();
        let mut models = Vec::new();
        for (i, m) in raw.models.iter().enumerate() {
            self.name(&m.name, &path!["models", i, "name"], ".");
            if !seen.insert(m.name.clone()) {
                self.at_value(
                    SuiteErrorKind::Duplicate,
                    &path!["models", i, "name"],
                    format!("model `{}` is listed twice", m.name),
                    None,
                );
            }
            let path = self.existing_file(&m.path, &path!["models", i, "path"], "model file");
            let family = Family::from_name(&m.family);
            if family.is_none() {
                let help = match perturb::closest_of(&m.family, Family::NAMES) {
                    Some(close) => format!("did you mean `{close}`? Families: {}", Family::NAMES.join(", ")),
                    None => format!("families: {}", Family::NAMES.join(", ")),
                };
                self.at_value(
                    SuiteErrorKind::UnknownFamily,
                    &path!["models", i, "family"],
                    format!("unknown model family `{}`", m.family),
                    Some(help),
                );
            }
            if m.classes.is_empty() {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &path!["models", i, "classes"],
                    "a model needs its class names".into(),
                    None,
                );
            }
            let confidence = m.confidence.unwrap_or(ModelSpec::DEFAULT_CONFIDENCE);
            self.in_range(confidence, 0.0, 1.0, &path!["models", i, "confidence"], "confidence");
            let iou = m.iou.unwrap_or(ModelSpec::DEFAULT_IOU);
            self.in_range(iou, 0.0, 1.0, &path!["models", i, "iou"], "iou");
            if let Some([h, w]) = m.input_size {
                if h == 0 || w == 0 || h > 8192 || w > 8192 {
                    self.at_value(
                        SuiteErrorKind::OutOfRange,
                        &path!["models", i, "input_size"],
                        format!("input_size [{h}, {w}] is out of range 1..=8192"),
                        None,
                    );
                }
            }
            let max_detections = m.max_detections.unwrap_or(ModelSpec::DEFAULT_MAX_DETECTIONS);
            if max_detections == 0 {
                self.at_value(
                    SuiteErrorKind::OutOfRange,
                    &path!["models", i, "max_detections"],
                    "max_detections must be at least 1".into(),
                    None,
                );
            }
            let preprocess = self.preprocess(m.preprocess.as_ref(), &path!["models", i, "preprocess"]);
            if let (Some(family), Some(preprocess)) = (family, preprocess) {
                models.push(ModelSpec {
                    name: m.name.clone(),
                    path,
                    family,
                    classes: m.classes.clone(),
                    input_size: m.input_size,
                    confidence: confidence as f32,
                    iou: iou as f32,
                    max_detections,
                    preprocess,
                    ignore: m.ignore,
                });
            }
        }
        models
    }

    /// A model's `preprocess` overrides; `None` when one is invalid (each problem reported).
    fn preprocess(&mut self, raw: Option<&raw::RawPreprocess>, at: &[Seg]) -> Option<PreprocessSpec> {
        let Some(p) = raw else { return Some(PreprocessSpec::default()) };
        let key_at = |key: &str| {
            let mut k = at.to_vec();
            k.push(key.into());
            k
        };
        let resize =
            self.choice(p.resize.as_deref(), &key_at("resize"), &Resize::NAMES).map(|v| v.and_then(Resize::from_name));
        let channels = self
            .choice(p.channels.as_deref(), &key_at("channels"), &Channels::NAMES)
            .map(|v| v.and_then(Channels::from_name));
        let layout =
            self.choice(p.layout.as_deref(), &key_at("layout"), &Layout::NAMES).map(|v| v.and_then(Layout::from_name));
        let mut ok = true;
        for (key, values) in [("mean", p.mean), ("std", p.std)] {
            for (k, v) in values.iter().flatten().enumerate() {
                let fine = v.is_finite() && (key == "mean" || *v > 0.0);
                if !fine {
                    let mut e_at = key_at(key);
                    e_at.push(k.into());
                    let rule = if key == "std" { "a positive number" } else { "a finite number" };
                    self.at_value(SuiteErrorKind::OutOfRange, &e_at, format!("{key} must be {rule}, got {v}"), None);
                    ok = false;
                }
            }
        }
        if let Some(scale) = p.scale.filter(|s| !(s.is_finite() && *s > 0.0)) {
            self.at_value(
                SuiteErrorKind::OutOfRange,
                &key_at("scale"),
                format!("scale must be a positive number, got {scale}"),
                Some("pixel values are divided by it: 255 maps them to 0-1, 1 keeps 0-255".into()),
            );
            ok = false;
        }
        let f32s = |v: [f64; 3]| v.map(|x| x as f32);
        Some(PreprocessSpec {
            resize: resize?,
            mean: p.mean.map(f32s),
            std: p.std.map(f32s),
            channels: channels?,
            layout: layout?,
            scale: p.scale.map(|s| s as f32),
        })
        .filter(|_| ok)
    }

    /// A value that must be one of `names`: `Some(None)` when absent, `None` when unknown
    /// (reported with the closest name).
    fn choice<'a>(&mut self, value: Option<&'a str>, at: &[Seg], names: &[&str]) -> Option<Option<&'a str>> {
        let Some(value) = value else { return Some(None) };
        if names.contains(&value) {
            return Some(Some(value));
        }
        let key = match at.last() {
            Some(Seg::Key(k)) => k.clone(),
            _ => String::new(),
        };
        let help = match perturb::closest_of(value, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`? `{key}` takes: {}", names.join(", ")),
            None => format!("`{key}` takes: {}", names.join(", ")),
        };
        self.at_value(
            SuiteErrorKind::UnknownPreprocessing,
            at,
            format!("unknown preprocess {key} `{value}`"),
            Some(help),
        );
        None
    }

    fn dataset(&mut self, raw: &RawSuite) -> Option<DatasetSpec> {
        let d = &raw.dataset;
        let annotations =
            d.annotations.as_ref().map(|a| self.existing_file(a, &path!["dataset", "annotations"], "annotations file"));
        if d.class_folders && annotations.is_some() {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["dataset", "class_folders"],
                "`class_folders` labels images by folder, and `annotations` by a COCO file: choose one".into(),
                Some("classifiers take `class_folders: true`; detectors take COCO `annotations`".into()),
            );
        }
        if annotations.is_none() && !d.class_folders {
            if raw.impact.rule == "ground_truth" {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &path!["impact", "rule"],
                    "the `ground_truth` impact rule needs labels, and the dataset has no `annotations`".into(),
                    Some(
                        "use `rule: consistency` (compares with the clean predictions), or add COCO annotations".into(),
                    ),
                );
            }
            if raw.budgets.clean_map50 > 0.0 {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &path!["budgets", "clean_map50"],
                    "a clean mAP budget needs labels, and the dataset has no `annotations`".into(),
                    Some("remove `clean_map50`, or add COCO annotations".into()),
                );
            }
        }
        let glob = match Glob::new(&d.images) {
            Ok(g) => g,
            Err(e) => {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &path!["dataset", "images"],
                    format!("invalid glob: {}", e.kind()),
                    Some("e.g. `../data/val/images/*.jpg`".into()),
                );
                return None;
            }
        };
        if d.limit == Some(0) {
            self.at_value(
                SuiteErrorKind::OutOfRange,
                &path!["dataset", "limit"],
                "limit must be at least 1".into(),
                None,
            );
        }
        Some(DatasetSpec {
            annotations,
            root: self.dir.clone(),
            pattern: d.images.clone(),
            matcher: glob.compile_matcher(),
            limit: d.limit,
            class_folders: d.class_folders,
        })
    }

    fn impact(&mut self, raw: &RawSuite) -> Option<ImpactRule> {
        let i = &raw.impact;
        let ok = self.in_range(i.delta, 0.0, 1.0, &path!["impact", "delta"], "impact.delta")
            & self.in_range(i.iou, 0.0, 1.0, &path!["impact", "iou"], "impact.iou");
        let (delta, iou) = (i.delta as f32, i.iou as f32);
        let rule = match i.rule.as_str() {
            "ground_truth" => ImpactRule::GroundTruth { delta, iou },
            "consistency" => ImpactRule::Consistency { delta, iou },
            "classification" => ImpactRule::Classification { delta },
            other => {
                let help = Some(format!("impact rules: {}", ImpactRule::NAMES.join(", ")));
                self.at_value(
                    SuiteErrorKind::UnknownImpactRule,
                    &path!["impact", "rule"],
                    format!("unknown impact rule `{other}`"),
                    help,
                );
                return None;
            }
        };
        ok.then_some(rule)
    }

    fn risk_factors(&mut self, raw: &RawSuite) -> Vec<RiskFactorSpec> {
        let mut out = Vec::new();
        for (factor_name, rf) in &raw.risk_factors {
            let at = path!["risk_factors", factor_name.as_str()].to_vec();
            let Some(factor) = RiskFactor::from_name(factor_name) else {
                let names: Vec<_> = RiskFactor::ALL.iter().map(|f| f.name()).collect();
                let help = match perturb::closest_of(factor_name, names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`? Risk factors: {}", names.join(", ")),
                    None => format!("risk factors: {}", names.join(", ")),
                };
                self.at_key(
                    SuiteErrorKind::UnknownRiskFactor,
                    &at,
                    format!("unknown risk factor `{factor_name}`"),
                    Some(help),
                );
                continue;
            };
            let budget = rf.budget.unwrap_or(raw.budgets.factor_risk);
            let mut budget_at = at.clone();
            budget_at.push("budget".into());
            self.in_range(budget, 0.0, 100.0, &budget_at, "a risk factor's budget");
            let mut grids = Vec::new();
            for (name, params) in &rf.perturbations {
                let mut p_at = at.clone();
                p_at.extend(path!["perturbations", name.as_str()]);
                if let Some(grid) = self.grid(factor, name, params, &p_at) {
                    grids.push(grid);
                }
            }
            if rf.perturbations.is_empty() {
                self.at_value(
                    SuiteErrorKind::Inconsistent,
                    &at,
                    format!("risk factor `{factor_name}` lists no perturbations"),
                    None,
                );
            }
            out.push(RiskFactorSpec { factor, budget, grids });
        }
        if raw.risk_factors.is_empty() {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                &path!["risk_factors"],
                "a suite needs at least one risk factor".into(),
                None,
            );
        }
        out
    }

    fn grid(
        &mut self,
        factor: RiskFactor,
        name: &str,
        params: &std::collections::BTreeMap<String, raw::RawValues>,
        at: &[Seg],
    ) -> Option<Grid> {
        let Some(info) = perturb::lookup(name) else {
            let help = match perturb::closest(name) {
                Some(close) => format!("did you mean `{close}`? `shakedown perturb --list` shows the catalog"),
                None => "`shakedown perturb --list` shows the catalog".to_owned(),
            };
            self.at_key(SuiteErrorKind::UnknownPerturbation, at, format!("unknown perturbation `{name}`"), Some(help));
            return None;
        };
        if info.factor != factor {
            self.at_key(
                SuiteErrorKind::WrongRiskFactor,
                at,
                format!("`{name}` belongs to risk factor `{}`, not `{factor}`", info.factor),
                Some(format!("move it under `risk_factors.{}`", info.factor)),
            );
        }
        let mut axes: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
        let mut ok = true;
        let mut explicit = vec![false; info.params.len()];
        for (pname, values) in params {
            let mut v_at = at.to_vec();
            v_at.push(pname.as_str().into());
            if let raw::RawValues::Range(range) = &params[pname] {
                if let Some(problem) = range.problem() {
                    self.at_value(
                        SuiteErrorKind::OutOfRange,
                        &v_at,
                        problem,
                        Some("e.g. `{from: 1, to: 3, step: 0.5}`".into()),
                    );
                    ok = false;
                    continue;
                }
            }
            let values = values.to_vec();
            if values.is_empty() {
                self.at_value(SuiteErrorKind::Inconsistent, &v_at, format!("`{pname}` lists no values"), None);
                ok = false;
                continue;
            }
            if pname == "severity" {
                let mut points = Vec::new();
                for (k, &s) in values.iter().enumerate() {
                    let mut e_at = v_at.clone();
                    if matches!(params[pname], raw::RawValues::Many(_)) {
                        e_at.push(k.into());
                    }
                    if s.fract() != 0.0 || !(1.0..=5.0).contains(&s) {
                        self.at_value(
                            SuiteErrorKind::OutOfRange,
                            &e_at,
                            format!("severity must be an integer from 1 to 5, got {s}"),
                            None,
                        );
                        ok = false;
                    } else {
                        points.push(vec![s]);
                    }
                }
                axes.push(("severity".into(), points));
                continue;
            }
            let Some((index, pinfo)) = info.param(pname) else {
                let mut names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
                names.push("severity");
                let help = match perturb::closest_of(pname, names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`? `{name}` takes: {}", names.join(", ")),
                    None => format!("`{name}` takes: {}", names.join(", ")),
                };
                self.at_key(
                    SuiteErrorKind::UnknownParameter,
                    &v_at,
                    format!("`{name}` has no parameter `{pname}`"),
                    Some(help),
                );
                ok = false;
                continue;
            };
            explicit[index] = true;
            for (k, &value) in values.iter().enumerate() {
                let mut e_at = v_at.clone();
                if matches!(params[pname], raw::RawValues::Many(_)) {
                    e_at.push(k.into());
                }
                let what = format!("{name}.{pname} ({})", pinfo.unit);
                ok &= self.in_range(value, pinfo.min, pinfo.max, &e_at, &what);
            }
            axes.push((pname.clone(), values.into_iter().map(|v| vec![v]).collect()));
        }
        if axes.iter().any(|(n, _)| n == "severity") && explicit.iter().any(|&e| e) {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                at,
                format!("`{name}` mixes `severity` with explicit parameters"),
                Some("use either `severity: [...]` or parameter values, not both".into()),
            );
            return None;
        }
        if axes.is_empty() && ok && info.params.is_empty() {
            // A flip or a channel swap has one strength: `horizontal_flip: {}` is its whole grid.
            return Some(Grid {
                perturbation: info,
                points: vec![GridPoint { label: String::new(), values: Vec::new() }],
            });
        }
        if axes.is_empty() && ok {
            self.at_value(
                SuiteErrorKind::Inconsistent,
                at,
                format!("`{name}` needs a grid: `severity: [1, 3, 5]` or parameter values"),
                None,
            );
            return None;
        }
        ok.then(|| Grid { perturbation: info, points: cartesian(info, &axes) })
    }
}

/// Expand named value lists into grid points, in the order written (last axis fastest).
fn cartesian(info: &'static PerturbationInfo, axes: &[(String, Vec<Vec<f64>>)]) -> Vec<GridPoint> {
    let mut points = vec![(Vec::<String>::new(), info.params.iter().map(|p| p.default).collect::<Vec<_>>())];
    for (name, values) in axes {
        let mut next = Vec::new();
        for (labels, base) in &points {
            for v in values {
                let mut labels = labels.clone();
                labels.push(format!("{name}={}", v[0]));
                let values = if name == "severity" {
                    info.severities[v[0] as usize - 1].to_vec()
                } else {
                    let mut b = base.clone();
                    b[info.param(name).map(|(i, _)| i).unwrap_or(0)] = v[0];
                    b
                };
                next.push((labels, values));
            }
        }
        points = next;
    }
    points.into_iter().map(|(labels, values)| GridPoint { label: labels.join(","), values }).collect()
}

/// JSON schema of suite files, generated from `RawSuite` (committed as
/// `schemas/suite.schema.json`; a test fails when that copy is stale).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawSuite);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
