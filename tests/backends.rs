//! The two inference backends agree: tract and ONNX Runtime give the same scores within the
//! suite's tolerance. Needs `--features ort` and ORT_DYLIB_PATH (see README); `.ci/run` runs it.
#![cfg(feature = "ort")]

use std::path::Path;

use shakedown::model::BackendKind;
use shakedown::run::SuiteRun;
use shakedown::{baseline, harness};

fn scores(backend: BackendKind) -> (shakedown::spec::Tolerance, Vec<(String, baseline::Scores)>) {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/small.yaml");
    let runs = harness::load_suites(&suite).unwrap_or_else(|_| panic!("{} is valid", suite.display()));
    let mut suite = runs.into_iter().next().unwrap().suite;
    suite.backend = backend;
    let tolerance = suite.tolerance;
    let run = SuiteRun::new(suite);
    let scores = run
        .cases
        .iter()
        .filter(|c| c.model == 0)
        .map(|c| {
            let s = run.outcome_scores(c).unwrap_or_else(|e| panic!("{}", shakedown::errors::render(&*e)));
            (c.name.clone(), s)
        })
        .collect();
    (tolerance, scores)
}

#[test]
fn tract_and_onnxruntime_agree_within_tolerance() {
    let (tolerance, tract) = scores(BackendKind::Tract);
    let (_, ort) = scores(BackendKind::Ort);
    assert_eq!(tract.len(), ort.len());
    for ((name, a), (_, b)) in tract.iter().zip(&ort) {
        let stored = b.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert!(a.within(&stored, &tolerance), "{name}: tract {a:?} vs ort {b:?}");
    }
}

/// Without a GPU build of ONNX Runtime (the PyPI `onnxruntime` wheel is CPU-only) the CUDA
/// backend warns and runs on the CPU: same scores, exactly.
#[cfg(feature = "cuda")]
#[test]
fn cuda_falls_back_to_the_cpu_with_the_same_scores() {
    let (_, cpu) = scores(BackendKind::Ort);
    let (_, cuda) = scores(BackendKind::OrtCuda);
    assert_eq!(cpu, cuda);
}
