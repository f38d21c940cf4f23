#!/usr/bin/env python3
"""Build the tiny ONNX models of the model-loading tests (tests/fixtures/models/).

Run with an interpreter that has onnx and numpy:
    /root/venv/bin/python scripts/make_bad_models.py
Each model reads an image input and returns fixed outputs (plus 0 x the input's mean, so the
outputs depend on the input and nothing folds them away). Some fit their family, to check the
whole path (names, int64 labels, NHWC); the others are broken on purpose: wrong rank, wrong class
count, NaN outputs, dynamic shapes that need `input_size`, and an ONNX Runtime contrib operator.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
MAX_BYTES = 50_000


def save(name, inputs, nodes, outputs, initializers=(), domains=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="shakedown")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(OUT, f"{name}.onnx")
    onnx.save(model, path)
    size = os.path.getsize(path)
    assert size < MAX_BYTES, f"{name}: {size} bytes"
    print(f"{name}: {size} bytes")


def image_input(shape=(1, 3, 32, 32)):
    return helper.make_tensor_value_info("images", TensorProto.FLOAT, list(shape))


def zero_of_input():
    """`zero = 0 * mean(images)`: a scalar 0 that depends on the input."""
    return [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero_f"], ["zero"]),
    ], [numpy_helper.from_array(np.float32(0.0), "zero_f")]


def fixed_outputs(name, arrays, input_shape=(1, 3, 32, 32), casts=None):
    """Outputs `name_i = array_i + zero`, cast to int64 where `casts` says."""
    casts = casts or {}
    nodes, inits = zero_of_input()
    outputs = []
    for out_name, array in arrays.items():
        const = f"{out_name}_const"
        inits.append(numpy_helper.from_array(np.asarray(array, np.float32), const))
        if out_name in casts:
            nodes.append(helper.make_node("Add", [const, "zero"], [f"{out_name}_f"]))
            nodes.append(helper.make_node("Cast", [f"{out_name}_f"], [out_name], to=TensorProto.INT64))
            outputs.append(helper.make_tensor_value_info(out_name, TensorProto.INT64, list(np.shape(array))))
        else:
            nodes.append(helper.make_node("Add", [const, "zero"], [out_name]))
            outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, list(np.shape(array))))
    save(name, [image_input(input_shape)], nodes, outputs, inits)


def yolov8_output(classes=3, anchors=10):
    """[1, 4 + C, N] with one confident box (class 1) at (16, 16) in the 32 x 32 input."""
    out = np.zeros((1, 4 + classes, anchors), np.float32)
    out[0, :4, :] = [[8.0], [8.0], [4.0], [4.0]]
    out[0, :4, 0] = [16.0, 16.0, 8.0, 8.0]
    out[0, 4 + 1, 0] = 0.9
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)

    # Fit their family (3 classes, 32 x 32 input).
    fixed_outputs("yolov8_ok", {"output0": yolov8_output()})
    fixed_outputs("yolov8_nhwc", {"output0": yolov8_output()}, input_shape=(1, 32, 32, 3))
    y5 = np.zeros((1, 6, 8), np.float32)
    y5[0, :, :4] = [8.0, 8.0, 4.0, 4.0]
    y5[0, 0] = [16.0, 16.0, 8.0, 8.0, 0.8, 0.1, 0.2, 0.9]  # obj 0.8 × class 2 at 0.9
    fixed_outputs("yolov5_ok", {"output0": y5})
    logits = rng.normal(0, 1, (1, 5, 4)).astype(np.float32)
    logits[0, :, 3] += 4.0  # "no object"
    logits[0, 2, 0] = 9.0
    boxes = np.full((1, 5, 4), 0.25, np.float32)
    boxes[0, 2] = [0.5, 0.5, 0.25, 0.5]
    # Three classes: both outputs end in 4, so only the names tell them apart (boxes first here).
    fixed_outputs("detr_ok", {"pred_boxes": boxes, "logits": logits})
    fixed_outputs(
        "boxes_scores_labels_ok",
        {
            "boxes": np.array([[[4, 4, 12, 20], [0, 0, 32, 32]]], np.float32),
            "scores": np.array([[0.9, 0.2]], np.float32),
            "labels": np.array([[2, 0]], np.float32),
        },
        casts={"labels"},
    )
    fixed_outputs("classifier_ok", {"logits": np.array([[0.0, 2.0, 0.5]], np.float32)})

    # Do not fit.
    fixed_outputs("yolov8_wrong_rank", {"output0": np.zeros((1, 7), np.float32)})
    fixed_outputs("yolov8_four_classes", {"output0": yolov8_output(classes=4)})
    nan = yolov8_output()
    nan[0, 0, 3] = np.nan
    fixed_outputs("yolov8_nan", {"output0": nan})
    fixed_outputs("detr_one_output", {"logits": logits})
    fixed_outputs("rgba_input", {"output0": yolov8_output()}, input_shape=(1, 4, 32, 32))

    # Dynamic batch, height and width; the outputs do not depend on them.
    fixed_outputs("yolov8_dynamic", {"output0": yolov8_output()}, input_shape=("batch", 3, "height", "width"))
    # Dynamic too, but a dense layer over the flattened image: tract cannot type it until the
    # input size is fixed (4 x 4, 48 values).
    nodes = [
        helper.make_node("Flatten", ["images"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["dense"]),
        helper.make_node("Reshape", ["dense", "shape"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.zeros((3 * 4 * 4, 7 * 2), np.float32), "weights"),
        numpy_helper.from_array(np.array([1, 7, 2], np.int64), "shape"),
    ]
    save(
        "yolov8_dense_dynamic",
        [image_input(("batch", 3, "height", "width"))],
        nodes,
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 7, 2])],
        inits,
    )

    # An ONNX Runtime contrib operator (com.microsoft), as quantization tools write them: tract
    # cannot run it, and the load error says so.
    save(
        "contrib_operator",
        [image_input()],
        [helper.make_node("Gelu", ["images"], ["output0"], domain="com.microsoft")],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 3, 32, 32])],
        domains=["com.microsoft"],
    )


if __name__ == "__main__":
    main()
