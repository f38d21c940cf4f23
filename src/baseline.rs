//! Baselines: each case's scores as an insta snapshot in `snapshots/` beside its suite.
//!
//! insta compares text exactly, but scores move by tiny amounts across backends and machines.
//! So the stored snapshot is read first: when every score is within the suite's tolerance the
//! stored text is asserted (no churn); otherwise the new text is, and insta reports the diff
//! and writes a `.snap.new` for `cargo insta review` (never in CI, where insta writes nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::errors::BaselineError;
use crate::metrics::Validation;
use crate::run::{FactorOutcome, PerturbedOutcome};
use crate::spec::Tolerance;

/// Named scores of one case, in a fixed order. `risk` is in points (0-100); the rest are 0-1.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores(pub Vec<(&'static str, f64)>);

/// The 12 COCO stats under the names snapshots use, in pycocotools order.
pub const COCO_NAMES: [&str; 12] = [
    "map",
    "map50",
    "map75",
    "map_small",
    "map_medium",
    "map_large",
    "mar1",
    "mar10",
    "mar100",
    "mar_small",
    "mar_medium",
    "mar_large",
];

impl Scores {
    /// A detector's 12 COCO stats, or a classifier's top-1 and top-5 accuracy.
    pub fn clean(validation: &Validation) -> Self {
        match validation {
            Validation::Detection(s) => Scores(COCO_NAMES.iter().zip(s.stats).map(|(n, v)| (*n, v)).collect()),
            Validation::Classification(s) => Scores(vec![("top1", s.top1), ("top5", s.top5)]),
        }
    }

    /// The risk score, and the headline metrics under the perturbation (for mPC).
    pub fn perturbed(outcome: &PerturbedOutcome) -> Self {
        match &outcome.validation {
            Validation::Detection(s) => {
                Scores(vec![("risk", outcome.risk), ("map50", s.stats[1]), ("map", s.stats[0])])
            }
            Validation::Classification(s) => Scores(vec![("risk", outcome.risk), ("top1", s.top1)]),
        }
    }

    pub fn factor(outcome: &FactorOutcome) -> Self {
        Scores(vec![("risk", outcome.risk)])
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Snapshot text: one `name: value` line each, rounded so that float noise far below any
    /// sensible tolerance does not show.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(name, v)| {
                let digits = if *name == "risk" { 2 } else { 4 };
                format!("{name}: {}\n", round(*v, digits))
            })
            .collect()
    }

    /// Whether `other` (a stored baseline) has the same names and every value within tolerance.
    pub fn within(&self, stored: &BTreeMap<String, f64>, tolerance: &Tolerance) -> bool {
        stored.len() == self.0.len()
            && self.0.iter().all(|(name, v)| {
                let limit = if *name == "risk" { tolerance.risk } else { tolerance.metric };
                // The stored value was rounded; allow for that on top of the tolerance.
                let slack = if *name == "risk" { 0.005 } else { 0.00005 };
                stored.get(*name).is_some_and(|s| (s - v).abs() <= limit + slack)
            })
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
    let scores: BTreeMap<String, f64> =
        serde_yaml::from_str(body).map_err(|e| bad(&format!("body is not `name: number` lines ({e})")))?;
    Ok(Some(Stored { body: body.trim_end().to_owned(), scores }))
}

/// Compare `scores` with the stored baseline of `name`, through insta. Panics (insta's way of
/// failing a test) when a score moved beyond tolerance or no baseline exists yet.
pub fn assert_scores(
    suite_path: &Path,
    name: &str,
    scores: &Scores,
    tolerance: &Tolerance,
) -> Result<(), BaselineError> {
    let dir = snapshot_dir(suite_path);
    let stored = read_stored(&dir.join(format!("{name}.snap")))?;
    let text = match stored {
        Some(stored) if scores.within(&stored.scores, tolerance) => stored.body,
        _ => scores.render(),
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(suite_path);
    settings.bind(|| insta::assert_snapshot!(name, text));
    Ok(())
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
        let s = Scores(vec![("risk", 12.3456), ("map50", 0.812345), ("map", -0.0)]);
        assert_eq!(s.render(), "risk: 12.35\nmap50: 0.8123\nmap: 0\n");
    }

    #[test]
    fn tolerance_applies_per_kind() {
        let s = Scores(vec![("risk", 10.0), ("map50", 0.80)]);
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
