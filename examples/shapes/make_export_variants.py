#!/usr/bin/env python3
"""Make the fp16 and int8 variants of the trained shapes detector the way its trainer's export
makes them, from the committed fp32 export models/yolov8-tiny.onnx (no training, no download).

ultralytics 8.4.190 builds these two variants from the fp32 ONNX file after the export itself
(engine/exporter.py), so applying the same functions to the committed file gives what
`yolo export format=onnx half=True` / `int8=True` writes on a CPU:

- models/yolov8-tiny-fp16.onnx: `half=True` on a CPU,
  `onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)`: fp16 weights
  and arithmetic, fp32 input and output.
- models/yolov8-tiny-fp16-io.onnx: the same with fp16 input and output (`keep_io_types=False`),
  what a GPU `half=True` export (model.half() before tracing) feeds and returns.
- models/yolov8-tiny-int8.onnx: `int8=True`, ultralytics' `onnx_int8_quantize`
  (onnxruntime `quantize_static`, QDQ, only Conv/Gemm/MatMul nodes) calibrated on 64 images of
  the shapes training split (make_dataset.py's `--workdir`, made here when missing).
- models/yolov8-tiny-dynamic-int8.onnx: onnxruntime's `quantize_dynamic` (DynamicQuantizeLinear,
  ConvInteger), the other int8 route users take.

The ultralytics metadata (names, imgsz, task) is carried over. Usage, with ultralytics 8.4.190,
onnx, onnxruntime and pillow:
    python make_export_variants.py [--workdir work]
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
SOURCE = os.path.join(MODELS, "yolov8-tiny.onnx")
IMGSZ = 320
CALIBRATION_IMAGES = 64


def letterbox(path):
    """ultralytics' calibration transform on a 320x320 image: RGB, 0-1, NCHW (no resize needed)."""
    im = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    assert im.shape[:2] == (IMGSZ, IMGSZ), path
    return im.transpose(2, 0, 1)[None]


def calibration_batches(workdir):
    images = os.path.join(workdir, "train", "images")
    if not os.path.isdir(images):
        subprocess.run([sys.executable, os.path.join(HERE, "make_dataset.py"), "--workdir", workdir], check=True)
    names = sorted(os.listdir(images))[:CALIBRATION_IMAGES]
    # onnx_int8_quantize reads batch dicts through transform_fn; one image per batch.
    return [{"path": os.path.join(images, n)} for n in names]


def with_metadata(path, source):
    """Copy the source's metadata_props (ultralytics names/imgsz/task) when a tool dropped them."""
    model = onnx.load(path)
    if not model.metadata_props:
        for p in source.metadata_props:
            model.metadata_props.add(key=p.key, value=p.value)
        onnx.save(model, path)
    print(f"{os.path.relpath(path, HERE)}: {os.path.getsize(path) / 1e6:.2f} MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=os.path.join(HERE, "work"))
    args = ap.parse_args()
    source = onnx.load(SOURCE)

    from onnxruntime.transformers import float16

    for keep_io, name in [(True, "yolov8-tiny-fp16.onnx"), (False, "yolov8-tiny-fp16-io.onnx")]:
        out = os.path.join(MODELS, name)
        onnx.save(float16.convert_float_to_float16(onnx.load(SOURCE), keep_io_types=keep_io), out)
        with_metadata(out, source)

    from ultralytics.utils.export.onnx import onnx_int8_quantize

    out = os.path.join(MODELS, "yolov8-tiny-int8.onnx")
    onnx_int8_quantize(SOURCE, out, calibration_batches(args.workdir), lambda b: letterbox(b["path"]))
    with_metadata(out, source)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = os.path.join(MODELS, "yolov8-tiny-dynamic-int8.onnx")
    quantize_dynamic(SOURCE, out, weight_type=QuantType.QUInt8)
    with_metadata(out, source)


if __name__ == "__main__":
    main()
