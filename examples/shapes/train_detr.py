#!/usr/bin/env python3
"""Train a tiny DETR (transformers DetrForObjectDetection, random init) on the shapes data on the
CPU and export it to ONNX (static 1x3x320x320, opset 17).

Nothing is downloaded: the backbone is a transformers ResNet built from a config
(use_pretrained_backbone=False, no timm). Two deviations from DETR's fine-tuning recipe, both
because the backbone starts from random weights: its BatchNorm layers train (DETR freezes them)
and so do its stem and first stage. The trained statistics are written back into DETR's frozen
BatchNorm modules, so the saved model is a plain DetrForObjectDetection.

Model: ResNet backbone (stem 16 channels, basic blocks of widths 32/64/128, one block per stage;
feature map stride 16 = 20x20 tokens at 320x320, for the small objects), d_model 128,
2 encoder + 3 decoder layers, 4 heads, FFN 512, 30 queries, auxiliary decoding losses; 1.55 M
parameters. The transformer is re-initialised as the original DETR does (detr_init: Xavier,
N(0, 1) queries), not with transformers' N(0, 0.02), which left attention flat.
Training, two stages on the training split (random horizontal/vertical flips and
brightness/contrast jitter throughout, batch 4):
  1. backbone pre-training (pretrain_backbone): a throwaway CenterNet-style head on the stride-16
     map, 3 epochs, AdamW one-cycle lr 1e-3; only the backbone is kept.
  2. DETR: AdamW lr 2e-4 (backbone 1e-4), warm-up 300 steps then cosine to 5 %, weight decay
     1e-4, gradient clipping 0.1, DETR's Hungarian loss with auxiliary decoder losses, 34 epochs.
DETR converges slowly and the ~66 CPU minutes of the defaults are far from enough: see examples/shapes/README.md
for what this reaches.

Input  `pixel_values` [1, 3, 320, 320]: RGB resized to 320x320 (no letterbox, aspect not kept),
       / 255, then ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225).
Output `logits` [1, 30, 4]: class scores, classes circle, square, triangle, then "no object";
       `pred_boxes` [1, 30, 4]: cx, cy, w, h normalised to [0, 1].
Post-processing as DetrImageProcessor.post_process_object_detection: softmax over the 4 logits,
best of the first 3 is the class and its probability the score; boxes scaled to the image.

Usage: python make_dataset.py && python train_detr.py [--epochs 34]
Writes models/detr-tiny.onnx. CPU, one thread.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import glob  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402

torch.set_num_threads(1)

from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig  # noqa: E402
from transformers.models.detr.modeling_detr import DetrFrozenBatchNorm2d  # noqa: E402

CLASSES = ["circle", "square", "triangle"]  # make_dataset.py's label order = sorted by name
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
SIZE = 320


def build(num_queries=30):
    backbone = ResNetConfig(
        num_channels=3, embedding_size=16, hidden_sizes=[32, 64, 128], depths=[1, 1, 1],
        layer_type="basic", out_features=["stage3"],
    )
    config = DetrConfig(
        backbone_config=backbone, use_pretrained_backbone=False, num_queries=num_queries,
        d_model=128, encoder_layers=2, decoder_layers=3, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=512, decoder_ffn_dim=512, dropout=0.0,
        num_labels=len(CLASSES), id2label=dict(enumerate(CLASSES)),
        label2id={n: k for k, n in enumerate(CLASSES)}, auxiliary_loss=True,
    )
    model = DetrForObjectDetection(config)
    detr_init(model)
    return model


def detr_init(model):
    """Re-initialise the transformer as the original DETR does before training from scratch.

    transformers initialises every Linear and Embedding with N(0, 0.02) (it expects pretrained
    weights): attention logits then start ~20x flatter than with DETR's Xavier init, and the 30
    query embeddings are nearly identical. From scratch that stalls: after 5-15 epochs the
    cross-attention was still uniform (max weight 0.016 over 100 tokens) and every query predicted
    the dataset's average box. DETR (facebookresearch/detr, Transformer._reset_parameters):
    Xavier-uniform for every transformer matrix, nn.Embedding's N(0, 1) for the queries, PyTorch
    defaults for the input projection and the heads.
    """
    for part in (model.model.encoder, model.model.decoder):
        for p in part.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
    nn.init.normal_(model.model.query_position_embeddings.weight)
    model.model.input_projection.reset_parameters()
    for module in list(model.class_labels_classifier.modules()) + list(model.bbox_predictor.modules()):
        if isinstance(module, nn.Linear):
            module.reset_parameters()


def trainable_batchnorm(model):
    """Swap DETR's frozen BatchNorms for trainable ones; returns the swapped modules' names."""
    names = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, DetrFrozenBatchNorm2d):
                bn = nn.BatchNorm2d(child.weight.numel())
                setattr(module, child_name, bn)
                names.append(f"{name}.{child_name}")
    return names


def freeze_batchnorm(model):
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                frozen = DetrFrozenBatchNorm2d(child.num_features)
                for k in ("weight", "bias", "running_mean", "running_var"):
                    getattr(frozen, k).copy_(getattr(child, k).detach())
                setattr(module, child_name, frozen)


def load_split(root):
    """Images (uint8 NCHW, 320x320) and YOLO labels (class, cx, cy, w, h normalised)."""
    paths = sorted(glob.glob(os.path.join(root, "images", "*.jpg")))
    images = np.stack([np.asarray(Image.open(p).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR))
                       for p in paths])
    labels = []
    for p in paths:
        stem = os.path.splitext(os.path.basename(p))[0]
        with open(os.path.join(root, "labels", stem + ".txt")) as f:
            rows = [[float(v) for v in line.split()] for line in f if line.strip()]
        labels.append(torch.tensor(rows, dtype=torch.float32).reshape(-1, 5))
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels


def augment(images, labels, g):
    """Flips (boxes follow) and photometric jitter; returns normalised floats and DETR targets."""
    x = images.float() / 255.0
    targets = []
    for i in range(len(x)):
        lab = labels[i].clone()
        if torch.rand(1, generator=g) < 0.5:
            x[i] = x[i].flip(2)
            lab[:, 1] = 1 - lab[:, 1]
        if torch.rand(1, generator=g) < 0.5:
            x[i] = x[i].flip(1)
            lab[:, 2] = 1 - lab[:, 2]
        targets.append({"class_labels": lab[:, 0].long(), "boxes": lab[:, 1:]})
    n = len(x)
    b = torch.empty(n, 1, 1, 1).uniform_(-0.1, 0.1, generator=g)
    c = torch.empty(n, 1, 1, 1).uniform_(0.8, 1.2, generator=g)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - m) * c + m + b).clamp(0, 1)
    return (x - MEAN) / STD, targets


def pretrain_backbone(model, images, labels, g, epochs, batch, lr):
    """Stage 1: teach the randomly initialised backbone where objects are, on the token grid.

    DETR's recipe starts from an ImageNet backbone; with a random one (nothing may be
    downloaded) the backbone would learn its features through the Hungarian loss alone. A
    throwaway 1x1-conv head on the backbone's stride-16 map is trained CenterNet-style on the
    same training split: a Gaussian class heat map around each box centre (focal BCE) and log
    width/height at the centre cell. Only the backbone's weights are kept; the head is discarded.
    """
    backbone = model.model.backbone.model
    channels = model.model.backbone.intermediate_channel_sizes[-1]
    head = nn.Conv2d(channels, len(CLASSES) + 2, 1)
    nn.init.constant_(head.bias[: len(CLASSES)], -4.0)
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(images) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    grid = SIZE // 16
    yy, xx = torch.meshgrid(torch.arange(grid) + 0.5, torch.arange(grid) + 0.5, indexing="ij")
    started = time.time()
    for epoch in range(epochs):
        backbone.train()
        perm = torch.randperm(len(images), generator=g)
        total_loss, count = 0.0, 0
        for i in range(0, len(images), batch):
            idx = perm[i:i + batch]
            x, targets = augment(images[idx], [labels[j] for j in idx], g)
            heat = torch.zeros(len(idx), len(CLASSES), grid, grid)
            size = torch.zeros(len(idx), 2, grid, grid)
            has = torch.zeros(len(idx), 1, grid, grid)
            for b, t in enumerate(targets):
                for k, (cx, cy, w, h) in zip(t["class_labels"].tolist(), t["boxes"].tolist()):
                    sigma = max(0.5, max(w, h) * grid / 6)
                    gauss = torch.exp(-((xx - cx * grid) ** 2 + (yy - cy * grid) ** 2) / (2 * sigma**2))
                    heat[b, k] = torch.maximum(heat[b, k], gauss)
                    gx, gy = min(int(cx * grid), grid - 1), min(int(cy * grid), grid - 1)
                    heat[b, k, gy, gx] = 1.0
                    size[b, :, gy, gx] = torch.tensor([math.log(w * grid), math.log(h * grid)])
                    has[b, 0, gy, gx] = 1.0
            out = head(backbone(x).feature_maps[-1])
            p = out[:, : len(CLASSES)].sigmoid().clamp(1e-4, 1 - 1e-4)
            pos = heat.eq(1).float()
            focal = -(pos * (1 - p) ** 2 * p.log() + (1 - pos) * (1 - heat) ** 4 * p**2 * (1 - p).log())
            loss = focal.sum() / pos.sum().clamp(min=1)
            loss = loss + 0.5 * ((out[:, len(CLASSES):] - size).abs() * has).sum() / has.sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach())
            count += 1
        print(f"backbone pre-training {epoch + 1}/{epochs}  loss {total_loss / count:.3f}  "
              f"({time.time() - started:.0f} s)", flush=True)
    return time.time() - started


class Export(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return out.logits, out.pred_boxes


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=34)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--pretrain-epochs", type=int, default=3, help="backbone pre-training epochs (0: none)")
    ap.add_argument("--backbone-lr", type=float, default=1e-4, help="backbone lr during DETR training")
    ap.add_argument("--bench", type=int, default=0, help="only time this many training steps")
    ap.add_argument("--workdir", default=os.path.join(here, "work"))
    ap.add_argument("--out", default=os.path.join(here, "models", "detr-tiny.onnx"))
    args = ap.parse_args()
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    images, labels = load_split(os.path.join(args.workdir, "train"))
    model = build(args.queries)
    trainable_batchnorm(model)
    for p in model.parameters():  # DETR freezes the stem and first stage (pretrained there)
        p.requires_grad_(True)
    print(f"train: {len(images)} images; parameters: {sum(p.numel() for p in model.parameters())}")

    pre_seconds = 0.0
    if args.pretrain_epochs:
        pre_seconds = pretrain_backbone(model, images, labels, g, args.pretrain_epochs, args.batch, 1e-3)
    backbone_params = set(id(p) for p in model.model.backbone.parameters())
    opt = torch.optim.AdamW(
        [{"params": [p for p in model.parameters() if id(p) in backbone_params], "lr": args.backbone_lr},
         {"params": [p for p in model.parameters() if id(p) not in backbone_params], "lr": args.lr}],
        weight_decay=1e-4,
    )
    per_epoch = math.ceil(len(images) / args.batch)
    total = args.epochs * per_epoch
    warmup = min(300, total // 10)

    def lr_at(step):  # linear warm-up, then cosine to 5 % of the peak
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, total - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    os.makedirs(os.path.join(args.workdir, "detr"), exist_ok=True)
    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(images), generator=g)
        sums, count = {}, 0
        for i in range(0, len(images), args.batch):
            idx = perm[i:i + args.batch]
            x, targets = augment(images[idx], [labels[j] for j in idx], g)
            out = model(pixel_values=x, labels=targets)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            sched.step()
            step += 1
            count += 1
            for k, v in {"loss": out.loss, **out.loss_dict}.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            if args.bench and step >= args.bench:
                print(f"{step} steps in {time.time() - started:.1f} s: "
                      f"{(time.time() - started) / step * per_epoch:.0f} s per epoch of {per_epoch} steps")
                return
        parts = "  ".join(f"{k} {v / count:.3f}" for k, v in sums.items() if not k.endswith(("_0", "_1")))
        print(f"epoch {epoch + 1}/{args.epochs}  {parts}  lr {sched.get_last_lr()[-1]:.2e}  "
              f"({time.time() - started:.0f} s)", flush=True)
        torch.save(model.state_dict(), os.path.join(args.workdir, "detr", "last-train.pt"))
    print(f"training wall time: {time.time() - started + pre_seconds:.0f} s "
          f"(backbone pre-training {pre_seconds:.0f} s, DETR {time.time() - started:.0f} s)")

    model.eval()
    freeze_batchnorm(model)
    model.save_pretrained(os.path.join(args.workdir, "detr", "model"))
    model = DetrForObjectDetection.from_pretrained(os.path.join(args.workdir, "detr", "model"),
                                                   attn_implementation="eager").eval()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(Export(model), torch.zeros(1, 3, SIZE, SIZE), args.out, opset_version=17,
                          dynamo=False, input_names=["pixel_values"], output_names=["logits", "pred_boxes"])
    import onnx
    import onnxslim

    onnx.save(onnxslim.slim(onnx.load(args.out)), args.out)
    ops = sorted({n.op_type for n in onnx.load(args.out).graph.node})
    print(f"exported {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB); ops: {ops}")

    import onnxruntime as ort

    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    coco_img = sorted(glob.glob(os.path.join(here, "val", "images", "*.jpg")))[0]
    x = torch.from_numpy(np.asarray(Image.open(coco_img).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)))
    x = ((x.permute(2, 0, 1)[None].float() / 255.0) - MEAN) / STD
    logits, boxes = sess.run(["logits", "pred_boxes"], {"pixel_values": x.numpy()})
    with torch.no_grad():
        ref = model(pixel_values=x)
    print(f"onnxruntime: logits {list(logits.shape)}, pred_boxes {list(boxes.shape)}; max |diff| vs torch "
          f"{np.abs(logits - ref.logits.numpy()).max():.2e} / {np.abs(boxes - ref.pred_boxes.numpy()).max():.2e}")


if __name__ == "__main__":
    main()
