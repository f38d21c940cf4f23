//! The two inference backends agree: tract and ONNX Runtime give the same scores within the
//! suite's tolerance. Needs `--features ort` and ORT_DYLIB_PATH (see README); `.ci/run` runs it.
#![cfg(feature = "ort")]

mod common;

use shakedown::engine::SuiteRun;
use shakedown::judge::Scores;
use shakedown::suite::Tolerance;
use shakedown::vocab::Backend;

/// The small suite's first model on one backend: its case scores, and where it ran.
struct Measured {
    tolerance: Tolerance,
    scores: Vec<(String, Scores)>,
    runs_on: &'static str,
    images: usize,
}

fn measure(backend: Backend) -> Measured {
    let mut suite = common::load("small.yaml").suite;
    suite.backend = backend;
    let tolerance = suite.tolerance;
    let run = SuiteRun::new(suite);
    let scores = run.cases.iter().filter(|c| c.model == 0).map(|c| (c.name.clone(), common::scores(&run, c))).collect();
    let runs_on = run.model_if_done(0).expect("the cases loaded the model").0.runs_on();
    let images = run.loaded_if_done().expect("the cases loaded the dataset").dims.len();
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
    let tract = measure(Backend::Tract);
    let ort = measure(Backend::Ort);
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
    let cpu = measure(Backend::Ort);
    let cuda = measure(Backend::OrtCuda);
    eprintln!("ort-cuda runs on {}", cuda.runs_on);
    if cuda.runs_on == "CPU" {
        assert_eq!(cpu.scores, cuda.scores);
        return;
    }
    assert_eq!(cuda.runs_on, "CUDA");
    let tolerance = Tolerance { risk: cpu.tolerance.risk + 100.0 / cpu.images as f64, ..cpu.tolerance };
    assert_agree(&cpu, &cuda, &tolerance, ["CPU", "CUDA"]);
}
