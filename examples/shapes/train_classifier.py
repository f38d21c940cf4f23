#!/usr/bin/env python3
"""Train a small CNN on the shapes crops (make_classify_dataset.py) and export it to ONNX.

Input  `input`  [1, 3, 64, 64] float32, RGB, (pixel / 255 - mean) / std with the ImageNet
                mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); crops are 64x64
                already (other sizes: resize to 64x64).
Output `logits` [1, 3] raw scores (no softmax), classes in the order circle, square, triangle
                (val/annotations.json's categories sorted by name = sorted folder names).

Usage: python make_dataset.py && python make_classify_dataset.py && python train_classifier.py
Writes models/shapes-classifier.onnx and prints the val top-1 of the torch model and of the
ONNX file (onnxruntime). CPU, one thread.
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_folder(root):
    names = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    xs, ys = [], []
    for k, name in enumerate(names):
        for p in sorted(glob.glob(os.path.join(root, name, "*.png"))):
            xs.append(np.asarray(Image.open(p).convert("RGB").resize((64, 64), Image.BICUBIC)))
            ys.append(k)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()  # uint8 NCHW
    return names, x, torch.tensor(ys)


def normalise(x_uint8):
    return (x_uint8.float() / 255.0 - MEAN) / STD


def augment(x, g):
    """Batch augmentation on uint8 NCHW: flips, 90-degree turns, shifts, colour jitter, noise."""
    n = x.shape[0]
    x = x.float() / 255.0
    flip = torch.rand(n, generator=g) < 0.5
    x[flip] = x[flip].flip(3)
    k = int(torch.randint(0, 4, (1,), generator=g))
    x = torch.rot90(x, k, (2, 3))
    # Random translation by up to 6 px (reflect padding) and scale 0.85-1.15 via affine grid.
    theta = torch.zeros(n, 2, 3)
    s = torch.empty(n).uniform_(0.85, 1.15, generator=g)
    theta[:, 0, 0] = s
    theta[:, 1, 1] = s
    theta[:, :, 2] = torch.empty(n, 2).uniform_(-0.18, 0.18, generator=g)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # Brightness, contrast, per-channel gain, grain.
    b = torch.empty(n, 1, 1, 1).uniform_(-0.15, 0.15, generator=g)
    c = torch.empty(n, 1, 1, 1).uniform_(0.7, 1.3, generator=g)
    gain = torch.empty(n, 3, 1, 1).uniform_(0.85, 1.15, generator=g)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - m) * c + m + b
    x = x * gain
    x = x + torch.randn(x.shape, generator=g) * torch.empty(n, 1, 1, 1).uniform_(0, 0.05, generator=g)
    x = x.clamp(0, 1)
    return (x - MEAN) / STD


class SmallCNN(nn.Module):
    def __init__(self, classes, widths=(16, 32, 64, 128)):
        super().__init__()
        layers, c = [], 3
        for w in widths:
            layers += [
                nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(c, classes))

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def accuracy(model, x, y, batch=256):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(normalise(x[i:i + batch])).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--workdir", default=os.path.join(here, "work"))
    ap.add_argument("--out", default=os.path.join(here, "models", "shapes-classifier.onnx"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    names, xtr, ytr = load_folder(os.path.join(args.workdir, "classify", "train"))
    vnames, xva, yva = load_folder(os.path.join(here, "classify", "val"))
    assert names == vnames, (names, vnames)
    print(f"class order: {names}; train {len(xtr)}, val {len(xva)}")

    model = SmallCNN(len(names))
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * ((len(xtr) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    started = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        loss_sum = 0.0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            loss = F.cross_entropy(model(augment(xtr[idx], g)), ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss_sum / len(xtr):.4f}  "
              f"val top-1 {accuracy(model, xva, yva):.4f}  ({time.time() - started:.0f} s)", flush=True)
    print(f"training wall time: {time.time() - started:.0f} s")
    os.makedirs(os.path.join(args.workdir, "classifier"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.workdir, "classifier", "last.pt"))

    model.eval()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 3, 64, 64), args.out, opset_version=17, dynamo=False,
                      input_names=["input"], output_names=["logits"])
    import onnx
    import onnxslim
    m = onnxslim.slim(onnx.load(args.out))  # folds BatchNorm into the convolutions
    onnx.save(m, args.out)
    import onnxruntime as ort
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(len(xva)):
        logits = sess.run(None, {"input": normalise(xva[i:i + 1]).numpy()})[0]
        correct += int(logits.argmax() == yva[i])
    print(f"exported {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB), output {logits.shape}; "
          f"onnxruntime val top-1 {correct / len(xva):.4f} ({correct}/{len(xva)})")


if __name__ == "__main__":
    main()
