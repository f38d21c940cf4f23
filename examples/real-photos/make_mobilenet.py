#!/usr/bin/env python3
"""Copy the ONNX model zoo's MobileNetV2 int8 into examples/real-photos/ and write
imagenet_classes.txt.

The model is `mobilenetv2-12-int8.onnx` (Apache-2.0, onnxruntime's QOperator quantization: 52
QLinearConv, one QLinearMatMul, and two ONNX Runtime contrib operators, QLinearAdd and
QLinearGlobalAveragePool, which shakedown rewrites for tract at load time). It is copied as it
is, after checking its sha256. The class names are torchvision's ImageNet-1k list
(`MobileNet_V2_Weights.IMAGENET1K_V1.meta`, no download), in the model's output order.

    git clone https://github.com/Lawrence-lugs/hwacc_design_garage /tmp/garage
    git -C /tmp/garage checkout 3d6147f
    python examples/real-photos/make_mobilenet.py /tmp/garage/onnx_models/mobilenetv2-12-int8.onnx

Needs torchvision.
"""
import hashlib
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHA256 = "83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    source = Path(sys.argv[1])
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{source}: sha256 {digest}, expected {SHA256}")
    shutil.copyfile(source, HERE / "mobilenetv2-12-int8.onnx")
    print(f"mobilenetv2-12-int8.onnx: {source.stat().st_size} bytes, sha256 {digest}")

    from torchvision.models import MobileNet_V2_Weights

    names = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(names) == 1000
    (HERE / "imagenet_classes.txt").write_text("\n".join(names) + "\n")
    print(f"imagenet_classes.txt: {len(names)} names")


if __name__ == "__main__":
    main()
