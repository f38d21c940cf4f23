//! Decoder of exports that already include NMS (torchvision style): `boxes [1, N, 4]` as
//! `x1, y1, x2, y2` in network input pixels, `scores [1, N]` and `labels [1, N]` (int64 or
//! float); also without the batch axis, and with an optional `num_detections` output that
//! counts the valid rows. Only thresholding and the map back to the image remain.

use super::{DecodeParams, Detection, Tensor};

/// Detections in network input pixels, best first (ties in output order).
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let expected = "expected outputs `boxes` [1, N, 4], `scores` [1, N] and `labels` [1, N]";
    let named = |parts: &[&str]| {
        outputs.iter().position(|t| {
            let name = t.name.to_ascii_lowercase();
            parts.iter().any(|part| name.contains(part))
        })
    };
    let count = named(&["num_det", "num_boxes", "num_detections"]);
    let rest: Vec<usize> = (0..outputs.len()).filter(|&i| Some(i) != count).collect();
    let (b, s, l) = match (named(&["box"]), named(&["score", "conf"]), named(&["label", "class"])) {
        (Some(b), Some(s), Some(l)) if b != s && s != l && b != l && rest.len() == 3 => (b, s, l),
        // Unnamed: boxes are the [.., N, 4] output, then scores and labels in export order.
        _ => match rest.as_slice() {
            [x, y, z] => {
                let is_boxes = |i: &usize| outputs[*i].shape.last() == Some(&4) && outputs[*i].shape.len() >= 2;
                let b = [*x, *y, *z]
                    .into_iter()
                    .find(is_boxes)
                    .ok_or_else(|| format!("{expected}, found {}", super::shapes(outputs)))?;
                let others: Vec<usize> = [*x, *y, *z].into_iter().filter(|&i| i != b).collect();
                (b, others[0], others[1])
            }
            _ => return Err(format!("{expected}, found {}", super::shapes(outputs))),
        },
    };
    let (boxes, scores, labels) = (&outputs[b], &outputs[s], &outputs[l]);
    let n = match boxes.shape.as_slice() {
        [1, n, 4] | [n, 4] => *n,
        other => return Err(format!("{expected}; boxes are {other:?}")),
    };
    for (what, t) in [("scores", scores), ("labels", labels)] {
        if !matches!(t.shape.as_slice(), [1, m] | [m] | [1, m, 1] if *m == n) {
            return Err(format!("{expected}; {n} boxes but {what} {:?}", t.shape));
        }
    }
    let valid = match count.map(|c| &outputs[c]) {
        Some(t) => match t.data.as_slice() {
            [v] if *v >= 0.0 => (*v as usize).min(n),
            _ => return Err(format!("`{}` should hold one count, found {:?}", t.name, t.shape)),
        },
        None => n,
    };
    let mut detections = Vec::new();
    for i in (0..valid).filter(|&i| scores.data[i] > p.min_score) {
        let score = scores.data[i];
        let label = labels.data[i];
        let class = label as usize;
        if label < 0.0 || label.fract() != 0.0 || p.classes.is_some_and(|c| class >= c) {
            let range = p.classes.map_or(String::new(), |c| format!(" (`classes` lists {c})"));
            return Err(format!("box {i} has label {label}, not a class index{range}"));
        }
        let bbox = [0, 1, 2, 3].map(|k| boxes.data[i * 4 + k]);
        detections.push(Detection { bbox, score, class });
    }
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(p.max_detections);
    Ok(detections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, shape: &[usize], data: &[f32]) -> Tensor {
        Tensor { name: name.into(), shape: shape.to_vec(), data: data.to_vec() }
    }

    fn params(classes: Option<usize>) -> DecodeParams {
        DecodeParams {
            classes,
            min_score: 0.3,
            iou: 0.7,
            max_detections: 10,
            input_hw: [100, 100],
            to_image: None,
            multi_label: false,
        }
    }

    #[test]
    fn thresholds_and_sorts_by_name_or_order() {
        let boxes = tensor("boxes", &[1, 3, 4], &[0., 0., 10., 10., 5., 5., 20., 20., 1., 1., 2., 2.]);
        let scores = tensor("scores", &[1, 3], &[0.5, 0.9, 0.1]);
        let labels = tensor("labels", &[1, 3], &[2.0, 0.0, 1.0]);
        let by_name = decode(&[labels.clone(), boxes.clone(), scores.clone()], &params(Some(3))).unwrap();
        assert_eq!(
            by_name,
            vec![
                Detection { bbox: [5., 5., 20., 20.], score: 0.9, class: 0 },
                Detection { bbox: [0., 0., 10., 10.], score: 0.5, class: 2 },
            ]
        );
        let unnamed: Vec<Tensor> =
            [boxes, scores, labels].into_iter().map(|t| Tensor { name: String::new(), ..t }).collect();
        assert_eq!(decode(&unnamed, &params(None)).unwrap(), by_name);
    }

    #[test]
    fn counts_valid_rows_and_rejects_bad_labels() {
        let boxes = tensor("det_boxes", &[1, 2, 4], &[0., 0., 10., 10., 5., 5., 20., 20.]);
        let scores = tensor("det_scores", &[1, 2], &[0.5, 0.9]);
        let labels = tensor("det_classes", &[1, 2], &[1.0, 7.0]);
        let count = tensor("num_dets", &[1, 1], &[1.0]);
        let outputs = [count, boxes, scores, labels];
        assert_eq!(decode(&outputs, &params(Some(2))).unwrap().len(), 1);
        let mut all = outputs.clone();
        all[0].data[0] = 2.0;
        let err = decode(&all, &params(Some(2))).unwrap_err();
        assert!(err.contains("label 7"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let boxes = tensor("boxes", &[1, 2, 4], &[0.0; 8]);
        let scores = tensor("scores", &[1, 3], &[0.0; 3]);
        let labels = tensor("labels", &[1, 2], &[0.0; 2]);
        assert!(decode(&[boxes.clone(), scores, labels.clone()], &params(None)).unwrap_err().contains("scores"));
        assert!(decode(&[boxes, labels], &params(None)).is_err());
    }
}
