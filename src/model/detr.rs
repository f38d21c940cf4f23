//! DETR decoder (transformers and original DETR exports): `logits [1, Q, W]` and `pred_boxes
//! [1, Q, 4]` of normalised `cx, cy, w, h`, no NMS. Two heads share that layout:
//! - softmax (DETR): `W = C + 1`, the last class "no object". As transformers'
//!   `DetrImageProcessor.post_process_object_detection`: softmax, drop the last class, best class
//!   per query, keep scores above the threshold.
//! - sigmoid (focal-loss heads: Deformable, Conditional and RT-DETR in transformers): `W = C`.
//!   As their `post_process_object_detection`: sigmoid, the `max_detections` best (query, class)
//!   pairs over all queries, keep scores above the threshold. Chosen when the suite or the
//!   export's metadata names `W` classes; without a class count the softmax head is assumed.

use super::{DecodeParams, Detection, Tensor};

/// How the logits become class scores.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Head {
    Softmax,
    Sigmoid,
}

/// Detections in network input pixels, best first (ties in query order).
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let (logits, boxes) = find_outputs(outputs)?;
    let (queries, width) = match (logits.shape.as_slice(), boxes.shape.as_slice()) {
        ([1, q, width], [1, q2, 4]) if q == q2 && *width > 0 => (*q, *width),
        (l, b) => {
            return Err(format!(
                "expected `logits` [1, queries, classes + 1] (or [1, queries, classes] for a sigmoid head) and \
                 `pred_boxes` [1, queries, 4], found {l:?} and {b:?}"
            ))
        }
    };
    let head = match p.classes {
        Some(listed) if listed == width => Head::Sigmoid,
        Some(listed) if listed + 1 != width => {
            return Err(format!(
                "the logits have {width} columns: {} classes and \"no object\" (DETR's softmax head) or {width} \
                 classes (a sigmoid head: Deformable, Conditional or RT-DETR), but `classes` lists {listed}",
                width - 1
            ))
        }
        _ if width < 2 => return Err(format!("the logits have {width} column: no class besides \"no object\"")),
        _ => Head::Softmax,
    };
    let [h, w] = p.input_hw.map(|v| v as f32);
    let in_pixels = |q: usize| {
        let b = &boxes.data[q * 4..q * 4 + 4];
        let (cx, cy, bw, bh) = (b[0], b[1], b[2], b[3]);
        [(cx - 0.5 * bw) * w, (cy - 0.5 * bh) * h, (cx + 0.5 * bw) * w, (cy + 0.5 * bh) * h]
    };
    let mut detections = Vec::new();
    match head {
        Head::Softmax => {
            let classes = width - 1;
            for q in 0..queries {
                let probs = softmax(&logits.data[q * width..(q + 1) * width]);
                let (class, score) = probs[..classes]
                    .iter()
                    .copied()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
                if score > p.min_score {
                    detections.push(Detection { bbox: in_pixels(q), score, class });
                }
            }
        }
        Head::Sigmoid => {
            // torch.topk over the flattened (query, class) scores, then the threshold.
            let scores: Vec<f32> = logits.data[..queries * width].iter().map(|&x| sigmoid(x)).collect();
            let mut order: Vec<usize> = (0..scores.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            for &i in order.iter().take(p.max_detections) {
                if scores[i] > p.min_score {
                    detections.push(Detection { bbox: in_pixels(i / width), score: scores[i], class: i % width });
                }
            }
        }
    }
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(p.max_detections);
    Ok(detections)
}

/// The logistic function as torch computes it in f32.
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
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
