//! Real exports of one trained detector (tests/suites/exports.yaml): fp16 and int8 variants run
//! on the default backend, keep the fp32 export's clean mAP within what their precision
//! explains, and a dynamic-quantized graph survives many forward passes (tract's AMX int8
//! kernel crashed on the second one; see `model::tract::avoid_crashing_kernels`).

mod common;

use shakedown::vocab::Score;

/// How far each variant's clean mAP@0.5 and mAP may fall from the fp32 export's.
const TOLERANCES: [(&str, f64); 4] = [("fp16", 0.005), ("fp16-io", 0.005), ("int8", 0.03), ("dynamic-int8", 0.03)];

#[test]
fn quantized_and_half_exports_score_like_fp32() {
    let run = common::load("exports.yaml");
    let score = |m: usize| {
        let s = common::scores(&run, common::clean_case(&run, m));
        (s.get(Score::Map50).unwrap(), s.get(Score::Map).unwrap())
    };
    let (fp32_50, fp32) = score(0);
    eprintln!("fp32: mAP@0.5 {fp32_50:.4}, mAP {fp32:.4}");
    assert!(fp32_50 > 0.7, "the trained model finds the shapes: {fp32_50}");
    for (name, tolerance) in TOLERANCES {
        let m = run.suite.models.iter().position(|m| m.name == name).expect("the suite lists it");
        let (map50, map) = score(m);
        eprintln!("{name}: mAP@0.5 {map50:.4} ({:+.4}), mAP {map:.4} ({:+.4})", map50 - fp32_50, map - fp32);
        assert!((map50 - fp32_50).abs() <= tolerance, "{name}: mAP@0.5 {map50} against fp32 {fp32_50}");
        assert!((map - fp32).abs() <= tolerance, "{name}: mAP {map} against fp32 {fp32}");
    }
}
