#!/usr/bin/env python3
"""Train an anchor-based YOLOv5n (the `yolov5` PyPI package, 7.0.x) from its yaml on the CPU and
export it with YOLOv5's own ONNX export (static 1x3x320x320, opset 17).

No weights, fonts or datasets are downloaded: the model is built from the package's
`models/yolov5n.yaml` with `weights=''`, plots are off, and the package's online helpers
(font download, requirement checks, Hugging Face hub look-up) are replaced by no-ops.
Output `output0` [1, 6300, 8]: per anchor (3 anchors x (40² + 20² + 10²) cells) cx, cy, w, h in
input pixels, objectness, then the 3 class scores (sigmoids); YOLOv5 NMS takes it from there
(confidence = objectness x class score).

Training: YOLOv5's hyp.scratch-low.yaml with the settings ultralytics chose for the YOLOv8 runs
here (train.py): AdamW at lr0 0.001429 (ultralytics' optimizer=auto for short runs: 0.002 x 5 /
(4 + classes)), no warm-up bias boost (warmup_bias_lr 0), and no mosaic (ultralytics turns mosaic
off for the last 10 epochs, i.e. for the whole of a 10-epoch run). SGD with mosaic had not left
mAP@0.5 0.003 after 4 epochs.

Usage: python make_dataset.py && python train_yolov5.py [--epochs 12]
Writes models/yolov5n.onnx. CPU, one thread, dataloader in the main process.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
# yolov5 7.0 checkpoints pickle the whole model; torch >= 2.6 refuses that by default.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
if not hasattr(np, "trapz"):  # yolov5 7.0's AP integration; numpy 2 renamed it
    np.trapz = np.trapezoid

import importlib.util  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

if importlib.util.find_spec("roboflow") is None:
    # yolov5.train imports its Roboflow upload helper unconditionally; the dependency is only
    # needed for Roboflow datasets, so stand in for it when it is not installed.
    _stub = types.ModuleType("yolov5.utils.roboflow")
    _stub.RoboflowConnector = None
    sys.modules["yolov5.utils.roboflow"] = _stub

import yolov5  # noqa: E402
import yolov5.export as y5export  # noqa: E402
import yolov5.train as y5train  # noqa: E402
import yolov5.models.common as y5common  # noqa: E402
import yolov5.utils.downloads as y5downloads  # noqa: E402
import yolov5.utils.general as y5general  # noqa: E402
import yolov5.utils.plots as y5plots  # noqa: E402


HYP_OVERRIDES = {"lr0": 0.001429, "warmup_bias_lr": 0.0, "mosaic": 0.0}


def _offline():
    def noop(*_args, **_kwargs):
        return None

    y5general.check_font = noop  # check_dataset() would fetch Arial.ttf
    y5plots.check_font = noop
    y5train.check_requirements = noop  # would pip-install missing packages
    y5export.check_requirements = noop
    # Hugging Face hub look-ups before every weights load (its import is broken on current
    # huggingface_hub anyway); all weights here are local files.
    y5train.attempt_download_from_hub = noop
    y5downloads.attempt_download_from_hub = noop
    y5common.attempt_download_from_hub = noop
    # torch >= 2.9 defaults to the dynamo exporter; YOLOv5's export was written for the
    # TorchScript-based one.
    torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workdir", default=str(here / "work"))
    ap.add_argument("--out", default=str(here / "models" / "yolov5n.onnx"))
    args = ap.parse_args()
    _offline()

    work = Path(args.workdir)
    cfg = Path(yolov5.__file__).parent / "models" / "yolov5n.yaml"
    import yaml

    with open(Path(yolov5.__file__).parent / "data" / "hyps" / "hyp.scratch-low.yaml") as f:
        hyp = yaml.safe_load(f)
    hyp.update(HYP_OVERRIDES)
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "hyp-yolov5n.yaml", "w") as f:
        yaml.safe_dump(hyp, f, sort_keys=False)
    started = time.time()
    y5train.run(
        data=str(work / "data.yaml"),
        cfg=str(cfg),
        weights="",
        hyp=str(work / "hyp-yolov5n.yaml"),
        optimizer="AdamW",
        imgsz=args.imgsz,
        epochs=args.epochs,
        batch_size=args.batch,
        device="cpu",
        workers=0,
        cache="ram",
        noplots=True,
        seed=0,
        project=str(work / "runs"),
        name="yolov5n",
        exist_ok=True,
    )
    print(f"training wall time: {time.time() - started:.0f} s", flush=True)

    weights = work / "runs" / "yolov5n" / "weights" / "last.pt"
    onnx_path = Path(
        y5export.run(
            weights=str(weights), data=str(work / "data.yaml"), imgsz=(args.imgsz, args.imgsz),
            include=("onnx",), opset=17, dynamic=False, simplify=False, device="cpu",
        )[0]
    )
    import onnx
    import onnxslim

    model = onnxslim.slim(onnx.load(str(onnx_path)))  # constant folding, as ultralytics' simplify=True
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    onnx.save(model, args.out)
    print(f"exported {weights} -> {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")

    import onnxruntime as ort

    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    out = sess.run(None, {inp.name: np.zeros((1, 3, args.imgsz, args.imgsz), np.float32)})[0]
    print(f"onnxruntime: input {inp.name} {inp.shape} -> output {sess.get_outputs()[0].name} {list(out.shape)}")
    shutil.copyfile(args.out, work / "runs" / "yolov5n" / "weights" / "last-slim.onnx")


if __name__ == "__main__":
    main()
