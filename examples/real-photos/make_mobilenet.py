#!/usr/bin/env python3
"""Make examples/real-photos/mobilenetv2-12-int8-std.onnx and imagenet_classes.txt.

The source is the ONNX model zoo's MobileNetV2 int8 (`mobilenetv2-12-int8.onnx`, Apache-2.0,
quantized by onnxruntime's QOperator tooling). Besides standard QLinearConv / QLinearMatMul /
QuantizeLinear it uses two ONNX Runtime contrib operators (domain `com.microsoft`): QLinearAdd
(11 residual additions) and QLinearGlobalAveragePool. ONNX Runtime runs the source file as it
is; tract implements only standard operators, so this script rewrites each contrib node as the
standard operators with the same definition (onnxruntime's contrib_defs.cc):

    QLinearAdd(a, sa, za, b, sb, zb, sc, zc)        = Q(DQ(a, sa, za) + DQ(b, sb, zb), sc, zc)
    QLinearGlobalAveragePool(x, sx, zx, sy, zy)     = Q(GlobalAveragePool(DQ(x, sx, zx)), sy, zy)

Everything else (weights, scales, zero points, the QLinearConv layers) is kept byte for byte.
The class names are torchvision's ImageNet-1k list (`MobileNet_V2_Weights.IMAGENET1K_V1.meta`,
no download), in the model's output order.

    git clone https://github.com/Lawrence-lugs/hwacc_design_garage /tmp/garage
    git -C /tmp/garage checkout 3d6147f
    python examples/real-photos/make_mobilenet.py /tmp/garage/onnx_models/mobilenetv2-12-int8.onnx

Needs onnx and torchvision.
"""
import hashlib
import sys
from pathlib import Path

import onnx
from onnx import helper

HERE = Path(__file__).resolve().parent


def rewrite(model):
    graph = model.graph
    nodes = []
    rewritten = 0
    for n in graph.node:
        if n.domain != "com.microsoft":
            nodes.append(n)
            continue
        i, o = list(n.input), n.output[0]
        dq = lambda k, x, s, z: helper.make_node("DequantizeLinear", [x, s, z], [f"{o}_dq{k}"], name=f"{n.name}_dq{k}")  # noqa: E731
        if n.op_type == "QLinearAdd":
            nodes += [
                dq(0, i[0], i[1], i[2]),
                dq(1, i[3], i[4], i[5]),
                helper.make_node("Add", [f"{o}_dq0", f"{o}_dq1"], [f"{o}_sum"], name=f"{n.name}_add"),
                helper.make_node("QuantizeLinear", [f"{o}_sum", i[6], i[7]], [o], name=f"{n.name}_q"),
            ]
        elif n.op_type == "QLinearGlobalAveragePool":
            channels_last = next((a.i for a in n.attribute if a.name == "channels_last"), 0)
            assert channels_last == 0, "only the NCHW form is rewritten"
            nodes += [
                dq(0, i[0], i[1], i[2]),
                helper.make_node("GlobalAveragePool", [f"{o}_dq0"], [f"{o}_avg"], name=f"{n.name}_avg"),
                helper.make_node("QuantizeLinear", [f"{o}_avg", i[3], i[4]], [o], name=f"{n.name}_q"),
            ]
        else:
            sys.exit(f"no rewrite for {n.domain}:{n.op_type}")
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    # The standard opset stays (12); the contrib and training domains go with their nodes.
    standard = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(standard)
    return rewritten


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    source = Path(sys.argv[1])
    data = source.read_bytes()
    print(f"{source}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    model = onnx.load_from_string(data)
    n = rewrite(model)
    onnx.checker.check_model(model)
    out = HERE / "mobilenetv2-12-int8-std.onnx"
    onnx.save(model, out)
    print(f"{out.name}: {n} contrib nodes rewritten, {out.stat().st_size} bytes")

    from torchvision.models import MobileNet_V2_Weights

    names = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(names) == 1000
    (HERE / "imagenet_classes.txt").write_text("\n".join(names) + "\n")
    print(f"imagenet_classes.txt: {len(names)} names")


if __name__ == "__main__":
    main()
