//! A YOLO copy of a COCO dataset gives the same clean stats: a slice of `examples/shapes/val`
//! is converted, in a temporary folder, into ultralytics' format (data.yaml, `images/`,
//! `labels/` of normalised `cls cx cy w h`) and into a COCO copy of the same boxes, and the
//! `yolov8n` model scores all 12 COCO stats alike on both.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shakedown::config::Config;
use shakedown::engine::SuiteRun;
use shakedown::harness;
use shakedown::vocab::Score;

/// Images of the slice: enough for every size range to hold objects, few enough to run fast.
const IMAGES: u64 = 24;

fn shapes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes")
}

/// Writes `yolo/` (data.yaml with `names` as a map, images, labels) and `coco/annotations.json`
/// for the first `IMAGES` images of the shapes set; returns the number of boxes.
///
/// The COCO copy keeps each box but sets `area` to w·h: the original's areas are segmentation
/// areas, which decide the small/medium/large ranges, and YOLO boxes carry only w·h.
fn convert(dir: &Path) -> usize {
    let coco: Value =
        serde_json::from_str(&std::fs::read_to_string(shapes().join("val/annotations.json")).unwrap()).unwrap();
    let images: Vec<&Value> =
        coco["images"].as_array().unwrap().iter().filter(|i| i["id"].as_u64().unwrap() <= IMAGES).collect();
    assert_eq!(images.len() as u64, IMAGES);
    let categories = coco["categories"].as_array().unwrap();
    // Category id k becomes class k - 1, as the YOLO reader maps class i back to id i + 1.
    let names: Vec<String> = categories
        .iter()
        .enumerate()
        .map(|(k, c)| {
            assert_eq!(c["id"].as_u64().unwrap(), k as u64 + 1, "category ids are 1, 2, …");
            format!("  {k}: {}\n", c["name"].as_str().unwrap())
        })
        .collect();
    let yolo = dir.join("yolo");
    std::fs::create_dir_all(yolo.join("images/val")).unwrap();
    std::fs::create_dir_all(yolo.join("labels/val")).unwrap();
    std::fs::write(
        yolo.join("data.yaml"),
        format!("path: .\ntrain: images/train\nval: images/val\nnames:\n{}", names.concat()),
    )
    .unwrap();
    let mut annotations = Vec::new();
    for image in &images {
        let (id, file) = (image["id"].as_u64().unwrap(), image["file_name"].as_str().unwrap());
        let (w, h) = (image["width"].as_f64().unwrap(), image["height"].as_f64().unwrap());
        std::fs::copy(shapes().join("val/images").join(file), yolo.join("images/val").join(file)).unwrap();
        let mut lines = String::new();
        for a in coco["annotations"].as_array().unwrap().iter().filter(|a| a["image_id"].as_u64() == Some(id)) {
            let b: Vec<f64> = a["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let class = a["category_id"].as_u64().unwrap() - 1;
            // `{}` writes the shortest text that reads back as the same f64.
            let (cx, cy, bw, bh) = ((b[0] + b[2] / 2.0) / w, (b[1] + b[3] / 2.0) / h, b[2] / w, b[3] / h);
            lines.push_str(&format!("{class} {cx} {cy} {bw} {bh}\n"));
            annotations.push(json!({"id": annotations.len() + 1, "image_id": id, "category_id": class + 1,
                                    "bbox": b, "area": b[2] * b[3], "iscrowd": 0}));
        }
        // An image without objects gets no label file: ultralytics reads that as "no objects".
        if !lines.is_empty() {
            std::fs::write(yolo.join("labels/val").join(Path::new(file).with_extension("txt")), lines).unwrap();
        }
    }
    let boxes = annotations.len();
    std::fs::create_dir_all(dir.join("coco")).unwrap();
    let copy = json!({"images": images, "annotations": annotations, "categories": categories});
    std::fs::write(dir.join("coco/annotations.json"), copy.to_string()).unwrap();
    boxes
}

/// A one-model suite over `dataset` (YAML lines), in `dir`.
fn suite(dir: &Path, name: &str, dataset: &str) -> SuiteRun {
    let model = shapes().join("models/yolov8n.onnx");
    let text = format!(
        "name: {name}\nmodels:\n  - name: yolov8n\n    path: {}\n    family: yolov8\n    classes: [circle, square, triangle]\n\
         dataset:\n{dataset}risk_factors:\n  blur:\n    perturbations:\n      gaussian_blur:\n        sigma: 2\n",
        model.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    let mut runs = harness::load_suites(&path, &Config::default()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    runs.remove(0)
}

fn clean_stats(run: &SuiteRun) -> Vec<f64> {
    let scores = common::scores(run, common::clean_case(run, 0));
    Score::COCO.iter().map(|&s| scores.get(s).unwrap_or_else(|| panic!("{s:?} in {scores:?}"))).collect()
}

#[test]
fn a_yolo_copy_scores_as_the_coco_copy() {
    let dir = tempfile::tempdir().unwrap();
    let boxes = convert(dir.path());
    let coco = suite(dir.path(), "coco", "  annotations: coco/annotations.json\n  images: yolo/images/val/*.jpg\n");
    let yolo = suite(dir.path(), "yolo", "  yolo: yolo/data.yaml\n  split: val\n");
    let (coco_stats, yolo_stats) = (clean_stats(&coco), clean_stats(&yolo));
    for ((score, c), y) in Score::COCO.iter().zip(&coco_stats).zip(&yolo_stats) {
        eprintln!("{score:?}: coco {c:.12} yolo {y:.12}");
        assert!((c - y).abs() <= 1e-9, "{score:?}: COCO copy {c}, YOLO copy {y}");
    }
    // Not equal by being empty: the model finds the shapes, and every size range has objects.
    assert!(coco_stats[1] > 0.7, "mAP@0.5 {}", coco_stats[1]);
    assert!(coco_stats[3..6].iter().all(|&v| v >= 0.0), "{coco_stats:?}");
    assert!(boxes > 50, "{boxes} boxes");
}

#[test]
fn limit_keeps_the_same_first_images_as_for_coco() {
    // COCO keeps the first N by id, YOLO the first N in path order: here the same five files.
    let dir = tempfile::tempdir().unwrap();
    convert(dir.path());
    let coco = "  annotations: coco/annotations.json\n  images: yolo/images/val/*.jpg\n  limit: 5\n";
    let coco = clean_stats(&suite(dir.path(), "coco", coco));
    let yolo = clean_stats(&suite(dir.path(), "yolo", "  yolo: yolo/data.yaml\n  limit: 5\n"));
    let all = clean_stats(&suite(dir.path(), "all", "  yolo: yolo/data.yaml\n"));
    assert!(coco.iter().zip(&yolo).all(|(c, y)| (c - y).abs() <= 1e-9), "{coco:?} vs {yolo:?}");
    // The limit did cut: five images score differently from all of them.
    assert!(all.iter().zip(&yolo).any(|(a, y)| (a - y).abs() > 1e-6), "{all:?} vs {yolo:?}");
}
