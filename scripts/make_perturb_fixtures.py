#!/usr/bin/env python3
"""Generate parity fixtures for src/perturb/parity.rs from imagecorruptions==1.1.2.

Run with an interpreter that has imagecorruptions==1.1.2 (numpy, scikit-image, scipy,
opencv-python, Pillow), e.g.
    /root/venv/bin/python scripts/make_perturb_fixtures.py
Writes into tests/fixtures/perturb/, for each image size WxH in SIZES (a landscape whose scale
factors are not integers, a square, and an odd tiny one):
  input_WxH.png      a synthetic photo-like image of that size (gradients, shapes, texture)
  NAME_WxH.png       the reference outputs of a deterministic corruption, severities 1-5
                     stacked top to bottom (5 x H rows): one file per corruption and size
  reference.json     the sizes, the library versions, and per size, for each random corruption
                     and severity, mean |out - in| and the standard deviation of (out - in) over
                     all pixels and channels, each averaged over `seeds` runs seeded with
                     np.random.seed(0..seeds) (more where single runs vary most: spatter's few
                     drops, fog's fractal, the motion blur angle, frost's choice of photo; more
                     on smaller images, whose runs average fewer pixels); a run that comes out
                     NaN (spatter's 0 / 0 when no drop forms) counts as unchanged, see
                     `random_stats`
  sizes.json         the size arithmetic at larger sizes (issue 14's 256x240, COCO's 640x427
                     and 427x640, more in SWEEP), where whole PNGs would weigh megabytes (256x240
                     alone: 3 MB for the eight corruptions): per size, pixelate's reduced size
                     and an FNV-1a 64 digest of its exact output for each severity, on an input
                     that shakedown computes too (`sweep_image`), and for each zoom factor of
                     zoom_blur the crop, offset and scipy output length of clipped_zoom per axis

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
# (width, height). 96x64 is the original fixture size.
SIZES = [(96, 64), (64, 64), (33, 17)]
# Sizes checked through sizes.json: issue 14's photo, COCO's shape both ways, odd and prime sides.
SWEEP = [(256, 240), (640, 427), (427, 640), (120, 97), (333, 500), (101, 53), (17, 33)]
SEEDS = 100
# Enough runs that the average is within ~2% (one standard error) of its expectation.
SEEDS_FOR = {"spatter": 400, "fog": 400, "motion_blur": 400, "frost": 400}
# Seeds scale with 96x64 / (w x h) within these factors: a 256x240 run averages 10 times more
# pixels (and glass_blur takes seconds a run there); a 33x17 one 11 times fewer.
SEED_SCALE = (0.1, 4.0)


def seeds_for(name, width, height):
    scale = min(max(96 * 64 / (width * height), SEED_SCALE[0]), SEED_SCALE[1])
    return int(round(SEEDS_FOR.get(name, SEEDS) * scale))


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


def make_image(WIDTH, HEIGHT):
    """Gradients, flat and saturated shapes, a grey patch, stripes and fine texture: the 96x64
    layout, its coordinates scaled to the size (so every size has every feature)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    # Coordinates of the 96x64 design at this size's pixels.
    x, y = xx * 96 / WIDTH, yy * 64 / HEIGHT
    img = np.empty((HEIGHT, WIDTH, 3))
    img[..., 0] = 40 + 170 * x / 95
    img[..., 1] = 60 + 120 * y / 63
    img[..., 2] = 150 - 100 * (x + y) / 158
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
    stripes = (x >= 78) & (y >= 30) & (((xx + yy) // 3) % 2 == 0)
    img[stripes] = [240, 230, 90]
    checker = (x >= 78) & (y < 28) & (y >= 16) & ((xx + yy) % 2 == 0)
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


def size_name(width, height):
    return f"{width}x{height}"


def random_stats(img, name):
    """Mean |out - in| and std of (out - in) per severity, averaged over seeded runs.

    A run whose result holds NaN counts as unchanged (zero difference) and is tallied in
    `nan_runs`: spatter's water divides its mask by the mask's maximum, 0 / 0 when no drop
    crosses the threshold (5 % of severity-1 runs on 33x17), and the NaN image would become
    black through np.uint8. A lens without drops leaves the photo as it is, as shakedown does.
    """
    height, width = img.shape[:2]
    seeds = seeds_for(name, width, height)
    base = img.astype(np.float64)
    out = {"seeds": seeds, "severities": []}
    for severity in range(1, 6):
        mean_abs, std, nan_runs = [], [], 0
        for seed in range(seeds):
            np.random.seed(seed)
            with np.errstate(invalid="ignore", divide="ignore"):
                result = np.asarray(getattr(C, name)(Image.fromarray(img), severity), dtype=np.float64)
            if np.isnan(result).any():
                nan_runs += 1
                result = base
            diff = to_u8(result).astype(np.float64) - base
            mean_abs.append(np.abs(diff).mean())
            std.append(diff.std())
        stat = {"mean_abs": round(float(np.mean(mean_abs)), 4), "std": round(float(np.mean(std)), 4)}
        if nan_runs:
            stat["nan_runs"] = nan_runs
        out["severities"].append(stat)
    return out


def sweep_image(width, height):
    """A busy image from integer arithmetic (u32 wrap-around), the same in shakedown's test:
    gradients with a hash in the red low bits, and the hash as blue."""
    m = 0xFFFFFFFF
    y, x = np.mgrid[0:height, 0:width].astype(np.uint64)
    n = ((((x * 2654435761) & m) ^ ((y * 40503) & m)) * 2246822519 & m) >> 24
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = ((x * 255 // max(width, 2)) ^ (n & 31)).astype(np.uint8)
    img[..., 1] = (y * 255 // max(height, 2)).astype(np.uint8)
    img[..., 2] = n.astype(np.uint8)
    return img


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data.tobytes():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def zoom_factors(severity):
    # The arrays imagecorruptions' zoom_blur iterates over (its source, severities 1-5).
    return [np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02),
            np.arange(1, 1.26, 0.02), np.arange(1, 1.31, 0.03)][severity - 1]


def clipped_zoom_axes(shape, factor):
    """(crop, offset, zoomed length) per axis (rows, columns) of imagecorruptions' clipped_zoom,
    its own arithmetic on a zero image, the zoomed length read from scipy's result."""
    rows = int(np.ceil(shape[0] / float(factor)))
    cols = int(np.ceil(shape[1] / float(factor)))
    top, left = (shape[0] - rows) // 2, (shape[1] - cols) // 2
    zoomed = C.scizoom(np.zeros((rows, cols, 1), np.float32), (factor, factor, 1), order=1).shape
    return [[rows, top, zoomed[0]], [cols, left, zoomed[1]]]


def size_sweep():
    import inspect

    # Guard against the table above drifting from the installed source.
    assert "np.arange(1, 1.31, 0.03)" in inspect.getsource(C.zoom_blur)
    out = {}
    for width, height in SWEEP:
        img = sweep_image(width, height)
        entry = {"pixelate": [], "zoom_blur": []}
        for severity in range(1, 6):
            result = corrupt(img, "pixelate", severity)
            c = [0.6, 0.5, 0.4, 0.3, 0.25][severity - 1]
            entry["pixelate"].append({"reduced_wh": [int(width * c), int(height * c)], "fnv1a64": fnv1a64(result)})
            entry["zoom_blur"].append([clipped_zoom_axes((height, width), f) for f in zoom_factors(severity)])
        out[size_name(width, height)] = entry
        print(size_name(width, height), [p["fnv1a64"] for p in entry["pixelate"]], flush=True)
    return out


def versions():
    import cv2
    import PIL
    import scipy
    import skimage

    return {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__,
            "Pillow": PIL.__version__, "opencv": cv2.__version__}


def main():
    os.makedirs(OUT, exist_ok=True)
    stats = {}
    for width, height in SIZES:
        size = size_name(width, height)
        img = make_image(width, height)
        Image.fromarray(img).save(os.path.join(OUT, f"input_{size}.png"), optimize=True)
        for name in DETERMINISTIC:
            # Severities 1-5 stacked top to bottom: one file per corruption and size.
            stack = np.concatenate([corrupt(img, name, severity) for severity in range(1, 6)], 0)
            Image.fromarray(stack).save(os.path.join(OUT, f"{name}_{size}.png"), optimize=True)
        stats[size] = {}
        for name in RANDOM:
            stats[size][name] = random_stats(img, name)
            print(size, name, stats[size][name], flush=True)

    reference = {
        "source": "imagecorruptions==1.1.2",
        "versions": versions(),
        "sizes": [size_name(w, h) for w, h in SIZES],
        "deterministic": DETERMINISTIC,
        "random": stats,
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "sizes.json"), "w") as f:
        json.dump({"source": "imagecorruptions==1.1.2", "versions": versions(), "sizes": size_sweep()}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
