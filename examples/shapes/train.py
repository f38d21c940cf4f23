#!/usr/bin/env python3
"""Train the shapes YOLOv8 detector from its yaml on the CPU and export it to ONNX.

No weights are downloaded: the model is built from `yolov8n.yaml` (random init).
The export has static shapes (tract cannot analyse ultralytics' dynamic exports), opset 17.

Usage: python make_dataset.py && python train.py [--epochs 10] [--imgsz 320]
Writes models/yolov8n.onnx (final weights) and models/yolov8n-epoch4.onnx (a deliberately
under-trained checkpoint used to show budgets failing), and prints ultralytics' validation metrics.

The narrower variant: python train.py --model yolov8-tiny.yaml --epochs 12 --workers 0
--degraded-epoch 0 writes models/yolov8-tiny.onnx (the yaml next to this script is YOLOv8 at
width_multiple 0.125; --degraded-epoch 0 skips the under-trained export).
"""
import argparse
import os
import shutil
import time

from ultralytics import YOLO


def export(weights, dest, imgsz):
    onnx_path = YOLO(weights).export(format="onnx", imgsz=imgsz, opset=17, simplify=True, dynamic=False)
    shutil.copyfile(onnx_path, dest)
    print(f"exported {weights} -> {dest} ({os.path.getsize(dest) / 1e6:.1f} MB)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--model", default="yolov8n.yaml", help="ultralytics model yaml, or one next to this script")
    ap.add_argument("--workers", type=int, default=2, help="dataloader processes (0: in the main process)")
    ap.add_argument("--workdir", default=os.path.join(here, "work"))
    ap.add_argument("--degraded-epoch", type=int, default=4, help="epochs of the under-trained checkpoint (0: none)")
    args = ap.parse_args()
    if os.path.exists(os.path.join(here, args.model)):
        args.model = os.path.join(here, args.model)

    name = os.path.splitext(os.path.basename(args.model))[0]
    started = time.time()
    model = YOLO(args.model)
    model.train(
        data=os.path.join(args.workdir, "data.yaml"),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device="cpu",
        workers=args.workers,
        pretrained=False,
        amp=False,
        plots=False,
        save_period=1,
        seed=0,
        deterministic=True,
        project=os.path.join(args.workdir, "runs"),
        name=name,
        exist_ok=True,
    )
    print(f"training wall time: {time.time() - started:.0f} s")
    run = os.path.join(args.workdir, "runs", name, "weights")
    metrics = YOLO(os.path.join(run, "last.pt")).val(
        data=os.path.join(args.workdir, "data.yaml"), imgsz=args.imgsz, device="cpu", plots=False,
        project=os.path.join(args.workdir, "runs"), name=f"{name}-val", exist_ok=True,
    )
    print(f"ultralytics val: mAP50 {metrics.box.map50:.4f}  mAP50-95 {metrics.box.map:.4f}")

    os.makedirs(os.path.join(here, "models"), exist_ok=True)
    export(os.path.join(run, "last.pt"), os.path.join(here, "models", f"{name}.onnx"), args.imgsz)
    # ultralytics numbers saved epochs from 0: epoch3.pt is the state after four epochs.
    k = args.degraded_epoch
    if k <= 0:
        return
    export(os.path.join(run, f"epoch{k - 1}.pt"), os.path.join(here, "models", f"{name}-epoch{k}.onnx"), args.imgsz)


if __name__ == "__main__":
    main()
