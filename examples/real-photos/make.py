#!/usr/bin/env python3
"""Re-create the photos of examples/real-photos.

    python3 -m venv .venv && .venv/bin/pip install pillow==13.0.0
    .venv/bin/python examples/real-photos/make.py

Downloads one wheel with pip (no install, no dependencies): scikit-image 0.26.0, for the photos it
bundles in `skimage/data/`. Only photos whose docstring in `skimage/data/_fetchers.py` says
public domain or CC0 are used (README.md lists each one's source). Every photo is resized so its
longer side is at most 640 pixels and saved as a JPEG (quality 85, 4:2:0, optimised Huffman
tables); the script fails if one exceeds 150 KB.
Deterministic: the same wheels and Pillow version give byte-identical files.
"""

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
SKIMAGE = "scikit-image==0.26.0"

# name in skimage/data → (file written, license as the docstring in _fetchers.py gives it)
PHOTOS = {
    "astronaut.png": ("astronaut.jpg", "public domain (NASA)"),
    "camera.png": ("camera.jpg", "CC0 (Lav Varshney)"),
    "chelsea.png": ("chelsea.jpg", "CC0 (Stefan van der Walt)"),
    "coffee.png": ("coffee.jpg", "CC0 (Rachel Michetti)"),
    "rocket.jpg": ("rocket.jpg", "public domain (SpaceX)"),
}
LONGEST_SIDE = 640
QUALITY = 85
MAX_BYTES = 150_000


def wheel(requirement: str, into: Path) -> zipfile.ZipFile:
    """Download one wheel with pip (no dependencies) and open it."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--dest", str(into), requirement]
    # scikit-image ships platform wheels only; any one holds the same data files.
    if requirement.startswith("scikit-image"):
        cmd[5:5] = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"]
    subprocess.run(cmd, check=True)
    name = requirement.split("==")[0].replace("-", "_")
    (path,) = [p for p in into.glob("*.whl") if p.name.lower().startswith(name)]
    return zipfile.ZipFile(path)


def main() -> None:
    photos = HERE / "photos"
    photos.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sk = wheel(SKIMAGE, tmp)
        fetchers = sk.read("skimage/data/_fetchers.py").decode()
        for source, (target, license) in PHOTOS.items():
            # Guard against a later wheel changing a photo's stated terms.
            stem = source.rsplit(".", 1)[0]
            assert stem in fetchers, f"{source} is no longer described in _fetchers.py"
            image = Image.open(io.BytesIO(sk.read(f"skimage/data/{source}"))).convert("RGB")
            scale = min(1.0, LONGEST_SIDE / max(image.size))
            if scale < 1.0:
                size = (round(image.width * scale), round(image.height * scale))
                image = image.resize(size, Image.Resampling.LANCZOS)
            out = photos / target
            image.save(out, "JPEG", quality=QUALITY, optimize=True, subsampling=2)
            size = out.stat().st_size
            assert size <= MAX_BYTES, f"{out} is {size} bytes, over {MAX_BYTES}"
            print(f"{out.relative_to(HERE)}: {image.width}x{image.height}, {size} bytes, {license}")


if __name__ == "__main__":
    main()
