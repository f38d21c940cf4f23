//! Computes case outcomes, sharing work across the tests of one process: images are decoded
//! once, each model is loaded once and its clean predictions made once, each case computed once
//! (a risk-factor test reuses its cases' results), whichever test asks first.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use image::RgbImage;
use rayon::prelude::*;

use crate::dataset::Dataset;
use crate::errors::{DatasetError, Error};
use crate::expand::{self, Case, CaseKind};
use crate::metrics::coco_eval::CocoStats;
use crate::metrics::impact::{self, ImageImpact, LabeledBox};
use crate::metrics::{self, ClassMap};
use crate::model::{Detection, Model};
use crate::seed;
use crate::spec::Suite;

type Shared<T> = Result<Arc<T>, Arc<Error>>;

/// The dataset, decoded, with each image's labels.
pub struct Loaded {
    pub dataset: Dataset,
    pub images: Vec<RgbImage>,
    pub labels: Vec<Vec<LabeledBox>>,
}

/// A model on clean images.
pub struct CleanOutcome {
    pub predictions: Vec<Vec<Detection>>,
    pub stats: CocoStats,
}

/// A model under one perturbation setting.
pub struct PerturbedOutcome {
    pub impacts: Vec<ImageImpact>,
    pub risk: f64,
    pub stats: CocoStats,
}

/// A model under all settings of a risk factor: an image counts when any case impacts it.
pub struct FactorOutcome {
    pub impacted: BTreeSet<u64>,
    pub images: usize,
    pub risk: f64,
    /// Worst case of the factor: (case name, risk).
    pub worst_case: Option<(String, f64)>,
}

struct ModelSlot {
    model: OnceLock<Shared<(Model, ClassMap)>>,
    clean: OnceLock<Shared<CleanOutcome>>,
    /// Indexed like `expand::factor_points` flattened over factors.
    perturbed: Vec<Vec<OnceLock<Shared<PerturbedOutcome>>>>,
    factors: Vec<OnceLock<Shared<FactorOutcome>>>,
}

/// One suite's shared state for the duration of a test process.
pub struct SuiteRun {
    pub suite: Suite,
    pub cases: Vec<Case>,
    loaded: OnceLock<Shared<Loaded>>,
    models: Vec<ModelSlot>,
    timings: Mutex<Vec<(String, Duration)>>,
}

impl SuiteRun {
    pub fn new(suite: Suite) -> Self {
        let cases = expand::expand(&suite);
        let models = suite
            .models
            .iter()
            .map(|_| ModelSlot {
                model: OnceLock::new(),
                clean: OnceLock::new(),
                perturbed: (0..suite.risk_factors.len())
                    .map(|f| expand::factor_points(&suite, f).iter().map(|_| OnceLock::new()).collect())
                    .collect(),
                factors: suite.risk_factors.iter().map(|_| OnceLock::new()).collect(),
            })
            .collect();
        Self { suite, cases, loaded: OnceLock::new(), models, timings: Mutex::new(Vec::new()) }
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
                    || "load and decode dataset".into(),
                    || {
                        let dataset = Dataset::load(&self.suite.dataset)?;
                        let images = dataset.decode()?;
                        let labels = (0..dataset.images.len()).map(|i| metrics::labels(&dataset, i)).collect();
                        Ok(Arc::new(Loaded { dataset, images, labels }))
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
                let loaded = self.loaded()?;
                let spec = &self.suite.models[m];
                let classes = ClassMap::new(&spec.classes, &loaded.dataset);
                if !classes.matches_any() {
                    return Err(Arc::new(Error::Dataset(DatasetError::Selection {
                        message: format!("none of model {}'s classes is a category of the dataset", spec.name),
                        help: Some("`classes` must use the dataset's category names".into()),
                    })));
                }
                let model =
                    self.timed(|| format!("load model {}", spec.name), || Model::load(spec, self.suite.backend));
                Ok(Arc::new((model.map_err(|e| Arc::new(e.into()))?, classes)))
            })
            .clone()
    }

    /// Predictions on every image; `perturb` changes each image first.
    fn predict_all(
        &self,
        model: &Model,
        loaded: &Loaded,
        perturb: Option<(&dyn crate::perturb::Perturbation, &str)>,
    ) -> Result<Vec<Vec<Detection>>, Arc<Error>> {
        loaded
            .images
            .par_iter()
            .zip(&loaded.dataset.images)
            .map(|(image, record)| match perturb {
                None => model.predict(image),
                Some((op, key)) => {
                    let mut rng = seed::case_rng(self.suite.seed, key, record.id);
                    model.predict(&op.apply(image, &mut rng))
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| Arc::new(e.into()))
    }

    pub fn clean(&self, m: usize) -> Shared<CleanOutcome> {
        self.models[m]
            .clean
            .get_or_init(|| {
                let loaded = self.loaded()?;
                let model = self.model(m)?;
                let (model, classes) = &*model;
                let predictions = self.timed(
                    || format!("{}: clean predictions", model.spec.name),
                    || self.predict_all(model, &loaded, None),
                )?;
                let stats = metrics::coco_stats(&loaded.dataset, &predictions, classes);
                Ok(Arc::new(CleanOutcome { predictions, stats }))
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
            .get_or_init(|| {
                let loaded = self.loaded()?;
                let clean = self.clean(m)?;
                let model = self.model(m)?;
                let (model, classes) = &*model;
                let rf = &self.suite.risk_factors[factor];
                let g = &rf.grids[grid];
                let pt = &g.points[point];
                let key = format!("{}::{}::{}", rf.factor, g.perturbation.name, pt.label);
                let op = (g.perturbation.build)(&pt.values);
                let predictions = self.timed(
                    || format!("{}: {key}", model.spec.name),
                    || self.predict_all(model, &loaded, Some((op.as_ref(), &key))),
                )?;
                let conf = model.spec.confidence;
                let impacts: Vec<ImageImpact> = (0..loaded.images.len())
                    .map(|i| {
                        impact::assess(
                            self.suite.impact,
                            loaded.dataset.images[i].id,
                            &loaded.labels[i],
                            &metrics::confident(&clean.predictions[i], classes, conf),
                            &metrics::confident(&predictions[i], classes, conf),
                        )
                    })
                    .collect();
                let risk = impact::risk_score(&impacts);
                let stats = metrics::coco_stats(&loaded.dataset, &predictions, classes);
                Ok(Arc::new(PerturbedOutcome { impacts, risk, stats }))
            })
            .clone()
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
                        let rf = &self.suite.risk_factors[factor];
                        let grid = &rf.grids[g];
                        worst_case =
                            Some((format!("{}::{}", grid.perturbation.name, grid.points[p].label), outcome.risk));
                    }
                }
                let images = loaded.images.len();
                let risk = if images == 0 { 0.0 } else { 100.0 * impacted.len() as f64 / images as f64 };
                Ok(Arc::new(FactorOutcome { impacted, images, risk, worst_case }))
            })
            .clone()
    }

    /// Outcomes already computed in this process (for the end-of-run summary).
    pub fn clean_if_done(&self, m: usize) -> Option<Arc<CleanOutcome>> {
        self.models[m].clean.get().and_then(|r| r.as_ref().ok().cloned())
    }

    pub fn factor_if_done(&self, m: usize, factor: usize) -> Option<Arc<FactorOutcome>> {
        self.models[m].factors[factor].get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// Every perturbed outcome of model `m` computed so far.
    pub fn perturbed_done(&self, m: usize) -> Vec<Arc<PerturbedOutcome>> {
        self.models[m].perturbed.iter().flatten().filter_map(|slot| slot.get()?.as_ref().ok().cloned()).collect()
    }

    /// COCO-C's robustness summary of model `m`: mPC, the mean AP (mAP@[.5:.95]) over the
    /// perturbed cases, and rPC = mPC / clean AP. Over the cases computed so far; `None` before
    /// any, or without labels.
    pub fn performance_under_corruption(&self, m: usize) -> Option<(f64, Option<f64>)> {
        let outcomes = self.perturbed_done(m);
        if outcomes.is_empty() || outcomes.iter().any(|o| o.stats.stats[0] < 0.0) {
            return None;
        }
        let mpc = outcomes.iter().map(|o| o.stats.stats[0]).sum::<f64>() / outcomes.len() as f64;
        let clean = self.clean_if_done(m).map(|c| c.stats.stats[0]).filter(|ap| *ap > 0.0);
        Some((mpc, clean.map(|ap| mpc / ap)))
    }

    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// Force the outcome of any case (used by tests comparing backends).
    pub fn outcome_scores(&self, case: &Case) -> Result<crate::baseline::Scores, Arc<Error>> {
        Ok(match case.kind {
            CaseKind::Clean => crate::baseline::Scores::clean(&self.clean(case.model)?.stats),
            CaseKind::Perturbed { factor, grid, point } => {
                crate::baseline::Scores::perturbed(&*self.perturbed(case.model, factor, grid, point)?)
            }
            CaseKind::Factor { factor } => crate::baseline::Scores::factor(&*self.factor(case.model, factor)?),
        })
    }
}
