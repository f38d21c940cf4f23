//! Metrics: COCO box evaluation and per-image impact, over a model's predictions on a dataset.

pub mod classification;
pub mod coco_eval;
pub mod coco_files;
pub mod impact;

use std::collections::HashMap;

use crate::dataset::Dataset;
use crate::perturb::Homography;
use crate::vocab::boxes::Detection;
use crate::vocab::Score;
use classification::ClassificationStats;
use coco_eval::{CocoStats, EvalInput, GroundTruth};
use impact::LabeledBox;

/// A model's validation metrics on clean or perturbed images: COCO box stats for detectors,
/// accuracy for classifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    Detection(CocoStats),
    Classification(ClassificationStats),
}

impl Validation {
    /// The figure mPC averages: COCO mAP@[.5:.95] for detectors (as COCO-C), top-1 for
    /// classifiers.
    pub fn headline(&self) -> f64 {
        match self {
            Validation::Detection(s) => s.map(),
            Validation::Classification(s) => s.top1,
        }
    }
}

/// The 12 stats by name, the way snapshots, results files and the terminal read them.
impl CocoStats {
    /// One stat by name; `None` for a score that is not a COCO stat, or that nothing could
    /// measure (pycocotools' -1: no ground truth in its range).
    pub fn get(&self, score: Score) -> Option<f64> {
        let i = Score::COCO.iter().position(|&s| s == score)?;
        Some(self.stats[i]).filter(|v| *v >= 0.0)
    }

    /// mAP@[.5:.95], COCO's headline AP.
    pub fn map(&self) -> f64 {
        self.stats[0]
    }

    /// mAP@0.5.
    pub fn map50(&self) -> f64 {
        self.stats[1]
    }

    /// mAR with 10 detections per image.
    pub fn mar10(&self) -> f64 {
        self.stats[7]
    }

    /// The 12 stats under their names, in pycocotools' order (unmeasurable ones as -1).
    pub fn named(&self) -> impl Iterator<Item = (Score, f64)> + '_ {
        Score::COCO.into_iter().zip(self.stats)
    }
}

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

    /// The model class standing for a dataset category.
    pub fn class_of(&self, category_id: u64) -> Option<usize> {
        self.0.iter().position(|c| *c == Some(category_id))
    }

    pub fn matches_any(&self) -> bool {
        self.0.iter().any(Option::is_some)
    }
}

/// COCO stats of per-image predictions (in dataset order) against the dataset's labels.
pub fn coco_stats(dataset: &Dataset, predictions: Vec<Vec<Detection>>, classes: &ClassMap) -> CocoStats {
    coco_stats_against(dataset, &ground_truth(dataset), predictions, classes)
}

/// Every annotation of the dataset, as COCOeval ground truth.
pub fn ground_truth(dataset: &Dataset) -> Vec<GroundTruth> {
    dataset
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
        .collect()
}

/// The ground truth after a perturbation moved each image's content (`motions` in dataset
/// order, `sizes` their `(width, height)`): boxes move by [`Homography::move_box`]'s rule, and the
/// `area` field scales with the box, so the area ranges still sort objects by their visible size.
pub fn moved_ground_truth(dataset: &Dataset, motions: &[Option<Homography>], sizes: &[(u32, u32)]) -> Vec<GroundTruth> {
    let mut out = ground_truth(dataset);
    let size: HashMap<u64, (u32, u32, Option<&Homography>)> = dataset
        .images
        .iter()
        .zip(motions.iter().zip(sizes))
        .map(|(img, (m, &(w, h)))| (img.id, (w, h, m.as_ref())))
        .collect();
    out.retain_mut(|gt| {
        let Some(&(w, h, Some(motion))) = size.get(&gt.image_id) else {
            return true;
        };
        let [x, y, bw, bh] = gt.bbox;
        let Some([x1, y1, x2, y2]) = motion.move_box([x, y, x + bw, y + bh], w, h) else {
            return false;
        };
        let (before, after) = (bw * bh, (x2 - x1) * (y2 - y1));
        gt.area = if before > 0.0 { gt.area * after / before } else { gt.area };
        gt.bbox = [x1, y1, x2 - x1, y2 - y1];
        true
    });
    out
}

/// Boxes of an image of `width × height` after `motion` (see [`Homography::move_box`]).
pub fn move_boxes(boxes: &[LabeledBox], motion: Option<&Homography>, width: u32, height: u32) -> Vec<LabeledBox> {
    let Some(motion) = motion else {
        return boxes.to_vec();
    };
    boxes
        .iter()
        .filter_map(|b| {
            let moved = motion.move_box(b.bbox.map(f64::from), width, height)?;
            Some(LabeledBox { bbox: moved.map(|v| v as f32), category_id: b.category_id })
        })
        .collect()
}

/// COCO stats of per-image predictions (in dataset order) against `ground_truth`.
pub fn coco_stats_against(
    dataset: &Dataset,
    ground_truth: &[GroundTruth],
    predictions: Vec<Vec<Detection>>,
    classes: &ClassMap,
) -> CocoStats {
    let image_ids: Vec<u64> = dataset.images.iter().map(|i| i.id).collect();
    let category_ids: Vec<u64> = dataset.categories.iter().map(|c| c.id).collect();
    let detections: Vec<coco_eval::Detection> = dataset
        .images
        .iter()
        .zip(predictions)
        // Each image's detections are freed as they are converted: on a large dataset they
        // are not held twice.
        .flat_map(|(img, dets)| {
            dets.into_iter().filter_map(|d| {
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
    let input = EvalInput { image_ids: &image_ids, category_ids: &category_ids, ground_truth, detections: &detections };
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

/// Detections mapped to categories, best first (classes the dataset lacks are left out).
pub fn labeled(detections: &[Detection], classes: &ClassMap) -> Vec<LabeledBox> {
    detections
        .iter()
        .filter_map(|d| Some(LabeledBox { bbox: d.bbox, category_id: classes.category(d.class)? }))
        .collect()
}
