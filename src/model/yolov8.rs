//! YOLOv8 (ultralytics) decoder: output `[1, 4 + C, N]` of `cx, cy, w, h` and per-class scores.

use super::{non_max_suppression, Detection, Tensor};
use crate::spec::ModelSpec;

/// Candidates above `min_score`, then class-aware NMS, as ultralytics' `non_max_suppression`.
pub fn decode(outputs: &[Tensor], spec: &ModelSpec, min_score: f32) -> Result<Vec<Detection>, String> {
    let out = outputs.first().ok_or("the model has no outputs")?;
    let classes = spec.classes.len();
    let (rows, n) = match out.shape.as_slice() {
        [1, rows, n] => (*rows, *n),
        other => return Err(format!("expected one output [1, 4 + classes, anchors], found {other:?}")),
    };
    if rows != 4 + classes {
        return Err(format!(
            "output has {rows} rows, so {} classes, but the suite lists {classes}",
            rows.saturating_sub(4)
        ));
    }
    let at = |r: usize, i: usize| out.data[r * n + i];
    let mut candidates = Vec::new();
    for i in 0..n {
        let (class, score) =
            (0..classes)
                .map(|c| (c, at(4 + c, i)))
                .fold((0, f32::NEG_INFINITY), |best, x| if x.1 > best.1 { x } else { best });
        if score.is_nan() || at(0, i).is_nan() {
            return Err("the output contains NaN".into());
        }
        if score > min_score {
            let (cx, cy, w, h) = (at(0, i), at(1, i), at(2, i), at(3, i));
            candidates.push(Detection { bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], score, class });
        }
    }
    Ok(non_max_suppression(candidates, spec.iou, spec.max_detections))
}
