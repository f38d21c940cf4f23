//! Computes case outcomes, sharing work across the tests of one process: each model is loaded
//! once and its clean predictions made once, each case computed once (a risk-factor test reuses
//! its cases' results), whichever test asks first. Images stream through inference one per
//! worker (decode → perturb → infer → per-image result), kept decoded only within the memory
//! budget (`images.rs`). Across processes the prediction cache (`cache.rs`) shares predictions:
//! a cached case loads no model and decodes no image.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use image::RgbImage;
use rayon::prelude::*;

use super::cache::{self, ImagePart, Key, KeyBuilder, PredictionCache};
use super::images::{self, DecodedImages};
use crate::dataset::{self, Dataset};
use crate::errors::{DatasetError, Error, ModelError};
use crate::metrics::coco_eval::CocoStats;
use crate::metrics::impact::{self, ImageImpact, LabeledBox};
use crate::metrics::{self, classification, ClassMap, Validation};
use crate::model::Model;
use crate::outcome::{CleanOutcome, FactorOutcome, PerturbedOutcome, Predictions, SearchOutcome, WORST_DRAWN};
use crate::perturb::{self, Homography, Perturbation, PerturbationInfo};
use crate::suite::expand::{self, Case};
use crate::suite::{ModelSpec, Suite, SEARCH_STEPS};
use crate::vocab::Family;

type Shared<T> = Result<Arc<T>, Arc<Error>>;

/// Per-image results of a model over the dataset, with how a perturbation moved each image.
type Inferred<T> = Result<(T, Vec<Option<Homography>>), Arc<Error>>;

/// One perturbation setting: a grid point, or a point a breaking-point search tries.
struct Setting {
    perturbation: &'static PerturbationInfo,
    values: Vec<f64>,
    /// Its name after the model in test names, and the seed key of its random draws.
    key: String,
}

/// A case's predictions, ready for its outcome.
struct Predicted {
    /// Detectors: the boxes the impact rule reads (mAP's lists already matched and dropped).
    predictions: Predictions,
    /// How a geometric perturbation moved each image.
    motions: Vec<Option<Homography>>,
    /// A detector's COCO stats on a labeled dataset.
    coco: Option<CocoStats>,
}

/// The dataset with each image's size and labels; pixels are decoded when a case needs them.
pub struct Loaded {
    pub dataset: Dataset,
    /// Each image's `(width, height)`, from its header.
    pub dims: Vec<(u32, u32)>,
    pub labels: Vec<Vec<LabeledBox>>,
    /// Decoded pixels, kept within the memory budget.
    pub images: DecodedImages,
    /// Each image file's blake3 hash, for cache keys (empty without a cache).
    digests: Vec<[u8; 32]>,
}

struct ModelSlot {
    model: OnceLock<Shared<(Model, ClassMap)>>,
    classes: OnceLock<Shared<ClassMap>>,
    /// The model file's blake3 hash, for cache keys.
    digest: OnceLock<Option<[u8; 32]>>,
    /// Where inference ran, from the loaded model or a cache entry.
    runs_on: OnceLock<&'static str>,
    clean: OnceLock<Shared<CleanOutcome>>,
    /// Indexed like `expand::factor_points` flattened over factors.
    perturbed: Vec<Vec<OnceLock<Shared<PerturbedOutcome>>>>,
    factors: Vec<OnceLock<Shared<FactorOutcome>>>,
    /// Breaking-point searches, per factor and grid.
    searches: Vec<Vec<OnceLock<Shared<SearchOutcome>>>>,
}

/// How `spec`'s classes map to the dataset's categories; an error when none does.
pub(super) fn class_map(spec: &ModelSpec, dataset: &Dataset) -> Result<ClassMap, Error> {
    let classes = ClassMap::new(&spec.classes, dataset);
    if !classes.matches_any() {
        let names: Vec<&str> = dataset.categories.iter().map(|c| c.name.as_str()).take(10).collect();
        return Err(Error::Dataset(DatasetError::Selection {
            message: format!(
                "none of model {}'s classes ({}) is a category of the dataset",
                spec.name,
                spec.classes.join(", ")
            ),
            help: Some(format!("`classes` must use the dataset's category names: {}", names.join(", "))),
        }));
    }
    Ok(classes)
}

/// One suite's shared state for the duration of a test process.
pub struct SuiteRun {
    pub suite: Suite,
    pub cases: Vec<Case>,
    loaded: OnceLock<Shared<Loaded>>,
    models: Vec<ModelSlot>,
    timings: Mutex<Vec<(String, Duration)>>,
    cache: Option<PredictionCache>,
    /// Bytes of decoded pixels kept between cases.
    image_memory: u64,
}

impl SuiteRun {
    pub fn new(suite: Suite) -> Self {
        let cases = expand::expand(&suite);
        let models = suite
            .models
            .iter()
            .map(|_| ModelSlot {
                model: OnceLock::new(),
                classes: OnceLock::new(),
                digest: OnceLock::new(),
                runs_on: OnceLock::new(),
                clean: OnceLock::new(),
                perturbed: (0..suite.risk_factors.len())
                    .map(|f| expand::factor_points(&suite, f).iter().map(|_| OnceLock::new()).collect())
                    .collect(),
                factors: suite.risk_factors.iter().map(|_| OnceLock::new()).collect(),
                searches: suite
                    .risk_factors
                    .iter()
                    .map(|rf| rf.grids.iter().map(|_| OnceLock::new()).collect())
                    .collect(),
            })
            .collect();
        Self {
            suite,
            cases,
            loaded: OnceLock::new(),
            models,
            timings: Mutex::new(Vec::new()),
            cache: None,
            image_memory: images::default_budget(),
        }
    }

    /// Keep predictions in `cache` (none by default).
    pub fn with_cache(mut self, cache: Option<PredictionCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Keep at most `bytes` of decoded pixels between cases (`SHAKEDOWN_MEMORY`; by default
    /// [`images::default_budget`]).
    pub fn with_image_memory(mut self, bytes: u64) -> Self {
        self.image_memory = bytes;
        self
    }

    fn timed<T>(&self, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        if let Ok(mut t) = self.timings.lock() {
            t.push((what(), start.elapsed()));
        }
        out
    }

    /// Time spent per step so far, in the order the steps finished.
    pub fn timings(&self) -> Vec<(String, Duration)> {
        self.timings.lock().map(|t| t.clone()).unwrap_or_default()
    }

    pub fn loaded(&self) -> Shared<Loaded> {
        self.loaded
            .get_or_init(|| {
                self.timed(
                    || "load dataset".into(),
                    || {
                        let dataset = Dataset::load(&self.suite.dataset)?;
                        let dims = dataset.dimensions()?;
                        let labels = (0..dataset.images.len()).map(|i| metrics::labels(&dataset, i)).collect();
                        let digests = match &self.cache {
                            // Headers just read, so readable; a failure only means no caching.
                            Some(_) => dataset
                                .images
                                .par_iter()
                                .map(|r| cache::file_digest(&r.path).ok())
                                .collect::<Option<Vec<_>>>()
                                .unwrap_or_default(),
                            None => Vec::new(),
                        };
                        let images = DecodedImages::new(dims.len(), self.image_memory);
                        Ok(Arc::new(Loaded { dataset, dims, labels, images, digests }))
                    },
                )
                .map_err(|e: Error| Arc::new(e))
            })
            .clone()
    }

    pub fn model(&self, m: usize) -> Shared<(Model, ClassMap)> {
        self.models[m]
            .model
            .get_or_init(|| {
                let classes = self.classes(m)?;
                let spec = &self.suite.models[m];
                let model =
                    self.timed(|| format!("load model {}", spec.name), || Model::load(spec, self.suite.backend));
                let model = model.map_err(|e| Arc::new(e.into()))?;
                let _ = self.models[m].runs_on.set(model.runs_on());
                Ok(Arc::new((model, (*classes).clone())))
            })
            .clone()
    }

    /// Model `m`'s classes matched to the dataset's categories (no model loaded).
    fn classes(&self, m: usize) -> Shared<ClassMap> {
        self.models[m]
            .classes
            .get_or_init(|| {
                let loaded = self.loaded()?;
                Ok(Arc::new(class_map(&self.suite.models[m], &loaded.dataset).map_err(Arc::new)?))
            })
            .clone()
    }

    /// The cache key of model `m`'s predictions on every image, clean or after `setting`;
    /// `None` without a cache.
    fn cache_key(&self, m: usize, loaded: &Loaded, setting: Option<&Setting>) -> Option<Key> {
        self.cache.as_ref()?;
        let spec = &self.suite.models[m];
        let digest = self.models[m].digest.get_or_init(|| cache::file_digest(&spec.path).ok()).as_ref()?;
        if loaded.digests.len() != loaded.dims.len() {
            return None;
        }
        let mut key = KeyBuilder::default();
        key.part(digest).text(self.suite.backend.name()).text(spec.family.name()).text(&spec.classes.join("\n"));
        let settings = (spec.input_size, spec.confidence, spec.iou, spec.max_detections, &spec.preprocess);
        key.text(&format!("{settings:?}"));
        for (record, digest) in loaded.dataset.images.iter().zip(&loaded.digests) {
            key.part(&record.id.to_le_bytes()).part(digest);
        }
        if let Some(setting) = setting {
            key.text(setting.perturbation.name).text(&format!("{:?}", setting.values));
            key.part(&self.suite.seed.to_le_bytes()).text(&setting.key);
        }
        Some(key.key())
    }

    /// Grid point `point` of grid `grid` of factor `factor`, as a setting.
    fn grid_setting(&self, factor: usize, grid: usize, point: usize) -> Setting {
        let rf = &self.suite.risk_factors[factor];
        let g = &rf.grids[grid];
        Setting { perturbation: g.perturbation, values: g.points[point].values.clone(), key: rf.setting(grid, point) }
    }

    /// Model `m`'s predictions on every image, clean or after a setting: from the cache when it
    /// has them, else predicted (loading the model) and cached. A detector's mAP detections are
    /// matched image by image as they arrive (and freed): what returns holds the boxes the impact
    /// rule reads and, on a labeled dataset, the COCO stats.
    fn predictions(&self, m: usize, loaded: &Loaded, setting: Option<&Setting>) -> Result<Predicted, Arc<Error>> {
        let classes = self.classes(m)?;
        let coco = (loaded.dataset.is_labeled() && self.suite.models[m].family != Family::Classifier)
            .then(|| metrics::CocoValidation::new(&loaded.dataset, &classes));
        let key = self.cache_key(m, loaded, setting);
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            if let Some(hit) = cache.get(key).filter(|c| c.predictions.len() == loaded.dims.len()) {
                let _ = self.models[m].runs_on.set(hit.runs_on);
                let (predictions, motions) = (hit.predictions, hit.motions);
                let (predictions, coco) = match (predictions, coco) {
                    (Predictions::Boxes(mut boxes), Some(coco)) => {
                        let matched = (boxes.par_iter_mut().enumerate())
                            .map(|(i, d)| {
                                coco.image(i, std::mem::take(&mut d.val), motions[i].as_ref(), loaded.dims[i])
                            })
                            .collect();
                        (Predictions::Boxes(boxes), Some(coco.finish(matched)))
                    }
                    (predictions, _) => (predictions.without_val(), None),
                };
                return Ok(Predicted { predictions, motions, coco });
            }
        }
        let model = self.model(m)?;
        let model = &model.0;
        let predict = |perturb| self.predict_all(model, loaded, perturb, coco.as_ref(), key.is_some());
        let (predictions, motions, coco, parts) = match setting {
            None => self.timed(|| format!("{}: clean predictions", model.spec.name), || predict(None))?,
            Some(setting) => {
                let op = setting.perturbation.build(&setting.values);
                let key = &setting.key;
                self.timed(|| format!("{}: {key}", model.spec.name), || predict(Some((op.as_ref(), key))))?
            }
        };
        if let (Some(cache), Some(key)) = (&self.cache, key) {
            let classes = matches!(predictions, Predictions::Classes(_));
            cache.put(key, model.runs_on(), classes, &parts);
        }
        Ok(Predicted { predictions, motions, coco })
    }

    /// `infer` on every image, after `perturb` (drawing from the generator of its key and the
    /// image) if given; with how the perturbation moved each image's content. Each worker
    /// decodes, perturbs and infers one image at a time, so memory stays flat in the dataset's
    /// size. Images that cannot be decoded are listed together.
    fn infer_all<T: Send>(
        &self,
        loaded: &Loaded,
        perturb: Option<(&dyn Perturbation, &str)>,
        infer: impl Fn(usize, &RgbImage, Option<&Homography>) -> Result<T, ModelError> + Sync,
    ) -> Inferred<Vec<T>> {
        enum Failure {
            Unreadable(String),
            Model(ModelError),
        }
        let results: Vec<Result<(T, Option<Homography>), Failure>> = loaded
            .dataset
            .images
            .par_iter()
            .enumerate()
            .map(|(i, record)| {
                let image = loaded.images.get(i, &record.path).map_err(Failure::Unreadable)?;
                match perturb {
                    None => Ok((infer(i, &image, None).map_err(Failure::Model)?, None)),
                    Some((op, key)) => {
                        let mut rng = perturb::case_rng(self.suite.seed, key, record.id);
                        let moved = op.apply_moving(&image, &mut rng);
                        drop(image);
                        let result = infer(i, &moved.image, moved.motion.as_ref()).map_err(Failure::Model)?;
                        Ok((result, moved.motion))
                    }
                }
            })
            .collect();
        let unreadable: Vec<_> = results
            .iter()
            .zip(&loaded.dataset.images)
            .filter_map(|(r, record)| match r {
                Err(Failure::Unreadable(message)) => Some((record.path.clone(), message.clone())),
                _ => None,
            })
            .collect();
        if !unreadable.is_empty() {
            return Err(Arc::new(dataset::unreadable(unreadable).into()));
        }
        let mut kept = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(r) => kept.push(r),
                Err(Failure::Model(e)) => return Err(Arc::new(e.into())),
                Err(Failure::Unreadable(_)) => unreachable!("listed above"),
            }
        }
        Ok(kept.into_iter().unzip())
    }

    /// Every image's predictions and motion; a detector's mAP detections matched by `coco`
    /// when given and then dropped; each image's cache entry part when `encode`.
    #[allow(clippy::type_complexity)]
    fn predict_all(
        &self,
        model: &Model,
        loaded: &Loaded,
        perturb: Option<(&dyn Perturbation, &str)>,
        coco: Option<&metrics::CocoValidation>,
        encode: bool,
    ) -> Result<(Predictions, Vec<Option<Homography>>, Option<CocoStats>, Vec<Vec<u8>>), Arc<Error>> {
        fn part(encode: bool, motion: Option<&Homography>, p: ImagePart) -> Vec<u8> {
            if encode {
                cache::encode_image(motion, p)
            } else {
                Vec::new()
            }
        }
        Ok(if model.spec.family == Family::Classifier {
            let (results, motions) = self.infer_all(loaded, perturb, |_, image, motion| {
                let p = model.classify(image)?;
                let encoded = part(encode, motion, ImagePart::Classes(&p));
                Ok((p, encoded))
            })?;
            let (p, parts) = results.into_iter().unzip();
            (Predictions::Classes(p), motions, None, parts)
        } else {
            let (results, motions) = self.infer_all(loaded, perturb, |i, image, motion| {
                let mut d = model.detect(image)?;
                let encoded = part(encode, motion, ImagePart::Boxes(&d));
                let val = std::mem::take(&mut d.val);
                let matched = coco.map(|coco| coco.image(i, val, motion, loaded.dims[i]));
                Ok((d, matched, encoded))
            })?;
            let (mut boxes, mut matched, mut parts) = (Vec::new(), Vec::new(), Vec::new());
            for (d, m, p) in results {
                boxes.push(d);
                matched.extend(m);
                parts.push(p);
            }
            let stats = coco.map(|coco| coco.finish(matched));
            (Predictions::Boxes(boxes), motions, stats, parts)
        })
    }

    /// Validation metrics, `None` without labels: a classifier's from its predictions, a
    /// detector's the COCO stats matched as its predictions arrived.
    fn validate(loaded: &Loaded, predicted: &mut Predicted, classes: &ClassMap) -> Option<Validation> {
        if !loaded.dataset.is_labeled() {
            return None;
        }
        Some(match &predicted.predictions {
            Predictions::Classes(p) => {
                Validation::Classification(classification::evaluate(&loaded.dataset, p, classes))
            }
            Predictions::Boxes(_) => Validation::Detection(predicted.coco.take()?),
        })
    }

    pub fn clean(&self, m: usize) -> Shared<CleanOutcome> {
        self.models[m]
            .clean
            .get_or_init(|| {
                let loaded = self.loaded()?;
                let classes = self.classes(m)?;
                let mut predicted = self.predictions(m, &loaded, None)?;
                let validation = Self::validate(&loaded, &mut predicted, &classes);
                Ok(Arc::new(CleanOutcome { predictions: predicted.predictions, validation }))
            })
            .clone()
    }

    /// Outcome of grid point `point` of grid `grid` of factor `factor` for model `m`.
    pub fn perturbed(&self, m: usize, factor: usize, grid: usize, point: usize) -> Shared<PerturbedOutcome> {
        let flat = expand::factor_points(&self.suite, factor)
            .iter()
            .position(|&(g, p)| (g, p) == (grid, point))
            .expect("grid coordinates come from the same suite");
        self.models[m].perturbed[factor][flat]
            .get_or_init(|| self.outcome_at(m, &self.grid_setting(factor, grid, point)).map(Arc::new))
            .clone()
    }

    /// Model `m` under any `setting`: a grid point, or a point a search tries.
    fn outcome_at(&self, m: usize, setting: &Setting) -> Result<PerturbedOutcome, Arc<Error>> {
        let loaded = self.loaded()?;
        let clean = self.clean(m)?;
        let classes = self.classes(m)?;
        let mut predicted = self.predictions(m, &loaded, Some(setting))?;
        let (predictions, motions) = (&predicted.predictions, &predicted.motions);
        let (impacts, present) = self.impacts(&loaded, &classes, &clean.predictions, predictions, motions);
        let risk = impact::risk_score(&impacts);
        let class_risk = impact::class_risk(&impacts, &present);
        let size_risk = impact::class_risk(&impacts, &Self::object_sizes(&loaded, &clean.predictions));
        let worst_shown = impact::worst(&impacts, WORST_DRAWN)
            .iter()
            .filter_map(|w| {
                let index = loaded.dataset.images.iter().position(|r| r.id == w.image_id)?;
                Some((w.image_id, predictions.shown(index)?))
            })
            .collect();
        let validation = Self::validate(&loaded, &mut predicted, &classes);
        Ok(PerturbedOutcome { impacts, worst_shown, risk, class_risk, size_risk, validation })
    }

    /// The breaking point of grid `grid` of factor `factor` for model `m`: the mildest value of
    /// the searched parameter at which the risk score passes `budgets.risk`, by bisection
    /// between the search's ends (at most 2 + [`SEARCH_STEPS`] evaluations, each cached like
    /// any case).
    pub fn search(&self, m: usize, factor: usize, grid: usize) -> Shared<SearchOutcome> {
        self.models[m].searches[factor][grid]
            .get_or_init(|| {
                let rf = &self.suite.risk_factors[factor];
                let g = &rf.grids[grid];
                let axis = g.search_axis().ok_or_else(|| {
                    Arc::new(Error::Usage(format!("`{}` has no numeric parameter to search", g.perturbation.name)))
                })?;
                let param = &g.perturbation.params[axis.param];
                let budget = self.suite.budgets.risk;
                let mut evaluations = Vec::new();
                let mut risk_at = |value: f64| -> Result<f64, Arc<Error>> {
                    let key = format!("{}::{}::{}={value}", rf.factor, g.perturbation.name, param.name);
                    let setting = Setting { perturbation: g.perturbation, values: axis.values_at(value), key };
                    let risk = self.outcome_at(m, &setting)?.risk;
                    evaluations.push((value, risk));
                    Ok(risk)
                };
                let breaking_point = if risk_at(axis.harsh)? <= budget {
                    None
                } else if risk_at(axis.mild)? > budget {
                    Some(axis.mild)
                } else {
                    let (mut holds, mut breaks) = (axis.mild, axis.harsh);
                    for _ in 0..SEARCH_STEPS {
                        let mid = axis.between(holds, breaks);
                        if mid == holds || mid == breaks {
                            break;
                        }
                        if risk_at(mid)? > budget {
                            breaks = mid;
                        } else {
                            holds = mid;
                        }
                    }
                    Some(breaks)
                };
                Ok(Arc::new(SearchOutcome {
                    parameter: param.name,
                    unit: param.unit,
                    mild: axis.mild,
                    harsh: axis.harsh,
                    step: axis.step(),
                    budget,
                    breaking_point,
                    evaluations,
                }))
            })
            .clone()
    }

    pub fn search_if_done(&self, m: usize, factor: usize, grid: usize) -> Option<Arc<SearchOutcome>> {
        self.models[m].searches[factor][grid].get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The object sizes each image shows (indices into [`impact::OBJECT_SIZES`]): its labels'
    /// areas, or without labels its clean boxes'; none for classifiers.
    fn object_sizes(loaded: &Loaded, clean: &Predictions) -> Vec<Vec<u64>> {
        let Predictions::Boxes(clean) = clean else { return Vec::new() };
        let records = &loaded.dataset.images;
        (records.iter().zip(clean))
            .map(|(record, shown)| match loaded.dataset.is_labeled() {
                true => record.annotations.iter().filter(|a| !a.iscrowd).map(|a| impact::object_size(a.area)).collect(),
                false => shown
                    .shown
                    .iter()
                    .map(|d| impact::object_size(f64::from((d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1]))))
                    .collect(),
            })
            .collect()
    }

    /// Per-image impact of a perturbation, and the classes each image shows (its labels, or
    /// without labels its clean predictions) for the per-class breakdown.
    fn impacts(
        &self,
        loaded: &Loaded,
        classes: &ClassMap,
        clean: &Predictions,
        perturbed: &Predictions,
        motions: &[Option<Homography>],
    ) -> (Vec<ImageImpact>, Vec<Vec<u64>>) {
        let records = &loaded.dataset.images;
        match (clean, perturbed) {
            (Predictions::Classes(clean), Predictions::Classes(perturbed)) => records
                .iter()
                .enumerate()
                .map(|(i, record)| {
                    let label = record.class_id.and_then(|c| classes.class_of(c));
                    let impact = impact::assess_classification(
                        self.suite.impact.delta(),
                        record.id,
                        label,
                        &clean[i],
                        &perturbed[i],
                    );
                    let shown = record
                        .class_id
                        .or_else(|| classification::ranked(&clean[i]).first().and_then(|&c| classes.category(c)));
                    (impact, shown.into_iter().collect())
                })
                .unzip(),
            (Predictions::Boxes(clean), Predictions::Boxes(perturbed)) => {
                records
                    .iter()
                    .enumerate()
                    .map(|(i, record)| {
                        // Geometry moves the content: labels and clean predictions move along.
                        let (motion, (w, h)) = (motions[i].as_ref(), loaded.dims[i]);
                        let clean_boxes = metrics::labeled(&clean[i].shown, classes);
                        let impact = impact::assess(
                            self.suite.impact,
                            record.id,
                            &metrics::move_boxes(&loaded.labels[i], motion, w, h),
                            &metrics::move_boxes(&clean_boxes, motion, w, h),
                            &metrics::labeled(&perturbed[i].shown, classes),
                        );
                        let shown = if loaded.dataset.is_labeled() { &loaded.labels[i] } else { &clean_boxes };
                        (impact, shown.iter().map(|b| b.category_id).collect())
                    })
                    .unzip()
            }
            _ => unreachable!("a model's clean and perturbed predictions are of the same kind"),
        }
    }

    pub fn factor(&self, m: usize, factor: usize) -> Shared<FactorOutcome> {
        self.models[m].factors[factor]
            .get_or_init(|| {
                let loaded = self.loaded()?;
                let mut impacted = BTreeSet::new();
                let mut worst_case: Option<(String, f64)> = None;
                for (g, p) in expand::factor_points(&self.suite, factor) {
                    let outcome = self.perturbed(m, factor, g, p)?;
                    impacted.extend(outcome.impacts.iter().filter(|i| i.impacted).map(|i| i.image_id));
                    if worst_case.as_ref().is_none_or(|(_, r)| outcome.risk > *r) {
                        let grid = &self.suite.risk_factors[factor].grids[g];
                        worst_case = Some((grid.setting(p), outcome.risk));
                    }
                }
                let images = loaded.dims.len();
                let risk = if images == 0 { 0.0 } else { 100.0 * impacted.len() as f64 / images as f64 };
                Ok(Arc::new(FactorOutcome { impacted, images, risk, worst_case }))
            })
            .clone()
    }

    /// The dataset, if some case has loaded it in this process.
    pub fn loaded_if_done(&self) -> Option<Arc<Loaded>> {
        self.loaded.get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// A model, if some case has loaded it in this process.
    pub fn model_if_done(&self, m: usize) -> Option<Arc<(Model, ClassMap)>> {
        self.models[m].model.get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// Where model `m`'s inference ran, once known (from its loading or a cache entry).
    pub fn runs_on(&self, m: usize) -> Option<&'static str> {
        self.models[m].runs_on.get().copied()
    }

    /// Outcomes already computed in this process (for the end-of-run summary).
    pub fn clean_if_done(&self, m: usize) -> Option<Arc<CleanOutcome>> {
        self.models[m].clean.get().and_then(|r| r.as_ref().ok().cloned())
    }

    pub fn factor_if_done(&self, m: usize, factor: usize) -> Option<Arc<FactorOutcome>> {
        self.models[m].factors[factor].get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The outcome of a perturbed case, if computed in this process.
    pub fn perturbed_if_done(
        &self,
        m: usize,
        factor: usize,
        grid: usize,
        point: usize,
    ) -> Option<Arc<PerturbedOutcome>> {
        let flat = expand::factor_points(&self.suite, factor).iter().position(|&(g, p)| (g, p) == (grid, point))?;
        self.models[m].perturbed[factor][flat].get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// Every perturbed outcome of model `m` computed so far.
    pub fn perturbed_done(&self, m: usize) -> Vec<Arc<PerturbedOutcome>> {
        self.models[m].perturbed.iter().flatten().filter_map(|slot| slot.get()?.as_ref().ok().cloned()).collect()
    }

    /// COCO-C's robustness summary of model `m`: mPC, the mean AP (mAP@[.5:.95]; top-1 for a
    /// classifier) over the perturbed cases, and rPC = mPC / clean AP. Over the cases computed so far; `None` before
    /// any, or without labels.
    pub fn performance_under_corruption(&self, m: usize) -> Option<(f64, Option<f64>)> {
        let outcomes = self.perturbed_done(m);
        let headlines: Vec<f64> =
            outcomes.iter().map(|o| o.validation.as_ref().map(Validation::headline)).collect::<Option<_>>()?;
        if headlines.is_empty() {
            return None;
        }
        let mpc = headlines.iter().sum::<f64>() / headlines.len() as f64;
        let clean = self.clean_if_done(m).and_then(|c| c.validation.as_ref().map(Validation::headline));
        Some((mpc, clean.filter(|ap| *ap > 0.0).map(|ap| mpc / ap)))
    }

    /// Benchmarks only: `passes` forward passes of model `m` on the calling thread, the backend
    /// alone on inputs pre-processed beforehand (the dataset's clean images, in turn); the time
    /// they took.
    #[doc(hidden)]
    pub fn bare_passes(&self, m: usize, passes: u64) -> Result<Duration, Arc<Error>> {
        let loaded = self.loaded()?;
        let model = self.model(m)?;
        let model = &model.0;
        let inputs = loaded
            .dataset
            .images
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let image = loaded.images.get(i, &record.path).map_err(|message| {
                    Arc::new(Error::from(DatasetError::Image { path: record.path.clone(), message }))
                })?;
                Ok(model.preprocess().apply(&image, model.input_hw()).0)
            })
            .collect::<Result<Vec<_>, Arc<Error>>>()?;
        if inputs.is_empty() {
            return Ok(Duration::ZERO);
        }
        let mut elapsed = Duration::ZERO;
        for pass in 0..passes as usize {
            let input = inputs[pass % inputs.len()].clone();
            let start = Instant::now();
            model.run_prepared(input).map_err(|e| Arc::new(e.into()))?;
            elapsed += start.elapsed();
        }
        Ok(elapsed)
    }

    /// What the models loaded so far want the user to know (an accelerator fell back to the CPU).
    pub fn warnings(&self) -> Vec<String> {
        (0..self.models.len()).filter_map(|m| self.model_if_done(m)).flat_map(|m| m.0.warnings().to_vec()).collect()
    }

    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }
}
