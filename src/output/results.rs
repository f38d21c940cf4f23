//! The results file: everything a run measured, as JSON for dashboards and for finding the
//! images to look at — per case the risk score, the 12 COCO stats, per-class risk and AP, and
//! the worst images.
//!
//! One file per suite, `<suite>.json`, in `SHAKEDOWN_RESULTS` or else `<target dir>/shakedown/`.
//! Scores go by the names snapshots use ([`Score`]).
//!
//! It holds what one run computed: a filtered run writes the cases it ran. Under cargo-nextest a
//! run is many processes, one per test: each writes its own part (`<suite>.parts/<run>/<pid>.json`,
//! `<run>` being nextest's `NEXTEST_RUN_ID`) and merges every part of the run into `<suite>.json`
//! under a file lock, so the last process to finish leaves the whole run's results, as
//! `cargo test` does in one process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::SuiteRun;
use crate::errors::Error;
use crate::metrics::Validation;
use crate::metrics::{classification, impact};
use crate::outcome::{Shown, WORST_DRAWN};
use crate::suite::CaseKind;
use crate::vocab::Score;

/// Images listed per case, worst first.
pub const WORST_LISTED: usize = 10;

#[derive(Serialize, Deserialize, Clone)]
pub struct SuiteResults {
    pub suite: String,
    pub file: PathBuf,
    pub seed: u64,
    pub backend: String,
    /// The shakedown version that measured them.
    #[serde(default)]
    pub version: String,
    /// The suite's budgets: the largest risk score of a case, the smallest clean mAP@0.5 and
    /// top-1 (factors carry their own).
    #[serde(default)]
    pub budgets: Option<BudgetResults>,
    /// How far a score may move from its baseline before the snapshot changes.
    #[serde(default)]
    pub tolerance: Option<ToleranceResults>,
    pub models: Vec<ModelResults>,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq)]
pub struct ToleranceResults {
    pub risk: f64,
    pub metric: f64,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq)]
pub struct BudgetResults {
    pub risk: f64,
    pub clean_map50: f64,
    pub clean_top1: f64,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct ModelResults {
    pub model: String,
    /// The processor inference ran on (`CPU`, `CUDA`, `TensorRT`): an accelerator that could
    /// not start falls back to the CPU. `None` when the model was not loaded.
    pub runs_on: Option<String>,
    /// Clean validation metrics; `None` when not run, or without labels.
    pub clean: Option<Stats>,
    /// COCO-C's mean performance under corruption (AP over the perturbed cases) and its ratio to
    /// clean AP.
    pub mpc: Option<f64>,
    pub rpc: Option<f64>,
    pub risk_factors: Vec<FactorResults>,
    pub cases: Vec<CaseResults>,
    /// Breaking points searched (`search: true`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaking_points: Vec<BreakingPointResults>,
}

/// Where a perturbation breaks a model: the mildest value of its parameter at which the risk
/// score passes the budget.
#[derive(Serialize, Deserialize, Clone)]
pub struct BreakingPointResults {
    pub case: String,
    pub factor: String,
    pub perturbation: String,
    pub parameter: String,
    pub unit: String,
    /// `None` when the risk holds over the whole search.
    pub breaking_point: Option<f64>,
    /// The search's ends and resolution, and the budget it searched against.
    pub mild: f64,
    pub harsh: f64,
    pub step: f64,
    pub budget: f64,
    /// Every evaluation: (value, risk score), in order.
    pub evaluations: Vec<(f64, f64)>,
}

/// A detector's 12 COCOeval stats by name and AP per category name, or a classifier's accuracy
/// and top-1 per class.
#[derive(Serialize, Deserialize, Clone)]
pub struct Stats {
    pub stats: BTreeMap<String, f64>,
    pub per_category: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct FactorResults {
    pub case: String,
    pub risk: f64,
    /// The factor's budget.
    #[serde(default)]
    pub budget: Option<f64>,
    pub images_impacted: usize,
    pub images: usize,
    pub worst_setting: Option<String>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct CaseResults {
    pub case: String,
    /// The case's risk factor, perturbation and setting as its name writes them (`sigma=2`;
    /// empty for a perturbation without parameters).
    #[serde(default)]
    pub factor: String,
    #[serde(default)]
    pub perturbation: String,
    #[serde(default)]
    pub setting: String,
    pub risk: f64,
    /// `None` without labels.
    pub stats: Option<Stats>,
    /// Per class: the risk score over the images showing it, and how many do.
    pub class_risk: BTreeMap<String, ClassResults>,
    /// Per object size (COCO's small, medium, large): the risk score over the images showing
    /// an object of that size, and how many do. Empty for classifiers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub size_risk: BTreeMap<String, ClassResults>,
    pub worst_images: Vec<WorstImage>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct ClassResults {
    pub risk: f64,
    pub images: usize,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct WorstImage {
    pub image_id: u64,
    pub file_name: String,
    /// The impact rule's per-image score before and after the perturbation: F1 for boxes, the
    /// true class's probability for classes.
    pub before: f32,
    pub after: f32,
    /// What the model showed on the clean and on the perturbed image (the first
    /// [`WORST_DRAWN`] images of a case): its boxes, or its top three classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clean: Vec<ShownObject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perturbed: Vec<ShownObject>,
}

/// A box or a class the model showed.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct ShownObject {
    pub class: String,
    pub score: f32,
    /// x1, y1, x2, y2 in the image's pixels (the perturbed image's for perturbed boxes);
    /// absent for a classifier's classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f32; 4]>,
}

/// Boxes listed per image at most, best first.
const SHOWN_LISTED: usize = 30;

/// `shown` as the results file lists it, class names from `classes`.
fn shown_objects(shown: &Shown, classes: &[String]) -> Vec<ShownObject> {
    let name = |c: usize| classes.get(c).cloned().unwrap_or_else(|| c.to_string());
    let round = |v: f32, scale: f32| (v * scale).round() / scale;
    match shown {
        Shown::Boxes(boxes) => {
            let mut boxes = boxes.clone();
            boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
            boxes.truncate(SHOWN_LISTED);
            boxes
                .iter()
                .map(|d| ShownObject {
                    class: name(d.class),
                    score: round(d.score, 1000.0),
                    bbox: Some(d.bbox.map(|v| round(v, 10.0))),
                })
                .collect()
        }
        Shown::Classes(p) => classification::ranked(p)
            .into_iter()
            .take(3)
            .map(|c| ShownObject { class: name(c), score: round(p[c], 1000.0), bbox: None })
            .collect(),
    }
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
            stats: s.named().map(|(score, v)| (score.name().to_owned(), v)).collect(),
            per_category: s
                .per_category
                .iter()
                .map(|c| (category(c.category_id, m), [("ap".into(), c.ap), ("ap50".into(), c.ap50)].into()))
                .collect(),
        },
        Validation::Classification(s) => Stats {
            stats: [(Score::Top1.name().to_owned(), s.top1), (Score::Top5.name().to_owned(), s.top5)].into(),
            per_category: s
                .per_class
                .iter()
                .map(|c| (category(c.category_id, m), [("top1".to_owned(), c.top1)].into()))
                .collect(),
        },
    };
    let spec_classes = |m: usize| &run.suite.models[m].classes;
    let file_name =
        |id: u64| dataset.images.iter().find(|i| i.id == id).map(|i| i.file_name.clone()).unwrap_or_default();
    let models = (0..run.suite.models.len())
        .map(|m| {
            let mut risk_factors = Vec::new();
            let mut cases = Vec::new();
            let mut breaking_points = Vec::new();
            for case in run.cases.iter().filter(|c| c.model == m) {
                match case.kind {
                    CaseKind::Clean => {}
                    CaseKind::Search { factor, grid } => {
                        if let Some(o) = run.search_if_done(m, factor, grid) {
                            let rf = &run.suite.risk_factors[factor];
                            breaking_points.push(BreakingPointResults {
                                case: case.name.clone(),
                                factor: rf.factor.to_string(),
                                perturbation: rf.grids[grid].perturbation.name.to_owned(),
                                parameter: o.parameter.to_owned(),
                                unit: o.unit.to_owned(),
                                breaking_point: o.breaking_point,
                                mild: o.mild,
                                harsh: o.harsh,
                                step: o.step,
                                budget: o.budget,
                                evaluations: o.evaluations.clone(),
                            });
                        }
                    }
                    CaseKind::Factor { factor } => {
                        if let Some(o) = run.factor_if_done(m, factor) {
                            risk_factors.push(FactorResults {
                                case: case.name.clone(),
                                risk: o.risk,
                                budget: Some(run.suite.risk_factors[factor].budget),
                                images_impacted: o.impacted.len(),
                                images: o.images,
                                worst_setting: o.worst_case.as_ref().map(|(name, _)| name.clone()),
                            });
                        }
                    }
                    CaseKind::Perturbed { factor, grid, point } => {
                        if let Some(o) = run.perturbed_if_done(m, factor, grid, point) {
                            let rf = &run.suite.risk_factors[factor];
                            let clean = run.clean_if_done(m);
                            let shown_clean = |id: u64| -> Vec<ShownObject> {
                                let index = dataset.images.iter().position(|i| i.id == id);
                                let shown = clean.as_ref().zip(index).and_then(|(c, i)| c.predictions.shown(i));
                                shown.map(|s| shown_objects(&s, spec_classes(m))).unwrap_or_default()
                            };
                            let shown_after = |id: u64| -> Vec<ShownObject> {
                                let shown = o.worst_shown.iter().find(|(i, _)| *i == id);
                                shown.map(|(_, s)| shown_objects(s, spec_classes(m))).unwrap_or_default()
                            };
                            cases.push(CaseResults {
                                case: case.name.clone(),
                                factor: rf.factor.to_string(),
                                perturbation: rf.grids[grid].perturbation.name.to_owned(),
                                setting: rf.grids[grid].points[point].label.clone(),
                                risk: o.risk,
                                stats: o.validation.as_ref().map(|v| stats(v, m)),
                                class_risk: o
                                    .class_risk
                                    .iter()
                                    .map(|c| {
                                        (category(c.category_id, m), ClassResults { risk: c.risk, images: c.images })
                                    })
                                    .collect(),
                                size_risk: (o.size_risk.iter())
                                    .map(|c| {
                                        let size = impact::OBJECT_SIZES[c.category_id as usize].to_owned();
                                        (size, ClassResults { risk: c.risk, images: c.images })
                                    })
                                    .collect(),
                                worst_images: impact::worst(&o.impacts, WORST_LISTED)
                                    .into_iter()
                                    .enumerate()
                                    .map(|(rank, i)| {
                                        let drawn = rank < WORST_DRAWN;
                                        WorstImage {
                                            image_id: i.image_id,
                                            file_name: file_name(i.image_id),
                                            before: i.before,
                                            after: i.after,
                                            clean: if drawn { shown_clean(i.image_id) } else { Vec::new() },
                                            perturbed: if drawn { shown_after(i.image_id) } else { Vec::new() },
                                        }
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
                runs_on: run.runs_on(m).map(str::to_owned),
                clean: run.clean_if_done(m).and_then(|c| c.validation.as_ref().map(|v| stats(v, m))),
                mpc: pc.map(|p| p.0),
                rpc: pc.and_then(|p| p.1),
                risk_factors,
                cases,
                breaking_points,
            }
        })
        .collect();
    Some(SuiteResults {
        suite: run.suite.name.clone(),
        file: run.suite.path.clone(),
        seed: run.suite.seed,
        backend: run.suite.backend.name().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        budgets: Some(BudgetResults {
            risk: run.suite.budgets.risk,
            clean_map50: run.suite.budgets.clean_map50,
            clean_top1: run.suite.budgets.clean_top1,
        }),
        tolerance: Some(ToleranceResults { risk: run.suite.tolerance.risk, metric: run.suite.tolerance.metric }),
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

/// Write the results of every run that measured something, merged with the other processes of
/// the same run (nextest); returns the files written.
pub fn write(runs: &[&SuiteRun], folder: &Path) -> Result<Vec<(PathBuf, SuiteResults)>, Error> {
    let run_id = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| format!("process-{}", std::process::id()));
    let mut written = Vec::new();
    for run in runs {
        let Some(results) = collect(run) else { continue };
        let suite = &run.suite.name;
        let parts = folder.join(format!("{suite}.parts"));
        let this_run = parts.join(&run_id);
        std::fs::create_dir_all(&this_run).map_err(|e| Error::io(&this_run, e))?;
        let part = this_run.join(format!("{}.json", std::process::id()));
        write_aside(&part, &serde_json::to_string(&results).expect("results always serialise"))?;

        // One merge at a time; the lock goes with the file handle.
        let lock_path = parts.join(format!("{run_id}.lock"));
        let lock = std::fs::File::create(&lock_path).map_err(|e| Error::io(&lock_path, e))?;
        lock.lock().map_err(|e| Error::io(&lock_path, e))?;
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&this_run).map_err(|e| Error::io(&this_run, e))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                // A part that does not parse is skipped: it was never renamed into place whole.
                if let Ok(part) = std::fs::read_to_string(&path).map(|t| serde_json::from_str::<SuiteResults>(&t)) {
                    all.extend(part.ok());
                }
            }
        }
        let order: Vec<&str> = run.cases.iter().map(|c| c.name.as_str()).collect();
        let merged = merge(all, &order).unwrap_or(results);
        let path = folder.join(format!("{suite}.json"));
        write_aside(&path, &(serde_json::to_string_pretty(&merged).expect("results always serialise") + "\n"))?;
        // Parts of earlier runs are stale.
        for entry in std::fs::read_dir(&parts).map_err(|e| Error::io(&parts, e))?.flatten() {
            let name = entry.file_name();
            let stale = name != std::ffi::OsStr::new(&run_id) && name != lock_path.file_name().unwrap_or_default();
            if stale && entry.path().is_dir() {
                let _ = std::fs::remove_dir_all(entry.path());
            } else if stale && entry.path().extension().is_some_and(|e| e == "lock") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        drop(lock);
        written.push((path, merged));
    }
    Ok(written)
}

/// Merge the `<suite>.json` files of several results folders (partitions of one run on several
/// machines) into `output`; the suites and files written. Cases go in their suite's order when
/// its file (recorded in the results) is at hand, else in the order the folders list them.
pub fn merge_folders(folders: &[PathBuf], output: &Path) -> Result<Vec<(PathBuf, SuiteResults)>, Error> {
    let mut files = Vec::new();
    for folder in folders {
        let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder, e))?;
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        found.sort();
        files.extend(found.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")));
    }
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let mut written = Vec::new();
    for merged in merge_files(&files)? {
        let path = output.join(format!("{}.json", merged.suite));
        write_aside(&path, &(serde_json::to_string_pretty(&merged).expect("results always serialise") + "\n"))?;
        written.push((path, merged));
    }
    Ok(written)
}

/// Read results files and merge those of one suite (see [`merge`]): one entry per suite, by
/// name. Cases go in their suite's order when its file (recorded in the results) is at hand,
/// else in the order the files list them.
pub fn merge_files(files: &[PathBuf]) -> Result<Vec<SuiteResults>, Error> {
    let mut by_suite: BTreeMap<String, Vec<SuiteResults>> = BTreeMap::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let results: SuiteResults = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{} is not a shakedown results file: {e}", path.display())))?;
        by_suite.entry(results.suite.clone()).or_default().push(results);
    }
    let mut merged = Vec::new();
    for parts in by_suite.into_values() {
        let order: Vec<String> = match crate::suite::load(&parts[0].file, Some(parts[0].backend.as_str())) {
            Ok(loaded) => crate::suite::expand::expand(&loaded).into_iter().map(|c| c.name).collect(),
            Err(_) => parts
                .iter()
                .flat_map(|p| {
                    p.models
                        .iter()
                        .flat_map(|m| m.risk_factors.iter().map(|f| &f.case).chain(m.cases.iter().map(|c| &c.case)))
                })
                .cloned()
                .collect(),
        };
        let order: Vec<&str> = order.iter().map(String::as_str).collect();
        merged.extend(merge(parts, &order));
    }
    Ok(merged)
}

/// Written aside, then renamed: a reader never sees half a file.
pub(crate) fn write_aside(path: &Path, text: &str) -> Result<(), Error> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("results");
    let partial = path.with_file_name(format!(".{name}.{}", std::process::id()));
    std::fs::write(&partial, text).map_err(|e| Error::io(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
}

/// The union of several processes' results of one suite: per model the clean stats and where
/// it ran from whichever part has them, factors and cases by name in `order` (the suite's case
/// order), and mPC / rPC recomputed over the merged cases. `None` without parts.
pub fn merge(parts: Vec<SuiteResults>, order: &[&str]) -> Option<SuiteResults> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        for (mine, theirs) in merged.models.iter_mut().zip(part.models) {
            mine.runs_on = mine.runs_on.take().or(theirs.runs_on);
            mine.clean = mine.clean.take().or(theirs.clean);
            for factor in theirs.risk_factors {
                if mine.risk_factors.iter().all(|f| f.case != factor.case) {
                    mine.risk_factors.push(factor);
                }
            }
            for case in theirs.cases {
                if mine.cases.iter().all(|c| c.case != case.case) {
                    mine.cases.push(case);
                }
            }
            for point in theirs.breaking_points {
                if mine.breaking_points.iter().all(|b| b.case != point.case) {
                    mine.breaking_points.push(point);
                }
            }
        }
    }
    let rank = |name: &str| order.iter().position(|o| *o == name).unwrap_or(usize::MAX);
    for model in &mut merged.models {
        model.risk_factors.sort_by_key(|f| rank(&f.case));
        model.cases.sort_by_key(|c| rank(&c.case));
        model.breaking_points.sort_by_key(|b| rank(&b.case));
        // mPC as `SuiteRun::performance_under_corruption`: AP (top-1) over the perturbed cases.
        let headline = |s: &Stats| s.stats.get(Score::Map.name()).or(s.stats.get(Score::Top1.name())).copied();
        let each: Option<Vec<f64>> = model.cases.iter().map(|c| c.stats.as_ref().and_then(headline)).collect();
        let mpc = each.filter(|e| !e.is_empty()).map(|e| e.iter().sum::<f64>() / e.len() as f64);
        let clean = model.clean.as_ref().and_then(headline).filter(|ap| *ap > 0.0);
        model.mpc = mpc;
        model.rpc = mpc.zip(clean).map(|(mpc, clean)| mpc / clean);
    }
    Some(merged)
}
