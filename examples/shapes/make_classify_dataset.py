#!/usr/bin/env python3
"""Derive an image-classification dataset from the shapes detection data.

Each labelled object becomes one 64x64 RGB crop: a square window centred on its box, with a
margin of 20 % of the box's longer side (at least 4 px) on every side, shifted to stay inside
the 320x320 image, resized with bicubic filtering. ImageFolder layout, one folder per class:

  classify/val/<class>/<annotation id>.png     (committed; from val/annotations.json, a seeded
                                               balanced subsample of 100 crops per class)
  <workdir>/classify/train/<class>/<n>.png     (not committed; from <workdir>/train, all objects)

Classes, in the order a classifier's logits use: the categories of val/annotations.json sorted
by name (circle, square, triangle), i.e. the order of the sorted folder names.

Usage: python make_dataset.py && python make_classify_dataset.py [--per-class 100]
Deterministic: reruns give byte-identical files.
"""
import argparse
import glob
import json
import os
import shutil

import numpy as np
from PIL import Image

CROP = 64
MARGIN = 0.20
MIN_MARGIN = 4
MIN_SIDE = 6  # boxes whose longer side is shorter than this (cut by the border) are skipped


def crop(img, box):
    """Square crop around box (x, y, w, h in pixels), margin added, kept inside the image."""
    W, H = img.size
    x, y, w, h = box
    side = max(w, h)
    side = min(side + 2 * max(MARGIN * side, MIN_MARGIN), W, H)
    cx, cy = x + w / 2, y + h / 2
    x0 = min(max(cx - side / 2, 0), W - side)
    y0 = min(max(cy - side / 2, 0), H - side)
    return img.resize((CROP, CROP), Image.BICUBIC, box=(x0, y0, x0 + side, y0 + side))


def class_order(annotations):
    cats = sorted(annotations["categories"], key=lambda c: c["name"])
    return [c["name"] for c in cats], {c["id"]: c["name"] for c in cats}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=100, help="committed val crops per class")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--workdir", default=os.path.join(here, "work"))
    args = ap.parse_args()

    with open(os.path.join(here, "val", "annotations.json")) as f:
        coco = json.load(f)
    names, cat_name = class_order(coco)
    print("class order:", names)

    # Validation: a balanced, seeded subsample of the COCO annotations.
    out = os.path.join(here, "classify", "val")
    shutil.rmtree(out, ignore_errors=True)
    files = {im["id"]: im["file_name"] for im in coco["images"]}
    rng = np.random.default_rng(args.seed)
    total = 0
    for name in names:
        os.makedirs(os.path.join(out, name))
        anns = [a for a in coco["annotations"] if cat_name[a["category_id"]] == name
                and max(a["bbox"][2], a["bbox"][3]) >= MIN_SIDE]
        pick = sorted(rng.choice(len(anns), size=min(args.per_class, len(anns)), replace=False))
        for k in pick:
            a = anns[k]
            img = Image.open(os.path.join(here, "val", "images", files[a["image_id"]])).convert("RGB")
            crop(img, a["bbox"]).save(os.path.join(out, name, f"{a['id']:06d}.png"), optimize=True)
        total += len(pick)
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(out, "*", "*.png")))
    print(f"val: {total} crops in {out} ({size / 1e6:.2f} MB)")

    # Training: every object of the (regenerated, ignored) training split, YOLO labels.
    src = os.path.join(args.workdir, "train")
    out = os.path.join(args.workdir, "classify", "train")
    shutil.rmtree(out, ignore_errors=True)
    yolo_names = ["circle", "square", "triangle"]  # make_dataset.py's CLASSES, label index order
    for name in names:
        os.makedirs(os.path.join(out, name))
    counts = dict.fromkeys(names, 0)
    for path in sorted(glob.glob(os.path.join(src, "images", "*.jpg"))):
        img = Image.open(path).convert("RGB")
        W, H = img.size
        stem = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(src, "labels", stem + ".txt")) as f:
            rows = [line.split() for line in f if line.strip()]
        for j, (c, cx, cy, w, h) in enumerate(rows):
            w, h = float(w) * W, float(h) * H
            if max(w, h) < MIN_SIDE:
                continue
            box = (float(cx) * W - w / 2, float(cy) * H - h / 2, w, h)
            name = yolo_names[int(c)]
            crop(img, box).save(os.path.join(out, name, f"{stem}_{j}.png"))
            counts[name] += 1
    print(f"train: {sum(counts.values())} crops in {out}: {counts}")


if __name__ == "__main__":
    main()
