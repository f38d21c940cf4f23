//! DETR decoder (transformers and original DETR exports): `logits [1, Q, C + 1]` (the last
//! class is "no object") and `pred_boxes [1, Q, 4]` of normalised `cx, cy, w, h`. As
//! transformers' `post_process_object_detection`: softmax, drop the last class, best class per
//! query, keep scores above the threshold; no NMS.

use super::{DecodeParams, Detection, Tensor};

/// Detections in network input pixels, best first (ties in query order).
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let (logits, boxes) = find_outputs(outputs)?;
    let (queries, width) = match (logits.shape.as_slice(), boxes.shape.as_slice()) {
        ([1, q, width], [1, q2, 4]) if q == q2 && *width > 1 => (*q, *width),
        (l, b) => {
            return Err(format!(
                "expected `logits` [1, queries, classes + 1] and `pred_boxes` [1, queries, 4], found {l:?} and {b:?}"
            ))
        }
    };
    let classes = width - 1;
    super::check_classes(classes, p, &format!("the logits have {width} columns (the last is \"no object\")"))?;
    let [h, w] = p.input_hw.map(|v| v as f32);
    let mut detections = Vec::new();
    for q in 0..queries {
        let probs = softmax(&logits.data[q * width..(q + 1) * width]);
        let (class, score) =
            probs[..classes]
                .iter()
                .copied()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score > p.min_score {
            let b = &boxes.data[q * 4..q * 4 + 4];
            let (cx, cy, bw, bh) = (b[0], b[1], b[2], b[3]);
            let corners = [cx - 0.5 * bw, cy - 0.5 * bh, cx + 0.5 * bw, cy + 0.5 * bh];
            let bbox = [corners[0] * w, corners[1] * h, corners[2] * w, corners[3] * h];
            detections.push(Detection { bbox, score, class });
        }
    }
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(p.max_detections);
    Ok(detections)
}

/// The logits and box outputs: by name when the export kept them, else in export order.
fn find_outputs(outputs: &[Tensor]) -> Result<(&Tensor, &Tensor), String> {
    if outputs.len() != 2 {
        return Err(format!("expected two outputs, `logits` and `pred_boxes`, found {}", super::shapes(outputs)));
    }
    let named = |part: &str| outputs.iter().position(|t| t.name.to_ascii_lowercase().contains(part));
    match (named("logit"), named("box")) {
        (Some(l), Some(b)) if l != b => Ok((&outputs[l], &outputs[b])),
        _ => Ok((&outputs[0], &outputs[1])),
    }
}

/// Softmax in f32 with the maximum subtracted first, as torch.
fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}
