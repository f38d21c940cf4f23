#!/usr/bin/env python3
"""Time `shakedown eval` against pycocotools and faster-coco-eval on a synthetic COCO-scale set.

    /root/venv/bin/python benches/cocoeval/bench.py [--shakedown PATH] [--repeat N]

Generates (fixed seed) 5000 images, 80 categories, ~36 000 ground-truth boxes (about 1%
crowd) and 100 detections per image into a temporary folder, then runs, each in its own
process: `shakedown eval --json`, pycocotools 2.0.11 and faster-coco-eval 1.8.0. Checks
that the three give the same 12 stats (pycocotools to 1e-6; differences to
faster-coco-eval are reported, not fatal) and prints wall times and ratios.

Every timing includes reading the two json files: that is the whole command for shakedown.
The Python tools also report their evaluate+accumulate+summarize time alone.
"""

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

SEED = 20250101
N_IMAGES = 5000
N_CATS = 80
GT_PER_IMAGE = 7.2  # mean; COCO val2017 has 36 781 boxes on 5000 images
CROWD_FRACTION = 0.01
DETS_PER_IMAGE = 100

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def generate(folder):
    """Writes gt.json and dt.json; numbers are rounded so Python and Rust parse the same doubles."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    # COCO-like sparse category ids (1..90 with gaps).
    cat_ids = sorted(rng.choice(np.arange(1, 91), N_CATS, replace=False).tolist())
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480} for i in range(N_IMAGES)]
    n_gt = rng.poisson(GT_PER_IMAGE, N_IMAGES)
    annotations = []
    dets = []
    for img in range(N_IMAGES):
        image_id = img + 1
        k = int(n_gt[img])
        # Box sizes spread over small/medium/large.
        side = np.exp(rng.uniform(np.log(4), np.log(400), (k, 2)))
        xy = rng.uniform(0, 1, (k, 2)) * (np.array([640, 480]) - side).clip(1)
        cats = rng.choice(cat_ids, k)
        crowd = rng.random(k) < CROWD_FRACTION
        gt_boxes = []
        for j in range(k):
            box = [round(float(xy[j, 0]), 2), round(float(xy[j, 1]), 2), round(float(side[j, 0]), 2), round(float(side[j, 1]), 2)]
            area = round(box[2] * box[3] * float(rng.uniform(0.5, 1.0)), 2)  # a "mask" area below the box's
            ann = {"id": len(annotations) + 1, "image_id": image_id, "category_id": int(cats[j]), "bbox": box, "area": area, "iscrowd": int(crowd[j])}
            annotations.append(ann)
            gt_boxes.append((box, int(cats[j])))
        # Detections: jittered copies of the GT (true and near misses, some with the wrong
        # class), the rest random boxes; scores with ties (3 decimals).
        n_tp = min(len(gt_boxes) * 3, DETS_PER_IMAGE)
        for j in range(DETS_PER_IMAGE):
            if j < n_tp and gt_boxes:
                (x, y, w, h), c = gt_boxes[j % len(gt_boxes)]
                s = float(rng.uniform(0.02, 0.25))
                box = [x + rng.normal(0, s) * w, y + rng.normal(0, s) * h, w * (1 + rng.normal(0, s)), h * (1 + rng.normal(0, s))]
                if rng.random() < 0.1:
                    c = int(rng.choice(cat_ids))
                score = float(rng.uniform(0.3, 1.0))
            else:
                w, h = np.exp(rng.uniform(np.log(4), np.log(400), 2))
                box = [rng.uniform(0, 640 - min(w, 639)), rng.uniform(0, 480 - min(h, 479)), w, h]
                c = int(rng.choice(cat_ids))
                score = float(rng.uniform(0.0, 0.6))
            box = [round(float(v), 2) for v in box]
            box[2], box[3] = max(box[2], 0.0), max(box[3], 0.0)
            dets.append({"image_id": image_id, "category_id": c, "bbox": box, "score": round(score, 3)})
    categories = [{"id": c, "name": f"class{c}", "supercategory": "thing"} for c in cat_ids]
    gt_path, dt_path = os.path.join(folder, "gt.json"), os.path.join(folder, "dt.json")
    with open(gt_path, "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f)
    with open(dt_path, "w") as f:
        json.dump(dets, f)
    crowd = sum(a["iscrowd"] for a in annotations)
    return gt_path, dt_path, len(annotations), crowd, len(dets)


def worker(tool, gt_path, dt_path):
    """Runs one Python tool in this process; prints {stats, load_s, eval_s} as json on the last line."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        if tool == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval

            t0 = time.perf_counter()
            gt = COCO(gt_path)
            dt = gt.loadRes(dt_path)
            t1 = time.perf_counter()
            e = COCOeval(gt, dt, "bbox")
        else:
            from faster_coco_eval import COCO, COCOeval_faster

            t0 = time.perf_counter()
            gt = COCO(gt_path)
            dt = gt.loadRes(dt_path)
            t1 = time.perf_counter()
            e = COCOeval_faster(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
        t2 = time.perf_counter()
    print(json.dumps({"stats": [float(s) for s in e.stats[:12]], "load_s": t1 - t0, "eval_s": t2 - t1}))


def timed(cmd, env=None):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shakedown", help="shakedown binary (default $CARGO_TARGET_DIR/debug/shakedown)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; the best wall time counts")
    ap.add_argument("--skip", action="append", default=[], choices=["pycocotools", "faster-coco-eval"])
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "GT", "DT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    shakedown = args.shakedown or os.path.join(target, "debug", "shakedown")
    if not os.path.exists(shakedown):
        sys.exit(f"no shakedown binary at {shakedown}; run `cargo build` or pass --shakedown")

    with tempfile.TemporaryDirectory(prefix="cocoeval-bench-") as folder:
        t = time.perf_counter()
        gt_path, dt_path, n_gt, n_crowd, n_dt = generate(folder)
        print(f"generated {N_IMAGES} images, {N_CATS} categories, {n_gt} GT boxes ({n_crowd} crowd), "
              f"{n_dt} detections in {time.perf_counter() - t:.1f}s "
              f"(gt {os.path.getsize(gt_path) / 1e6:.1f} MB, dt {os.path.getsize(dt_path) / 1e6:.1f} MB)")

        rows = {}
        walls = []
        for _ in range(args.repeat):
            wall, out = timed([shakedown, "eval", "--gt", gt_path, "--dt", dt_path, "--json"])
            walls.append(wall)
        rows["shakedown"] = {"wall": min(walls), "stats": json.loads(out)["stats"], "load": None, "eval": None}
        for tool in ["pycocotools", "faster-coco-eval"]:
            if tool in args.skip:
                continue
            best = None
            for _ in range(args.repeat):
                wall, out = timed([sys.executable, os.path.abspath(__file__), "--worker", tool, gt_path, dt_path])
                r = json.loads(out.strip().splitlines()[-1])
                r["wall"] = wall
                if best is None or wall < best["wall"]:
                    best = r
            rows[tool] = {"wall": best["wall"], "stats": best["stats"], "load": best["load_s"], "eval": best["eval_s"]}

    ok = True
    ref = rows["shakedown"]["stats"]
    for tool, tol in [("pycocotools", 1e-6), ("faster-coco-eval", None)]:
        if tool not in rows:
            continue
        diffs = [abs(a - b) for a, b in zip(ref, rows[tool]["stats"])]
        worst = max(diffs)
        if tol is not None and worst > tol:
            ok = False
            print(f"MISMATCH with {tool}: max |diff| {worst:.3g} > {tol:g}")
        elif worst > 0:
            print(f"stats differ from {tool} by at most {worst:.3g} "
                  f"(stats {[i for i, d in enumerate(diffs) if d > 0]})")
        else:
            print(f"stats identical to {tool}")
    print("stats:", " ".join(f"{s:.6f}" for s in ref))

    base = rows["shakedown"]["wall"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    base_eval = rows["shakedown"]["eval"]
    print(f"\n{'tool':<18} {'wall s':>8} {'load s':>8} {'eval s':>8} {'wall / shakedown':>17} {'eval / shakedown':>17}")
    for tool, r in rows.items():
        eval_ratio = "-" if base_eval is None or r["eval"] is None else f"{r['eval'] / base_eval:.1f}x"
        print(f"{tool:<18} {r['wall']:>8.2f} {fmt(r['load']):>8} {fmt(r['eval']):>8} "
              f"{r['wall'] / base:>16.1f}x {eval_ratio:>17}")
    print("\nwall: the whole process (interpreter start and imports included for Python); "
          "load: reading both json files; eval: evaluate+accumulate+summarize")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
