//! YOLOv5 (`yolov5` package, anchor-based) decoder: output `[1, N, 5 + C]` of `cx, cy, w, h`,
//! objectness and class probabilities, decoded as yolov5's `non_max_suppression`: objectness
//! above the threshold first, score = objectness × class probability, best class only,
//! class-aware NMS in the order of torch's (unstable) score sort.

use super::{nms, torch_argsort_descending, DecodeParams, Detection, Tensor, MAX_NMS};

/// Detections in network input pixels.
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let out = match outputs {
        [out] => out,
        _ => return Err(format!("expected one output [1, anchors, 5 + classes], found {}", super::shapes(outputs))),
    };
    let (n, cols) = match out.shape.as_slice() {
        [1, n, cols] if *cols > 5 => (*n, *cols),
        other => return Err(format!("expected one output [1, anchors, 5 + classes], found {other:?}")),
    };
    let classes = cols - 5;
    if p.classes.is_none() && n < cols {
        // As in yolov8.rs: fewer anchors than values per anchor means the transposed layout.
        return Err(format!(
            "the output {:?} has fewer anchors than values per anchor: is it a yolov8 export (family \
             yolov8)? Give the class names to read it as yolov5 anyway",
            out.shape
        ));
    }
    super::check_classes(classes, p, &format!("each row has {cols} values"))?;
    let mut candidates = Vec::new();
    // Objectness first, as `xc = prediction[..., 4] > conf_thres`.
    for row in out.data.chunks_exact(cols).take(n).filter(|row| row[4] > p.min_score) {
        let objectness = row[4];
        // Products first, then the first maximum, as `(x[:, 5:] * obj).max(1)`.
        let (class, score) = row[5..]
            .iter()
            .map(|&c| c * objectness)
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score > p.min_score {
            let (cx, cy, w, h) = (row[0], row[1], row[2] / 2.0, row[3] / 2.0);
            candidates.push(Detection { bbox: [cx - w, cy - h, cx + w, cy + h], score, class });
        }
    }
    // yolov5 sorts with torch's unstable argsort; torchvision's NMS then keeps that order, so
    // it picks the survivor among tied overlapping boxes.
    let scores: Vec<f32> = candidates.iter().map(|d| d.score).collect();
    let ordered = torch_argsort_descending(&scores).into_iter().take(MAX_NMS).map(|i| candidates[i]).collect();
    Ok(nms::greedy(ordered, p.iou, p.max_detections))
}
