//! Per-image impact rules and the risk score: the share of images a perturbation breaks.

use crate::suite::ImpactRule;
use crate::vocab::boxes::iou;

/// A labelled or predicted box: `[x1, y1, x2, y2]` and a category id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabeledBox {
    pub bbox: [f32; 4],
    pub category_id: u64,
}

/// How one image fared under one perturbation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageImpact {
    pub image_id: u64,
    /// Per-image score (F1) on the clean image.
    pub before: f32,
    /// The same score on the perturbed image.
    pub after: f32,
    pub impacted: bool,
}

impl ImageImpact {
    pub fn drop(&self) -> f32 {
        self.before - self.after
    }
}

/// F1 of `predicted` (best first) against `reference`, matching greedily by score at `iou_threshold`
/// within the same category. An image with nothing to find and nothing found scores 1.
pub fn f1(reference: &[LabeledBox], predicted: &[LabeledBox], iou_threshold: f32) -> f32 {
    if reference.is_empty() && predicted.is_empty() {
        return 1.0;
    }
    let mut taken = vec![false; reference.len()];
    let mut tp = 0usize;
    for p in predicted {
        let best = reference
            .iter()
            .enumerate()
            .filter(|(j, r)| !taken[*j] && r.category_id == p.category_id)
            .map(|(j, r)| (j, iou(&r.bbox, &p.bbox)))
            .filter(|(_, v)| *v >= iou_threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((j, _)) = best {
            taken[j] = true;
            tp += 1;
        }
    }
    2.0 * tp as f32 / (reference.len() + predicted.len()) as f32
}

/// Apply the suite's impact rule to one image. `clean` and `perturbed` are the predictions kept
/// at the model's confidence threshold, best first; `labels` is ignored by label-free rules.
pub fn assess(
    rule: ImpactRule,
    image_id: u64,
    labels: &[LabeledBox],
    clean: &[LabeledBox],
    perturbed: &[LabeledBox],
) -> ImageImpact {
    let (before, after, delta) = match rule {
        ImpactRule::GroundTruth { delta, iou } => (f1(labels, clean, iou), f1(labels, perturbed, iou), delta),
        ImpactRule::Consistency { delta, iou } => (1.0, f1(clean, perturbed, iou), delta),
        // Suite validation keeps this rule to classifiers; for boxes the nearest reading is
        // "the prediction changed", i.e. consistency at the usual IoU.
        ImpactRule::Classification { delta } => (1.0, f1(clean, perturbed, 0.5), delta),
    };
    ImageImpact { image_id, before, after, impacted: before - after > delta }
}

/// The classification rule for one image: impacted when the top-1 class changes, or when the
/// probability of the true class (`label`, a model class index; without one, the clean top-1
/// class) drops by more than `delta`. `before`/`after` are that probability.
pub fn assess_classification(
    delta: f32,
    image_id: u64,
    label: Option<usize>,
    clean: &[f32],
    perturbed: &[f32],
) -> ImageImpact {
    let top = |p: &[f32]| super::classification::ranked(p).first().copied();
    let (clean_top, perturbed_top) = (top(clean), top(perturbed));
    let reference = label.or(clean_top);
    let prob = |p: &[f32]| reference.and_then(|c| p.get(c)).copied().unwrap_or(0.0);
    let (before, after) = (prob(clean), prob(perturbed));
    ImageImpact { image_id, before, after, impacted: clean_top != perturbed_top || before - after > delta }
}

/// Percentage (0-100) of images impacted.
pub fn risk_score(impacts: &[ImageImpact]) -> f64 {
    if impacts.is_empty() {
        return 0.0;
    }
    100.0 * impacts.iter().filter(|i| i.impacted).count() as f64 / impacts.len() as f64
}

/// The `k` most impacted images, largest drop first (ties by image id).
pub fn worst(impacts: &[ImageImpact], k: usize) -> Vec<ImageImpact> {
    let mut sorted: Vec<ImageImpact> = impacts.iter().filter(|i| i.impacted).copied().collect();
    sorted.sort_by(|a, b| b.drop().total_cmp(&a.drop()).then(a.image_id.cmp(&b.image_id)));
    sorted.truncate(k);
    sorted
}

/// Risk score of one class: over the images that show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassRisk {
    pub category_id: u64,
    /// Images showing the class.
    pub images: usize,
    /// Percentage (0-100) of those impacted.
    pub risk: f64,
}

/// COCO's object sizes, by area in pixels: small below 32², medium below 96², large.
pub const OBJECT_SIZES: [&str; 3] = ["small", "medium", "large"];

/// The index in [`OBJECT_SIZES`] of an object of `area` pixels.
pub fn object_size(area: f64) -> u64 {
    match area {
        a if a < 1024.0 => 0,
        a if a < 9216.0 => 1,
        _ => 2,
    }
}

/// Per-class breakdown of a risk score: `present[i]` lists the classes image `i` shows (by its
/// labels, or by its clean predictions when there are none), in the same order as `impacts`.
pub fn class_risk(impacts: &[ImageImpact], present: &[Vec<u64>]) -> Vec<ClassRisk> {
    let mut counts: std::collections::BTreeMap<u64, (usize, usize)> = Default::default();
    for (impact, classes) in impacts.iter().zip(present) {
        let mut seen: Vec<u64> = classes.clone();
        seen.sort_unstable();
        seen.dedup();
        for c in seen {
            let entry = counts.entry(c).or_default();
            entry.0 += 1;
            entry.1 += usize::from(impact.impacted);
        }
    }
    counts
        .into_iter()
        .map(|(category_id, (images, hit))| ClassRisk { category_id, images, risk: 100.0 * hit as f64 / images as f64 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32, category_id: u64) -> LabeledBox {
        LabeledBox { bbox: [x, 0.0, x + 10.0, 10.0], category_id }
    }

    #[test]
    fn f1_counts_matches_by_category_and_iou() {
        let gt = [b(0.0, 1), b(100.0, 2)];
        assert_eq!(f1(&gt, &gt, 0.5), 1.0);
        assert_eq!(f1(&gt, &[b(0.0, 1)], 0.5), 2.0 / 3.0);
        assert_eq!(f1(&gt, &[b(0.0, 2)], 0.5), 0.0); // wrong class
        assert_eq!(f1(&gt, &[b(6.0, 1)], 0.5), 0.0); // IoU 0.25
        assert_eq!(f1(&[], &[], 0.5), 1.0);
        assert_eq!(f1(&[], &[b(0.0, 1)], 0.5), 0.0);
    }

    #[test]
    fn a_box_matches_once() {
        assert_eq!(f1(&[b(0.0, 1)], &[b(0.0, 1), b(0.0, 1)], 0.5), 2.0 / 3.0);
    }

    #[test]
    fn ground_truth_rule_flags_large_drops_only() {
        let rule = ImpactRule::GroundTruth { delta: 0.3, iou: 0.5 };
        let gt = [b(0.0, 1), b(100.0, 1)];
        let hit = assess(rule, 1, &gt, &gt, &[]);
        assert!(hit.impacted && hit.before == 1.0 && hit.after == 0.0);
        let mild = assess(rule, 2, &gt, &gt, &[b(0.0, 1), b(100.0, 1), b(50.0, 1)]);
        assert!(!mild.impacted, "{mild:?}");
        let already_bad = assess(rule, 3, &gt, &[], &[]);
        assert!(!already_bad.impacted);
    }

    #[test]
    fn consistency_rule_needs_no_labels() {
        let rule = ImpactRule::Consistency { delta: 0.3, iou: 0.5 };
        let clean = [b(0.0, 1), b(100.0, 1)];
        assert!(!assess(rule, 1, &[], &clean, &clean).impacted);
        assert!(assess(rule, 1, &[], &clean, &[b(200.0, 1)]).impacted);
    }

    #[test]
    fn object_sizes_follow_coco_area_ranges() {
        let sizes: Vec<u64> = [0.0, 1023.9, 1024.0, 9215.0, 9216.0, 1e6].into_iter().map(object_size).collect();
        assert_eq!(sizes, [0, 0, 1, 1, 2, 2]);
    }

    #[test]
    fn risk_and_worst() {
        let mk = |id, after, impacted| ImageImpact { image_id: id, before: 1.0, after, impacted };
        let all = [mk(1, 0.5, true), mk(2, 1.0, false), mk(3, 0.0, true), mk(4, 0.5, true)];
        assert_eq!(risk_score(&all), 75.0);
        assert_eq!(worst(&all, 2).iter().map(|i| i.image_id).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(risk_score(&[]), 0.0);
    }

    #[test]
    fn class_risk_counts_each_image_once_per_class() {
        let mk = |id, impacted| ImageImpact { image_id: id, before: 1.0, after: 0.0, impacted };
        let impacts = [mk(1, true), mk(2, false), mk(3, true)];
        let present = [vec![5, 5, 7], vec![5], vec![7]];
        let by_class = class_risk(&impacts, &present);
        assert_eq!(
            by_class,
            [ClassRisk { category_id: 5, images: 2, risk: 50.0 }, ClassRisk { category_id: 7, images: 2, risk: 100.0 }]
        );
    }

    #[test]
    fn classification_rule_flags_a_changed_label_or_a_large_drop() {
        let clean = [0.7, 0.2, 0.1];
        assert!(!assess_classification(0.3, 1, Some(0), &clean, &[0.6, 0.3, 0.1]).impacted);
        assert!(assess_classification(0.3, 1, Some(0), &clean, &[0.4, 0.5, 0.1]).impacted, "top-1 changed");
        let drop = assess_classification(0.3, 1, Some(0), &clean, &[0.35, 0.33, 0.32]);
        assert!(drop.impacted && drop.before == 0.7 && drop.after == 0.35, "{drop:?}");
        // Without a label the clean top-1 class is the reference.
        assert!(!assess_classification(0.3, 1, None, &clean, &clean).impacted);
    }
}
