#!/usr/bin/env python3
"""Throughput of shakedown's perturbations against albumentations 2.0.8 and imagecorruptions 1.1.2.

Builds `examples/perturb_bench.rs` (perf profile, no inference backend), which times catalog
perturbations at severity 3 on a 640x480 photo and saves that photo. For each perturbation in
turn it runs the example, then times, in this process and on the same pixels, the albumentations
transform that does the same job (parameters comparable to our severity 3) and imagecorruptions'
`corrupt(img, corruption_name=..., severity=3)`. Everything runs on one thread. Prints a
markdown table.

    /root/venv/bin/python benches/perturb/bench.py [--seconds 1] [--only fog,snow]
        [--skip-build] [--no-imagecorruptions] [--no-albumentations]

The Rust build uses $CARGO_TARGET_DIR when set. See README.md beside this file.
"""

import os

# One thread everywhere, before numpy / OpenCV start their pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)
warnings.filterwarnings("ignore")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def albumentations_transforms():
    """Our name -> (albumentations class name, transform), parameters as our severity 3."""
    import albumentations as A

    def t(cls, **kwargs):
        return getattr(A, cls), kwargs

    specs = {
        # imagecorruptions' severity-3 constants, which our severity 3 uses.
        "gaussian_blur": t("GaussianBlur", blur_limit=0, sigma_limit=(3.0, 3.0)),
        "defocus_blur": t("Defocus", radius=(6, 6), alias_blur=(0.5, 0.5)),
        "motion_blur": t("MotionBlur", blur_limit=(31, 31)),  # radius 15: a 31-tap streak
        "zoom_blur": t("ZoomBlur", max_factor=(1.2, 1.2), step_factor=(0.02, 0.02)),
        "glass_blur": t("GlassBlur", sigma=1.0, max_delta=2, iterations=3),
        "gaussian_noise": t("GaussNoise", std_range=(0.18, 0.18)),
        "shot_noise": t("ShotNoise", scale_range=(1 / 12, 1 / 12)),  # 12 photons per unit
        "impulse_noise": t("SaltAndPepper", amount=(0.09, 0.09)),
        # Multiplicative noise with the same spread as N(1, 0.35): uniform within +-0.35 * sqrt(3).
        "speckle_noise": t("MultiplicativeNoise", multiplier=(0.39, 1.61), per_channel=True, elementwise=True),
        "jpeg_compression": t("ImageCompression", quality_range=(15, 15)),
        # Pixelate: down to 40 % by area averaging, back up blocky.
        "pixelate": t("Downscale", scale_range=(0.4, 0.4),
                      interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_NEAREST}),
        # Our brightness is imagecorruptions': +0.3 on the HSV value, hue and saturation kept.
        # albumentations' transform doing that is HueSaturationValue's value shift (0.3 x 255);
        # RandomBrightnessContrast adds to every channel alike (a 256-entry table, a cheaper job
        # that also washes colours out), so it is not the same work.
        "brightness": t("HueSaturationValue", hue_shift_limit=(0, 0), sat_shift_limit=(0, 0),
                        val_shift_limit=(76.5, 76.5)),
        "contrast": t("RandomBrightnessContrast", brightness_limit=(0, 0), contrast_limit=(-0.8, -0.8)),
        "saturate": t("ColorJitter", brightness=(1, 1), contrast=(1, 1), saturation=(2, 2), hue=(0, 0)),
        "fog": t("RandomFog", fog_coef_range=(0.5, 0.5)),
        "snow": t("RandomSnow", snow_point_range=(0.2, 0.2)),
        "spatter": t("Spatter", mode="rain"),
        # Our other perturbations, with their severity-3 values where the parameters correspond.
        "channel_shuffle": t("ChannelShuffle"),
        "color_jitter": t("ColorJitter", brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1),
        "hue_saturation_value": t("HueSaturationValue", hue_shift_limit=(20, 20), sat_shift_limit=(30, 30),
                                  val_shift_limit=(20, 20)),
        "rgb_shift": t("RGBShift", r_shift_limit=(20, 20), g_shift_limit=(20, 20), b_shift_limit=(20, 20)),
        "sepia": t("ToSepia"),
        "grayscale": t("ToGray"),
        "gamma": t("RandomGamma", gamma_limit=(125, 125)),
        "equalize": t("Equalize", mode="cv", by_channels=True),
        "glare": t("RandomSunFlare", src_radius=128),
        "iso_noise": t("ISONoise", color_shift=(0.03, 0.03), intensity=(0.3, 0.3)),
        "dead_pixels": t("PixelDropout", dropout_prob=0.01),
        "chromatic_aberration": t("ChromaticAberration", mode="red_blue"),
        "posterize": t("Posterize", num_bits=4),
        "downscale": t("Downscale", scale_range=(0.25, 0.25),
                       interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR}),
        "sharpen": t("Sharpen", alpha=(0.35, 0.35), lightness=(1, 1)),
        "median_blur": t("MedianBlur", blur_limit=(7, 7)),
        # Sigma 1 % of the width as imagecorruptions' field; alpha scaled to a comparable few pixels.
        "elastic_transform": t("ElasticTransform", alpha=30, sigma=6.4, border_mode=cv2.BORDER_REFLECT),
        "cutout": t("CoarseDropout", num_holes_range=(3, 3), hole_height_range=(0.15, 0.15),
                    hole_width_range=(0.15, 0.15), fill=0),
        "horizontal_flip": t("HorizontalFlip"),
        "vertical_flip": t("VerticalFlip"),
        "rotation": t("Rotate", limit=(10, 10), border_mode=cv2.BORDER_CONSTANT),
        "perspective": t("Perspective", scale=(0.08, 0.08), keep_size=True),
        # Each side shortened by 15 %, resized back to 640x480.
        "random_crop": t("RandomSizedCrop", min_max_height=(408, 408), size=(480, 640), w2h_ratio=4 / 3),
        "translation": t("Affine", translate_percent=(0.1, 0.1)),
        "scale": t("Affine", scale=(0.8, 0.8)),
    }
    transforms = {}
    for name, (cls, kwargs) in specs.items():
        try:
            transforms[name] = (cls.__name__, cls(p=1.0, **kwargs))
        except Exception as e:  # an API change: report it, time the rest
            print(f"albumentations {cls.__name__}({kwargs}): {e}", file=sys.stderr)
    return transforms


def imagecorruptions_functions():
    """imagecorruptions' corrupt() for its 19 corruptions, with the shims it needs today."""
    np.float_ = np.float64  # removed in numpy 2; its fog uses it
    import imagecorruptions
    import imagecorruptions.corruptions as C
    from skimage.filters import gaussian as sk_gaussian

    def gaussian(*args, multichannel=None, **kwargs):
        if multichannel:
            kwargs["channel_axis"] = -1
        return sk_gaussian(*args, **kwargs)

    C.gaussian = gaussian
    names = imagecorruptions.get_corruption_names("all")
    return {n: (lambda img, n=n: imagecorruptions.corrupt(img, corruption_name=n, severity=3)) for n in names}


def images_per_second(fn, seconds):
    """Calls per second: one warm-up call (kept as the measurement when it alone takes longer than
    `seconds`), then as many calls as fit in `seconds`, at least three."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if first >= seconds:
        return 1.0 / first
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        fn()
        runs += 1
    return runs / (time.perf_counter() - start)


class Shakedown:
    """The Rust example: built once, then run per perturbation so that each of its timings sits
    next to the Python ones (the machine's load drifts; interleaving keeps the ratios fair)."""

    def __init__(self, args):
        build = ["cargo", "build", "--quiet", "--profile", "perf", "--no-default-features", "--example",
                 "perturb_bench"]
        if not args.skip_build:
            subprocess.run(build, cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        self.exe = os.path.join(target, "perf", "examples", "perturb_bench")
        self.seconds = args.seconds

    def rates(self, *extra):
        out = subprocess.run([self.exe, *extra], cwd=ROOT, check=True, capture_output=True, text=True).stdout
        return {name: float(rate) for name, rate in (line.split() for line in out.splitlines())}

    def names(self, input_png, only):
        """Catalog names (a quick pass, 5 images each) and the photo the example uses."""
        extra = ["--only", only] if only else []
        return list(self.rates("--seconds", "0", "--write-input", input_png, *extra))

    def rate(self, name):
        return self.rates("--seconds", str(self.seconds), "--only", name)[name]


def fmt(v):
    if v is None:
        return ""
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="time per perturbation and library")
    ap.add_argument("--only", help="comma-separated perturbation names")
    ap.add_argument("--skip-build", action="store_true", help="run the already built example")
    ap.add_argument("--no-albumentations", action="store_true")
    ap.add_argument("--no-imagecorruptions", action="store_true")
    args = ap.parse_args()

    ours = Shakedown(args)
    with tempfile.TemporaryDirectory() as tmp:
        input_png = os.path.join(tmp, "input.png")
        names = ours.names(input_png, args.only)
        img = cv2.cvtColor(cv2.imread(input_png), cv2.COLOR_BGR2RGB)
    assert img.shape == (480, 640, 3), img.shape

    albu = {} if args.no_albumentations else albumentations_transforms()
    ic = {} if args.no_imagecorruptions else imagecorruptions_functions()
    np.random.seed(0)

    rows = []
    for name in names:
        rate = ours.rate(name)
        a_cls, a_rate, c_rate = "", None, None
        if name in albu:
            a_cls, transform = albu[name]
            a_rate = images_per_second(lambda: transform(image=img)["image"], args.seconds)
        if name in ic:
            c_rate = images_per_second(lambda: ic[name](img), args.seconds)
        rows.append((name, rate, a_cls, a_rate, c_rate))
        print(f"{name}: shakedown {fmt(rate)}, albumentations {fmt(a_rate)}, imagecorruptions {fmt(c_rate)}",
              file=sys.stderr, flush=True)

    print("| perturbation | shakedown img/s | albumentations | img/s | ratio | imagecorruptions img/s | ratio |")
    print("|---|---:|---|---:|---:|---:|---:|")
    misses = []
    for name, rate, a_cls, a_rate, c_rate in rows:
        a_ratio = rate / a_rate if a_rate else None
        c_ratio = rate / c_rate if c_rate else None
        # Goals: at least albumentations' speed; 20x imagecorruptions' numpy code, and at least
        # the speed of its two corruptions that are already C (PIL's JPEG codec and resize).
        c_goal = 1.0 if name in ("jpeg_compression", "pixelate") else 20.0
        if a_ratio is not None and a_ratio < 1.0:
            misses.append(f"{name}: {a_ratio:.2f}x albumentations {a_cls} (goal 1x)")
        if c_ratio is not None and c_ratio < c_goal:
            misses.append(f"{name}: {c_ratio:.2f}x imagecorruptions (goal {c_goal:g}x)")
        a_txt = f"{a_ratio:.2f}x" if a_ratio is not None else ""
        c_txt = f"{c_ratio:.1f}x" if c_ratio is not None else ""
        print(f"| {name} | {fmt(rate)} | {a_cls} | {fmt(a_rate)} | {a_txt} | {fmt(c_rate)} | {c_txt} |")
    print()
    print("Below goal:" if misses else "All goals met.")
    for m in misses:
        print(f"- {m}")


if __name__ == "__main__":
    main()
