//! Decoder parity with the reference post-processing (ultralytics, yolov5, transformers, YOLOX)
//! on the raw outputs in tests/fixtures/decoders/, made by scripts/make_decoder_fixtures.py.
//!
//! Same detections, in the same order, same classes, boxes within 1e-3 px and scores within
//! 1e-5, and the same letterbox geometry. One known, deliberate difference: transformers' DETR
//! post-processing, ultralytics' RT-DETR one and the YOLOX demo do not clip boxes to the image
//! and ours does (as every other family); those checks clip the reference and print how many
//! boxes that touched.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::preprocess::{Geometry, MapBack, Paste};
use super::{DecodeParams, Detection, Family, Tensor};

const BOX_TOLERANCE: f32 = 1e-3;
const SCORE_TOLERANCE: f32 = 1e-5;

struct Fixture {
    name: String,
    json: Value,
}

impl Fixture {
    fn num(&self, key: &str) -> f64 {
        self.json[key].as_f64().unwrap_or_else(|| panic!("{}: `{key}` is not a number", self.name))
    }

    fn pair(&self, v: &Value) -> [u32; 2] {
        [0, 1].map(|i| v[i].as_u64().unwrap_or_else(|| panic!("{}: not a size: {v}", self.name)) as u32)
    }

    fn floats(v: &Value) -> Vec<f32> {
        // Each value is a float32 written as the double it equals: the cast is exact.
        v.as_array().map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN) as f32).collect()).unwrap_or_default()
    }

    fn detections(&self, key: &str) -> Vec<Detection> {
        let list = self.json[key].as_array().unwrap_or_else(|| panic!("{}: no `{key}`", self.name));
        list.iter()
            .map(|d| {
                let b = Self::floats(&d["bbox"]);
                Detection {
                    bbox: [b[0], b[1], b[2], b[3]],
                    score: d["score"].as_f64().unwrap_or(f64::NAN) as f32,
                    class: d["class"].as_u64().unwrap_or(u64::MAX) as usize,
                }
            })
            .collect()
    }

    fn outputs(&self) -> Vec<Tensor> {
        let list = self.json["outputs"].as_array().unwrap_or_else(|| panic!("{}: no outputs", self.name));
        list.iter()
            .map(|o| Tensor {
                name: o["name"].as_str().unwrap_or_default().to_owned(),
                shape: o["shape"].as_array().into_iter().flatten().map(|d| d.as_u64().unwrap_or(0) as usize).collect(),
                data: Self::floats(&o["data"]),
            })
            .collect()
    }
}

fn fixtures(family: &str) -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decoders");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{family}_"))))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "too few {family} fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            Fixture { name, json: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())) }
        })
        .collect()
}

/// Largest box and score differences; panics on a different count, order or class.
fn compare(name: &str, ours: &[Detection], reference: &[Detection]) -> (f32, f32) {
    assert_eq!(ours.len(), reference.len(), "{name}: {} detections, the reference has {}", ours.len(), reference.len());
    let (mut max_box, mut max_score) = (0.0f32, 0.0f32);
    for (i, (a, b)) in ours.iter().zip(reference).enumerate() {
        assert_eq!(
            a.class, b.class,
            "{name}: detection {i} is class {}, the reference's {}: {a:?} vs {b:?}",
            a.class, b.class
        );
        let db = (0..4).map(|k| (a.bbox[k] - b.bbox[k]).abs()).fold(0.0, f32::max);
        let ds = (a.score - b.score).abs();
        assert!(db <= BOX_TOLERANCE, "{name}: detection {i} box differs by {db} px: {a:?} vs {b:?}");
        assert!(ds <= SCORE_TOLERANCE, "{name}: detection {i} score differs by {ds}: {a:?} vs {b:?}");
        (max_box, max_score) = (max_box.max(db), max_score.max(ds));
    }
    (max_box, max_score)
}

/// Decode a fixture's outputs with our decoder and map the boxes back with `geometry`.
fn decode(fx: &Fixture, family: Family, geometry: &Geometry) -> Vec<Detection> {
    let params = DecodeParams {
        classes: Some(fx.num("classes") as usize),
        min_score: fx.num("conf") as f32,
        iou: fx.num("iou") as f32,
        max_detections: fx.num("max_det") as usize,
        input_hw: fx.pair(&fx.json["input_hw"]),
        to_image: Some(*geometry),
        multi_label: fx.json["multi_label"].as_bool().unwrap_or(false),
    };
    let mut detections = family.decode(&fx.outputs(), &params).unwrap_or_else(|e| panic!("{}: {e}", fx.name));
    for d in &mut detections {
        d.bbox = geometry.to_image(d.bbox);
    }
    detections
}

/// Our letterbox against the reference's: paste measured on its image, map measured on its
/// `scale_boxes`.
fn letterbox_geometry(fx: &Fixture, map_back: MapBack) -> Geometry {
    let (image_wh, input_hw) = (fx.pair(&fx.json["image_wh"]), fx.pair(&fx.json["input_hw"]));
    let (geometry, paste) = Geometry::letterbox(image_wh, input_hw, map_back);
    let lb = &fx.json["letterbox"];
    let [width, height] = fx.pair(&lb["new_wh"]);
    let reference = Paste {
        left: lb["left"].as_u64().unwrap_or(0) as u32,
        top: lb["top"].as_u64().unwrap_or(0) as u32,
        width,
        height,
    };
    assert_eq!(paste, reference, "{}: letterbox paste", fx.name);
    for (what, ours, theirs) in
        [("gain", geometry.gain, &fx.json["map_back"]["gain"]), ("pad", geometry.pad, &fx.json["map_back"]["pad"])]
    {
        for k in 0..2 {
            let t = theirs[k].as_f64().unwrap_or(f64::NAN);
            assert!(
                (ours[k] as f64 - t).abs() <= 1e-6 * t.abs().max(1.0),
                "{}: map-back {what}[{k}] {} vs {t}",
                fx.name,
                ours[k]
            );
        }
    }
    geometry
}

fn yolo_parity(family: Family, map_back: MapBack) {
    for fx in fixtures(family.name()) {
        let geometry = letterbox_geometry(&fx, map_back);
        let ours = decode(&fx, family, &geometry);
        let reference = fx.detections("detections");
        let (db, ds) = compare(&fx.name, &ours, &reference);
        println!("{}: {} detections, max box diff {db:e} px, max score diff {ds:e}", fx.name, ours.len());
        if !fx.json["detections_if_sort_were_stable"].is_null() {
            // The case where yolov5's unstable sort picks the survivors among tied boxes.
            let stable = fx.detections("detections_if_sort_were_stable");
            assert_ne!(reference, stable, "{}: the fixture should make ties matter", fx.name);
        }
        if fx.json["multi_label"].as_bool() == Some(true) {
            // The validators' selection: some boxes carry a second label, so reading only the
            // best class per box would differ.
            let boxes: std::collections::HashSet<[u32; 4]> =
                reference.iter().map(|d| d.bbox.map(f32::to_bits)).collect();
            assert!(boxes.len() < reference.len(), "{}: no box carries two labels", fx.name);
        }
    }
}

#[test]
fn yolov8_matches_ultralytics() {
    yolo_parity(Family::Yolov8, MapBack::Ultralytics);
}

#[test]
fn yolov5_matches_yolov5() {
    yolo_parity(Family::Yolov5, MapBack::Yolov5);
}

/// Clip the reference's boxes to the image as we do; how many that moved.
fn clip(fx: &Fixture, reference: &mut [Detection]) -> usize {
    let [w, h] = fx.pair(&fx.json["image_wh"]).map(|v| v as f32);
    let mut clipped = 0;
    for d in reference {
        let inside =
            [d.bbox[0].clamp(0.0, w), d.bbox[1].clamp(0.0, h), d.bbox[2].clamp(0.0, w), d.bbox[3].clamp(0.0, h)];
        clipped += usize::from(inside != d.bbox);
        d.bbox = inside;
    }
    assert!(clipped > 0, "{}: the fixture should have boxes crossing the border", fx.name);
    clipped
}

/// Families without NMS, stretched: the reference sorted best first (stable) and clipped.
fn stretch_parity(family: Family, prefix: &str, reference_name: &str) {
    for fx in fixtures(prefix) {
        let (image_wh, input_hw) = (fx.pair(&fx.json["image_wh"]), fx.pair(&fx.json["input_hw"]));
        let geometry = Geometry::stretch(image_wh, input_hw);
        let ours = decode(&fx, family, &geometry);
        let mut reference = fx.detections("detections");
        reference.sort_by(|a, b| b.score.total_cmp(&a.score));
        let clipped = clip(&fx, &mut reference);
        let (db, ds) = compare(&fx.name, &ours, &reference);
        println!(
            "{}: {} detections, max box diff {db:e} px, max score diff {ds:e}; known difference: {clipped} boxes \
             cross the image border, {reference_name} leaves them unclipped, we clip",
            fx.name,
            ours.len()
        );
    }
}

#[test]
fn detr_matches_transformers() {
    // transformers keeps query order; we sort best first.
    stretch_parity(Family::Detr, "detr", "transformers");
}

#[test]
fn rtdetr_matches_ultralytics() {
    for layout in ["rtdetr_top_k", "rtdetr_per_class"] {
        stretch_parity(Family::Rtdetr, layout, "ultralytics");
    }
}

#[test]
fn yolox_matches_the_yolox_demo() {
    for fx in fixtures("yolox") {
        let geometry = letterbox_geometry(&fx, MapBack::Yolox);
        let ours = decode(&fx, Family::Yolox, &geometry);
        let mut reference = fx.detections("detections");
        let clipped = clip(&fx, &mut reference);
        let (db, ds) = compare(&fx.name, &ours, &reference);
        println!(
            "{}: {} detections, max box diff {db:e} px, max score diff {ds:e}; known difference: {clipped} boxes \
             cross the image border, the YOLOX demo leaves them unclipped, we clip",
            fx.name,
            ours.len()
        );
    }
}
