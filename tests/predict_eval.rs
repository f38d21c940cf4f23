//! `shakedown predict --json` feeds `shakedown eval`: the shapes detector on a few validation
//! images, scored against the same images' labels.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const IMAGES: [&str; 6] = ["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg", "000005.jpg", "000006.jpg"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shakedown(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .current_dir(root())
        .env_remove("SHAKEDOWN_BACKEND")
        .output()
        .expect("the shakedown binary runs");
    out
}

fn stdout_of(args: &[&str]) -> String {
    let out = shakedown(args);
    assert!(out.status.success(), "shakedown {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The validation annotations cut down to `IMAGES`, so that eval scores only what was predicted.
fn subset_ground_truth(dir: &Path) -> PathBuf {
    let full = root().join("examples/shapes/val/annotations.json");
    let mut gt: Value = serde_json::from_str(&std::fs::read_to_string(full).unwrap()).unwrap();
    let keep: Vec<u64> = gt["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| IMAGES.contains(&i["file_name"].as_str().unwrap()))
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert_eq!(keep.len(), IMAGES.len());
    let images: Vec<Value> = gt["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| keep.contains(&i["id"].as_u64().unwrap()))
        .cloned()
        .collect();
    let annotations: Vec<Value> = gt["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| keep.contains(&a["image_id"].as_u64().unwrap()))
        .cloned()
        .collect();
    gt["images"] = Value::from(images);
    gt["annotations"] = Value::from(annotations);
    let path = dir.join("gt.json");
    std::fs::write(&path, gt.to_string()).unwrap();
    path
}

fn image_paths() -> Vec<String> {
    IMAGES.iter().map(|f| format!("examples/shapes/val/images/{f}")).collect()
}

#[test]
fn predictions_feed_eval() {
    let dir = tempfile::tempdir().unwrap();
    let gt = subset_ground_truth(dir.path());
    let gt_arg = gt.to_str().unwrap();
    let images = image_paths();
    let mut args = vec![
        "predict",
        "--model",
        "examples/shapes/models/yolov8n.onnx",
        "--family",
        "yolov8",
        "--classes",
        "circle,square,triangle",
        "--gt",
        gt_arg,
        "--json",
    ];
    args.extend(images.iter().map(String::as_str));
    let results = stdout_of(&args);
    let parsed: Value = serde_json::from_str(&results).expect("predict --json prints json");
    let detections = parsed.as_array().expect("a list of detections");
    assert!(!detections.is_empty());
    for d in detections {
        assert!((1..=6).contains(&d["image_id"].as_u64().unwrap()), "{d}");
        assert!((1..=3).contains(&d["category_id"].as_u64().unwrap()), "{d}");
        let bbox: Vec<f64> = d["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(bbox.len() == 4 && bbox.iter().all(|v| (0.0..=320.0).contains(v)), "{d}");
        assert!(d["score"].as_f64().unwrap() > 0.001, "{d}");
    }

    // The same model taken from the suite prints the same results.
    let mut from_suite =
        vec!["predict", "--suite", "suites/shapes.yaml", "--model-name", "yolov8n", "--gt", gt_arg, "--json"];
    from_suite.extend(images.iter().map(String::as_str));
    assert_eq!(stdout_of(&from_suite), results);

    let dt = dir.path().join("dt.json");
    std::fs::write(&dt, &results).unwrap();
    let eval = stdout_of(&["eval", "--gt", gt_arg, "--dt", dt.to_str().unwrap(), "--json"]);
    let stats: Value = serde_json::from_str(&eval).unwrap();
    let (map, map50) = (stats["stats"][0].as_f64().unwrap(), stats["stats"][1].as_f64().unwrap());
    // The trained detector reaches mAP@0.5 ≈ 0.9 on the validation set.
    assert!(map50 > 0.6 && map > 0.3, "mAP {map}, mAP@0.5 {map50}");
}

#[test]
fn without_ground_truth_ids_are_file_names_and_categories_class_indices() {
    let images = image_paths();
    let mut args = vec![
        "predict",
        "--model",
        "examples/shapes/models/yolov8n.onnx",
        "--family",
        "yolov8",
        "--json",
        "--conf",
        "0.5",
    ];
    args.push(&images[0]);
    let parsed: Value = serde_json::from_str(&stdout_of(&args)).unwrap();
    let detections = parsed.as_array().unwrap();
    assert!(!detections.is_empty());
    for d in detections {
        assert_eq!(d["image_id"], "000001.jpg");
        assert!(d["category_id"].as_u64().unwrap() <= 2, "{d}");
        assert!(d["score"].as_f64().unwrap() > 0.5, "{d}");
    }
}

#[test]
fn the_table_names_classes() {
    let images = image_paths();
    let table = stdout_of(&["predict", "--suite", "suites/shapes.yaml", "--model-name", "yolov8n", &images[0]]);
    assert!(table.starts_with("examples/shapes/val/images/000001.jpg: "), "{table}");
    assert!(table.contains("class") && ["circle", "square", "triangle"].iter().any(|c| table.contains(c)), "{table}");
}

#[test]
fn classifiers_print_their_top_classes() {
    let image = "examples/shapes/classify/val/circle/000009.png";
    let args = ["predict", "--suite", "suites/model-zoo-classifier.yaml", image];
    let table = stdout_of(&args);
    assert!(table.starts_with(&format!("{image}:\n  circle ")), "the trained classifier sees a circle:\n{table}");
    let json: Value = serde_json::from_str(&stdout_of(&[&args[..], &["--json"]].concat())).unwrap();
    let top = json[0]["top"].as_array().unwrap();
    assert_eq!(top.len(), 3, "three classes, at most five shown: {json}");
    assert_eq!(top[0]["class"], "circle");
    let sum: f64 = top.iter().map(|c| c["probability"].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities of all three classes sum to 1: {json}");
}

#[test]
fn mistakes_are_reported_not_panics() {
    let images = image_paths();
    let model = "examples/shapes/models/yolov8n.onnx";
    for (args, expected) in [
        (vec!["predict", "--model", model, "--family", "yolo8", &images[0]], "did you mean `yolov8`?"),
        (vec!["predict", "--model", model, "--family", "yolov5", &images[0]], "is it a yolov8 export"),
        (vec!["predict", "--model", model, "--family", "detr", &images[0]], "does not fit family detr"),
        (vec!["predict", "--model", model, "--family", "yolov8", "--classes", "a,b", &images[0]], "`classes` lists 2"),
        (vec!["predict", "--model", model, "--family", "yolov8", "--gt", "Cargo.toml", &images[0]], "Cargo.toml"),
        (vec!["predict", "--model", model, "--family", "yolov8", "missing.jpg"], "missing.jpg"),
        (vec!["predict", "--suite", "suites/shapes.yaml", "--model-name", "yolov8", &images[0]], "did you mean"),
        (vec!["predict", "--model", model, "--family", "yolov8", "--input-size", "320", &images[0]], "HEIGHT,WIDTH"),
    ] {
        let out = shakedown(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected `{expected}` in:\n{stderr}");
    }
}
