#!/usr/bin/env python3
"""Export tiny real ultralytics detectors to ONNX and record ultralytics' own predictions on one
image, for the end-to-end checks in src/model/tests.rs.

Run with an interpreter that has ultralytics (8.4.190 made the committed files), torch, onnx,
onnxruntime and opencv-python:
    python scripts/make_tiny_exports.py
Writes into tests/fixtures/models/:
- tiny_<name>.onnx (tiny_yolo11, tiny_yolo26_end2end, tiny_yolov10_end2end, and tiny_yolo11_dynamic,
  the YOLO11 one exported with `dynamic=True`): built from ultralytics' own yaml (yolo11.yaml, yolo26.yaml, yolov10n.yaml)
  with 3 classes, a 1/16 width scale and at most 16 channels, random weights (seeded; no weights are downloaded),
  exported at imgsz 64 (opset 17, not simplified). The last head layers are redrawn so that scores
  spread over 0-1 instead of ultralytics' ~1e-4 prior, giving real detections to compare
  (the last box layers too, so boxes vary). Some scores still tie (anchors that see the same
  pixels); runtimes may order those differently, so the check matches detections in any order.
- tiny_<name>.json: the export's output shape and ultralytics' `YOLO(onnx).predict` detections
  (onnxruntime, its own letterbox, NMS or end-to-end selection and `scale_boxes`) on
  tiny_image.png, a seeded 64x56 image: letterboxed into 64x64 without resampling (4 px of
  grey above and below), so both sides feed the network the same pixels.
YOLO11 has the yolov8 layout `[1, 4 + C, N]`; YOLO26 and YOLOv10 exported with `nms=False` are
end-to-end, `[1, K, 6]` (K = min(300, anchors) = 84 here).
"""

import json
import os
import tempfile

import cv2
import numpy as np
import torch
import yaml

import ultralytics
from ultralytics import YOLO

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
CFG = os.path.join(os.path.dirname(ultralytics.__file__), "cfg", "models")
SEED = 20261201
IMGSZ = 64
CONF, IOU, MAX_DET = 0.25, 0.7, 300
MAX_BYTES = 1_000_000

# (name, yaml, export `nms`): `nms=False` exports the NMS-free one-to-one head of YOLO26 and
# YOLOv10 (ultralytics 8.4.190 exports their one-to-many head, needing NMS, by default).
# `dynamic=True` (the last field) declares batch, height and width free; shakedown sizes it from
# the export's `imgsz` metadata.
MODELS = [
    ("yolo11", "11/yolo11.yaml", None, False),
    ("yolo26_end2end", "26/yolo26.yaml", False, False),
    ("yolov10_end2end", "v10/yolov10n.yaml", False, False),
    ("yolo11_dynamic", "11/yolo11.yaml", None, True),
]


def image():
    """A seeded 64x56 image: noise over a few flat rectangles."""
    rng = np.random.default_rng(SEED)
    img = rng.integers(0, 256, (56, 64, 3), dtype=np.uint8)
    for _ in range(4):
        x, y = rng.integers(0, 48), rng.integers(0, 44)
        img[y : y + 12, x : x + 16] = rng.integers(0, 256, 3)
    path = os.path.join(OUT, "tiny_image.png")
    cv2.imwrite(path, img)
    return path


def tiny_yaml(src, dir):
    """The model's yaml with 3 classes and a single tiny scale (no scale letter in the name)."""
    with open(os.path.join(CFG, src)) as f:
        cfg = yaml.safe_load(f)
    depth = cfg.get("scales", {}).get("n", [0.33])[0]
    cfg["nc"] = 3
    cfg["scales"] = {"t": [depth, 0.0625, 256]}  # channels at most 16
    path = os.path.join(dir, os.path.basename(src).replace("yolov10n", "yolov10"))
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path


def export(name, src, nms, dynamic, image_path, dir):
    torch.manual_seed(SEED)
    model = YOLO(tiny_yaml(src, dir))
    head = model.model.model[-1]
    with torch.no_grad():
        # ultralytics starts batch-norm scales at 0, which makes a freshly built network output
        # the same for every pixel: drawn around 1 instead, so the features depend on the image.
        for m in model.model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)
        # The last box and class layers redrawn: the class prior would give every anchor the
        # same ~1e-4 score.
        for branch in ("cv2", "cv3", "one2one_cv2", "one2one_cv3"):
            for seq in getattr(head, branch, None) or []:
                seq[-1].weight.normal_(0.0, 0.5)
                seq[-1].bias.normal_(-1.0, 1.5) if "cv3" in branch else seq[-1].bias.normal_(0.0, 0.5)
    onnx = model.export(format="onnx", imgsz=IMGSZ, opset=17, simplify=False, dynamic=dynamic, nms=nms)
    target = os.path.join(OUT, f"tiny_{name}.onnx")
    os.replace(onnx, target)
    size = os.path.getsize(target)
    assert size < MAX_BYTES, f"{target}: {size} bytes"
    import onnxruntime

    session = onnxruntime.InferenceSession(target)
    # The shape a 64x64 input gives (a dynamic export declares names, not sizes).
    zeros = np.zeros((1, 3, IMGSZ, IMGSZ), np.float32)
    shape = list(session.run(None, {session.get_inputs()[0].name: zeros})[0].shape)
    result = YOLO(target, task="detect").predict(
        image_path, imgsz=IMGSZ, conf=CONF, iou=IOU, max_det=MAX_DET, verbose=False
    )[0]
    data = result.boxes.data.float().numpy()
    detections = [
        {"bbox": [float(v) for v in np.float32(d[:4])], "score": float(np.float32(d[4])), "class": int(d[5])}
        for d in data
    ]
    with open(os.path.join(OUT, f"tiny_{name}.json"), "w") as f:
        json.dump(
            {
                "reference": f"ultralytics {ultralytics.__version__} YOLO(onnx).predict (onnxruntime "
                f"{onnxruntime.__version__}), model built from {src} at width 1/16 (16 channels at most), 3 classes",
                "image": "tiny_image.png",
                "output_shape": shape,
                "imgsz": IMGSZ,
                "conf": CONF,
                "iou": IOU,
                "max_det": MAX_DET,
                "detections": detections,
            },
            f,
            indent=1,
        )
        f.write("\n")
    print(f"tiny_{name}: output {shape}, {size} bytes, {len(detections)} detections")


def main():
    os.makedirs(OUT, exist_ok=True)
    image_path = image()
    with tempfile.TemporaryDirectory() as dir:
        for name, src, nms, dynamic in MODELS:
            export(name, src, nms, dynamic, image_path, dir)


if __name__ == "__main__":
    main()
