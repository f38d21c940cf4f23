//! The second parsing stage: a `RawSuite` of the right shape becomes a `Suite` whose every name
//! resolves, every file exists and every value is in range, or every problem is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use globset::Glob;
use miette::{NamedSource, SourceSpan};

use super::raw::{self, RawSuite};
use super::yaml::{self, nowhere, At, RawError};
use super::*;
use crate::errors::{Error, InvalidSuite, SuiteError, SuiteErrorKind};
use crate::onnx::ExportFacts;
use crate::vocab::{self, Backend, Channels, Family, Layout, Resize};

/// Collects every problem of one suite instead of stopping at the first.
pub(super) struct Validator {
    pub(super) path: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) source: String,
    pub(super) errors: Vec<SuiteError>,
}

impl Validator {
    pub(super) fn new(path: &Path, source: String) -> Self {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self { path: path.to_owned(), dir, source, errors: Vec::new() }
    }

    pub(super) fn into_error(self) -> Error {
        Error::Suite(Box::new(InvalidSuite { path: self.path, errors: self.errors }))
    }

    /// Report a problem at `span`.
    pub(super) fn at(&mut self, kind: SuiteErrorKind, span: SourceSpan, message: String, help: Option<String>) {
        self.errors.push(SuiteError {
            kind,
            message,
            source_code: NamedSource::new(self.path.display().to_string(), self.source.clone()),
            span,
            label: "here".to_owned(),
            help,
        });
    }

    /// A suite that serde-saphyr refused: not YAML, the wrong shape, or over a limit.
    pub(super) fn raw_error(&mut self, e: RawError) {
        let help = match e.kind {
            SuiteErrorKind::Schema => "see schemas/suite.schema.json for every key and type (editors with the YAML \
                                       language server check it as you type)"
                .to_owned(),
            SuiteErrorKind::TooDeep | SuiteErrorKind::TooLarge => format!(
                "a suite nests at most {} levels and has at most {} YAML nodes: is this the right file?",
                yaml::MAX_DEPTH,
                yaml::MAX_NODES
            ),
            SuiteErrorKind::Duplicate => "each key may appear once in its map".to_owned(),
            _ => "this is not valid YAML: check indentation, colons and brackets".to_owned(),
        };
        self.at(e.kind, e.span, e.message, Some(help));
    }

    /// A suite file over the size limit, refused before it is read or parsed.
    pub(super) fn too_large(&mut self, bytes: u64) {
        self.at(
            SuiteErrorKind::TooLarge,
            nowhere(),
            format!("the suite is {bytes} bytes, over the limit of {} bytes", yaml::MAX_SUITE_BYTES),
            Some("suites list models and perturbations, and stay a few KiB: is this the right file?".into()),
        );
    }

    pub(super) fn existing_file(&mut self, relative: &At<String>, what: &str) -> PathBuf {
        let path = self.dir.join(&relative.value);
        if !path.is_file() {
            self.at(
                SuiteErrorKind::MissingFile,
                relative.span(),
                format!("{what} {} does not exist", path.display()),
                Some(format!("paths are relative to the suite file's folder, {}", self.dir.display())),
            );
        }
        path
    }

    pub(super) fn name(&mut self, name: &At<String>, extra: &str) {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || extra.contains(c));
        if !ok {
            self.at(
                SuiteErrorKind::InvalidName,
                name.span(),
                format!("`{}` is not a valid name", name.value),
                Some(format!("use lowercase letters, digits, `_`, `-`{extra}: names become test names and file names")),
            );
        }
    }

    pub(super) fn in_range(&mut self, value: f64, lo: f64, hi: f64, span: SourceSpan, what: &str) -> bool {
        let ok = value.is_finite() && (lo..=hi).contains(&value);
        if !ok {
            self.at(
                SuiteErrorKind::OutOfRange,
                span,
                format!("{what} must be between {lo} and {hi}, got {value}"),
                None,
            );
        }
        ok
    }

    pub(super) fn suite(&mut self, raw: RawSuite, backend_env: Option<&str>) -> Option<Suite> {
        self.name(&raw.name, "");
        let backend = self.backend(raw.backend.as_ref(), backend_env);
        let models = self.models(&raw);
        let dataset = self.dataset(&raw);
        let impact = self.impact(&raw);
        let risk_factors = self.risk_factors(&raw);
        let b = &raw.budgets;
        for (value, lo, hi, what) in [
            (&b.risk, 0.0, 100.0, "budgets.risk"),
            (&b.factor_risk, 0.0, 100.0, "budgets.factor_risk"),
            (&b.clean_map50, 0.0, 1.0, "budgets.clean_map50"),
            (&b.clean_top1, 0.0, 1.0, "budgets.clean_top1"),
        ] {
            self.in_range(**value, lo, hi, value.span(), what);
        }
        self.task(&raw, &models);
        let t = &raw.tolerance;
        self.in_range(*t.risk, 0.0, 100.0, t.risk.span(), "tolerance.risk");
        self.in_range(*t.metric, 0.0, 1.0, t.metric.span(), "tolerance.metric");
        Some(Suite {
            name: raw.name.value,
            path: self.path.clone(),
            seed: raw.seed,
            backend: backend?,
            models,
            dataset: dataset?,
            impact: impact?,
            risk_factors,
            budgets: Budgets { risk: *b.risk, clean_map50: *b.clean_map50, clean_top1: *b.clean_top1 },
            tolerance: Tolerance { risk: *t.risk, metric: *t.metric },
        })
    }

    /// One task per suite: classifiers with class folders and the `classification` rule, or
    /// detectors with COCO boxes (or no labels) and a box rule.
    pub(super) fn task(&mut self, raw: &RawSuite, models: &[ModelSpec]) {
        let classifier = |m: &ModelSpec| m.family == Family::Classifier;
        let rule = &raw.impact.rule;
        let classifying = rule.as_str() == "classification";
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
                        models[i].name, rule.value
                    ),
                    "classifiers take `impact: {rule: classification}`; put detectors in a suite of their own",
                )
            };
            // `models` holds only the models that resolved: find the one written under that name.
            let span = raw
                .models
                .iter()
                .find(|m| m.name.value == models[i].name)
                .map_or(nowhere(), |m| m.family.as_ref().map_or(m.name.span(), |f| f.span()));
            self.at(SuiteErrorKind::Inconsistent, span, message, Some(help.into()));
        }
        let d = &raw.dataset;
        if let (true, Some(yolo)) = (classifying, &d.yolo) {
            self.at(
                SuiteErrorKind::Inconsistent,
                yolo.span(),
                "the `classification` rule needs one class per image, and YOLO labels give boxes".into(),
                Some("use `class_folders: true` with `images: <folder>/*/*.png`".into()),
            );
        }
        if let (true, Some(annotations)) = (classifying, &d.annotations) {
            self.at(
                SuiteErrorKind::Inconsistent,
                annotations.span(),
                "the `classification` rule needs one class per image, and COCO annotations give boxes".into(),
                Some("use `class_folders: true` with `images: <folder>/*/*.png`".into()),
            );
        }
        if !classifying && *d.class_folders {
            self.at(
                SuiteErrorKind::Inconsistent,
                d.class_folders.span(),
                "class folders label whole images, and box impact rules need boxes".into(),
                Some("use `impact: {rule: classification}` with classifiers".into()),
            );
        }
        if !classifying && *raw.budgets.clean_top1 > 0.0 {
            self.at(
                SuiteErrorKind::Inconsistent,
                raw.budgets.clean_top1.span(),
                "`clean_top1` is a classifier budget, for suites under the `classification` rule".into(),
                Some("use `clean_map50` for detectors".into()),
            );
        }
    }

    pub(super) fn backend(&mut self, from_suite: Option<&At<String>>, from_env: Option<&str>) -> Option<Backend> {
        // The environment's backend has no place in the file: its problems point at the start.
        let (name, span) = match (from_env, from_suite) {
            (Some(env), _) => (env, None),
            (None, Some(s)) => (s.as_str(), Some(s.span())),
            (None, None) => return Some(Backend::default()),
        };
        if let Some(kind) = Backend::parse(name) {
            return Some(kind);
        }
        let message = match span {
            Some(_) => format!("unknown backend `{name}`"),
            None => format!("unknown backend `{name}` in environment variable {}", crate::config::BACKEND),
        };
        let help = Some(vocab::did_you_mean(name, "backends", Backend::NAMES.iter().copied()));
        self.at(SuiteErrorKind::UnknownBackend, span.unwrap_or(nowhere()), message, help);
        None
    }

    pub(super) fn models(&mut self, raw: &RawSuite) -> Vec<ModelSpec> {
        if raw.models.is_empty() {
            self.at(SuiteErrorKind::Inconsistent, raw.models.span(), "a suite needs at least one model".into(), None);
        }
        let mut seen = BTreeSet::new();
        let mut models = Vec::new();
        for m in raw.models.iter() {
            self.name(&m.name, ".");
            if !seen.insert(m.name.value.clone()) {
                self.at(
                    SuiteErrorKind::Duplicate,
                    m.name.span(),
                    format!("model `{}` is listed twice", m.name.value),
                    None,
                );
            }
            let path = self.existing_file(&m.path, "model file");
            // What the export says about itself fills in what the suite leaves out, and a suite
            // that contradicts it is told so.
            let facts =
                path.is_file().then(|| crate::onnx::inspect(&path).ok()).flatten().and_then(|f| f.ultralytics());
            let family = self.family(m, facts.as_ref());
            let classes = self.classes(m, facts.as_ref());
            let confidence = self.optional_in_range(m.confidence.as_ref(), ModelSpec::DEFAULT_CONFIDENCE, "confidence");
            let iou = self.optional_in_range(m.iou.as_ref(), ModelSpec::DEFAULT_IOU, "iou");
            if let Some(size @ At { value: [h, w], .. }) = &m.input_size {
                if *h == 0 || *w == 0 || *h > 8192 || *w > 8192 {
                    self.at(
                        SuiteErrorKind::OutOfRange,
                        size.span(),
                        format!("input_size [{h}, {w}] is out of range 1..=8192"),
                        None,
                    );
                }
            }
            let max_detections = m.max_detections.as_ref().map_or(ModelSpec::DEFAULT_MAX_DETECTIONS, |d| d.value);
            if let Some(d) = m.max_detections.as_ref().filter(|d| d.value == 0) {
                self.at(SuiteErrorKind::OutOfRange, d.span(), "max_detections must be at least 1".into(), None);
            }
            let preprocess = self.preprocess(m.preprocess.as_ref());
            if let (Some(family), Some(preprocess)) = (family, preprocess) {
                models.push(ModelSpec {
                    name: m.name.value.clone(),
                    path,
                    family,
                    classes,
                    input_size: m.input_size.as_ref().map(|s| s.value),
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

    /// A model's family: the suite's, else the one its export's metadata implies; a suite
    /// family of the other task than the export's (detector vs classifier) is an error.
    fn family(&mut self, m: &raw::RawModel, facts: Option<&ExportFacts>) -> Option<Family> {
        let exported = facts.and_then(|f| f.family);
        let Some(written) = &m.family else {
            if exported.is_none() {
                let help = vocab::did_you_mean("", "families", Family::NAMES.iter().copied());
                self.at(
                    SuiteErrorKind::Inconsistent,
                    m.name.span(),
                    format!("model `{}` needs a `family`: its file does not say its task", m.name.value),
                    Some(help),
                );
            }
            return exported;
        };
        let Some(family) = Family::from_name(written) else {
            let help = vocab::did_you_mean(written, "families", Family::NAMES.iter().copied());
            let message = format!("unknown model family `{}`", written.value);
            self.at(SuiteErrorKind::UnknownFamily, written.span(), message, Some(help));
            return None;
        };
        let classifier = |f: Family| f == Family::Classifier;
        if let (Some(exported), Some(facts)) = (exported, facts) {
            if classifier(exported) != classifier(family) {
                let task = facts.task.as_deref().unwrap_or("?");
                self.at(
                    SuiteErrorKind::Inconsistent,
                    written.span(),
                    format!(
                        "model `{}` is exported for task `{task}`, but the suite says family `{family}`",
                        m.name.value
                    ),
                    Some(format!("its metadata implies family `{exported}`; remove `family` to use it")),
                );
            }
        }
        Some(family)
    }

    /// A model's classes: the suite's, else its export's `names`. A suite that lists another
    /// number of classes than the export names is an error; other names of the same count are
    /// fine (renamed to match the dataset's categories).
    fn classes(&mut self, m: &raw::RawModel, facts: Option<&ExportFacts>) -> Vec<String> {
        let exported = facts.map(|f| f.classes.clone()).filter(|c| !c.is_empty());
        let from_file = m.classes_file.as_ref().map(|file| {
            if let Some(listed) = &m.classes {
                let help = Some("keep one of them".to_owned());
                self.at(
                    SuiteErrorKind::Inconsistent,
                    listed.span(),
                    "give `classes` or `classes_file`, not both".into(),
                    help,
                );
            }
            self.class_names_file(file).map(|names| file.with(names))
        });
        // A classes file that cannot be read has been reported.
        let from_file = match from_file {
            Some(None) => return Vec::new(),
            Some(Some(names)) => Some(names),
            None => None,
        };
        let Some(written) = from_file.as_ref().or(m.classes.as_ref()) else {
            return exported.unwrap_or_else(|| {
                let message = format!("model `{}` needs its class names: its file does not name them", m.name.value);
                let help = Some("add `classes: [a, b, …]` or `classes_file: names.txt` (one per line)".into());
                self.at(SuiteErrorKind::Inconsistent, m.name.span(), message, help);
                Vec::new()
            });
        };
        if written.is_empty() {
            self.at(SuiteErrorKind::Inconsistent, written.span(), "a model needs its class names".into(), None);
        }
        if let Some(exported) = exported.filter(|e| !written.is_empty() && e.len() != written.len()) {
            self.at(
                SuiteErrorKind::Inconsistent,
                written.span(),
                format!("`classes` lists {} classes, but the export names {}", written.len(), exported.len()),
                Some(format!("remove `classes` to use the export's: {}", exported.join(", "))),
            );
        }
        written.value.clone()
    }

    /// The names in a `classes_file`: one per line, surrounding blanks and empty lines dropped;
    /// `None` when it cannot be read (reported).
    fn class_names_file(&mut self, file: &At<String>) -> Option<Vec<String>> {
        let path = self.existing_file(file, "classes file");
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()),
            Err(e) => {
                if path.is_file() {
                    let message = format!("cannot read classes file {}: {e}", path.display());
                    let help = Some("a UTF-8 text file, one name per line".into());
                    self.at(SuiteErrorKind::MissingFile, file.span(), message, help);
                }
                None
            }
        }
    }

    /// A 0-1 model setting, or its default when the suite leaves it out.
    fn optional_in_range(&mut self, value: Option<&At<f64>>, default: f64, what: &str) -> f64 {
        match value {
            Some(v) => {
                self.in_range(v.value, 0.0, 1.0, v.span(), what);
                v.value
            }
            None => default,
        }
    }

    /// A model's `preprocess` overrides; `None` when one is invalid (each problem reported).
    pub(super) fn preprocess(&mut self, raw: Option<&raw::RawPreprocess>) -> Option<PreprocessSpec> {
        let Some(p) = raw else { return Some(PreprocessSpec::default()) };
        let resize = self.choice(p.resize.as_ref(), "resize", Resize::NAMES).map(|v| v.and_then(Resize::from_name));
        let channels =
            self.choice(p.channels.as_ref(), "channels", Channels::NAMES).map(|v| v.and_then(Channels::from_name));
        let layout = self.choice(p.layout.as_ref(), "layout", Layout::NAMES).map(|v| v.and_then(Layout::from_name));
        let mut ok = true;
        for (key, values) in [("mean", &p.mean), ("std", &p.std)] {
            for v in values.iter().flatten() {
                let fine = v.is_finite() && (key == "mean" || v.value > 0.0);
                if !fine {
                    let rule = if key == "std" { "a positive number" } else { "a finite number" };
                    self.at(
                        SuiteErrorKind::OutOfRange,
                        v.span(),
                        format!("{key} must be {rule}, got {}", v.value),
                        None,
                    );
                    ok = false;
                }
            }
        }
        if let Some(scale) = p.scale.as_ref().filter(|s| !(s.is_finite() && s.value > 0.0)) {
            self.at(
                SuiteErrorKind::OutOfRange,
                scale.span(),
                format!("scale must be a positive number, got {}", scale.value),
                Some("pixel values are divided by it: 255 maps them to 0-1, 1 keeps 0-255".into()),
            );
            ok = false;
        }
        let f32s = |v: &[At<f64>; 3]| [v[0].value as f32, v[1].value as f32, v[2].value as f32];
        Some(PreprocessSpec {
            resize: resize?,
            mean: p.mean.as_ref().map(f32s),
            std: p.std.as_ref().map(f32s),
            channels: channels?,
            layout: layout?,
            scale: p.scale.as_ref().map(|s| s.value as f32),
        })
        .filter(|_| ok)
    }

    /// A value that must be one of `names`: `Some(None)` when absent, `None` when unknown
    /// (reported with the closest name).
    pub(super) fn choice<'a>(
        &mut self,
        value: Option<&'a At<String>>,
        key: &str,
        names: &[&str],
    ) -> Option<Option<&'a str>> {
        let Some(value) = value else { return Some(None) };
        if names.contains(&value.as_str()) {
            return Some(Some(value.as_str()));
        }
        let help = vocab::did_you_mean(value, &format!("`{key}` takes"), names.iter().copied());
        self.at(
            SuiteErrorKind::UnknownPreprocessing,
            value.span(),
            format!("unknown preprocess {key} `{}`", value.value),
            Some(help),
        );
        None
    }

    pub(super) fn dataset(&mut self, raw: &RawSuite) -> Option<DatasetSpec> {
        let d = &raw.dataset;
        let annotations = d.annotations.as_ref().map(|a| self.existing_file(a, "annotations file"));
        let yolo = self.yolo(d);
        if *d.class_folders && annotations.is_some() {
            self.at(
                SuiteErrorKind::Inconsistent,
                d.class_folders.span(),
                "`class_folders` labels images by folder, and `annotations` by a COCO file: choose one".into(),
                Some("classifiers take `class_folders: true`; detectors take COCO `annotations`".into()),
            );
        }
        if annotations.is_none() && d.yolo.is_none() && !*d.class_folders {
            if raw.impact.rule.as_str() == "ground_truth" {
                // `ground_truth` is also the default: then point at `impact`, or the file's start.
                self.at(
                    SuiteErrorKind::Inconsistent,
                    raw.impact.rule.span_or(raw.impact.span()),
                    "the `ground_truth` impact rule needs labels, and the dataset has no `annotations`".into(),
                    Some(
                        "use `rule: consistency` (compares with the clean predictions), or add COCO annotations".into(),
                    ),
                );
            }
            if *raw.budgets.clean_map50 > 0.0 {
                self.at(
                    SuiteErrorKind::Inconsistent,
                    raw.budgets.clean_map50.span(),
                    "a clean mAP budget needs labels, and the dataset has no `annotations`".into(),
                    Some("remove `clean_map50`, or add COCO annotations".into()),
                );
            }
        }
        if let Some(limit) = d.limit.as_ref().filter(|l| l.value == 0) {
            self.at(SuiteErrorKind::OutOfRange, limit.span(), "limit must be at least 1".into(), None);
        }
        let limit = d.limit.as_ref().map(|l| l.value);
        let spec = |pattern: String, matcher, yolo| DatasetSpec {
            annotations,
            root: self.dir.clone(),
            pattern,
            matcher,
            limit,
            class_folders: *d.class_folders,
            yolo,
        };
        if d.yolo.is_some() {
            // The split lists the images: the glob matches everything and is never consulted.
            let all = Glob::new("**").expect("a valid glob").compile_matcher();
            return Some(spec(String::new(), all, Some(yolo?)));
        }
        let Some(images) = &d.images else {
            self.at(
                SuiteErrorKind::Inconsistent,
                d.span(),
                "the dataset needs `images` (a glob of image files) or `yolo` (a YOLO data.yaml)".into(),
                Some("e.g. `images: ../data/val/images/*.jpg`, or `yolo: ../data/data.yaml`".into()),
            );
            return None;
        };
        let glob = match Glob::new(images) {
            Ok(g) => g,
            Err(e) => {
                self.at(
                    SuiteErrorKind::Inconsistent,
                    images.span(),
                    format!("invalid glob: {}", e.kind()),
                    Some("e.g. `../data/val/images/*.jpg`".into()),
                );
                return None;
            }
        };
        Some(spec(images.value.clone(), glob.compile_matcher(), None))
    }

    /// `yolo` and `split`: the data.yaml exists, the split is known, and no key that selects or
    /// labels images another way is written beside it. `None` without `yolo` or on a problem.
    fn yolo(&mut self, d: &raw::RawDataset) -> Option<YoloSpec> {
        let split = match &d.split {
            None => Some(Split::default()),
            Some(s) => Split::from_name(s).or_else(|| {
                let help = vocab::did_you_mean(s, "splits", Split::NAMES.iter().copied());
                self.at(SuiteErrorKind::UnknownSplit, s.span(), format!("unknown split `{}`", s.value), Some(help));
                None
            }),
        };
        let Some(yolo) = &d.yolo else {
            if let Some(s) = &d.split {
                self.at(
                    SuiteErrorKind::Inconsistent,
                    s.span(),
                    "`split` picks a split of a YOLO data.yaml, and the dataset has no `yolo`".into(),
                    Some("add `yolo: <data.yaml>`, or remove `split`".into()),
                );
            }
            return None;
        };
        let data = self.existing_file(yolo, "YOLO data file");
        let mut ok = data.is_file() && split.is_some();
        let others = [
            (d.annotations.as_ref().map(At::span), "`annotations` (a COCO file) label the images too"),
            (d.images.as_ref().map(At::span), "the data.yaml's split lists the images, so `images` has no place"),
            (d.class_folders.then(|| d.class_folders.span()), "`class_folders` label images by folder"),
        ];
        for (span, why) in others {
            let Some(span) = span else { continue };
            self.at(
                SuiteErrorKind::Inconsistent,
                span,
                format!("with `yolo`, {why}: choose one"),
                Some(
                    "`yolo: data.yaml` with `split: val` reads the images and their labels; `limit` keeps the first N"
                        .into(),
                ),
            );
            ok = false;
        }
        ok.then(|| YoloSpec { data, split: split.unwrap_or_default() })
    }

    pub(super) fn impact(&mut self, raw: &RawSuite) -> Option<ImpactRule> {
        let i = &raw.impact;
        let ok = self.in_range(*i.delta, 0.0, 1.0, i.delta.span(), "impact.delta")
            & self.in_range(*i.iou, 0.0, 1.0, i.iou.span(), "impact.iou");
        let (delta, iou) = (*i.delta as f32, *i.iou as f32);
        let rule = match i.rule.as_str() {
            "ground_truth" => ImpactRule::GroundTruth { delta, iou },
            "consistency" => ImpactRule::Consistency { delta, iou },
            "classification" => ImpactRule::Classification { delta },
            other => {
                let help = Some(vocab::did_you_mean(other, "impact rules", ImpactRuleKind::NAMES.iter().copied()));
                self.at(
                    SuiteErrorKind::UnknownImpactRule,
                    i.rule.span(),
                    format!("unknown impact rule `{other}`"),
                    help,
                );
                return None;
            }
        };
        ok.then_some(rule)
    }
}
