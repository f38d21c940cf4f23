"""Make the zoo's `boxes-scores-labels` model: yolov8n.onnx with ONNX NonMaxSuppression appended.

Exports that carry their own NMS (torchvision detectors, `export(nms=True)` variants) give
`boxes [1, K, 4]` (x1, y1, x2, y2 in network input pixels), `scores [1, K]` and `labels [1, K]`.
This script builds one from the trained YOLOv8n by graph surgery, so shakedown's
`boxes-scores-labels` family runs on a real model; no training, no download.

    python make_nms_export.py   # writes models/yolov8n-nms.onnx
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(here, "models", "yolov8n.onnx"))
    ap.add_argument("--out", default=os.path.join(here, "models", "yolov8n-nms.onnx"))
    ap.add_argument("--max-per-class", type=int, default=100)
    ap.add_argument("--iou", type=float, default=0.7)
    ap.add_argument("--score", type=float, default=0.001, help="lowest score kept (0.001: mAP sees the tail)")
    args = ap.parse_args()

    model = onnx.load(args.model)
    graph = model.graph
    head = graph.output[0].name  # [1, 4 + C, N]: cx, cy, w, h, class scores
    channels = graph.output[0].type.tensor_type.shape.dim[1].dim_value
    classes = channels - 4

    const = lambda name, value, dtype=np.float32: graph.initializer.append(  # noqa: E731
        numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
    )
    # cx, cy, w, h -> x1, y1, x2, y2 as one matrix product.
    const("nms_xywh_to_xyxy", [[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]])
    const("nms_split", [4, classes], np.int64)
    const("nms_max", [args.max_per_class], np.int64)
    const("nms_iou", [args.iou])
    const("nms_score", [args.score])
    const("nms_col1", [1], np.int64)
    const("nms_col2", [2], np.int64)
    const("nms_col3", [3], np.int64)
    const("nms_axis1", [1], np.int64)
    const("nms_axis0", [0], np.int64)

    n = helper.make_node
    graph.node.extend(
        [
            n("Transpose", [head], ["nms_rows"], perm=[0, 2, 1]),  # [1, N, 4 + C]
            n("Split", ["nms_rows", "nms_split"], ["nms_xywh", "nms_cls"], axis=2),
            n("MatMul", ["nms_xywh", "nms_xywh_to_xyxy"], ["nms_boxes"]),  # [1, N, 4]
            n("Transpose", ["nms_cls"], ["nms_scores"], perm=[0, 2, 1]),  # [1, C, N]
            n(
                "NonMaxSuppression",
                ["nms_boxes", "nms_scores", "nms_max", "nms_iou", "nms_score"],
                ["nms_selected"],  # [K, 3]: batch, class, box
            ),
            n("Gather", ["nms_selected", "nms_col2"], ["nms_box_idx2"], axis=1),  # [K, 1]
            n("Squeeze", ["nms_box_idx2", "nms_axis1"], ["nms_box_idx"]),
            n("Gather", ["nms_selected", "nms_col1"], ["nms_cls_idx2"], axis=1),
            n("Squeeze", ["nms_cls_idx2", "nms_axis1"], ["nms_labels_k"]),
            n("Squeeze", ["nms_boxes", "nms_axis0"], ["nms_boxes_n"]),  # [N, 4]
            n("Gather", ["nms_boxes_n", "nms_box_idx"], ["nms_boxes_k"], axis=0),  # [K, 4]
            n("Squeeze", ["nms_scores", "nms_axis0"], ["nms_scores_cn"]),  # [C, N]
            n("Slice", ["nms_selected", "nms_col1", "nms_col3", "nms_axis1"], ["nms_cls_box"]),  # [K, 2]
            n("GatherND", ["nms_scores_cn", "nms_cls_box"], ["nms_scores_k"]),  # [K]
            n("Unsqueeze", ["nms_boxes_k", "nms_axis0"], ["boxes"]),
            n("Unsqueeze", ["nms_scores_k", "nms_axis0"], ["scores"]),
            n("Unsqueeze", ["nms_labels_k", "nms_axis0"], ["labels"]),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, "k", 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, "k"]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [1, "k"]),
        ]
    )
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
