//! YOLOv8 (ultralytics) decoder: output `[1, 4 + C, N]` of `cx, cy, w, h` and per-class scores,
//! decoded as ultralytics' `non_max_suppression` (single label per box, class-aware NMS).

use super::{nms, torch_argsort_descending, DecodeParams, Detection, Tensor, MAX_NMS};

/// Detections in network input pixels.
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let out = match outputs {
        [out] => out,
        _ => return Err(format!("expected one output [1, 4 + classes, anchors], found {}", super::shapes(outputs))),
    };
    let (rows, n) = match out.shape.as_slice() {
        [1, rows, n] if *rows > 4 => (*rows, *n),
        other => return Err(format!("expected one output [1, 4 + classes, anchors], found {other:?}")),
    };
    let classes = rows - 4;
    if p.classes.is_none() && n < rows {
        // Real heads have far more anchors than rows; the other way round is most likely a
        // yolov5 output `[1, anchors, 5 + classes]`. With a class list the count check decides.
        return Err(format!(
            "the output {:?} has fewer anchors than rows: is it a yolov5 export (family yolov5)? \
             Give the class names to read it as yolov8 anyway",
            out.shape
        ));
    }
    super::check_classes(classes, p, &format!("the output has {rows} rows"))?;
    let at = |r: usize, i: usize| out.data[r * n + i];
    let mut candidates = Vec::new();
    for i in 0..n {
        // The first of equal class scores wins, as torch's `max`.
        let (class, score) =
            (0..classes).map(|c| (c, at(4 + c, i))).fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score > p.min_score {
            let (cx, cy, w, h) = (at(0, i), at(1, i), at(2, i) / 2.0, at(3, i) / 2.0);
            candidates.push(Detection { bbox: [cx - w, cy - h, cx + w, cy + h], score, class });
        }
    }
    if candidates.len() > MAX_NMS {
        // ultralytics keeps the `max_nms` best (sorted with torch's unstable sort) before NMS.
        let scores: Vec<f32> = candidates.iter().map(|d| d.score).collect();
        candidates = torch_argsort_descending(&scores).into_iter().take(MAX_NMS).map(|i| candidates[i]).collect();
    }
    Ok(nms::non_max_suppression(candidates, p.iou, p.max_detections))
}
