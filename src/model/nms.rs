//! Class-aware greedy non-maximum suppression, computed as ultralytics and yolov5 do: one
//! `torchvision.ops.nms` over boxes shifted by `class × 7680` px.
//!
//! The shift is reproduced rather than looping per class because it rounds the coordinates
//! (f32 near 15 000 has a step of 0.001): an IoU right at the threshold can fall either way,
//! and so it does here exactly as in the reference.

pub use crate::vocab::boxes::iou;
use crate::vocab::boxes::Detection;

/// Per-class coordinate offset, ultralytics' and yolov5's `max_wh`.
const MAX_WH: f32 = 7680.0;

/// Keep the best-scoring box of each overlapping same-class group; at most `max_detections`.
/// Ties in score keep input order (torchvision's stable sort), so results never depend on
/// thread timing.
pub fn non_max_suppression(
    mut candidates: Vec<Detection>,
    iou_threshold: f32,
    max_detections: usize,
) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    greedy(candidates, iou_threshold, max_detections)
}

/// NMS over candidates already in score order: a box survives when its IoU with every kept box
/// is at most `iou_threshold` (torchvision suppresses only `> threshold`).
pub(crate) fn greedy(ordered: Vec<Detection>, iou_threshold: f32, max_detections: usize) -> Vec<Detection> {
    let mut kept: Vec<(Detection, [f32; 4])> = Vec::new();
    for d in ordered {
        if kept.len() >= max_detections {
            break;
        }
        let offset = d.class as f32 * MAX_WH;
        let shifted = d.bbox.map(|v| v + offset);
        if kept.iter().all(|(_, k)| iou(k, &shifted) <= iou_threshold) {
            kept.push((d, shifted));
        }
    }
    kept.into_iter().map(|(d, _)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32, class: usize) -> Detection {
        Detection { bbox: [x, 0.0, x + 10.0, 10.0], score, class }
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 15.0, 10.0]), 50.0 / 150.0);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn suppresses_overlaps_of_the_same_class_only() {
        let kept =
            non_max_suppression(vec![det(1.0, 0.8, 0), det(0.0, 0.9, 0), det(0.0, 0.7, 1), det(50.0, 0.1, 0)], 0.5, 10);
        assert_eq!(kept, vec![det(0.0, 0.9, 0), det(0.0, 0.7, 1), det(50.0, 0.1, 0)]);
    }

    #[test]
    fn caps_the_number_kept() {
        let kept = non_max_suppression((0..10).map(|i| det(i as f32 * 20.0, 0.5, 0)).collect(), 0.5, 3);
        assert_eq!(kept.len(), 3);
    }

    #[test]
    fn ties_keep_input_order() {
        let kept = non_max_suppression(vec![det(1.0, 0.5, 0), det(0.0, 0.5, 0)], 0.5, 10);
        assert_eq!(kept, vec![det(1.0, 0.5, 0)]);
    }

    #[test]
    fn an_iou_equal_to_the_threshold_is_kept() {
        // IoU 1/3 exactly: torchvision suppresses only above the threshold.
        let kept = non_max_suppression(vec![det(0.0, 0.9, 0), det(5.0, 0.8, 0)], 50.0 / 150.0, 10);
        assert_eq!(kept.len(), 2);
    }
}
