//! Metrics: COCO box evaluation and per-image impact, over a model's predictions on a dataset.

pub mod coco_eval;
pub mod coco_json;
pub mod impact;

use crate::dataset::Dataset;
use crate::model::Detection;
use coco_eval::{CocoStats, EvalInput, GroundTruth};
use impact::LabeledBox;

/// Maps a model's class indices to the dataset's category ids (by name).
#[derive(Debug, Clone)]
pub struct ClassMap(Vec<Option<u64>>);

impl ClassMap {
    /// Classes the dataset does not have map to nothing; their detections are dropped. Without
    /// labels every class stands for itself (category id = class index + 1).
    pub fn new(classes: &[String], dataset: &Dataset) -> Self {
        if !dataset.is_labeled() {
            return Self((1..=classes.len() as u64).map(Some).collect());
        }
        Self(classes.iter().map(|c| dataset.category_by_name(c).map(|cat| cat.id)).collect())
    }

    pub fn category(&self, class: usize) -> Option<u64> {
        self.0.get(class).copied().flatten()
    }

    pub fn matches_any(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }
}

/// COCO stats of per-image predictions (in dataset order).
pub fn coco_stats(dataset: &Dataset, predictions: &[Vec<Detection>], classes: &ClassMap) -> CocoStats {
    let image_ids: Vec<u64> = dataset.images.iter().map(|i| i.id).collect();
    let category_ids: Vec<u64> = dataset.categories.iter().map(|c| c.id).collect();
    let ground_truth: Vec<GroundTruth> = dataset
        .images
        .iter()
        .flat_map(|img| {
            img.annotations.iter().map(|a| GroundTruth {
                image_id: img.id,
                category_id: a.category_id,
                bbox: a.bbox,
                area: a.area,
                iscrowd: a.iscrowd,
            })
        })
        .collect();
    let detections: Vec<coco_eval::Detection> = dataset
        .images
        .iter()
        .zip(predictions)
        .flat_map(|(img, dets)| {
            dets.iter().filter_map(|d| {
                let [x1, y1, x2, y2] = d.bbox.map(f64::from);
                Some(coco_eval::Detection {
                    image_id: img.id,
                    category_id: classes.category(d.class)?,
                    bbox: [x1, y1, x2 - x1, y2 - y1],
                    score: f64::from(d.score),
                })
            })
        })
        .collect();
    let input = EvalInput {
        image_ids: &image_ids,
        category_ids: &category_ids,
        ground_truth: &ground_truth,
        detections: &detections,
    };
    coco_eval::evaluate(&input).expect("detections are made for the dataset's own images")
}

/// Non-crowd labels of one image, as boxes for the impact rule.
pub fn labels(dataset: &Dataset, index: usize) -> Vec<LabeledBox> {
    dataset.images[index]
        .annotations
        .iter()
        .filter(|a| !a.iscrowd)
        .map(|a| {
            let [x, y, w, h] = a.bbox.map(|v| v as f32);
            LabeledBox { bbox: [x, y, x + w, y + h], category_id: a.category_id }
        })
        .collect()
}

/// Predictions at or above `confidence`, mapped to categories, best first.
pub fn confident(detections: &[Detection], classes: &ClassMap, confidence: f32) -> Vec<LabeledBox> {
    detections
        .iter()
        .filter(|d| d.score >= confidence)
        .filter_map(|d| Some(LabeledBox { bbox: d.bbox, category_id: classes.category(d.class)? }))
        .collect()
}
