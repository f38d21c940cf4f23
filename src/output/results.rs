//! The results file: everything a run measured, as JSON for dashboards and for finding the
//! images to look at — per case the risk score, the 12 COCO stats, per-class risk and AP, and
//! the worst images.
//!
//! One file per suite, `<suite>.json`, in `SHAKEDOWN_RESULTS` or else `<target dir>/shakedown/`.
//! Scores go by the names snapshots use ([`Score`]).
//! It holds what this process computed: a filtered run writes the cases it ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::SuiteRun;
use crate::errors::Error;
use crate::metrics::impact;
use crate::metrics::Validation;
use crate::suite::CaseKind;
use crate::vocab::Score;

/// Images listed per case, worst first.
pub const WORST_LISTED: usize = 10;

#[derive(Serialize)]
pub struct SuiteResults {
    pub suite: String,
    pub file: PathBuf,
    pub seed: u64,
    pub backend: &'static str,
    pub models: Vec<ModelResults>,
}

#[derive(Serialize)]
pub struct ModelResults {
    pub model: String,
    /// The processor inference ran on (`CPU`, `CUDA`, `TensorRT`): an accelerator that could
    /// not start falls back to the CPU. `None` when the model was not loaded.
    pub runs_on: Option<&'static str>,
    /// Clean validation metrics; `None` when not run, or without labels.
    pub clean: Option<Stats>,
    /// COCO-C's mean performance under corruption (AP over the perturbed cases) and its ratio to
    /// clean AP.
    pub mpc: Option<f64>,
    pub rpc: Option<f64>,
    pub risk_factors: Vec<FactorResults>,
    pub cases: Vec<CaseResults>,
}

/// A detector's 12 COCOeval stats by name and AP per category name, or a classifier's accuracy
/// and top-1 per class.
#[derive(Serialize)]
pub struct Stats {
    pub stats: BTreeMap<&'static str, f64>,
    pub per_category: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

#[derive(Serialize)]
pub struct FactorResults {
    pub case: String,
    pub risk: f64,
    pub images_impacted: usize,
    pub images: usize,
    pub worst_setting: Option<String>,
}

#[derive(Serialize)]
pub struct CaseResults {
    pub case: String,
    pub risk: f64,
    /// `None` without labels.
    pub stats: Option<Stats>,
    /// Per class: the risk score over the images showing it, and how many do.
    pub class_risk: BTreeMap<String, ClassResults>,
    pub worst_images: Vec<WorstImage>,
}

#[derive(Serialize)]
pub struct ClassResults {
    pub risk: f64,
    pub images: usize,
}

#[derive(Serialize)]
pub struct WorstImage {
    pub image_id: u64,
    pub file_name: String,
    /// The impact rule's per-image score before and after the perturbation: F1 for boxes, the
    /// true class's probability for classes.
    pub before: f32,
    pub after: f32,
}

/// What `run` measured so far; `None` when it has not even loaded its dataset.
pub fn collect(run: &SuiteRun) -> Option<SuiteResults> {
    let loaded = run.loaded_if_done()?;
    let dataset = &loaded.dataset;
    let category = |id: u64, m: usize| -> String {
        match dataset.categories.iter().find(|c| c.id == id) {
            Some(c) => c.name.clone(),
            // Without labels, category ids are model class indices + 1.
            None => run.suite.models[m].classes.get(id as usize - 1).cloned().unwrap_or_else(|| id.to_string()),
        }
    };
    let stats = |v: &Validation, m: usize| match v {
        Validation::Detection(s) => Stats {
            stats: s.named().map(|(score, v)| (score.name(), v)).collect(),
            per_category: s
                .per_category
                .iter()
                .map(|c| (category(c.category_id, m), [("ap", c.ap), ("ap50", c.ap50)].into_iter().collect()))
                .collect(),
        },
        Validation::Classification(s) => Stats {
            stats: [(Score::Top1.name(), s.top1), (Score::Top5.name(), s.top5)].into_iter().collect(),
            per_category: s
                .per_class
                .iter()
                .map(|c| (category(c.category_id, m), [("top1", c.top1)].into_iter().collect()))
                .collect(),
        },
    };
    let file_name =
        |id: u64| dataset.images.iter().find(|i| i.id == id).map(|i| i.file_name.clone()).unwrap_or_default();
    let models = (0..run.suite.models.len())
        .map(|m| {
            let mut risk_factors = Vec::new();
            let mut cases = Vec::new();
            for case in run.cases.iter().filter(|c| c.model == m) {
                match case.kind {
                    CaseKind::Clean => {}
                    CaseKind::Factor { factor } => {
                        if let Some(o) = run.factor_if_done(m, factor) {
                            risk_factors.push(FactorResults {
                                case: case.name.clone(),
                                risk: o.risk,
                                images_impacted: o.impacted.len(),
                                images: o.images,
                                worst_setting: o.worst_case.as_ref().map(|(name, _)| name.clone()),
                            });
                        }
                    }
                    CaseKind::Perturbed { factor, grid, point } => {
                        if let Some(o) = run.perturbed_if_done(m, factor, grid, point) {
                            cases.push(CaseResults {
                                case: case.name.clone(),
                                risk: o.risk,
                                stats: o.validation.as_ref().map(|v| stats(v, m)),
                                class_risk: o
                                    .class_risk
                                    .iter()
                                    .map(|c| {
                                        (category(c.category_id, m), ClassResults { risk: c.risk, images: c.images })
                                    })
                                    .collect(),
                                worst_images: impact::worst(&o.impacts, WORST_LISTED)
                                    .into_iter()
                                    .map(|i| WorstImage {
                                        image_id: i.image_id,
                                        file_name: file_name(i.image_id),
                                        before: i.before,
                                        after: i.after,
                                    })
                                    .collect(),
                            });
                        }
                    }
                }
            }
            let pc = run.performance_under_corruption(m);
            ModelResults {
                model: run.suite.models[m].name.clone(),
                runs_on: run.runs_on(m),
                clean: run.clean_if_done(m).and_then(|c| c.validation.as_ref().map(|v| stats(v, m))),
                mpc: pc.map(|p| p.0),
                rpc: pc.and_then(|p| p.1),
                risk_factors,
                cases,
            }
        })
        .collect();
    Some(SuiteResults {
        suite: run.suite.name.clone(),
        file: run.suite.path.clone(),
        seed: run.suite.seed,
        backend: run.suite.backend.name(),
        models,
    })
}

/// The folder results go to: `configured` (`SHAKEDOWN_RESULTS`), else `shakedown/` in the
/// target dir the running test binary was built in, else `target/shakedown`.
pub fn folder(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_owned();
    }
    // Test binaries live in `<target>/<profile>/deps/`.
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "deps")).map(Path::to_owned))
        .and_then(|deps| deps.parent()?.parent().map(Path::to_owned));
    target.unwrap_or_else(|| PathBuf::from("target")).join("shakedown")
}

/// Write the results of every run that measured something; returns the files written.
pub fn write(runs: &[&SuiteRun], folder: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut written = Vec::new();
    for run in runs {
        let Some(results) = collect(run) else { continue };
        std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
        let path = folder.join(format!("{}.json", run.suite.name));
        let text = serde_json::to_string_pretty(&results).expect("results always serialise");
        // Written aside, then renamed: a reader never sees half a file.
        let partial = folder.join(format!(".{}.json.{}", run.suite.name, std::process::id()));
        std::fs::write(&partial, text + "\n").map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}
