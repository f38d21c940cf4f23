#!/usr/bin/env python3
"""Train a tiny RT-DETR (ultralytics, random init) on the shapes data on the CPU and export it to ONNX.

TODO: results
"""
import argparse
import os
import shutil
import time

from ultralytics import RTDETR


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=13)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr0", type=float, default=1e-3)
    ap.add_argument("--fraction", type=float, default=1.0, help="fraction of the training split (timing runs)")
    ap.add_argument("--workers", type=int, default=0, help="dataloader processes (0: in the main process)")
    ap.add_argument("--workdir", default=os.path.join(here, "work"), help="holds data.yaml (make_dataset.py)")
    ap.add_argument("--project", default=None, help="where the training run goes (default: WORKDIR/runs)")
    ap.add_argument("--name", default="rtdetr-tiny")
    ap.add_argument("--no-export", action="store_true")
    args = ap.parse_args()

    data = os.path.join(args.workdir, "data.yaml")
    started = time.time()
    model = RTDETR(os.path.join(here, "rtdetr-tiny.yaml"))
    model.train(
        data=data,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        fraction=args.fraction,
        device="cpu",
        workers=args.workers,
        pretrained=False,
        amp=False,
        plots=False,
        seed=0,
        deterministic=True,
        optimizer="AdamW",
        lr0=args.lr0,
        lrf=0.05,
        cos_lr=True,
        weight_decay=1e-4,
        warmup_epochs=1,
        warmup_bias_lr=0.0,
        mosaic=0.0,
        scale=0.2,
        close_mosaic=0,
        project=args.project or os.path.join(args.workdir, "runs"),
        name=args.name,
        exist_ok=True,
    )
    print(f"training took {time.time() - started:.0f} s")
    best = os.path.join(str(model.trainer.save_dir), "weights", "best.pt")

    metrics = RTDETR(best).val(data=data, imgsz=args.imgsz, batch=16, device="cpu", plots=False)
    print(f"ultralytics val of {best}: mAP50 {metrics.box.map50:.3f}, mAP50-95 {metrics.box.map:.3f}")
    if args.no_export:
        return

    onnx_path = RTDETR(best).export(format="onnx", imgsz=args.imgsz, opset=17, simplify=True, dynamic=False)
    dest = os.path.join(here, "models", "rtdetr-tiny.onnx")
    shutil.copyfile(onnx_path, dest)
    print(f"exported {best} -> {dest} ({os.path.getsize(dest) / 1e6:.1f} MB)")
    metrics = RTDETR(onnx_path, task="detect").val(data=data, imgsz=args.imgsz, batch=1, device="cpu", plots=False)
    print(f"ultralytics val of the ONNX export: mAP50 {metrics.box.map50:.3f}, mAP50-95 {metrics.box.map:.3f}")


if __name__ == "__main__":
    main()
