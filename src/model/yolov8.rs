//! YOLOv8 (ultralytics) decoder: output `[1, 4 + C, N]` of `cx, cy, w, h` and per-class scores,
//! decoded as ultralytics' `non_max_suppression` (class-aware NMS; one label per box as `yolo
//! predict`, or every class above the threshold as `yolo val`). YOLO11 and later heads have the
//! same layout.
//!
//! End-to-end exports (YOLOv10, YOLO26, any ultralytics export with `end2end=True`) choose their
//! detections inside the graph: `[1, K, 6]` of `x1, y1, x2, y2, score, class`. They are read here
//! rather than as a family of their own because ultralytics itself tells them apart by that last
//! dimension of 6 in the same `non_max_suppression`, and a user who exports YOLO26 (end-to-end by
//! default) thinks of it as the same kind of model as YOLOv8.

use super::{nms, torch_argsort_descending, DecodeParams, Detection, Tensor, MAX_NMS};

/// Detections in network input pixels.
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let out = match outputs {
        [out] => out,
        _ => {
            return Err(format!(
                "expected one output [1, 4 + classes, anchors] (or [1, detections, 6] end-to-end), found {}",
                super::shapes(outputs)
            ))
        }
    };
    if let [1, k, 6] = out.shape.as_slice() {
        return end_to_end(&out.data, *k, p);
    }
    let (rows, n) = match out.shape.as_slice() {
        [1, rows, n] if *rows > 4 => (*rows, *n),
        other => {
            return Err(format!(
                "expected one output [1, 4 + classes, anchors] (or [1, detections, 6] end-to-end), found {other:?}"
            ))
        }
    };
    let classes = rows - 4;
    if p.classes.is_none() && n < rows {
        // Real heads have far more anchors than rows; the other way round is most likely a
        // yolov5 output `[1, anchors, 5 + classes]`. With a class list the count check decides.
        return Err(format!(
            "the output {:?} has fewer anchors than rows: is it a yolov5 export (family yolov5) or a raw \
             YOLOX head (family yolox)? Give the class names to read it as yolov8 anyway",
            out.shape
        ));
    }
    super::check_classes(classes, p, &format!("the output has {rows} rows"))?;
    let at = |r: usize, i: usize| out.data[r * n + i];
    let mut candidates = Vec::new();
    let corners = |i: usize| {
        let (cx, cy, w, h) = (at(0, i), at(1, i), at(2, i) / 2.0, at(3, i) / 2.0);
        [cx - w, cy - h, cx + w, cy + h]
    };
    // ultralytics turns multi-label off for a single class.
    let multi_label = p.multi_label && classes > 1;
    for i in 0..n {
        // The first of equal class scores wins, as torch's `max`.
        let (class, score) =
            (0..classes).map(|c| (c, at(4 + c, i))).fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score <= p.min_score {
            continue;
        }
        if multi_label {
            // `torch.where(cls > conf_thres)`: anchor by anchor, classes in order.
            for c in (0..classes).filter(|&c| at(4 + c, i) > p.min_score) {
                candidates.push(Detection { bbox: corners(i), score: at(4 + c, i), class: c });
            }
        } else {
            candidates.push(Detection { bbox: corners(i), score, class });
        }
    }
    if candidates.len() > MAX_NMS {
        // ultralytics keeps the `max_nms` best (sorted with torch's unstable sort) before NMS.
        let scores: Vec<f32> = candidates.iter().map(|d| d.score).collect();
        candidates = torch_argsort_descending(&scores).into_iter().take(MAX_NMS).map(|i| candidates[i]).collect();
    }
    Ok(nms::non_max_suppression(candidates, p.iou, p.max_detections))
}

/// An end-to-end output, as ultralytics' `non_max_suppression` reads `[1, K, 6]`: rows scoring
/// above the threshold, in the graph's order (already best first), the first `max_detections`.
fn end_to_end(data: &[f32], k: usize, p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let mut detections = Vec::new();
    for r in data.chunks_exact(6).take(k).filter(|r| r[4] > p.min_score) {
        if detections.len() == p.max_detections {
            break;
        }
        let class = r[5];
        if class < 0.0 || class.fract() != 0.0 || p.classes.is_some_and(|n| class as usize >= n) {
            let listed = p.classes.map_or(String::new(), |n| format!(" (`classes` lists {n})"));
            return Err(format!(
                "an end-to-end output [1, {k}, 6] holds class {class}{listed}: is the last column a class index?"
            ));
        }
        detections.push(Detection { bbox: [r[0], r[1], r[2], r[3]], score: r[4], class: class as usize });
    }
    Ok(detections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_rows_keep_the_graph_order_and_cap() {
        let rows = [[1.0, 2.0, 3.0, 4.0, 0.9, 2.0], [5.0, 6.0, 7.0, 8.0, 0.1, 0.0], [0.0, 0.0, 9.0, 9.0, 0.95, 1.0]];
        let t = Tensor { name: "output0".into(), shape: vec![1, 3, 6], data: rows.concat() };
        let mut p = DecodeParams {
            classes: Some(3),
            min_score: 0.25,
            iou: 0.7,
            max_detections: 10,
            input_hw: [32, 32],
            to_image: None,
            multi_label: false,
        };
        let d = decode(std::slice::from_ref(&t), &p).unwrap();
        assert_eq!(d.iter().map(|d| (d.class, d.score)).collect::<Vec<_>>(), [(2, 0.9), (1, 0.95)]);
        assert_eq!(d[0].bbox, [1.0, 2.0, 3.0, 4.0]);
        p.max_detections = 1;
        assert_eq!(decode(std::slice::from_ref(&t), &p).unwrap().len(), 1);
        p.classes = Some(2);
        assert!(decode(&[t], &p).unwrap_err().contains("class 2 (`classes` lists 2)"));
    }
}
