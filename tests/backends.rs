//! The two inference backends agree: tract and ONNX Runtime give the same scores within the
//! suite's tolerance. Needs `--features ort` and ORT_DYLIB_PATH (see README); `.ci/run` runs it.
#![cfg(feature = "ort")]

use std::path::Path;

use shakedown::model::BackendKind;
use shakedown::run::SuiteRun;
use shakedown::spec::Tolerance;
use shakedown::{baseline, harness};

/// The small suite's first model on one backend: its case scores, and where it ran.
struct Measured {
    tolerance: Tolerance,
    scores: Vec<(String, baseline::Scores)>,
    runs_on: &'static str,
    images: usize,
}

fn measure(backend: BackendKind) -> Measured {
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
    let runs_on = run.model_if_done(0).expect("the cases loaded the model").0.runs_on();
    let images = run.loaded_if_done().expect("the cases loaded the dataset").images.len();
    Measured { tolerance, scores, runs_on, images }
}

fn assert_agree(a: &Measured, b: &Measured, tolerance: &Tolerance, what: [&str; 2]) {
    assert_eq!(a.scores.len(), b.scores.len());
    for ((name, x), (_, y)) in a.scores.iter().zip(&b.scores) {
        let stored = y.0.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert!(x.within(&stored, tolerance), "{name}: {} {x:?} vs {} {y:?}", what[0], what[1]);
    }
}

#[test]
fn tract_and_onnxruntime_agree_within_tolerance() {
    let tract = measure(BackendKind::Tract);
    let ort = measure(BackendKind::Ort);
    assert_agree(&tract, &ort, &tract.tolerance, ["tract", "ort"]);
}

/// The CUDA backend, on a GPU build of ONNX Runtime with a GPU, agrees with the CPU within the
/// suite's tolerance plus one image: GPU convolutions round differently, which can flip an image
/// that sits on the impact rule's threshold (measured on an H200: one image of 40 in one case).
/// Without a GPU (the PyPI `onnxruntime` wheel is CPU-only) it warns and runs on the CPU: the
/// same scores, exactly.
#[cfg(feature = "cuda")]
#[test]
fn cuda_agrees_with_the_cpu_or_falls_back_to_it() {
    let cpu = measure(BackendKind::Ort);
    let cuda = measure(BackendKind::OrtCuda);
    eprintln!("ort-cuda runs on {}", cuda.runs_on);
    if cuda.runs_on == "CPU" {
        assert_eq!(cpu.scores, cuda.scores);
        return;
    }
    assert_eq!(cuda.runs_on, "CUDA");
    let tolerance = Tolerance { risk: cpu.tolerance.risk + 100.0 / cpu.images as f64, ..cpu.tolerance };
    assert_agree(&cpu, &cuda, &tolerance, ["CPU", "CUDA"]);
}
