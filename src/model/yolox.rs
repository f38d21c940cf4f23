//! YOLOX decoder: raw head output `[1, N, 5 + C]` decoded as the YOLOX demo's
//! `demo_postprocess` and `multiclass_nms` (yolox/utils/demo_utils.py).
//!
//! Each row is a grid offset `x, y`, log sizes `w, h` (in strides), objectness and class
//! probabilities; rows run over strides 8, 16, 32 (and 64 for P6 models), each grid row by row.
//! Centres are `(offset + cell) · stride`, sizes `exp(log) · stride`; the score is objectness ×
//! the best class probability. The demo's NMS is class-agnostic (its default), counts a pixel's
//! `+ 1` in widths and areas, and runs on boxes already mapped to image pixels, so we suppress
//! there too (`DecodeParams::to_image`). It keeps every survivor; `max_detections` caps them.

use super::preprocess::Geometry;
use super::{DecodeParams, Detection, Tensor};

/// YOLOX's strides; P6 models add 64.
const STRIDES: [usize; 4] = [8, 16, 32, 64];

/// Rows a YOLOX head has for an input, over the first `levels` strides: `Σ (H / s) · (W / s)`,
/// rounded down as the demo's `img_size // stride`.
pub(super) fn anchors(input_hw: [u32; 2], levels: usize) -> usize {
    let [h, w] = input_hw.map(|v| v as usize);
    STRIDES[..levels].iter().map(|s| (h / s) * (w / s)).sum()
}

/// Detections in network input pixels.
pub fn decode(outputs: &[Tensor], p: &DecodeParams) -> Result<Vec<Detection>, String> {
    let expected = "expected one raw YOLOX output [1, anchors, 5 + classes]";
    let out = match outputs {
        [out] => out,
        _ => return Err(format!("{expected}, found {}", super::shapes(outputs))),
    };
    let (n, cols) = match out.shape.as_slice() {
        [1, n, cols] if *cols > 5 => (*n, *cols),
        other => return Err(format!("{expected}, found {other:?}")),
    };
    let [h, w] = p.input_hw;
    let levels = match (3..=4).find(|&l| anchors(p.input_hw, l) == n) {
        Some(levels) => levels,
        None => {
            let at = anchors(p.input_hw, 3);
            let hint = if n == 3 * at {
                "; three times that is a yolov5 anchor head (family yolov5)".to_owned()
            } else if n < cols {
                "; fewer anchors than values per anchor is the transposed yolov8 layout (family yolov8)".to_owned()
            } else {
                format!(" (or {} with stride 64); is `input_size` the export's?", anchors(p.input_hw, 4))
            };
            return Err(format!(
                "the output {:?} has {n} anchors, but a YOLOX head at strides 8, 16, 32 has {at} for a {h}x{w} \
                 input{hint}",
                out.shape
            ));
        }
    };
    let classes = cols - 5;
    super::check_classes(classes, p, &format!("each row has {cols} values"))?;
    let grid = STRIDES[..levels].iter().flat_map(|&s| {
        let (gh, gw) = (h as usize / s, w as usize / s);
        (0..gh * gw).map(move |i| ((i % gw) as f32, (i / gw) as f32, s as f32))
    });
    let mut candidates = Vec::new();
    let mut largest_offset = 0.0f32;
    for (row, (gx, gy, s)) in out.data.chunks_exact(cols).zip(grid) {
        largest_offset = largest_offset.max(row[0].abs()).max(row[1].abs());
        let objectness = row[4];
        // `scores = obj * cls`, then the first maximum, as numpy's `argmax`.
        let (class, score) = row[5..]
            .iter()
            .map(|&c| objectness * c)
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |b, x| if x.1 > b.1 { x } else { b });
        if score > p.min_score {
            // (offset + cell) · stride: exact in f32 as in the demo's float64-then-float32.
            let (cx, cy) = ((row[0] + gx) * s, (row[1] + gy) * s);
            let (bw, bh) = (row[2].exp() * s, row[3].exp() * s);
            let bbox = [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0];
            candidates.push(Detection { bbox, score, class });
        }
    }
    if largest_offset > h.max(w) as f32 / 8.0 {
        // Raw offsets stay within a few cells; centres in pixels do not.
        return Err(format!(
            "the output {:?} holds box centres up to {largest_offset}, more than the {} cells of the \
             stride-8 grid: it looks decoded already (boxes in pixels), as a yolov5 head (family yolov5)",
            out.shape,
            h.max(w) / 8
        ));
    }
    Ok(class_agnostic_nms(candidates, p.iou, p.max_detections, p.to_image))
}

/// The demo's `nms`: best first, a box survives when its overlap with every kept box is at most
/// `iou_threshold`, overlap measured as the demo does, in f32 with `+ 1` pixel, in image pixels
/// when `to_image` is known.
fn class_agnostic_nms(
    candidates: Vec<Detection>,
    iou_threshold: f32,
    max_detections: usize,
    to_image: Option<Geometry>,
) -> Vec<Detection> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    // `scores.argsort()[::-1]`: descending, and equal scores in reverse row order as a stable
    // ascending sort reversed (numpy's default quicksort may order exact ties otherwise).
    order.sort_by(|&a, &b| candidates[b].score.total_cmp(&candidates[a].score).then(b.cmp(&a)));
    let measured = |d: &Detection| to_image.map_or(d.bbox, |g| g.to_image_unclipped(d.bbox));
    let area = |b: &[f32; 4]| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0);
    let mut kept: Vec<([f32; 4], f32)> = Vec::new();
    let mut detections = Vec::new();
    for i in order {
        if detections.len() >= max_detections {
            break;
        }
        let b = measured(&candidates[i]);
        let a = area(&b);
        let overlaps = kept.iter().any(|(k, ka)| {
            let iw = (k[2].min(b[2]) - k[0].max(b[0]) + 1.0).max(0.0);
            let ih = (k[3].min(b[3]) - k[1].max(b[1]) + 1.0).max(0.0);
            let inter = iw * ih;
            inter / (ka + a - inter) > iou_threshold
        });
        if !overlaps {
            kept.push((b, a));
            detections.push(candidates[i]);
        }
    }
    detections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(input_hw: [u32; 2]) -> DecodeParams {
        DecodeParams {
            classes: Some(2),
            min_score: 0.1,
            iou: 0.45,
            max_detections: 100,
            input_hw,
            to_image: None,
            multi_label: false,
        }
    }

    /// A raw output for a 64x64 input (64 + 16 + 4 = 84 rows), background everywhere.
    fn raw() -> Tensor {
        let mut data = vec![0.0; 84 * 7];
        for row in data.chunks_exact_mut(7) {
            row[..4].copy_from_slice(&[0.5, 0.5, 0.0, 0.0]);
        }
        Tensor { name: "output".into(), shape: vec![1, 84, 7], data }
    }

    fn set(t: &mut Tensor, row: usize, values: [f32; 7]) {
        t.data[row * 7..row * 7 + 7].copy_from_slice(&values);
    }

    #[test]
    fn grid_cells_run_row_by_row_and_strides_follow() {
        let mut t = raw();
        // Row 9 of the stride-8 grid (8 wide) is cell x 1, y 1; row 64 is the first stride-16 cell.
        set(&mut t, 9, [0.5, 0.25, 0.0, 0.0, 0.9, 0.1, 1.0]);
        set(&mut t, 64 + 15, [0.0, 0.0, 0.0, 0.0, 0.5, 0.4, 0.2]);
        let d = decode(&[t], &params([64, 64])).unwrap();
        assert_eq!(d[0], Detection { bbox: [8.0, 6.0, 16.0, 14.0], score: 0.9, class: 1 });
        // Cell (3, 3) at stride 16: centre 48, size 16.
        assert_eq!(d[1], Detection { bbox: [40.0, 40.0, 56.0, 56.0], score: 0.2, class: 0 });
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn nms_is_class_agnostic_and_counts_the_extra_pixel() {
        let mut t = raw();
        // Two 8 px boxes of different classes 2 px apart at stride 8: IoU 6·8 / (2·64 - 48) =
        // 0.6 without the pixel, 7·9 / (2·81 - 63) = 0.636 with it; suppressed either way.
        set(&mut t, 0, [0.5, 0.5, 0.0, 0.0, 0.9, 1.0, 0.0]);
        set(&mut t, 1, [-0.75, 0.5, 0.0, 0.0, 0.8, 0.0, 1.0]);
        let mut p = params([64, 64]);
        assert_eq!(decode(std::slice::from_ref(&t), &p).unwrap().len(), 1);
        // At IoU 0.62 only the pixel makes the overlap too large.
        p.iou = 0.62;
        assert_eq!(decode(std::slice::from_ref(&t), &p).unwrap().len(), 1);
        p.iou = 0.64;
        assert_eq!(decode(std::slice::from_ref(&t), &p).unwrap().len(), 2);
        // Measured in the pixels of an image four times larger the pixel weighs a quarter as
        // much: 25·33 / (2·33² - 825) = 0.6098, kept at 0.62.
        let (g, _) = Geometry::letterbox([256, 256], [64, 64], super::super::preprocess::MapBack::Yolox);
        (p.iou, p.to_image) = (0.62, Some(g));
        assert_eq!(decode(std::slice::from_ref(&t), &p).unwrap().len(), 2);
        p.iou = 0.605;
        assert_eq!(decode(&[t], &p).unwrap().len(), 1);
    }

    #[test]
    fn outputs_that_are_not_raw_yolox_heads_are_errors() {
        let p = params([64, 64]);
        let yolov5 = Tensor { name: String::new(), shape: vec![1, 252, 7], data: vec![0.0; 252 * 7] };
        let err = decode(&[yolov5], &p).unwrap_err();
        assert!(err.contains("has 84 for a 64x64 input; three times that is a yolov5"), "{err}");
        let mut decoded = raw();
        set(&mut decoded, 83, [60.0, 60.0, 8.0, 8.0, 0.9, 1.0, 0.0]);
        let err = decode(&[decoded], &p).unwrap_err();
        assert!(err.contains("looks decoded already"), "{err}");
        let p6 = Tensor { name: String::new(), shape: vec![1, 85, 7], data: vec![0.0; 85 * 7] };
        assert!(decode(&[p6], &params([64, 64])).is_ok(), "stride 64 adds one cell");
    }
}
