#!/usr/bin/env python3
"""Generate parity fixtures for src/metrics/coco_eval.rs from pycocotools' COCOeval (bbox).

Run with an interpreter that has pycocotools==2.0.11 and numpy, e.g.
    /root/venv/bin/python scripts/make_cocoeval_fixtures.py
Writes tests/fixtures/cocoeval/case_NN.json. The cases are randomized with a fixed
seed, so rerunning the script reproduces the same files.

Every coordinate, area and score is rounded to a few decimals: that keeps the files
small and makes each number parse to the same double in Python and in Rust.
"""

import argparse
import contextlib
import io
import json
import os
import random
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

SEED = 20240611
NUM_CASES = 28


def rnd(x, nd=2):
    v = round(float(x), nd)
    # Keep integral values as ints: shorter files, same double on both sides.
    return int(v) if v == int(v) else v


def rand_box(rng, size_class, int_mode=False):
    if size_class == "small":
        w, h = rng.uniform(1, 40), rng.uniform(1, 40)
    elif size_class == "medium":
        w, h = rng.uniform(25, 110), rng.uniform(25, 110)
    else:
        w, h = rng.uniform(80, 320), rng.uniform(80, 320)
    x, y = rng.uniform(-10, 600), rng.uniform(-10, 440)
    if int_mode:
        return [int(x), int(y), max(1, int(w)), max(1, int(h))]
    return [rnd(x), rnd(y), rnd(w), rnd(h)]


def jitter(rng, box, scale, int_mode=False):
    x, y, w, h = box
    nx = x + rng.gauss(0, scale) * w
    ny = y + rng.gauss(0, scale) * h
    nw = max(0.0, w * (1 + rng.gauss(0, scale)))
    nh = max(0.0, h * (1 + rng.gauss(0, scale)))
    if int_mode:
        return [int(round(nx)), int(round(ny)), int(round(nw)), int(round(nh))]
    return [rnd(nx), rnd(ny), rnd(nw), rnd(nh)]


def score(rng, quantized):
    if quantized:
        return rng.choice([0.25, 0.5, 0.5, 0.75, 0.9, 1])
    return rnd(rng.random(), rng.choice([1, 2, 2, 3]))


def make_case(idx, rng):
    """Build (gt_dict, dt_list) for one case; the knobs vary with idx and rng."""
    special = {
        0: "perfect",
        1: "no_dets",
        2: "no_images",
        3: "large",
        4: "exact_iou",
        5: "crowded",
        6: "crowd_heavy",
        7: "area_edges",
        8: "degenerate",
        9: "single_cat",
    }.get(idx, "random")

    if special == "no_images":
        cats = [{"id": 3, "name": "c3"}, {"id": 7, "name": "c7"}]
        return {"images": [], "annotations": [], "categories": cats}, []

    n_images = {
        "perfect": 3,
        "no_dets": 6,
        "large": 300,
        "exact_iou": 8,
        "crowded": 6,
        "single_cat": 12,
    }.get(special, rng.choice([1, 2, 4, 7, 12, 20, 30]))
    n_cats = {"perfect": 2, "single_cat": 1, "large": 8}.get(special, rng.randint(1, 7))
    img_ids = rng.sample(range(1, 5000), n_images)
    cat_ids = sorted(rng.sample(range(1, 91), n_cats))
    # Some categories never get ground truth (pycocotools reports -1 for them).
    n_gt_cats = n_cats if special in ("perfect", "single_cat") else max(1, n_cats - rng.randint(0, 2))
    gt_cats = rng.sample(cat_ids, n_gt_cats)
    int_mode = special == "exact_iou" or (special == "random" and rng.random() < 0.3)
    quantized = special == "crowded" or rng.random() < 0.3
    p_crowd = {"crowd_heavy": 0.35, "perfect": 0.0}.get(special, rng.choice([0.0, 0.05, 0.1]))
    p_empty_img = 0.0 if special == "perfect" else rng.choice([0.0, 0.15, 0.3])
    max_gt = {"large": 14, "crowded": 20}.get(special, rng.choice([2, 4, 8, 12]))
    jit = rng.choice([0.02, 0.05, 0.1, 0.25])
    fp_max = {"perfect": 0, "large": 6}.get(special, rng.choice([0, 2, 5]))

    images, anns, dts = [], [], []
    for img in img_ids:
        images.append({"id": img, "width": 640, "height": 480})
        n_gt = 0 if rng.random() < p_empty_img else rng.randint(1, max_gt)
        for _ in range(n_gt):
            cat = rng.choice(gt_cats)
            crowd = 1 if rng.random() < p_crowd else 0
            size = rng.choice(["small", "small", "medium", "medium", "large"])
            if crowd:
                size = rng.choice(["medium", "large"])
            box = rand_box(rng, size, int_mode)
            area = box[2] * box[3]
            u = rng.random()
            if special == "area_edges" and u < 0.4:
                # Exactly on the range boundaries, which are inclusive on both sides.
                area = rng.choice([0, 1024, 9216, 1024.01, 1023.99, 9216.01, 9215.99])
            elif u < 0.2:
                # A segmentation area smaller than the box, as in real COCO.
                area = area * rng.uniform(0.3, 1.0)
            anns.append(
                {
                    "image_id": img,
                    "category_id": cat,
                    "bbox": box,
                    "area": rnd(area),
                    "iscrowd": crowd,
                }
            )
            if special == "no_dets":
                continue
            if special == "perfect":
                dts.append({"image_id": img, "category_id": cat, "bbox": list(box), "score": rnd(rng.random(), 3)})
                continue
            n_det = rng.choice([0, 1, 1, 1, 2, 3, 5] if crowd else [0, 1, 1, 1, 1, 2, 3])
            for _ in range(n_det):
                dcat = cat if rng.random() < 0.93 else rng.choice(cat_ids)
                if special == "exact_iou" and box[2] >= 2:
                    # Shrink the width so IoU hits k/20 exactly: ties with the thresholds.
                    k = rng.randint(9, 20)
                    w = box[2] * k // 20 if rng.random() < 0.5 else box[2] * k / 20
                    dbox = [box[0], box[1], rnd(w), box[3]]
                elif rng.random() < 0.08:
                    dbox = list(box)  # exact duplicate, IoU 1
                else:
                    dbox = jitter(rng, box, jit, int_mode)
                dts.append({"image_id": img, "category_id": dcat, "bbox": dbox, "score": score(rng, quantized)})
        if special == "no_dets":
            continue
        for _ in range(rng.randint(0, fp_max)):
            dcat = rng.choice(cat_ids)
            if rng.random() < 0.05:
                dcat = 1000 + rng.randint(0, 5)  # not a category of this dataset: ignored
            size = rng.choice(["small", "medium", "large"])
            dts.append(
                {"image_id": img, "category_id": dcat, "bbox": rand_box(rng, size, int_mode), "score": score(rng, quantized)}
            )
        if special == "crowded" or (special == "random" and rng.random() < 0.08):
            # Over 100 detections on one image/category: maxDets truncation and ties.
            cat = rng.choice(cat_ids)
            same_img_gts = [a for a in anns if a["image_id"] == img and a["category_id"] == cat]
            for j in range(rng.randint(101, 160)):
                if same_img_gts and rng.random() < 0.5:
                    dbox = jitter(rng, rng.choice(same_img_gts)["bbox"], 0.15, int_mode)
                else:
                    dbox = rand_box(rng, rng.choice(["small", "medium", "large"]), int_mode)
                dts.append({"image_id": img, "category_id": cat, "bbox": dbox, "score": score(rng, True)})
        if special == "degenerate":
            for a in [a for a in anns if a["image_id"] == img]:
                x, y, w, h = a["bbox"]
                for dbox in (
                    [x + w, y, 5, h],  # touching on the right: zero overlap
                    [x, y + h, w, 3],  # touching below
                    [x, y, 0, h],  # zero width
                    [x, y, w, 0],  # zero height
                    [x + w / 4, y + h / 4, 0.01, 0.01],
                ):
                    dts.append(
                        {"image_id": img, "category_id": a["category_id"], "bbox": [rnd(v) for v in dbox], "score": score(rng, False)}
                    )
    # Annotation order matters for tie-breaking, so shuffle it; ids stay >= 1 (an id
    # of 0 would read as "unmatched" inside pycocotools).
    rng.shuffle(anns)
    for i, a in enumerate(anns):
        a["id"] = i + 1
    rng.shuffle(images)
    rng.shuffle(dts)
    cats = [{"id": c, "name": f"c{c}"} for c in cat_ids]
    rng.shuffle(cats)
    return {"images": images, "annotations": anns, "categories": cats}, dts


def load_gt(gt):
    coco = COCO()
    coco.dataset = json.loads(json.dumps(gt))
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_dt(coco_gt, dts):
    if dts:
        with contextlib.redirect_stdout(io.StringIO()):
            return coco_gt.loadRes(json.loads(json.dumps(dts)))
    # loadRes cannot take an empty list (it reads anns[0]); build the empty result set by hand.
    coco = COCO()
    coco.dataset = {"images": list(coco_gt.dataset["images"]), "annotations": [], "categories": list(coco_gt.dataset["categories"])}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def run_cocoeval(gt, dts):
    coco_gt = load_gt(gt)
    coco_dt = load_dt(coco_gt, dts)
    ev = COCOeval(coco_gt, coco_dt, "bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ev.summarize()
    summary = out.getvalue().splitlines()
    assert len(summary) == 12, summary
    precision = ev.eval["precision"]
    per_cat, per_cat50 = {}, {}
    for k, cat in enumerate(ev.params.catIds):
        p = precision[:, :, k, 0, 2]
        per_cat[str(int(cat))] = float(np.mean(p[p > -1])) if (p > -1).any() else -1.0
        p50 = precision[0, :, k, 0, 2]
        per_cat50[str(int(cat))] = float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else -1.0
    return [float(s) for s in ev.stats], per_cat, per_cat50, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "cocoeval")
    ap.add_argument("--out", default=default_out)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    master = random.Random(SEED)
    total = 0
    for idx in range(NUM_CASES):
        rng = random.Random(master.getrandbits(64))
        gt, dts = make_case(idx, rng)
        stats, per_cat, per_cat50, summary = run_cocoeval(gt, dts)
        case = {
            "gt": gt,
            "dt": dts,
            "stats": stats,
            "per_category": per_cat,
            "per_category_ap50": per_cat50,
            "summary": summary,
        }
        path = os.path.join(args.out, f"case_{idx:02d}.json")
        with open(path, "w") as f:
            json.dump(case, f, separators=(",", ":"))
            f.write("\n")
        size = os.path.getsize(path)
        total += size
        print(
            f"{os.path.basename(path)}: {len(gt['images'])} images, {len(gt['categories'])} cats, "
            f"{len(gt['annotations'])} gt, {len(dts)} dt, AP={stats[0]:.3f}, {size // 1024} KiB",
            file=sys.stderr,
        )
    print(f"total {total / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
