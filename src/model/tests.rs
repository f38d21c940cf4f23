//! Models end to end on tiny ONNX graphs (tests/fixtures/models/, made by
//! scripts/make_bad_models.py): each family's outputs found and mapped back to the image, and
//! every model that does not fit its family a clear `ModelError`, never a panic. Real tiny
//! ultralytics exports (scripts/make_tiny_exports.py) checked against ultralytics' `predict`.

use std::path::Path;

use super::*;
use crate::errors::render;

fn spec(file: &str, family: Family, classes: usize) -> ModelSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models").join(format!("{file}.onnx"));
    ModelSpec::new(file.to_owned(), path, family, (0..classes).map(|c| format!("class{c}")).collect())
}

fn load(file: &str, family: Family) -> Model {
    Model::load(&spec(file, family, 3), Backend::Tract).unwrap_or_else(|e| panic!("{}", render(&e)))
}

/// 64 × 48: letterboxed into 32 × 32 at gain 0.5 with 4 px of padding above and below.
fn image() -> RgbImage {
    RgbImage::from_pixel(64, 48, image::Rgb([10, 20, 30]))
}

fn load_error(spec: &ModelSpec) -> ModelError {
    match Model::load(spec, Backend::Tract) {
        Ok(_) => panic!("{} should not load", spec.name),
        Err(e) => e,
    }
}

#[test]
fn yolov8_boxes_map_back_to_the_image() {
    let model = load("yolov8_ok", Family::Yolov8);
    assert_eq!(model.input_hw(), [32, 32]);
    let detections = model.predict_above(&image(), 0.5).unwrap();
    assert_eq!(detections, vec![Detection { bbox: [24.0, 16.0, 40.0, 32.0], score: 0.9, class: 1 }]);
}

#[test]
fn nhwc_input_is_detected_from_the_model() {
    let model = load("yolov8_nhwc", Family::Yolov8);
    assert_eq!(model.preprocess().layout, Layout::Nhwc);
    let detections = model.predict_above(&image(), 0.5).unwrap();
    assert_eq!(detections, vec![Detection { bbox: [24.0, 16.0, 40.0, 32.0], score: 0.9, class: 1 }]);
}

#[test]
fn yolov5_scores_are_objectness_times_class() {
    let detections = load("yolov5_ok", Family::Yolov5).predict_above(&image(), 0.5).unwrap();
    assert_eq!(detections, vec![Detection { bbox: [24.0, 16.0, 40.0, 32.0], score: 0.8 * 0.9, class: 2 }]);
}

#[test]
fn detr_outputs_are_found_by_name() {
    // Three classes: both outputs are [1, 5, 4], and the boxes come first in this export.
    let detections = load("detr_ok", Family::Detr).predict_above(&image(), 0.5).unwrap();
    assert_eq!(detections.len(), 1, "{detections:?}");
    assert_eq!((detections[0].class, detections[0].bbox), (0, [24.0, 12.0, 40.0, 36.0]));
    assert!(detections[0].score > 0.99);
}

#[test]
fn int64_labels_of_nms_included_exports() {
    let detections = load("boxes_scores_labels_ok", Family::BoxesScoresLabels).predict_above(&image(), 0.5).unwrap();
    assert_eq!(detections, vec![Detection { bbox: [8.0, 0.0, 24.0, 32.0], score: 0.9, class: 2 }]);
}

#[test]
fn classifiers_classify_and_do_not_predict() {
    let model = load("classifier_ok", Family::Classifier);
    let p = model.classify(&image()).unwrap();
    let total = 1.0 + 2f32.exp() + 0.5f32.exp();
    assert!((p[1] - 2f32.exp() / total).abs() < 1e-6, "{p:?}");
    let err = model.detect(&image()).unwrap_err();
    assert!(matches!(err, ModelError::Task { .. }), "{err:?}");
    assert!(err.to_string().contains("classifier_ok"), "{err}");
    let err = load("yolov8_ok", Family::Yolov8).classify(&image()).unwrap_err();
    assert!(err.to_string().contains("use `Model::detect`"), "{err}");
}

#[test]
fn outputs_of_the_wrong_rank_fail_at_load() {
    let err = load_error(&spec("yolov8_wrong_rank", Family::Yolov8, 3));
    let text = err.to_string();
    assert!(matches!(err, ModelError::Family { .. }), "{err:?}");
    assert!(text.contains("yolov8_wrong_rank") && text.contains("[1, 4 + classes, anchors]"), "{text}");
    assert!(text.contains("[1, 7]"), "{text}");
}

#[test]
fn a_class_count_other_than_the_suite_s_fails_at_load() {
    let text = load_error(&spec("yolov8_four_classes", Family::Yolov8, 3)).to_string();
    assert!(text.contains("so 4 classes, but `classes` lists 3"), "{text}");
    let text = load_error(&spec("classifier_ok", Family::Classifier, 5)).to_string();
    assert!(text.contains("3 classes, but `classes` lists 5"), "{text}");
    // A DETR export with its `logits` only, or a yolov8 export read as DETR.
    let text = load_error(&spec("detr_one_output", Family::Detr, 3)).to_string();
    assert!(text.contains("`logits` and `pred_boxes`"), "{text}");
    let text = load_error(&spec("yolov8_ok", Family::Detr, 3)).to_string();
    assert!(text.contains("model yolov8_ok does not fit family detr"), "{text}");
}

#[test]
fn nan_outputs_are_an_error_naming_the_output() {
    let model = load("yolov8_nan", Family::Yolov8);
    let err = model.detect(&image()).unwrap_err();
    assert!(matches!(err, ModelError::InvalidOutput { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("yolov8_nan") && text.contains("output0") && text.contains("1 NaN"), "{text}");
}

#[test]
fn an_input_that_is_not_an_image_is_refused() {
    let text = load_error(&spec("rgba_input", Family::Yolov8, 3)).to_string();
    assert!(text.contains("expected one image input [1, 3, H, W]") && text.contains("[1, 4, 32, 32]"), "{text}");
    let mut nhwc = spec("yolov8_ok", Family::Yolov8, 3);
    nhwc.preprocess.layout = Some(Layout::Nhwc);
    let text = load_error(&nhwc).to_string();
    assert!(text.contains("as `layout: nhwc` says"), "{text}");
}

#[test]
fn dynamic_inputs_need_an_input_size() {
    let mut dynamic = spec("yolov8_dynamic", Family::Yolov8, 3);
    let text = render(&load_error(&dynamic));
    assert!(text.contains("yolov8_dynamic") && text.contains("input_size"), "{text}");
    dynamic.input_size = Some([32, 32]);
    let model = Model::load(&dynamic, Backend::Tract).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(model.predict_above(&image(), 0.5).unwrap().len(), 1);

    // tract cannot type this graph at all until the size is fixed.
    let mut dense = spec("yolov8_dense_dynamic", Family::Yolov8, 3);
    let text = render(&load_error(&dense));
    assert!(text.contains("yolov8_dense_dynamic") && text.contains("input_size"), "{text}");
    dense.input_size = Some([4, 4]);
    let model = Model::load(&dense, Backend::Tract).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert!(model.detect(&image()).unwrap().val.is_empty());
}

#[test]
fn a_missing_or_corrupt_file_is_a_load_error() {
    let err = load_error(&spec("does_not_exist", Family::Yolov8, 3));
    assert!(matches!(err, ModelError::Load { .. }), "{err:?}");
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"not a model").unwrap();
    let mut s = spec("corrupt", Family::Yolov8, 3);
    s.path = corrupt;
    assert!(matches!(load_error(&s), ModelError::Load { .. }));
}

/// Real ultralytics exports (tiny, random weights; scripts/make_tiny_exports.py) against
/// ultralytics' own `predict` on the same image: the same detections, matched in any order
/// because tied scores may be ordered differently by tract and onnxruntime.
fn matches_ultralytics(name: &str, output_shape: &[usize]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let text = std::fs::read_to_string(dir.join(format!("tiny_{name}.json"))).unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    let shape: Vec<usize> =
        fx["output_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(shape, output_shape, "{name}: the export's layout");
    let mut spec = spec(&format!("tiny_{name}"), Family::Yolov8, 3);
    spec.iou = fx["iou"].as_f64().unwrap() as f32;
    spec.max_detections = fx["max_det"].as_u64().unwrap() as usize;
    let model = Model::load(&spec, Backend::Tract).unwrap_or_else(|e| panic!("{}", render(&e)));
    let image = image::open(dir.join(fx["image"].as_str().unwrap())).unwrap().to_rgb8();
    let ours = model.predict_above(&image, fx["conf"].as_f64().unwrap() as f32).unwrap();
    let reference: Vec<Detection> = fx["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let b: Vec<f32> = d["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            Detection {
                bbox: [b[0], b[1], b[2], b[3]],
                score: d["score"].as_f64().unwrap() as f32,
                class: d["class"].as_u64().unwrap() as usize,
            }
        })
        .collect();
    assert!(!reference.is_empty(), "{name}: no detections to compare");
    assert_eq!(ours.len(), reference.len(), "{name}: {ours:?}\nvs ultralytics {reference:?}");
    let (mut unmatched, mut max_box, mut max_score) = (ours.clone(), 0.0f32, 0.0f32);
    for r in &reference {
        let close = |d: &Detection| {
            let db = (0..4).map(|k| (d.bbox[k] - r.bbox[k]).abs()).fold(0.0, f32::max);
            (d.class == r.class && db <= 1e-3 && (d.score - r.score).abs() <= 1e-5).then_some(db)
        };
        let i = unmatched.iter().position(|d| close(d).is_some());
        let i = i.unwrap_or_else(|| panic!("{name}: ultralytics' {r:?} has no match in {unmatched:?}"));
        let d = unmatched.swap_remove(i);
        (max_box, max_score) = (max_box.max(close(&d).unwrap_or(0.0)), max_score.max((d.score - r.score).abs()));
    }
    println!("{name}: {} detections, max box diff {max_box:e} px, max score diff {max_score:e}", ours.len());
}

#[test]
fn yolo11_export_matches_ultralytics() {
    matches_ultralytics("yolo11", &[1, 7, 84]);
}

#[test]
fn dynamic_exports_are_sized_from_their_metadata() {
    // `dynamic=True`: input [batch, 3, height, width], imgsz 64 in the metadata.
    matches_ultralytics("yolo11_dynamic", &[1, 7, 84]);
}

#[test]
fn end_to_end_exports_match_ultralytics() {
    matches_ultralytics("yolo26_end2end", &[1, 84, 6]);
    matches_ultralytics("yolov10_end2end", &[1, 84, 6]);
}

#[test]
fn contrib_operators_are_named_with_the_backend_that_runs_them() {
    let text = render(&load_error(&spec("contrib_operator", Family::Yolov8, 3)));
    assert!(text.contains("Gelu (com.microsoft)") && text.contains("SHAKEDOWN_BACKEND=ort"), "{text}");
}

#[test]
fn quantized_exports_run_and_qoperator_ones_warn_that_tract_is_slow() {
    let shapes = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let load_real = |path: &str, family: Family, input_size: Option<[u32; 2]>| {
        let mut spec = ModelSpec::new(path.into(), shapes.join(path), family, Vec::new());
        spec.input_size = input_size;
        Model::load(&spec, Backend::Tract).unwrap_or_else(|e| panic!("{}", render(&e)))
    };
    // The ONNX model zoo's file: its contrib QLinearAdd and QLinearGlobalAveragePool are
    // rewritten as standard operators (contrib.rs), so tract loads and runs it.
    let mobilenet = load_real("real-photos/mobilenetv2-12-int8.onnx", Family::Classifier, Some([224, 224]));
    let cat = image::open(shapes.join("real-photos/photos/chelsea.jpg")).unwrap().to_rgb8();
    let p = mobilenet.classify(&cat).unwrap();
    let top = crate::metrics::classification::ranked(&p)[0];
    // ImageNet 285 "Egyptian cat", 0.6692 with ONNX Runtime 1.31.1 on the same input.
    assert_eq!(top, 285, "{}", p[top]);
    assert!((p[285] - 0.6692).abs() < 1e-3, "{}", p[285]);
    let warning = mobilenet.warnings().join("\n");
    assert!(warning.contains("QLinearConv") && warning.contains("SHAKEDOWN_BACKEND=ort"), "{warning}");
    // QDQ and dynamic quantization run near float speed: nothing to say.
    for qdq in ["shapes/models/yolov8-tiny-int8.onnx", "shapes/models/yolov8-tiny-dynamic-int8.onnx"] {
        assert!(load_real(qdq, Family::Yolov8, None).warnings().is_empty(), "{qdq}");
    }
}
