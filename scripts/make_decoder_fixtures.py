#!/usr/bin/env python3
"""Generate decoder parity fixtures for src/model/parity.rs from the reference post-processing.

Run with an interpreter that has ultralytics, yolov5, transformers, torch, torchvision, numpy,
opencv-python and loguru:
    python scripts/make_decoder_fixtures.py --yolox-repo DIR --ultralytics-8-4-0 DIR2
where DIR is a git checkout of https://github.com/Megvii-BaseDetection/YOLOX (its code is imported
from there, never copied here; the fixtures record its commit) and DIR2 holds the files of the
ultralytics 8.4.0 wheel (`pip download --no-deps ultralytics==8.4.0`, then unzip), the last
RT-DETR postprocess for the `[1, Q, 4 + C]` export layout; only its `models/rtdetr/predict.py` is
loaded, on top of the installed ultralytics. `--only yolox,rtdetr` writes those families alone.
Writes tests/fixtures/decoders/<family>_<case>.json. Raw outputs are synthetic (seeded numpy):
clustered overlapping boxes, exact score ties, boxes crossing the border, several classes, and
original images of different sizes and aspect ratios (per family at least a square, COCO's
640x427 and an odd tiny 33x17, enlarged with odd padding). Rerunning reproduces the same files.
`--only val` writes the yolov8_val_* and yolov5_val_* cases: the validators' multi-label
selection (ultralytics `yolo val`, yolov5 `val.py`) at their default thresholds.

References:
- yolov8: ultralytics `utils.nms.non_max_suppression` + `utils.ops.scale_boxes`, as its
  DetectionPredictor calls them. torchvision is imported first: ultralytics then runs
  `torchvision.ops.nms` (a stable score sort), as it does in a real `predict` on an ONNX model
  (the ONNX backend imports torchvision); without it, its fallback sorts ties unstably.
- yolov5: `yolov5.utils.general.non_max_suppression` + `scale_boxes` (no `ratio_pad`, as its
  detect.py; without detect.py's final `.round()`).
- detr: transformers `DetrImageProcessor().post_process_object_detection(threshold, target_sizes)`;
  for sigmoid heads (`--only detr_sigmoid`) `RTDetrImageProcessor` (top-k over all queries) and
  `DeformableDetrImageProcessor` (its default `top_k=100`, fewer than queries x classes).
- yolox: the YOLOX demo's `yolox.utils.demo_utils.demo_postprocess` and `multiclass_nms` (its
  default, class-agnostic) with `yolox.data.data_augment.preproc` for the ratio and the paste,
  joined as demo/ONNXRuntime/onnx_inference.py does: score = objectness x class probability,
  centre/size to corners, corners / ratio, then NMS (in image pixels).
- rtdetr: ultralytics `RTDETRPredictor.postprocess` on raw outputs: 8.4.190's for the `[1, K, 6]`
  layout (cx, cy, w, h, score, class), 8.4.0's for `[1, Q, 4 + C]` (per-class scores).

Each fixture also records the preprocessing geometry: where the reference letterbox pastes the
resized image (measured on a letterboxed image), and the affine map `x_image = (x - pad) / gain`
that the reference `scale_boxes` applies (measured on float64 boxes), so the Rust side checks
its own geometry against both.

Every float is a float32 value written as the double it equals, so Rust reads back the same
float32 bits.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision  # noqa: F401  (selects torchvision.ops.nms inside ultralytics, as at predict time)

from ultralytics.data.augment import LetterBox
from ultralytics.utils import ops as ul_ops
from ultralytics.utils.nms import non_max_suppression as ul_nms
from yolov5.utils.augmentations import letterbox as y5_letterbox
from yolov5.utils.general import non_max_suppression as y5_nms
from yolov5.utils.general import scale_boxes as y5_scale_boxes
from transformers import DetrImageProcessor
from transformers.models.detr.modeling_detr import DetrObjectDetectionOutput

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "decoders")
SEED = 20261130
MAX_BYTES = 150_000


def f32(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).ravel()]


def paste_of(img):
    """Where a letterboxed image of zeros sits inside the grey (114) canvas."""
    ys, xs = np.nonzero(img[..., 0] != 114)
    return {"left": int(xs.min()), "top": int(ys.min()), "new_wh": [int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]}


def map_back_of(scale, input_hw, image_wh, paste):
    """Measure the affine map of `scale(img1_shape, boxes, img0_shape)` on two float64 points
    inside the pasted image (clipping leaves them alone)."""
    l, t = paste["left"], paste["top"]
    nw, nh = paste["new_wh"]
    x1, x2, y1, y2 = l + 0.25 * nw, l + 0.75 * nw, t + 0.25 * nh, t + 0.75 * nh
    boxes = torch.tensor([[x1, y1, x2, y2]], dtype=torch.float64)
    m = scale(tuple(input_hw), boxes, (image_wh[1], image_wh[0], 3))[0].tolist()
    gx, gy = (x2 - x1) / (m[2] - m[0]), (y2 - y1) / (m[3] - m[1])
    return {"gain": [gx, gy], "pad": [x1 - m[0] * gx, y1 - m[1] * gy]}


def yolo_objects(rng, input_hw, n_objects, classes):
    """Object boxes (cx, cy, w, h, class) in network input pixels; some cross the border."""
    h, w = input_hw
    objs = []
    for k in range(n_objects):
        bw, bh = rng.uniform(8, w * 0.4), rng.uniform(8, h * 0.4)
        if k % 4 == 0:  # straddles an edge of the input
            cx = rng.choice([rng.uniform(-bw / 4, bw / 4), w + rng.uniform(-bw / 4, bw / 4)])
            cy = rng.uniform(0, h)
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        objs.append((cx, cy, bw, bh, int(rng.integers(classes))))
    return objs


def yolo_rows(rng, input_hw, n_anchors, classes, n_objects, tie_score):
    """Anchor rows: (cx, cy, w, h, per-class scores). Clusters of jittered boxes around each
    object, background anchors with low scores, and exact ties at `tie_score`."""
    h, w = input_hw
    boxes = np.zeros((n_anchors, 4), np.float32)
    scores = rng.uniform(0, 0.03, (n_anchors, classes)).astype(np.float32)
    scores[rng.random((n_anchors, classes)) < 0.3] = 0.0
    boxes[:, 0], boxes[:, 1] = rng.uniform(0, w, n_anchors), rng.uniform(0, h, n_anchors)
    boxes[:, 2], boxes[:, 3] = rng.uniform(4, 40, n_anchors), rng.uniform(4, 40, n_anchors)
    objs = yolo_objects(rng, input_hw, n_objects, classes)
    i = 0
    for k, (cx, cy, bw, bh, c) in enumerate(objs):
        for j in range(int(rng.integers(3, 9))):
            if i >= n_anchors:
                break
            jitter = rng.normal(0, 0.08, 4)
            boxes[i] = [cx + jitter[0] * bw, cy + jitter[1] * bh, bw * (1 + jitter[2]), bh * (1 + jitter[3])]
            scores[i, c] = rng.uniform(0.2, 0.97)
            if rng.random() < 0.4:  # a weaker second class on the same box
                scores[i, (c + 1) % classes] = rng.uniform(0.05, 0.6)
            if j < 2 and k % 3 == 1:  # exact ties inside a cluster (same class, overlapping)
                scores[i, c] = tie_score
            if j == 0 and k % 3 == 2:  # a tie across clusters and classes
                scores[i, c] = tie_score
            i += 1
    # Two classes tied on one anchor: the first index wins (torch max / argmax).
    scores[i, :] = 0.0
    scores[i, 0] = scores[i, classes - 1] = 0.6
    boxes[i] = [w / 2, h / 2, 30, 30]
    order = rng.permutation(n_anchors)  # anchors in no particular order
    return boxes[order], scores[order]


def detections_of(x):
    x = x.float()
    return [{"bbox": f32(r[:4]), "score": float(np.float32(r[4])), "class": int(r[5])} for r in x.tolist()]


def write(name, fixture):
    path = os.path.join(OUT, f"{name}.json")
    text = json.dumps(fixture, separators=(",", ":"))
    if len(text) > MAX_BYTES:
        sys.exit(f"{name}: {len(text)} bytes, over {MAX_BYTES}")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"{name}: {len(fixture['detections'])} detections, {len(text)} bytes")


def yolov8_case(rng, name, image_wh, input_hw, classes, n_anchors, conf, iou, max_det, multi_label=False):
    boxes, scores = yolo_rows(rng, input_hw, n_anchors, classes, n_objects=10, tie_score=0.75)
    raw = np.concatenate([boxes, scores], 1).T[None].astype(np.float32)  # [1, 4 + C, N]
    w0, h0 = image_wh
    lb = LetterBox(tuple(input_hw), auto=False)(image=np.zeros((h0, w0, 3), np.uint8))
    paste = paste_of(lb)
    assert lb.shape[:2] == tuple(input_hw)
    out = ul_nms(torch.from_numpy(raw.copy()), conf, iou, max_det=max_det, multi_label=multi_label)[0]
    out[:, :4] = ul_ops.scale_boxes(tuple(input_hw), out[:, :4], (h0, w0, 3))
    write(
        f"yolov8_{name}",
        {
            "family": "yolov8",
            "reference": "ultralytics 8.4.190 utils.nms.non_max_suppression + utils.ops.scale_boxes (torchvision.ops.nms)",
            "image_wh": image_wh,
            "input_hw": input_hw,
            "classes": classes,
            "conf": conf,
            "iou": iou,
            "max_det": max_det,
            "multi_label": multi_label,
            "letterbox": paste,
            "map_back": map_back_of(ul_ops.scale_boxes, input_hw, image_wh, paste),
            "outputs": [{"name": "output0", "shape": list(raw.shape), "data": f32(raw)}],
            "detections": detections_of(out),
        },
    )


def yolov5_case(rng, name, image_wh, input_hw, classes, n_anchors, conf, iou, max_det, many_ties=False, multi_label=False):
    boxes, scores = yolo_rows(rng, input_hw, n_anchors, classes, n_objects=10, tie_score=0.8)
    # Objectness times class probability is the score: split each anchor's best score into the two.
    obj = np.clip(scores.max(1) * rng.uniform(1.0, 1.3, n_anchors), 0, 1).astype(np.float32)
    obj[obj == 0] = rng.uniform(0, 0.02)
    cls = np.clip(scores / np.maximum(obj[:, None], 1e-6), 0, 1).astype(np.float32)
    if many_ties:
        # Many equal products (0.5 * 0.8) among overlapping same-class boxes and more than 16
        # candidates: yolov5's unstable `argsort` decides which of them survives NMS.
        tied = rng.choice(n_anchors, 40, replace=False)
        obj[tied], cls[tied] = 0.5, 0.0
        cls[tied, 0] = 0.8
        boxes[tied[:20], :2] = boxes[tied[0], :2] + rng.uniform(-3, 3, (20, 2)).astype(np.float32)
        boxes[tied[:20], 2:] = 50.0
    raw = np.concatenate([boxes, obj[:, None], cls], 1)[None].astype(np.float32)  # [1, N, 5 + C]
    w0, h0 = image_wh
    img, _, _ = y5_letterbox(np.zeros((h0, w0, 3), np.uint8), tuple(input_hw), auto=False)
    assert img.shape[:2] == tuple(input_hw)
    paste = paste_of(img)
    out = y5_nms(torch.from_numpy(raw.copy()), conf, iou, max_det=max_det, multi_label=multi_label)[0]
    out[:, :4] = y5_scale_boxes(tuple(input_hw), out[:, :4], (h0, w0, 3))
    fixture = {
        "family": "yolov5",
        "reference": "yolov5 7.0.14 utils.general.non_max_suppression + scale_boxes",
        "image_wh": image_wh,
        "input_hw": input_hw,
        "classes": classes,
        "conf": conf,
        "iou": iou,
        "max_det": max_det,
        "multi_label": multi_label,
        "letterbox": paste,
        "map_back": map_back_of(y5_scale_boxes, input_hw, image_wh, paste),
        "outputs": [{"name": "output0", "shape": list(raw.shape), "data": f32(raw)}],
        "detections": detections_of(out),
    }
    if many_ties:
        # Show that the tie order matters here: with a stable sort yolov5 would keep other boxes.
        argsort = torch.Tensor.argsort
        torch.Tensor.argsort = lambda self, dim=-1, descending=False, stable=False: argsort(
            self, dim=dim, descending=descending, stable=True
        )
        try:
            stable = y5_nms(torch.from_numpy(raw.copy()), conf, iou, max_det=max_det, multi_label=multi_label)[0]
        finally:
            torch.Tensor.argsort = argsort
        stable[:, :4] = y5_scale_boxes(tuple(input_hw), stable[:, :4], (h0, w0, 3))
        fixture["detections_if_sort_were_stable"] = detections_of(stable)
        assert fixture["detections_if_sort_were_stable"] != fixture["detections"], "ties do not matter in this case"
    write(f"yolov5_{name}", fixture)


def detr_case(rng, name, image_wh, input_hw, classes, queries, threshold):
    logits = rng.normal(0, 1.5, (1, queries, classes + 1)).astype(np.float32)
    logits[0, :, classes] += 2.0  # most queries say "no object"
    for q in rng.choice(queries, queries // 4, replace=False):
        logits[0, q, rng.integers(classes)] += rng.uniform(3, 8)  # confident objects
    logits[0, 5] = logits[0, 3]  # two queries with identical scores
    cxcy = rng.uniform(0, 1, (queries, 2))
    wh = rng.uniform(0.02, 0.6, (queries, 2))
    cxcy[:6, 0] = [0.01, 0.99, 0.5, 0.03, 0.97, 0.5]  # boxes crossing the left or right edge
    wh[:6, 0] = [0.2, 0.3, 0.1, 0.5, 0.4, 0.2]
    cxcy[6, 1], wh[6, 1] = 0.98, 0.3  # and the bottom
    boxes = np.concatenate([cxcy, wh], 1)[None].astype(np.float32)
    # Raise the top scores of the objects crossing an edge above any threshold.
    logits[0, :7, 0] += 10.0
    w0, h0 = image_wh
    out = DetrObjectDetectionOutput(logits=torch.from_numpy(logits.copy()), pred_boxes=torch.from_numpy(boxes.copy()))
    res = DetrImageProcessor().post_process_object_detection(out, threshold=threshold, target_sizes=[(h0, w0)])[0]
    reference = "transformers 5.24 DetrImageProcessor().post_process_object_detection"
    write_detr(f"detr_{name}", reference, image_wh, input_hw, classes, threshold, queries, logits, boxes, res)


def write_detr(name, reference, image_wh, input_hw, classes, threshold, max_det, logits, boxes, res):
    """A DETR-layout fixture: raw `logits` and `pred_boxes`, and what the reference kept."""
    dets = [
        {"bbox": f32(b), "score": float(np.float32(s)), "class": int(c)}
        for b, s, c in zip(res["boxes"].tolist(), res["scores"].tolist(), res["labels"].tolist())
    ]
    write(
        name,
        {
            "family": "detr",
            "reference": reference,
            "image_wh": image_wh,
            "input_hw": input_hw,
            "classes": classes,
            "conf": threshold,
            "iou": 0.0,
            "max_det": max_det,
            "outputs": [
                {"name": "logits", "shape": list(logits.shape), "data": f32(logits)},
                {"name": "pred_boxes", "shape": list(boxes.shape), "data": f32(boxes)},
            ],
            "detections": dets,
        },
    )


def detr_sigmoid_case(rng, processor, top_k, name, image_wh, input_hw, classes, queries, threshold):
    """Raw focal-loss DETR outputs (`logits` [1, Q, C] without a "no object" column)."""
    logits = rng.normal(-4, 1.5, (1, queries, classes)).astype(np.float32)
    for q in rng.choice(queries, queries // 3, replace=False):
        logits[0, q, rng.integers(classes)] += rng.uniform(3, 8)
    logits[0, :5, 0] += 9.0  # the boxes crossing an edge score high
    cxcy = rng.uniform(0, 1, (queries, 2))
    wh = rng.uniform(0.02, 0.6, (queries, 2))
    cxcy[:5, 0], wh[:5, 0] = [0.01, 0.99, 0.5, 0.03, 0.97], [0.2, 0.3, 0.1, 0.5, 0.4]
    cxcy[4, 1], wh[4, 1] = 0.98, 0.3
    boxes = np.concatenate([cxcy, wh], 1)[None].astype(np.float32)
    scores = torch.from_numpy(logits).sigmoid().numpy().reshape(-1)
    assert len(np.unique(scores)) == len(scores), "tied scores: torch.topk orders them its own way"
    w0, h0 = image_wh
    out = argparse.Namespace(logits=torch.from_numpy(logits.copy()), pred_boxes=torch.from_numpy(boxes.copy()))
    kwargs = {"top_k": top_k} if top_k is not None else {}
    res = processor.post_process_object_detection(out, threshold=threshold, target_sizes=[(h0, w0)], **kwargs)[0]
    k = top_k if top_k is not None else queries
    assert k < queries * classes, "top-k should cut"
    import transformers

    reference = f"transformers {transformers.__version__} {type(processor).__name__}().post_process_object_detection"
    reference += f"(top_k={top_k})" if top_k is not None else ""
    write_detr(f"detr_sigmoid_{name}", reference, image_wh, input_hw, classes, threshold, k, logits, boxes, res)


def load_file(name, path):
    """A module loaded from one file, without its package's __init__ (YOLOX's pulls in COCO tools)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Yolox:
    """The YOLOX reference, imported from a checkout given on the command line."""

    def __init__(self, repo):
        sys.path.insert(0, repo)  # data_augment imports `yolox.utils`
        self.demo = load_file("yolox_demo_utils", os.path.join(repo, "yolox", "utils", "demo_utils.py"))
        self.augment = load_file("yolox_data_augment", os.path.join(repo, "yolox", "data", "data_augment.py"))
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        self.reference = (
            f"YOLOX {commit.stdout.strip()} yolox.utils.demo_utils.demo_postprocess + multiclass_nms "
            "(class-agnostic), yolox.data.data_augment.preproc"
        )


def yolox_case(rng, yolox, name, image_wh, input_hw, classes, conf, iou):
    """Raw YOLOX head rows (grid offsets, log sizes, objectness, class probabilities) with
    clusters of rows predicting the same objects from neighbouring cells and several strides."""
    h, w = input_hw
    cells = [(s, gx, gy) for s in (8, 16, 32) for gy in range(h // s) for gx in range(w // s)]
    n = len(cells)
    index = {c: i for i, c in enumerate(cells)}
    raw = np.zeros((n, 5 + classes), np.float32)
    raw[:, :2] = rng.uniform(-0.3, 1.3, (n, 2))
    raw[:, 2:4] = rng.uniform(-1.5, 1.0, (n, 2))
    raw[:, 4] = rng.uniform(0, 0.15, n)
    raw[:, 5:] = rng.uniform(0, 1, (n, classes))
    for cx, cy, bw, bh, c in yolo_objects(rng, input_hw, 8, classes):
        for s in (8, 16, 32):
            for dx, dy in [(0, 0), (1, 0), (0, 1), (-1, 0)][: int(rng.integers(1, 5))]:
                gx = min(max(int(cx // s) + dx, 0), w // s - 1)
                gy = min(max(int(cy // s) + dy, 0), h // s - 1)
                jitter = rng.normal(0, 0.08, 4)
                row = raw[index[(s, gx, gy)]]
                row[0] = (cx + jitter[0] * bw) / s - gx
                row[1] = (cy + jitter[1] * bh) / s - gy
                row[2] = np.log(bw * (1 + jitter[2]) / s)
                row[3] = np.log(bh * (1 + jitter[3]) / s)
                row[4] = rng.uniform(0.3, 0.99)
                row[5:] = rng.uniform(0, 0.2, classes)
                row[5 + c] = rng.uniform(0.5, 1.0)
                if rng.random() < 0.3:  # a close second class: class-agnostic NMS still suppresses
                    row[5 + (c + 1) % classes] = row[5 + c] * 0.99
    best = (raw[:, 4:5] * raw[:, 5:]).max(1)
    kept = best[best > np.float32(conf)]
    # numpy's quicksort orders exact ties as it likes; these fixtures have none.
    assert len(np.unique(kept)) == len(kept), "tied scores"
    w0, h0 = image_wh
    padded, ratio = yolox.augment.preproc(np.zeros((h0, w0, 3), np.uint8), tuple(input_hw))
    paste = paste_of(padded.transpose(1, 2, 0))
    # demo/ONNXRuntime/onnx_inference.py, step by step: decode, score, corners, / ratio, NMS.
    pred = yolox.demo.demo_postprocess(raw[None].copy(), tuple(input_hw))[0]
    scores = pred[:, 4:5] * pred[:, 5:]
    xyxy = np.ones_like(pred[:, :4])
    xyxy[:, :2] = pred[:, :2] - pred[:, 2:4] / 2.0
    xyxy[:, 2:] = pred[:, :2] + pred[:, 2:4] / 2.0
    xyxy /= ratio
    dets = yolox.demo.multiclass_nms(xyxy, scores, nms_thr=iou, score_thr=conf)
    dets = np.zeros((0, 6)) if dets is None else dets
    probe = np.array([[1.0, 2.0, 3.0, 5.0]])  # the map back, measured: x / ratio
    probe /= ratio
    write(
        f"yolox_{name}",
        {
            "family": "yolox",
            "reference": yolox.reference,
            "image_wh": image_wh,
            "input_hw": input_hw,
            "classes": classes,
            "conf": conf,
            "iou": iou,
            "max_det": n,
            "letterbox": paste,
            "map_back": {"gain": [1.0 / probe[0, 0], 2.0 / probe[0, 1]], "pad": [0.0, 0.0]},
            "outputs": [{"name": "output", "shape": [1, n, 5 + classes], "data": f32(raw)}],
            "detections": [
                {"bbox": f32(d[:4]), "score": float(np.float32(d[4])), "class": int(d[5])} for d in dets
            ],
        },
    )


def rtdetr_case(rng, postprocess, version, name, image_wh, input_hw, classes, queries, conf, max_det, top_k):
    """Raw RT-DETR outputs: normalised boxes (some crossing the border) and sigmoid scores; with
    `top_k` the 8.4.190 layout, the best (query, class) pairs sorted as the graph's `topk`."""
    cxcy = rng.uniform(0, 1, (queries, 2))
    wh = rng.uniform(0.02, 0.6, (queries, 2))
    cxcy[:4, 0], wh[:4, 0] = [0.02, 0.98, 0.05, 0.95], [0.3, 0.2, 0.4, 0.5]
    boxes = np.concatenate([cxcy, wh], 1).astype(np.float32)
    logits = rng.normal(-4, 1.5, (queries, classes))
    for q in rng.choice(queries, queries // 3, replace=False):
        logits[q, rng.integers(classes)] += rng.uniform(3, 7)
    logits[:4, 0] += 6.0  # the border-crossing boxes score high
    scores = torch.from_numpy(logits.astype(np.float32)).sigmoid().numpy()
    if top_k:
        flat = torch.from_numpy(scores.reshape(-1))
        values, index = flat.topk(queries)
        q, c = (index // classes).numpy(), (index % classes).numpy()
        raw = np.concatenate([boxes[q], values.numpy()[:, None], c[:, None].astype(np.float32)], 1)[None]
    else:
        raw = np.concatenate([boxes, scores], 1)[None]
    raw = raw.astype(np.float32)
    kept = raw[0, :, 4] if top_k else raw[0, :, 4:].max(1)
    kept = kept[kept > np.float32(conf)]
    assert len(np.unique(kept)) == len(kept), "tied scores: torch's unstable sort would order them"
    w0, h0 = image_wh

    class Stub:  # what postprocess reads from a predictor
        args = argparse.Namespace(conf=conf, classes=None, max_det=max_det)
        batch = [["image.jpg"]]
        model = argparse.Namespace(names={i: str(i) for i in range(classes)})

    img = torch.zeros((1, 3, *input_hw))
    result = postprocess(Stub(), torch.from_numpy(raw.copy()), img, [np.zeros((h0, w0, 3), np.uint8)])[0]
    data = result.boxes.data.float()
    layout = "top_k" if top_k else "per_class"
    write(
        f"rtdetr_{layout}_{name}",
        {
            "family": "rtdetr",
            "reference": f"ultralytics {version} models.rtdetr.predict.RTDETRPredictor.postprocess",
            "image_wh": image_wh,
            "input_hw": input_hw,
            "classes": classes,
            "conf": conf,
            "iou": 0.0,
            "max_det": max_det,
            "outputs": [{"name": "output0", "shape": list(raw.shape), "data": f32(raw)}],
            "detections": detections_of(data),
        },
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yolox-repo", help="a git checkout of Megvii-BaseDetection/YOLOX")
    parser.add_argument("--ultralytics-8-4-0", help="the unpacked ultralytics 8.4.0 wheel")
    parser.add_argument("--only", help="comma-separated families to write (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda family: only is None or family in only  # noqa: E731
    os.makedirs(OUT, exist_ok=True)
    if wanted("yolov8") or wanted("yolov5") or wanted("detr"):
        if only is not None and not {"yolov8", "yolov5", "detr"} <= only:
            sys.exit("yolov8, yolov5 and detr share one random stream: write them together")
        original_families()
    sizes = [([64, 64], "square"), ([640, 427], "coco"), ([33, 17], "tiny_odd")]
    if wanted("yolox"):
        if not args.yolox_repo:
            sys.exit("--yolox-repo DIR: a checkout of https://github.com/Megvii-BaseDetection/YOLOX")
        yolox = Yolox(args.yolox_repo)
        rng = np.random.default_rng([SEED, 1])  # a stream of its own: other families stay as they are
        # Input (h, w): 96x160 puts 640x427 at ratio 96/427 (143.89 x 96, truncated to 143); 33x17
        # in 128x128 is 128 x 65.94, truncated to 65 where a rounding letterbox gives 66.
        for (image_wh, tag), input_hw in zip(sizes, [[96, 160], [96, 160], [128, 128]]):
            yolox_case(rng, yolox, tag, image_wh, input_hw, 3, 0.1, 0.45)
    if wanted("val"):
        # The validators' selection (`yolo val`, yolov5 val.py): multi-label NMS at their
        # defaults, conf 0.001, iou 0.7 (ultralytics) or 0.6 (val.py), 300 per image.
        rng = np.random.default_rng([SEED, 3])
        for image_wh, tag in sizes:
            yolov8_case(rng, f"val_{tag}", image_wh, [320, 320], 3, 120, 0.001, 0.7, 300, multi_label=True)
            yolov5_case(rng, f"val_{tag}", image_wh, [320, 320], 3, 120, 0.001, 0.6, 300, multi_label=True)
        # A cap that cuts through the second labels, and tied products across labels.
        yolov8_case(rng, "val_capped", [640, 480], [320, 320], 4, 150, 0.001, 0.7, 20, multi_label=True)
        yolov5_case(rng, "val_ties", [640, 101], [256, 320], 2, 150, 0.001, 0.6, 300, many_ties=True, multi_label=True)
    if wanted("detr_sigmoid"):
        from transformers import DeformableDetrImageProcessor, RTDetrImageProcessor

        rng = np.random.default_rng([SEED, 4])
        for image_wh, tag in sizes:
            detr_sigmoid_case(rng, RTDetrImageProcessor(), None, f"rtdetr_{tag}", image_wh, [320, 320], 3, 40, 0.2)
            detr_sigmoid_case(rng, DeformableDetrImageProcessor(), 30, f"deformable_{tag}", image_wh, [320, 320], 4, 30, 0.05)
    if wanted("rtdetr"):
        from ultralytics import __version__ as ul_version
        from ultralytics.models.rtdetr.predict import RTDETRPredictor

        if not args.ultralytics_8_4_0:
            sys.exit("--ultralytics-8-4-0 DIR: the unpacked ultralytics 8.4.0 wheel")
        old = load_file("rtdetr_predict_8_4_0", os.path.join(args.ultralytics_8_4_0, "ultralytics/models/rtdetr/predict.py"))
        rng = np.random.default_rng([SEED, 2])
        for image_wh, tag in sizes:
            rtdetr_case(rng, RTDETRPredictor.postprocess, ul_version, tag, image_wh, [320, 320], 4, 40, 0.3, 300, True)
            rtdetr_case(rng, old.RTDETRPredictor.postprocess, "8.4.0", tag, image_wh, [320, 320], 4, 40, 0.3, 12, False)


def original_families():
    rng = np.random.default_rng(SEED)
    # (name, image (w, h), input (h, w), classes, anchors, conf, iou, max_det)
    yolov8_case(rng, "landscape", [640, 480], [320, 320], 3, 300, 0.001, 0.7, 300)
    yolov8_case(rng, "portrait_odd", [333, 500], [320, 320], 5, 300, 0.25, 0.45, 300)
    # 101 * 0.5 = 50.5: Python rounds half to even (50); the cap keeps the 12 best.
    yolov8_case(rng, "thin_rect_input", [640, 101], [256, 320], 2, 250, 0.05, 0.6, 12)
    yolov5_case(rng, "landscape", [640, 480], [320, 320], 3, 300, 0.001, 0.45, 300)
    yolov5_case(rng, "portrait_odd", [333, 500], [320, 320], 4, 300, 0.25, 0.6, 300)
    yolov5_case(rng, "ties_rect_input", [640, 101], [256, 320], 2, 250, 0.05, 0.45, 30, many_ties=True)
    detr_case(rng, "three_classes", [640, 480], [320, 320], 3, 60, 0.5)
    detr_case(rng, "portrait_low_threshold", [333, 500], [384, 384], 6, 50, 0.01)
    detr_case(rng, "wide", [1000, 217], [320, 480], 12, 40, 0.3)
    # Issue 14: every family at a square, COCO's 640x427 (0.5 x 427 = 213.5: Python rounds the
    # resized height half to even, 214) and an odd tiny image (33x17 enlarged to 320x165, 155 px
    # of padding split 77 / 78). Appended, so the cases above keep their random draws; fewer
    # anchors and queries than above keep the files small.
    for image_wh, tag in [([64, 64], "square"), ([640, 427], "coco"), ([33, 17], "tiny_odd")]:
        yolov8_case(rng, tag, image_wh, [320, 320], 3, 80, 0.05, 0.6, 100)
        yolov5_case(rng, tag, image_wh, [320, 320], 3, 80, 0.05, 0.45, 100)
        detr_case(rng, tag, image_wh, [320, 320], 4, 30, 0.3)


if __name__ == "__main__":
    main()
