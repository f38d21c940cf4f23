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

/// The CUDA backend, on a GPU build of ONNX Runtime with a GPU, agrees with the CPU within the
/// suite's tolerance plus one image: GPU convolutions round differently, which can flip an image
/// that sits on the impact rule's threshold (measured on an H200: one image of 40 in one case).
/// Without a GPU (the PyPI `onnxruntime` wheel is CPU-only) it warns and runs on the CPU: the
/// same scores, exactly.
#[cfg(feature = "cuda")]
#[test]
fn cuda_agrees_with_the_cpu_or_falls_back_to_it() {
    let (tolerance, cpu) = scores(BackendKind::Ort);
    let (_, cuda) = scores(BackendKind::OrtCuda);
    let (runs_on, images) = runs_on(BackendKind::OrtCuda);
    eprintln!("ort-cuda runs on {runs_on}");
    if runs_on == "CPU" {
        assert_eq!(cpu, cuda);
        return;
    }
    assert_eq!(runs_on, "CUDA");
    assert_eq!(cpu.len(), cuda.len());
    let tolerance = shakedown::spec::Tolerance { risk: tolerance.risk + 100.0 / images as f64, ..tolerance };
    for ((name, a), (_, b)) in cpu.iter().zip(&cuda) {
        let stored = b.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert!(a.within(&stored, &tolerance), "{name}: CPU {a:?} vs CUDA {b:?}");
    }
}

/// Where the first model of the small suite runs on `backend`, and how many images it has.
#[cfg(feature = "cuda")]
fn runs_on(backend: BackendKind) -> (&'static str, usize) {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/small.yaml");
    let suite = harness::load_suites(&suite).unwrap().into_iter().next().unwrap().suite;
    let model = shakedown::model::Model::load(&suite.models[0], backend).unwrap();
    let images = SuiteRun::new(suite).loaded().unwrap().images.len();
    (model.runs_on(), images)
}
