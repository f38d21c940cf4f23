#!/usr/bin/env python3
"""Generate the deterministic synthetic "shapes" detection dataset.

Three classes (circle, square, triangle) of randomly coloured objects on textured,
non-uniform backgrounds, 320x320. Objects cover all three COCO area ranges
(small < 32^2, medium 32^2-96^2, large > 96^2) and may partly occlude each other;
boxes and areas are those of the *visible* pixels, as in COCO.

Outputs:
  val/images/*.jpg + val/annotations.json   (committed; COCO format)
  <workdir>/train/images, <workdir>/train/labels, <workdir>/val/...  (YOLO format, not
  committed; used by train.py)

Usage: python make_dataset.py [--train N] [--val N] [--workdir DIR]
       python make_dataset.py --scale DIR --count 5000 --size 640x480
         (COCO format only: DIR/images/*.jpg + DIR/annotations.json, for benches/scale)
Everything is drawn from numpy generators seeded from --seed, so reruns are byte-identical.
"""
import argparse
import json
import os

import numpy as np
from PIL import Image

CLASSES = ["circle", "square", "triangle"]
SIZE = 320
# Side-length ranges (pixels) that land objects in COCO's small / medium / large area bins.
SIZE_BINS = [(12, 28), (36, 90), (104, 190)]
SIZE_BIN_WEIGHTS = [0.35, 0.45, 0.20]
MIN_VISIBLE = 0.45  # objects occluded beyond this are not placed


def background(rng, width, height):
    """Low-frequency colour field + stripes + blotches + grain: nothing a model can key on."""
    coarse = rng.uniform(0, 255, size=(rng.integers(3, 7), rng.integers(3, 7), 3)).astype(np.float32)
    img = np.asarray(
        Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.BICUBIC), dtype=np.float32
    )
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(rng.integers(1, 4)):
        angle = rng.uniform(0, np.pi)
        freq = rng.uniform(0.03, 0.25)
        amp = rng.uniform(8, 40)
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * freq + rng.uniform(0, 6.28))
        img += amp * wave[..., None] * rng.uniform(-1, 1, size=3)
    for _ in range(rng.integers(2, 8)):
        cx, cy = rng.uniform(0, [width, height])
        r = rng.uniform(10, 60)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-60, 60, size=3)
    img += rng.normal(0, rng.uniform(3, 12), size=img.shape)
    return img


def shape_mask(rng, cls, side):
    """Boolean mask of one object of the given class inside a side x side box."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) + 0.5
    c = side / 2.0
    if cls == 0:  # circle
        return (xx - c) ** 2 + (yy - c) ** 2 <= (side / 2.0) ** 2
    if cls == 1:  # square, slightly rotated so edges are not always axis aligned
        a = rng.uniform(-0.25, 0.25)
        half = side / 2.0 / (abs(np.cos(a)) + abs(np.sin(a)))
        u = (xx - c) * np.cos(a) + (yy - c) * np.sin(a)
        v = -(xx - c) * np.sin(a) + (yy - c) * np.cos(a)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # triangle, random orientation, inscribed in the box's circle
    a0 = rng.uniform(0, 2 * np.pi)
    pts = [(c + c * np.cos(a0 + k * 2 * np.pi / 3), c + c * np.sin(a0 + k * 2 * np.pi / 3)) for k in range(3)]
    inside = np.ones((side, side), dtype=bool)
    for k in range(3):
        (x1, y1), (x2, y2) = pts[k], pts[(k + 1) % 3]
        ox, oy = pts[(k + 2) % 3]
        edge = (x2 - x1) * (yy - y1) - (y2 - y1) * (xx - x1)
        sign = (x2 - x1) * (oy - y1) - (y2 - y1) * (ox - x1)
        inside &= edge * sign >= 0
    return inside


def render(rng, width=SIZE, height=SIZE):
    img = background(rng, width, height)
    owner = np.full((height, width), -1, dtype=np.int32)
    objects = []  # (cls, full pixel count)
    for _ in range(rng.integers(1, 7)):
        for _attempt in range(10):
            lo, hi = SIZE_BINS[rng.choice(3, p=SIZE_BIN_WEIGHTS)]
            side = int(rng.integers(lo, hi + 1))
            cls = int(rng.integers(0, len(CLASSES)))
            mask = shape_mask(rng, cls, side)
            x0 = int(rng.integers(-side // 5, width - side + side // 5 + 1))
            y0 = int(rng.integers(-side // 5, height - side + side // 5 + 1))
            # Clip the mask to the canvas (objects may be cut by the border).
            sx0, sy0 = max(0, -x0), max(0, -y0)
            sx1, sy1 = min(side, width - x0), min(side, height - y0)
            m = mask[sy0:sy1, sx0:sx1]
            region = owner[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1]
            # Reject placements that would hide too much of an earlier object.
            ok = True
            for j in np.unique(region[m]):
                if j < 0:
                    continue
                still = np.count_nonzero(owner == j) - np.count_nonzero(region[m] == j)
                if still < MIN_VISIBLE * objects[j][1]:
                    ok = False
                    break
            if not ok or m.sum() < MIN_VISIBLE * mask.sum():
                continue
            idx = len(objects)
            objects.append((cls, int(mask.sum())))
            region[m] = idx
            colour = rng.uniform(0, 255, size=3)
            shade = rng.uniform(0.75, 1.15)
            sub = img[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1]
            grad = np.linspace(1.0, shade, m.shape[1], dtype=np.float32)[None, :, None]
            fill = colour[None, None, :] * grad + rng.normal(0, 6, size=(m.shape[0], m.shape[1], 3))
            sub[m] = fill[m]
            break
    anns = []
    for j, (cls, _full) in enumerate(objects):
        ys, xs = np.nonzero(owner == j)
        if len(xs) == 0:
            continue
        x_min, x_max, y_min, y_max = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        anns.append(
            {
                "category_id": cls + 1,
                "bbox": [float(x_min), float(y_min), float(x_max - x_min), float(y_max - y_min)],
                "area": float(len(xs)),
            }
        )
    return np.clip(img, 0, 255).astype(np.uint8), anns


def write_split(root, split, count, seed, coco):
    img_dir = os.path.join(root, split, "images")
    lbl_dir = os.path.join(root, split, "labels")
    os.makedirs(img_dir, exist_ok=True)
    if not coco:
        os.makedirs(lbl_dir, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        # One generator per image: any image can be regenerated on its own.
        rng = np.random.default_rng([seed, i])
        pixels, anns = render(rng)
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(pixels).save(os.path.join(img_dir, name), quality=92)
        images.append({"id": i + 1, "file_name": name, "width": SIZE, "height": SIZE})
        for a in anns:
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "iscrowd": 0, **a})
        if not coco:
            with open(os.path.join(lbl_dir, name.replace(".jpg", ".txt")), "w") as f:
                for a in anns:
                    x, y, w, h = a["bbox"]
                    f.write(
                        f"{a['category_id'] - 1} {(x + w / 2) / SIZE:.6f} {(y + h / 2) / SIZE:.6f}"
                        f" {w / SIZE:.6f} {h / SIZE:.6f}\n"
                    )
    if coco:
        doc = {
            "info": {"description": "shakedown synthetic shapes, made by make_dataset.py", "version": "1"},
            "images": images,
            "annotations": annotations,
            "categories": [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(CLASSES)],
        }
        with open(os.path.join(root, split, "annotations.json"), "w") as f:
            json.dump(doc, f, indent=1)
    return annotations


def write_scale_set(root, count, width, height, seed):
    """A COCO-format set of `count` images of width x height (objects as in the 320 px set, so
    relatively smaller): the dataset of benches/scale."""
    img_dir = os.path.join(root, "images")
    os.makedirs(img_dir, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        name = f"{i + 1:06d}.jpg"
        path = os.path.join(img_dir, name)
        pixels, anns = render(rng, width, height)
        if not os.path.exists(path):  # a rerun only adds what is missing
            Image.fromarray(pixels).save(path, quality=92)
        images.append({"id": i + 1, "file_name": name, "width": width, "height": height})
        for a in anns:
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "iscrowd": 0, **a})
    doc = {
        "info": {"description": f"shakedown synthetic shapes at {width}x{height}, made by make_dataset.py"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(CLASSES)],
    }
    with open(os.path.join(root, "annotations.json"), "w") as f:
        json.dump(doc, f)
    print(f"{root}: {count} images of {width}x{height}, {len(annotations)} objects")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--val", type=int, default=200)
    ap.add_argument("--train", type=int, default=1200)
    ap.add_argument("--workdir", default=os.path.join(here, "work"))
    ap.add_argument("--scale", metavar="DIR", help="write only a COCO-format set of --count images of --size")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--size", default="640x480", help="WIDTHxHEIGHT, with --scale")
    args = ap.parse_args()
    if args.scale:
        width, height = (int(v) for v in args.size.split("x"))
        write_scale_set(args.scale, args.count, width, height, args.seed + 2)
        return

    anns = write_split(here, "val", args.val, args.seed, coco=True)
    bins = [0, 0, 0]
    for a in anns:
        bins[0 if a["area"] < 32**2 else 1 if a["area"] < 96**2 else 2] += 1
    print(f"val: {args.val} images, {len(anns)} objects, small/medium/large = {bins}")
    if args.train:
        write_split(args.workdir, "train", args.train, args.seed + 1, coco=False)
        # The validation split again in YOLO layout, so ultralytics can report its own metrics.
        write_split(args.workdir, "val", args.val, args.seed, coco=False)
        with open(os.path.join(args.workdir, "data.yaml"), "w") as f:
            f.write(f"path: {args.workdir}\ntrain: train/images\nval: val/images\nnames:\n")
            for k, n in enumerate(CLASSES):
                f.write(f"  {k}: {n}\n")
        print(f"train: {args.train} images in {args.workdir}")


if __name__ == "__main__":
    main()
