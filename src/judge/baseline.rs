//! Baselines: each case's scores as an insta snapshot in `snapshots/` beside its suite.
//!
//! insta compares text exactly, but scores move by tiny amounts across backends and machines.
//! So the stored snapshot is read first: when every score is within the suite's tolerance the
//! stored text is asserted (no churn); otherwise the new text is, and insta reports the diff
//! and writes a `.snap.new` for `cargo insta review` (never in CI, where insta writes nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::SuiteRun;
use crate::errors::{BaselineError, Error};
use crate::metrics::Validation;
use crate::outcome::{CleanOutcome, FactorOutcome, PerturbedOutcome, SearchOutcome};
use crate::suite::{Case, CaseKind, Tolerance};
use crate::vocab::Score;

/// Named scores of one case, in a fixed order. `risk` is in points (0-100); the rest are 0-1.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores(pub Vec<(Score, f64)>);

impl Scores {
    /// A detector's 12 COCO stats, or a classifier's top-1 and top-5 accuracy; without labels,
    /// only how many images were seen.
    pub fn clean(outcome: &CleanOutcome) -> Self {
        match &outcome.validation {
            Some(Validation::Detection(s)) => Scores(s.named().collect()),
            Some(Validation::Classification(s)) => Scores(vec![(Score::Top1, s.top1), (Score::Top5, s.top5)]),
            None => Scores(vec![(Score::Images, outcome.predictions.len() as f64)]),
        }
    }

    /// The risk score, and the headline metrics under the perturbation (for mPC).
    pub fn perturbed(outcome: &PerturbedOutcome) -> Self {
        let mut scores = vec![(Score::Risk, outcome.risk)];
        match &outcome.validation {
            Some(Validation::Detection(s)) => scores.extend([(Score::Map50, s.map50()), (Score::Map, s.map())]),
            Some(Validation::Classification(s)) => scores.push((Score::Top1, s.top1)),
            None => {}
        }
        Scores(scores)
    }

    pub fn factor(outcome: &FactorOutcome) -> Self {
        Scores(vec![(Score::Risk, outcome.risk)])
    }

    /// A search's breaking point (or how far the risk holds) and its resolution.
    pub fn search(outcome: &SearchOutcome) -> Self {
        let found = match outcome.breaking_point {
            Some(v) => (Score::BreakingPoint, v),
            None => (Score::HoldsTo, outcome.harsh),
        };
        Scores(vec![found, (Score::SearchStep, outcome.step)])
    }

    /// The scores of any case of `run`, computing its outcome if needed.
    pub fn of(run: &SuiteRun, case: &Case) -> Result<Self, std::sync::Arc<Error>> {
        Ok(match case.kind {
            CaseKind::Clean => Scores::clean(&*run.clean(case.model)?),
            CaseKind::Perturbed { factor, grid, point } => {
                Scores::perturbed(&*run.perturbed(case.model, factor, grid, point)?)
            }
            CaseKind::Factor { factor } => Scores::factor(&*run.factor(case.model, factor)?),
            CaseKind::Search { factor, grid } => Scores::search(&*run.search(case.model, factor, grid)?),
        })
    }

    pub fn get(&self, score: Score) -> Option<f64> {
        self.0.iter().find(|(s, _)| *s == score).map(|(_, v)| *v)
    }

    /// Snapshot text: one `name: value` line each, rounded so that float noise far below any
    /// sensible tolerance does not show.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(score, v)| {
                let digits = if score.is_risk() { 2 } else { 4 };
                format!("{score}: {}\n", round(*v, digits))
            })
            .collect()
    }

    /// Whether `stored` (a baseline) has the same names and every value within tolerance.
    pub fn within(&self, stored: &BTreeMap<String, f64>, tolerance: &Tolerance) -> bool {
        self.changes(stored, tolerance).is_empty()
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    let r = (v * p).round() / p;
    if r == 0.0 {
        0.0 // no "-0"
    } else {
        r
    }
}

/// Folder of a suite's snapshots.
pub fn snapshot_dir(suite_path: &Path) -> PathBuf {
    let dir = suite_path.parent().unwrap_or(Path::new(".")).join("snapshots");
    // insta reads a relative snapshot path from the source file calling it (src/), not from the
    // working directory, so `SHAKEDOWN_SUITES=suites/x.yaml` would miss its baselines.
    match std::env::current_dir() {
        Ok(cwd) if dir.is_relative() => cwd.join(dir),
        _ => dir,
    }
}

/// A snapshot as stored: its body text and the scores in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub body: String,
    pub scores: BTreeMap<String, f64>,
}

/// The stored scores of a snapshot, `None` when there is none yet.
pub fn read_stored(path: &Path) -> Result<Option<Stored>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BaselineError { path: path.to_owned(), message: e.to_string() }),
    };
    let bad = |message: &str| BaselineError { path: path.to_owned(), message: message.to_owned() };
    // insta's format: a `---` delimited header, then the snapshot body.
    let body = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(_, body)| body)
        .ok_or_else(|| bad("missing the `---` header insta writes"))?;
    let scores = parse_scores(body).map_err(|e| bad(&format!("body is not `name: number` lines ({e})")))?;
    Ok(Some(Stored { body: body.trim_end().to_owned(), scores }))
}

/// A snapshot body, `name: number` per line; a repeated name is an error.
fn parse_scores(body: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut scores = BTreeMap::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("`{line}` has no `:`"))?;
        let value: f64 = value.trim().parse().map_err(|_| format!("`{}` is not a number", value.trim()))?;
        if scores.insert(name.trim().to_owned(), value).is_some() {
            return Err(format!("`{}` appears twice", name.trim()));
        }
    }
    Ok(scores)
}

/// How a case's scores compare with its committed baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Every score within the suite's tolerance of the stored one.
    Kept,
    /// insta wrote the new scores in place (`INSTA_UPDATE=always`, or a first run with
    /// `INSTA_UPDATE=unseen`).
    Written,
    /// No snapshot yet; `pending` is the `.snap.new` insta wrote for review, if it wrote one.
    Missing { snapshot: PathBuf, pending: Option<PathBuf> },
    /// Scores beyond tolerance; insta printed the diff.
    Moved { snapshot: PathBuf, pending: Option<PathBuf>, changes: Vec<Change> },
}

/// One score that moved beyond tolerance, or appeared or disappeared.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub name: String,
    pub stored: Option<f64>,
    pub measured: Option<f64>,
    pub tolerance: f64,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<f64>| v.map_or("none".to_owned(), |v| v.to_string());
        write!(f, "{} {} → {} (tolerance ±{})", self.name, show(self.stored), show(self.measured), self.tolerance)
    }
}

impl Scores {
    /// The scores that differ from `stored` by more than the tolerance.
    pub fn changes(&self, stored: &BTreeMap<String, f64>, tolerance: &Tolerance) -> Vec<Change> {
        // A breaking point moves in steps of the search's resolution: two steps of slack, so
        // a backend flipping one decision near the budget does not churn the baseline.
        let step = stored.get(Score::SearchStep.name()).copied().or(self.get(Score::SearchStep)).unwrap_or(0.0);
        let limit = |name: &str| match name {
            "risk" => tolerance.risk,
            "breaking_point" | "holds_to" => tolerance.metric.max(2.0 * step),
            _ => tolerance.metric,
        };
        let mut changes: Vec<Change> = self
            .0
            .iter()
            .filter(|(score, v)| {
                let slack = if score.is_risk() { 0.005 } else { 0.00005 };
                stored.get(score.name()).is_none_or(|s| (s - v).abs() > limit(score.name()) + slack)
            })
            .map(|(score, v)| Change {
                name: score.name().into(),
                stored: stored.get(score.name()).copied(),
                measured: Some(round(*v, if score.is_risk() { 2 } else { 4 })),
                tolerance: limit(score.name()),
            })
            .collect();
        changes.extend(
            stored.iter().filter(|(name, _)| self.0.iter().all(|(s, _)| s.name() != *name)).map(|(name, v)| Change {
                name: name.clone(),
                stored: Some(*v),
                measured: None,
                tolerance: limit(name),
            }),
        );
        changes
    }
}

/// Compare `scores` with the stored baseline of `name`, through insta, which shows the diff and
/// writes a pending snapshot (or, as `INSTA_UPDATE` says, the snapshot itself). insta must run
/// with `INSTA_FORCE_PASS` (the harness sets it): the verdict is this function's, not a panic.
pub fn check(suite_path: &Path, name: &str, scores: &Scores, tolerance: &Tolerance) -> Result<Baseline, BaselineError> {
    let dir = snapshot_dir(suite_path);
    let snapshot = dir.join(format!("{name}.snap"));
    let stored = read_stored(&snapshot)?;
    let changes = stored.as_ref().map(|s| scores.changes(&s.scores, tolerance));
    let text = match (&stored, &changes) {
        (Some(stored), Some(c)) if c.is_empty() => stored.body.clone(),
        _ => scores.render(),
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(suite_path);
    settings.bind(|| insta::assert_snapshot!(name, text));
    if changes.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Baseline::Kept);
    }
    // Whatever insta did, the files say it: the snapshot now holds these scores, or not.
    let now = read_stored(&snapshot)?;
    if now.is_some_and(|n| scores.changes(&n.scores, tolerance).is_empty()) {
        return Ok(Baseline::Written);
    }
    let pending = Some(dir.join(format!("{name}.snap.new"))).filter(|p| p.is_file());
    Ok(match changes {
        None => Baseline::Missing { snapshot, pending },
        Some(changes) => Baseline::Moved { snapshot, pending, changes },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance { risk: 1.0, metric: 0.01 };

    fn stored(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn renders_rounded_lines() {
        let s = Scores(vec![(Score::Risk, 12.3456), (Score::Map50, 0.812345), (Score::Map, -0.0)]);
        assert_eq!(s.render(), "risk: 12.35\nmap50: 0.8123\nmap: 0\n");
    }

    #[test]
    fn tolerance_applies_per_kind() {
        let s = Scores(vec![(Score::Risk, 10.0), (Score::Map50, 0.80)]);
        assert!(s.within(&stored(&[("risk", 10.9), ("map50", 0.809)]), &TOL));
        assert!(!s.within(&stored(&[("risk", 11.5), ("map50", 0.80)]), &TOL));
        assert!(!s.within(&stored(&[("risk", 10.0), ("map50", 0.82)]), &TOL));
        assert!(!s.within(&stored(&[("risk", 10.0)]), &TOL), "a missing score is a change");
        assert!(!s.within(&stored(&[("risk", 10.0), ("map", 0.8)]), &TOL), "a renamed score is a change");
    }

    #[test]
    fn reads_insta_files_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.snap");
        std::fs::write(&good, "---\nsource: src/baseline.rs\n---\nrisk: 12.5\nmap50: 0.8\n").unwrap();
        let stored = read_stored(&good).unwrap().unwrap();
        assert_eq!(stored.body, "risk: 12.5\nmap50: 0.8");
        assert_eq!(stored.scores["risk"], 12.5);
        assert!(read_stored(&dir.path().join("none.snap")).unwrap().is_none());
        let bad = dir.path().join("b.snap");
        std::fs::write(&bad, "---\nsource: x\n---\nrisk: [oops\n").unwrap();
        assert!(read_stored(&bad).is_err());
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), "---\nsource: x\n---\nrisk: [oops\n", "left untouched");
    }
}
