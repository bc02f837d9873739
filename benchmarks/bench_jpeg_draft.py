"""Images/s of a full JPEG decode against PIL's reduced-size decoding (``Image.draft``), on generated JPEGs.

Usage::

    python benchmarks/bench_jpeg_draft.py [--repeats 30]

For each image size (the synthetic CUB's 500x375, a 1000x750 photo) and DCT scale (1, 1/2, 1/4) it decodes the
same bytes ``--repeats`` times and prints one JSON line: images/s, the decoded size, the speed-up against the
full decode, and how far the result is from the full decode resized (bilinear) to the same size (mean absolute
difference in 0-255 levels). Decision 031 says why the data path does not use it.
"""

from __future__ import annotations

import argparse
import io
import json
import time

import numpy as np
from PIL import Image


def photo_like_jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """A smooth gradient with noise, saved at quality 90 (compresses like a photograph, as the benchmark tree)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 0.4, y * 0.5, (x + y) * 0.2], axis=-1) + rng.normal(0, 12, (height, width, 3))
    out = io.BytesIO()
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def decode(data: bytes, scale: int) -> Image.Image:
    """Decode ``data`` as RGB at 1/``scale`` of its size (``scale`` 1: the full decode)."""
    image = Image.open(io.BytesIO(data))
    if scale > 1:
        image.draft("RGB", (image.width // scale, image.height // scale))
    image.load()
    return image.convert("RGB")


def measure(width: int, height: int, scale: int, repeats: int) -> dict[str, float | int | list[int]]:
    data = photo_like_jpeg(width, height)
    decode(data, scale)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        image = decode(data, scale)
    seconds = (time.perf_counter() - start) / repeats
    reference = decode(data, 1).resize(image.size, Image.BILINEAR)
    difference = np.abs(np.asarray(image, dtype=np.float32) - np.asarray(reference, dtype=np.float32)).mean()
    return {
        "source": [width, height],
        "scale": scale,
        "decoded": list(image.size),
        "images_per_s": round(1.0 / seconds, 1),
        "mean_abs_difference": round(float(difference), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="full JPEG decode vs PIL draft (reduced-size) decode")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    for width, height in ((500, 375), (1000, 750)):
        rows = [measure(width, height, scale, args.repeats) for scale in (1, 2, 4)]
        for row in rows:
            row["speedup_vs_full"] = round(float(row["images_per_s"]) / float(rows[0]["images_per_s"]), 2)
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
