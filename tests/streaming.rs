//! Images stream through the engine: keeping none of them decoded between cases gives the same
//! scores as keeping all, and images whose bodies cannot be decoded (their headers can) are all
//! named when a case reaches them.

mod common;

use std::path::Path;

use shakedown::config::Config;
use shakedown::harness;

#[test]
fn a_zero_image_budget_gives_the_same_scores() {
    let kept = common::load("small.yaml");
    let streamed = common::load("small.yaml").with_image_memory(0);
    for case in &kept.cases {
        assert_eq!(common::scores(&kept, case), common::scores(&streamed, case), "{}", case.name);
    }
}

#[test]
fn every_image_that_fails_to_decode_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3u8 {
        let path = dir.path().join(format!("{i}.png"));
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, i * 80])).save(&path).unwrap();
        if i != 1 {
            // The first and last keep their header (the size is readable) but lose their body.
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..60]).unwrap();
        }
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes/models/yolov8n.onnx");
    let suite = dir.path().join("broken.yaml");
    std::fs::write(
        &suite,
        format!(
            "name: broken\nseed: 7\nmodels:\n  - name: yolov8n\n    path: {}\n    family: yolov8\n    \
             classes: [circle, square, triangle]\ndataset:\n  images: {}/*.png\nimpact:\n  rule: consistency\n\
             risk_factors:\n  blur:\n    perturbations:\n      gaussian_blur:\n        sigma: 1\n",
            model.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let run = harness::load_suites(&suite, &Config::default()).unwrap().remove(0).with_image_memory(0);
    assert_eq!(run.loaded().expect("headers are readable").dims.len(), 3);
    let err = run.clean(0).err().expect("two bodies are truncated").to_string();
    assert!(err.contains("2 images cannot be decoded"), "{err}");
    assert!(err.contains("0.png") && err.contains("2.png") && !err.contains("1.png"), "{err}");
}
