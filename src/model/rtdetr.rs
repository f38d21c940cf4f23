//! ultralytics RT-DETR decoder, as `RTDETRPredictor.postprocess`: normalised `cx, cy, w, h`
//! boxes, scores above the threshold kept, no NMS.
//!
//! Two export layouts, told apart by the last dimension:
//! - `[1, Q, 4 + C]` (older ultralytics): per-class scores after the sigmoid, the best class
//!   per query (the first of equal scores, as torch's `max`);
//! - `[1, K, 6]` (ultralytics 8.4): `cx, cy, w, h, score, class`, the top `K` (query, class)
//!   pairs already chosen inside the graph, so a box may come once per class.
//!
//! Six columns with a fractional value in the last one can only be the first layout with two
//! classes; a two-class export of the first layout whose scores are all exactly 0 or 1 would be
//! read as the second.

use super::{DecodeParams, Detection, Tensor};

/// Detections in network input pixels, best first (ties in query order).
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let expected = "expected one output [1, queries, 4 + classes] or [1, queries, 6]";
    let out = match outputs {
        [out] => out,
        [..] if outputs.len() == 2 => {
            return Err(format!(
                "{expected}, found {}: two outputs are a DETR export (family detr)",
                super::shapes(outputs)
            ))
        }
        _ => return Err(format!("{expected}, found {}", super::shapes(outputs))),
    };
    let (queries, cols) = match out.shape.as_slice() {
        [1, q, cols] if *cols > 4 => (*q, *cols),
        other => return Err(format!("{expected}, found {other:?}")),
    };
    if p.classes.is_none() && queries < cols {
        // A transposed yolov8 head `[1, 4 + C, anchors]` has far more anchors than rows; with a
        // class list the count check decides.
        return Err(format!(
            "the output {:?} has fewer queries than values per query: is it a yolov8 export (family yolov8)?",
            out.shape
        ));
    }
    let rows = || out.data.chunks_exact(cols).take(queries);
    let top_k = cols == 6 && rows().all(|r| r[5].fract() == 0.0 && r[5] >= 0.0);
    if !top_k {
        super::check_classes(cols - 4, p, &format!("each query has {cols} values"))?;
    }
    let [h, w] = p.input_hw.map(|v| v as f32);
    let mut detections = Vec::new();
    for r in rows() {
        let (class, score) = if top_k {
            (r[5] as usize, r[4])
        } else {
            r[4..].iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b })
        };
        if score > p.min_score {
            if let Some(listed) = p.classes.filter(|&n| class >= n) {
                return Err(format!("a detection has class {class}, but `classes` lists {listed}"));
            }
            // `xywh2xyxy` on the normalised box, then scaled to pixels.
            let (half_w, half_h) = (r[2] / 2.0, r[3] / 2.0);
            let corners = [r[0] - half_w, r[1] - half_h, r[0] + half_w, r[1] + half_h];
            let bbox = [corners[0] * w, corners[1] * h, corners[2] * w, corners[3] * h];
            detections.push(Detection { bbox, score, class });
        }
    }
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(p.max_detections);
    Ok(detections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(classes: Option<usize>) -> DecodeParams {
        DecodeParams {
            classes,
            min_score: 0.3,
            iou: 0.7,
            max_detections: 10,
            input_hw: [100, 200],
            to_image: None,
            multi_label: false,
        }
    }

    fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor { name: "output0".into(), shape: shape.to_vec(), data: data.to_vec() }
    }

    #[test]
    fn per_class_scores_take_the_best_class_and_sort() {
        let t =
            tensor(&[1, 2, 7], &[0.5, 0.5, 0.25, 0.5, 0.125, 0.375, 0.375, 0.25, 0.5, 0.125, 0.25, 0.125, 0.25, 0.875]);
        let d = decode(&[t], &params(Some(3))).unwrap();
        assert_eq!(
            d,
            vec![
                Detection { bbox: [37.5, 37.5, 62.5, 62.5], score: 0.875, class: 2 },
                // Equal scores: the first class, as torch's `max`.
                Detection { bbox: [75.0, 25.0, 125.0, 75.0], score: 0.375, class: 1 },
            ]
        );
        assert!(decode(&[tensor(&[1, 2, 7], &[0.0; 14])], &params(Some(4))).unwrap_err().contains("7 values"));
    }

    #[test]
    fn top_k_rows_carry_score_and_class() {
        let t = tensor(&[1, 2, 6], &[0.5, 0.5, 0.25, 0.5, 0.75, 3.0, 0.5, 0.5, 0.25, 0.5, 0.25, 0.0]);
        let d = decode(std::slice::from_ref(&t), &params(Some(4))).unwrap();
        assert_eq!(d, vec![Detection { bbox: [75.0, 25.0, 125.0, 75.0], score: 0.75, class: 3 }]);
        let err = decode(&[t], &params(Some(3))).unwrap_err();
        assert!(err.contains("class 3, but `classes` lists 3"), "{err}");
        // A fractional last column: two per-class scores, the second layout ruled out.
        let t = tensor(&[1, 1, 6], &[0.5, 0.5, 0.25, 0.5, 0.375, 0.5]);
        assert_eq!(decode(&[t], &params(Some(2))).unwrap()[0].class, 1);
    }

    #[test]
    fn transposed_heads_are_errors() {
        let err = decode(&[tensor(&[1, 7, 84], &[0.0; 7 * 84])], &params(None)).unwrap_err();
        assert!(err.contains("family yolov8"), "{err}");
    }
}
