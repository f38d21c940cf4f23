//! Metrics: COCO box evaluation and per-image impact, over a model's predictions on a dataset.

pub mod classification;
pub mod coco_eval;
pub mod coco_files;
pub mod impact;

use crate::dataset::Dataset;
use crate::perturb::Homography;
use crate::vocab::boxes::Detection;
use crate::vocab::Score;
use classification::ClassificationStats;
use coco_eval::{CocoStats, GroundTruth};
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

/// One image's annotations as COCOeval ground truth, after a perturbation `motion` moved the
/// content of the `(width, height)` image: boxes move by [`Homography::move_box`]'s rule (and
/// drop out when they leave the image), and the `area` field scales with the box, so the area
/// ranges still sort objects by their visible size.
pub fn image_ground_truth(
    dataset: &Dataset,
    index: usize,
    motion: Option<&Homography>,
    size: (u32, u32),
) -> Vec<GroundTruth> {
    let image = &dataset.images[index];
    image
        .annotations
        .iter()
        .filter_map(|a| {
            let mut gt = GroundTruth {
                image_id: image.id,
                category_id: a.category_id,
                bbox: a.bbox,
                area: a.area,
                iscrowd: a.iscrowd,
            };
            if let Some(motion) = motion {
                let [x, y, bw, bh] = gt.bbox;
                let [x1, y1, x2, y2] = motion.move_box([x, y, x + bw, y + bh], size.0, size.1)?;
                let (before, after) = (bw * bh, (x2 - x1) * (y2 - y1));
                gt.area = if before > 0.0 { gt.area * after / before } else { gt.area };
                gt.bbox = [x1, y1, x2 - x1, y2 - y1];
            }
            Some(gt)
        })
        .collect()
}

/// A detector's COCO validation on a dataset, one image at a time: each image's mAP
/// detections are matched as soon as they exist and then freed, so memory holds compact match
/// records, not every detection of the dataset (see [`coco_eval::Evaluator`]).
pub struct CocoValidation<'a> {
    dataset: &'a Dataset,
    classes: &'a ClassMap,
    evaluator: coco_eval::Evaluator,
}

impl<'a> CocoValidation<'a> {
    pub fn new(dataset: &'a Dataset, classes: &'a ClassMap) -> Self {
        let image_ids: Vec<u64> = dataset.images.iter().map(|i| i.id).collect();
        let category_ids: Vec<u64> = dataset.categories.iter().map(|c| c.id).collect();
        CocoValidation { dataset, classes, evaluator: coco_eval::Evaluator::new(&image_ids, &category_ids) }
    }

    /// Matches image `index`'s detections (consumed) against its annotations, moved by the
    /// perturbation's `motion` on the `(width, height)` image if it moved the content.
    pub fn image(
        &self,
        index: usize,
        detections: Vec<Detection>,
        motion: Option<&Homography>,
        size: (u32, u32),
    ) -> coco_eval::ImageEval {
        let image_id = self.dataset.images[index].id;
        let detections: Vec<coco_eval::Detection> = detections
            .into_iter()
            .filter_map(|d| {
                let [x1, y1, x2, y2] = d.bbox.map(f64::from);
                Some(coco_eval::Detection {
                    image_id,
                    category_id: self.classes.category(d.class)?,
                    bbox: [x1, y1, x2 - x1, y2 - y1],
                    score: f64::from(d.score),
                })
            })
            .collect();
        let ground_truth = image_ground_truth(self.dataset, index, motion, size);
        self.evaluator.image(index, &ground_truth, &detections)
    }

    /// The 12 stats and per-category AP of every image's matches.
    pub fn finish(&self, images: Vec<coco_eval::ImageEval>) -> CocoStats {
        self.evaluator.finish(images)
    }
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
