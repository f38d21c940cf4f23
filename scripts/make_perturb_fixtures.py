#!/usr/bin/env python3
"""Generate parity fixtures for src/perturb/parity.rs from imagecorruptions==1.1.2.

Run with an interpreter that has imagecorruptions==1.1.2 (numpy, scikit-image, scipy,
opencv-python, Pillow), e.g.
    /root/venv/bin/python scripts/make_perturb_fixtures.py
Writes into tests/fixtures/perturb/:
  input.png          a 96x64 synthetic photo-like image (gradients, shapes, texture)
  NAME_S.png         the reference output of each deterministic corruption at severity S
  reference.json     for each random corruption and severity, mean |out - in| and the
                     standard deviation of (out - in) over all pixels and channels,
                     each averaged over `seeds` runs seeded with np.random.seed(0..seeds)
                     (more where single runs vary most: spatter's few drops, fog's fractal, the
                     motion blur angle, frost's choice of photo)

Rerunning reproduces the same files. The float result of each corruption function is
rounded to uint8, as shakedown does, where imagecorruptions' corrupt() truncates with
np.uint8: truncation would bias every channel by -0.5 on average.

imagecorruptions 1.1.2 predates current numpy / scikit-image; shims below restore
np.float_, translate `multichannel=True` to `channel_axis=-1` for skimage's gaussian,
stub pkg_resources where it is missing (only frost reads it, to find its photos), and
make skimage's random_noise draw its generator from np.random so that np.random.seed
fixes it too.
"""

import json
import os
import sys
import types

import numpy as np

np.float_ = np.float64  # removed in numpy 2; imagecorruptions' fog uses it
if "pkg_resources" not in sys.modules:
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import importlib.util

        stub = types.ModuleType("pkg_resources")
        # resource_filename(module name, relative path): the path beside that module's file.
        stub.resource_filename = lambda module, path: os.path.join(
            os.path.dirname(importlib.util.find_spec(module).origin), path
        )
        sys.modules["pkg_resources"] = stub

import imagecorruptions.corruptions as C  # noqa: E402
from PIL import Image  # noqa: E402
from skimage.filters import gaussian as _sk_gaussian  # noqa: E402

_sk_random_noise = C.sk.util.random_noise


def _gaussian(*args, multichannel=None, **kwargs):
    if multichannel:
        kwargs["channel_axis"] = -1
    return _sk_gaussian(*args, **kwargs)


def _random_noise(*args, **kwargs):
    kwargs.setdefault("rng", np.random.randint(0, 2**31 - 1))
    return _sk_random_noise(*args, **kwargs)


C.gaussian = _gaussian
C.sk = types.SimpleNamespace(util=types.SimpleNamespace(random_noise=_random_noise), color=C.sk.color)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "perturb")
WIDTH, HEIGHT = 96, 64
SEEDS = 100
# Enough runs that the average is within ~2% (one standard error) of its expectation.
SEEDS_FOR = {"spatter": 400, "fog": 400, "motion_blur": 400, "frost": 400}

# imagecorruptions' corruptions that shakedown's CATALOG also has. shakedown's frost draws its
# own procedural texture instead of imagecorruptions' photos: only its change size can match.
DETERMINISTIC = [
    "gaussian_blur",
    "defocus_blur",
    "zoom_blur",
    "contrast",
    "brightness",
    "saturate",
    "pixelate",
    "jpeg_compression",
]
RANDOM = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "speckle_noise",
    "glass_blur",
    "motion_blur",
    "fog",
    "snow",
    "spatter",
    "frost",
    "elastic_transform",
]


def make_image():
    """Gradients, flat and saturated shapes, a grey patch, stripes and fine texture."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    img = np.empty((HEIGHT, WIDTH, 3))
    img[..., 0] = 40 + 170 * x / (WIDTH - 1)
    img[..., 1] = 60 + 120 * y / (HEIGHT - 1)
    img[..., 2] = 150 - 100 * (x + y) / (WIDTH + HEIGHT - 2)
    # A sky-like band with soft sinusoidal clouds.
    band = y < 14
    img[band] = np.stack([150 + 30 * np.sin(x / 5), 190 + 20 * np.sin(x / 7 + 1), 235 + 0 * x], -1)[band]
    # A red disc with a dark rim.
    r = np.hypot(x - 24, y - 36)
    img[r < 15] = [200, 30, 35]
    img[(r >= 13) & (r < 15)] = [60, 10, 10]
    # A grey building with dark windows.
    build = (x >= 50) & (x < 74) & (y >= 20) & (y < 60)
    img[build] = [128, 128, 128]
    win = build & ((x - 52) % 6 < 3) & ((y - 23) % 7 < 3) & (x < 71) & (y < 56)
    img[win] = [20, 25, 40]
    # Diagonal stripes (a fence) and a fine checker (foliage-like detail).
    stripes = (x >= 78) & (y >= 30) & (((x + y) // 3) % 2 == 0)
    img[stripes] = [240, 230, 90]
    checker = (x >= 78) & (y < 28) & (y >= 16) & ((x + y) % 2 == 0)
    img[checker] = [30, 120, 40]
    # A white highlight and a black shadow.
    img[(x >= 4) & (x < 12) & (y >= 56)] = 255
    img[(x >= 36) & (x < 46) & (y >= 58)] = 0
    # Fixed sensor-like texture.
    texture = np.random.RandomState(1234).normal(0, 6, (HEIGHT, WIDTH, 3))
    return np.clip(np.round(img + texture), 0, 255).astype(np.uint8)


def to_u8(result):
    return np.clip(np.round(np.asarray(result, dtype=np.float64)), 0, 255).astype(np.uint8)


def corrupt(img, name, severity):
    # As imagecorruptions.corrupt, but rounding instead of truncating (see the docstring).
    return to_u8(getattr(C, name)(Image.fromarray(img), severity))


def main():
    os.makedirs(OUT, exist_ok=True)
    img = make_image()
    Image.fromarray(img).save(os.path.join(OUT, "input.png"), optimize=True)

    for name in DETERMINISTIC:
        for severity in range(1, 6):
            out = corrupt(img, name, severity)
            Image.fromarray(out).save(os.path.join(OUT, f"{name}_{severity}.png"), optimize=True)

    stats = {}
    base = img.astype(np.float64)
    for name in RANDOM:
        seeds = SEEDS_FOR.get(name, SEEDS)
        stats[name] = {"seeds": seeds, "severities": []}
        for severity in range(1, 6):
            mean_abs, std = [], []
            for seed in range(seeds):
                np.random.seed(seed)
                diff = corrupt(img, name, severity).astype(np.float64) - base
                mean_abs.append(np.abs(diff).mean())
                std.append(diff.std())
            stats[name]["severities"].append({"mean_abs": round(float(np.mean(mean_abs)), 4), "std": round(float(np.mean(std)), 4)})
        print(name, stats[name], flush=True)

    reference = {
        "source": "imagecorruptions==1.1.2",
        "image": "input.png",
        "deterministic": DETERMINISTIC,
        "random": stats,
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
