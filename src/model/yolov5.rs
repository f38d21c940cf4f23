//! YOLOv5 (`yolov5` package, anchor-based) decoder: output `[1, N, 5 + C]` of `cx, cy, w, h`,
//! objectness and class probabilities, decoded as yolov5's `non_max_suppression`: objectness
//! above the threshold first, score = objectness × class probability, the best class (as
//! detect.py) or every class above the threshold (as val.py), class-aware NMS in the order of
//! torch's (unstable) score sort.

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
    super::check_classes(classes, p, &format!("each row has {cols} values")).map_err(|e| match n < cols {
        true => format!("{e}; fewer anchors than values per anchor: is it a yolov8 export (family yolov8)?"),
        false => e,
    })?;
    if looks_like_raw_yolox(&out.data, n, cols, p.input_hw) {
        return Err(format!(
            "the output {:?} has exactly the anchors of a YOLOX head for a {}x{} input and every box centre \
             within 2 px of the top-left corner: it looks like a raw YOLOX head (grid offsets, not pixels), \
             family yolox",
            out.shape, p.input_hw[0], p.input_hw[1]
        ));
    }
    let mut candidates = Vec::new();
    // yolov5 turns multi-label off for a single class.
    let multi_label = p.multi_label && classes > 1;
    // Objectness first, as `xc = prediction[..., 4] > conf_thres`.
    for row in out.data.chunks_exact(cols).take(n).filter(|row| row[4] > p.min_score) {
        let objectness = row[4];
        let (cx, cy, w, h) = (row[0], row[1], row[2] / 2.0, row[3] / 2.0);
        let bbox = [cx - w, cy - h, cx + w, cy + h];
        // Products first, as `x[:, 5:] *= x[:, 4:5]`.
        let products = row[5..].iter().map(|&c| c * objectness).enumerate();
        if multi_label {
            // `(x[:, 5:mi] > conf_thres).nonzero()`: row by row, classes in order.
            for (class, score) in products.filter(|&(_, s)| s > p.min_score) {
                candidates.push(Detection { bbox, score, class });
            }
            continue;
        }
        // The first maximum, as `.max(1)`.
        let (class, score) = products.fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score > p.min_score {
            candidates.push(Detection { bbox, score, class });
        }
    }
    // yolov5 sorts with torch's unstable argsort; torchvision's NMS then keeps that order, so
    // it picks the survivor among tied overlapping boxes.
    let scores: Vec<f32> = candidates.iter().map(|d| d.score).collect();
    let ordered = torch_argsort_descending(&scores).into_iter().take(MAX_NMS).map(|i| candidates[i]).collect();
    Ok(nms::greedy(ordered, p.iou, p.max_detections))
}

/// A raw YOLOX output read as yolov5 gives tiny boxes in the top-left corner and no warning:
/// its rows are one per cell of strides 8, 16, 32 (a yolov5 head has three per cell) and its
/// centres are offsets within a cell. A decoded head's centres spread over the input, so all of
/// them within 2 px means offsets. Zeros (the load-time shape check) say nothing.
fn looks_like_raw_yolox(data: &[f32], n: usize, cols: usize, input_hw: [u32; 2]) -> bool {
    let centres = || data.chunks_exact(cols).take(n).map(|r| (r[0], r[1]));
    (3..=4).any(|levels| super::yolox::anchors(input_hw, levels) == n)
        && centres().all(|(x, y)| x.abs() <= 2.0 && y.abs() <= 2.0)
        && centres().any(|(x, y)| x != 0.0 || y != 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_yolox_head_is_named() {
        // 64x64: 64 + 16 + 4 = 84 rows, centres as offsets in 0..1.
        let mut data = vec![0.0; 84 * 7];
        for (i, row) in data.chunks_exact_mut(7).enumerate() {
            row.copy_from_slice(&[(i % 5) as f32 / 5.0, 0.5, 0.1, -0.2, 0.9, 0.2, 0.8]);
        }
        let p = DecodeParams {
            classes: Some(2),
            min_score: 0.25,
            iou: 0.45,
            max_detections: 10,
            input_hw: [64, 64],
            to_image: None,
            multi_label: false,
        };
        let raw = Tensor { name: "output".into(), shape: vec![1, 84, 7], data: data.clone() };
        let err = decode(std::slice::from_ref(&raw), &p).unwrap_err();
        assert!(err.contains("family yolox"), "{err}");
        // The same rows as pixels (one centre far from the corner) decode as usual.
        let mut decoded = raw;
        decoded.data[0] = 40.0;
        assert!(!decode(&[decoded], &p).unwrap().is_empty());
        let zeros = Tensor { name: String::new(), shape: vec![1, 84, 7], data: vec![0.0; 84 * 7] };
        assert!(decode(&[zeros], &p).is_ok());
    }
}
