#!/usr/bin/env python3
"""Measure an exported shapes model with onnxruntime, using each family's reference code.

Detectors: every image of val/ goes through the family's own pre- and post-processing,
the detections become a COCO results file, and pycocotools' COCOeval (bbox) scores it.

  yolov8      ultralytics LetterBox (grey 114), RGB / 255; output [1, 4+C, N];
              ultralytics.utils.nms.non_max_suppression, ultralytics.utils.ops.scale_boxes
  yolov5      yolov5.utils.augmentations.letterbox (grey 114), RGB / 255; output [1, N, 5+C];
              yolov5.utils.general.non_max_suppression, scale_boxes
  detr        plain resize to the input size, RGB / 255, ImageNet mean/std (DetrImageProcessor);
              outputs logits [1, Q, C+1] (last = no object), pred_boxes [1, Q, 4] (cx, cy, w, h
              normalised); DetrImageProcessor.post_process_object_detection
  classifier  classify/val/<class>/*.png, resized to the input size, RGB / 255, ImageNet
              mean/std; top-1 of the logits

Class index k of every model is the k-th category of val/annotations.json sorted by name
(circle, square, triangle).

--mode val      (default) the settings each library's validator uses for mAP: yolov8 conf 0.001,
                IoU 0.7, multi-label, max 300; yolov5 conf 0.001, IoU 0.6, multi-label, max 300;
                detr score threshold 0 (every query's best class).
--mode predict  deployment settings: yolov8 conf 0.25, IoU 0.7; yolov5 conf 0.25, IoU 0.45;
                detr threshold 0.5; single label per box.

Usage: python evaluate_onnx.py --family yolov8 models/yolov8n.onnx [--mode val] [--out results.json]
"""
import argparse
import contextlib
import glob
import io
import json
import os
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

SETTINGS = {
    ("yolov8", "val"): dict(conf=0.001, iou=0.7, multi_label=True, max_det=300),
    ("yolov8", "predict"): dict(conf=0.25, iou=0.7, multi_label=False, max_det=300),
    ("yolov5", "val"): dict(conf=0.001, iou=0.6, multi_label=True, max_det=300),
    ("yolov5", "predict"): dict(conf=0.25, iou=0.45, multi_label=False, max_det=300),
    ("detr", "val"): dict(threshold=0.0),
    ("detr", "predict"): dict(threshold=0.5),
}


def detr_processor(size=320):
    """The pre/post-processing the shapes DETR is trained and evaluated with."""
    from transformers import DetrImageProcessor

    return DetrImageProcessor(
        do_resize=True, size={"height": size, "width": size}, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_pad=False,
        format="coco_detection",
    )


def class_order(coco):
    cats = sorted(coco["categories"], key=lambda c: c["name"])
    return [c["name"] for c in cats], [c["id"] for c in cats]


def detect(family, sess, rgb, settings):
    """One image (HxWx3 uint8 RGB) -> list of (x, y, w, h, score, class index)."""
    import torch

    inp = sess.get_inputs()[0]
    hw = tuple(inp.shape[2:4])
    if family in ("yolov8", "yolov5"):
        if family == "yolov8":
            from ultralytics.data.augment import LetterBox
            from ultralytics.utils.nms import non_max_suppression
            from ultralytics.utils.ops import scale_boxes

            im = LetterBox(new_shape=hw, auto=False, stride=32)(image=rgb)
        else:
            from yolov5.utils.augmentations import letterbox
            from yolov5.utils.general import non_max_suppression, scale_boxes

            im = letterbox(rgb, hw, auto=False, stride=32)[0]
        x = np.ascontiguousarray(im.transpose(2, 0, 1))[None].astype(np.float32) / 255.0
        pred = torch.from_numpy(sess.run(None, {inp.name: x})[0])
        det = non_max_suppression(pred, settings["conf"], settings["iou"], multi_label=settings["multi_label"],
                                  max_det=settings["max_det"])[0]
        det[:, :4] = scale_boxes(hw, det[:, :4], rgb.shape[:2])
        return [(float(a), float(b), float(c - a), float(d - b), float(s), int(k)) for a, b, c, d, s, k in det.tolist()]
    if family == "detr":
        from transformers.models.detr.modeling_detr import DetrObjectDetectionOutput

        proc = detr_processor(hw[0])
        x = proc(images=Image.fromarray(rgb), return_tensors="np")["pixel_values"].astype(np.float32)
        logits, boxes = sess.run(["logits", "pred_boxes"], {inp.name: x})
        out = DetrObjectDetectionOutput(logits=torch.from_numpy(logits), pred_boxes=torch.from_numpy(boxes))
        r = proc.post_process_object_detection(out, threshold=settings["threshold"],
                                               target_sizes=[rgb.shape[:2]])[0]
        return [(a, b, c - a, d - b, s, k) for (a, b, c, d), s, k in
                zip(r["boxes"].tolist(), r["scores"].tolist(), r["labels"].tolist())]
    raise ValueError(family)


def evaluate_detector(family, model, mode, out):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ann_file = os.path.join(HERE, "val", "annotations.json")
    with open(ann_file) as f:
        coco = json.load(f)
    _, cat_ids = class_order(coco)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    settings = SETTINGS[(family, mode)]
    results, started = [], time.time()
    for im in coco["images"]:
        rgb = np.asarray(Image.open(os.path.join(HERE, "val", "images", im["file_name"])).convert("RGB"))
        for x, y, w, h, s, k in detect(family, sess, rgb, settings):
            results.append({"image_id": im["id"], "category_id": cat_ids[k],
                            "bbox": [round(v, 3) for v in (x, y, w, h)], "score": round(s, 5)})
    seconds = time.time() - started
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(results, f)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
    if not results:
        print(f"{os.path.basename(model)} [{family}, {mode}]: no detections")
        return None
    dt = gt.loadRes(results)
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    print(f"{os.path.basename(model)} [{family}, {mode} {settings}]: {len(results)} detections on "
          f"{len(coco['images'])} images ({seconds:.1f} s); mAP@0.5 {ev.stats[1]:.4f}  "
          f"mAP@[.5:.95] {ev.stats[0]:.4f}  (pycocotools)")
    return ev.stats


def evaluate_classifier(model, folder):
    names = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    h, w = inp.shape[2:4]
    mean = np.array(IMAGENET_MEAN, np.float32).reshape(3, 1, 1)
    std = np.array(IMAGENET_STD, np.float32).reshape(3, 1, 1)
    hits, counts = np.zeros(len(names)), np.zeros(len(names))
    for k, name in enumerate(names):
        for p in sorted(glob.glob(os.path.join(folder, name, "*.png"))):
            img = Image.open(p).convert("RGB")
            if img.size != (w, h):
                img = img.resize((w, h), Image.BICUBIC)
            x = (np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0 - mean) / std
            logits = sess.run(None, {inp.name: x[None]})[0]
            hits[k] += int(logits.argmax() == k)
            counts[k] += 1
    per_class = ", ".join(f"{n} {hits[k] / counts[k]:.3f}" for k, n in enumerate(names))
    print(f"{os.path.basename(model)} [classifier]: top-1 {hits.sum() / counts.sum():.4f} "
          f"({int(hits.sum())}/{int(counts.sum())}); per class: {per_class}; logits {list(logits.shape)}")
    return hits.sum() / counts.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--family", required=True, choices=["yolov8", "yolov5", "detr", "classifier"])
    ap.add_argument("--mode", default="val", choices=["val", "predict"])
    ap.add_argument("--out", help="COCO results json to write (detectors)")
    ap.add_argument("--folder", default=os.path.join(HERE, "classify", "val"), help="classifier val folder")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.family == "classifier":
        evaluate_classifier(args.model, args.folder)
    else:
        evaluate_detector(args.family, args.model, args.mode, args.out)


if __name__ == "__main__":
    main()
