//! The second parsing stage: a `RawSuite` of the right shape becomes a `Suite` whose every name
//! resolves, every file exists and every value is in range, or every problem is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use globset::Glob;
use miette::{NamedSource, SourceSpan};

use super::raw::{self, RawSuite};
use super::source_map::{Seg, SourceMap};
use super::*;
use crate::errors::{Error, InvalidSuite, SuiteError, SuiteErrorKind};
use crate::path;
use crate::vocab::{self, Backend, Channels, Family, Layout, Resize};

/// Collects every problem of one suite instead of stopping at the first.
pub(super) struct Validator {
    pub(super) path: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) source: String,
    pub(super) map: SourceMap,
    pub(super) errors: Vec<SuiteError>,
}

impl Validator {
    pub(super) fn new(path: &Path, source: String) -> Self {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let map = SourceMap::new(&source);
        Self { path: path.to_owned(), dir, source, map, errors: Vec::new() }
    }

    pub(super) fn into_error(self) -> Error {
        Error::Suite(Box::new(InvalidSuite { path: self.path, errors: self.errors }))
    }

    pub(super) fn push(
        &mut self,
        kind: SuiteErrorKind,
        span: SourceSpan,
        message: String,
        label: &str,
        help: Option<String>,
    ) {
        self.errors.push(SuiteError {
            kind,
            message,
            source_code: NamedSource::new(self.path.display().to_string(), self.source.clone()),
            span,
            label: label.to_owned(),
            help,
        });
    }

    pub(super) fn at_value(&mut self, kind: SuiteErrorKind, at: &[Seg], message: String, help: Option<String>) {
        let span = self.map.value(at);
        self.push(kind, span, message, "here", help);
    }

    pub(super) fn at_key(&mut self, kind: SuiteErrorKind, at: &[Seg], message: String, help: Option<String>) {
        let span = self.map.key(at);
        self.push(kind, span, message, "here", help);
    }

    pub(super) fn serde_error(&mut self, e: &serde_yaml::Error) {
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

    pub(super) fn existing_file(&mut self, relative: &str, at: &[Seg], what: &str) -> PathBuf {
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

    pub(super) fn name(&mut self, name: &str, at: &[Seg], extra: &str) {
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

    pub(super) fn in_range(&mut self, value: f64, lo: f64, hi: f64, at: &[Seg], what: &str) -> bool {
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

    pub(super) fn suite(&mut self, raw: RawSuite, backend_env: Option<&str>) -> Option<Suite> {
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
    pub(super) fn task(&mut self, raw: &RawSuite, models: &[ModelSpec]) {
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

    pub(super) fn backend(&mut self, from_suite: Option<&str>, from_env: Option<&str>) -> Option<Backend> {
        let (name, at) = match (from_env, from_suite) {
            (Some(env), _) => (env, None),
            (None, Some(s)) => (s, Some(path!["backend"].to_vec())),
            (None, None) => return Some(Backend::default()),
        };
        if let Some(kind) = Backend::parse(name) {
            return Some(kind);
        }
        let message = match &at {
            Some(_) => format!("unknown backend `{name}`"),
            None => format!("unknown backend `{name}` in environment variable {}", crate::config::BACKEND),
        };
        let help = Some(vocab::did_you_mean(name, "backends", Backend::NAMES.iter().copied()));
        self.at_value(SuiteErrorKind::UnknownBackend, &at.unwrap_or_default(), message, help);
        None
    }

    pub(super) fn models(&mut self, raw: &RawSuite) -> Vec<ModelSpec> {
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
                let help = vocab::did_you_mean(&m.family, "families", Family::NAMES.iter().copied());
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
    pub(super) fn preprocess(&mut self, raw: Option<&raw::RawPreprocess>, at: &[Seg]) -> Option<PreprocessSpec> {
        let Some(p) = raw else { return Some(PreprocessSpec::default()) };
        let key_at = |key: &str| {
            let mut k = at.to_vec();
            k.push(key.into());
            k
        };
        let resize =
            self.choice(p.resize.as_deref(), &key_at("resize"), Resize::NAMES).map(|v| v.and_then(Resize::from_name));
        let channels = self
            .choice(p.channels.as_deref(), &key_at("channels"), Channels::NAMES)
            .map(|v| v.and_then(Channels::from_name));
        let layout =
            self.choice(p.layout.as_deref(), &key_at("layout"), Layout::NAMES).map(|v| v.and_then(Layout::from_name));
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
    pub(super) fn choice<'a>(&mut self, value: Option<&'a str>, at: &[Seg], names: &[&str]) -> Option<Option<&'a str>> {
        let Some(value) = value else { return Some(None) };
        if names.contains(&value) {
            return Some(Some(value));
        }
        let key = match at.last() {
            Some(Seg::Key(k)) => k.clone(),
            _ => String::new(),
        };
        let help = vocab::did_you_mean(value, &format!("`{key}` takes"), names.iter().copied());
        self.at_value(
            SuiteErrorKind::UnknownPreprocessing,
            at,
            format!("unknown preprocess {key} `{value}`"),
            Some(help),
        );
        None
    }

    pub(super) fn dataset(&mut self, raw: &RawSuite) -> Option<DatasetSpec> {
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

    pub(super) fn impact(&mut self, raw: &RawSuite) -> Option<ImpactRule> {
        let i = &raw.impact;
        let ok = self.in_range(i.delta, 0.0, 1.0, &path!["impact", "delta"], "impact.delta")
            & self.in_range(i.iou, 0.0, 1.0, &path!["impact", "iou"], "impact.iou");
        let (delta, iou) = (i.delta as f32, i.iou as f32);
        let rule = match i.rule.as_str() {
            "ground_truth" => ImpactRule::GroundTruth { delta, iou },
            "consistency" => ImpactRule::Consistency { delta, iou },
            "classification" => ImpactRule::Classification { delta },
            other => {
                let help = Some(vocab::did_you_mean(other, "impact rules", ImpactRuleKind::NAMES.iter().copied()));
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
}
