"""Images/s of a full JPEG decode against PIL's reduced-size decoding (``Image.draft``), on generated JPEGs.

Usage::

    python benchmarks/bench_jpeg_draft.py [--repeats 30]

For each image size (the synthetic CUB's 500x375, a 1000x750 photo) the DCT scales 1, 1/2 and 1/4 decode the
same bytes ``--repeats`` times a round, in three interleaved rounds. One JSON line per scale: images/s, the
decoded size, the ratio against the full decode (> 1: faster), and how far the result is from the full decode
resized (bilinear) to the same size (mean absolute difference in 0-255 levels). Decision 031 says why the data
path does not use it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from benchmarks.common import cpu_times, emit, machine, ratios, steal_fraction, time_calls


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="full JPEG decode vs PIL draft (reduced-size) decode")
    parser.add_argument("--repeats", type=int, default=30, help="decodes per scale and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    emit(machine())
    before = cpu_times()
    for width, height in ((500, 375), (1000, 750)):
        data = photo_like_jpeg(width, height)
        calls = {
            f"scale_{s}": lambda s=s, data=data: [decode(data, s) for _ in range(args.repeats)]
            for s in (1, 2, 4)
        }
        seconds = time_calls(calls, args.rounds)
        for name, ratio in ratios(seconds, "scale_1").items():
            image = decode(data, int(name[6:]))
            reference = np.asarray(decode(data, 1).resize(image.size, Image.BILINEAR), dtype=np.float32)
            record = {
                "type": "result",
                "source": [width, height],
                "variant": name,
                "decoded": list(image.size),
                "images_per_s": round(args.repeats / statistics.median(seconds[name]), 1),
                **ratio,
                "mean_abs_difference": round(
                    float(np.abs(np.asarray(image, np.float32) - reference).mean()), 2
                ),
            }
            emit({**record, "steal_fraction": steal_fraction(before)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
