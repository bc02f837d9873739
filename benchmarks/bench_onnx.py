"""Images/s of the ONNX pipeline (onnxruntime) vs the PyTorch pipeline on the CPU, at batch 1 and 100.

Both run the whole captions -> PIL images call (tokenising, text encoder, generator, conversion) on the same
captions and the same noise (z and CA's ε from ``AttnGANPipeline.noise``), one pass per call
(``batch_size`` = the number of captions), in ``--repeats`` interleaved rounds. The networks are a checkpoint's
(``--checkpoint``) or random ones of the given widths (the default: the shapes experiment's generator, 2 stages
from 32 px, ngf 32). Prints one JSON line per batch size: images/s of each, the ratio ONNX over PyTorch (> 1:
ONNX is faster) and the largest pixel difference::

    python benchmarks/bench_onnx.py [--checkpoint X.ckpt] [--batches 1,100] [--repeats 3] [--threads N]
    python benchmarks/bench_onnx.py --smoke          # tiny networks, batch 1 and 4: seconds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from benchmarks.common import cpu_times, emit, machine, ratios, steal_fraction, time_calls

WORDS = ["a", "large", "small", "red", "green", "blue", "circle", "square", "triangle", "on", "the", "left",
         "right", "top", "bottom", "and"]  # fmt: skip


def random_pipeline(ngf: int, num_stages: int, base_size: int, embedding: int) -> Any:
    """An AttnGANPipeline of random networks (nothing is trained or downloaded)."""
    from attngan.models import Generator, TextEncoder
    from attngan.pipeline import AttnGANPipeline
    from attngan.text import Vocabulary

    torch.manual_seed(0)
    vocab = Vocabulary(WORDS)
    text = TextEncoder(len(vocab), 300, embedding // 2)
    generator = Generator(num_stages, ngf, embedding_dim=embedding, base_size=base_size)
    return AttnGANPipeline(text, generator, vocab, max_words=18)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="an attngan .ckpt (default: random networks)")
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes (default 1,100)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch and onnxruntime threads")
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--stages", type=int, default=2)
    parser.add_argument("--base-size", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="tiny networks, batches 1 and 4, one round")
    args = parser.parse_args(argv)
    if args.smoke:
        args.ngf, args.repeats = 4, 1
    args.batches = args.batches or ("1,4" if args.smoke else "1,100")

    import onnxruntime as ort

    from attngan.onnx import OnnxPipeline
    from attngan.onnx.export import export_onnx
    from attngan.pipeline import AttnGANPipeline

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.checkpoint:
        pipe = AttnGANPipeline.from_checkpoint(args.checkpoint, device="cpu")
    else:
        pipe = random_pipeline(args.ngf, args.stages, args.base_size, 32 if args.smoke else 256)
    emit({**machine(), "onnxruntime": ort.__version__})
    before = cpu_times()
    rng = np.random.default_rng(0)
    words = [w for w in pipe.vocab.words if w.isalpha()] or pipe.vocab.words
    with tempfile.TemporaryDirectory(prefix="attngan-bench-onnx-") as folder:
        export_onnx(folder, pipe.text_encoder, pipe.generator, pipe.vocab.to_list(), pipe.max_words)
        onnx_pipe = OnnxPipeline(folder)
        if args.threads:  # the sessions again, with the thread count
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            for name, graph in onnx_pipe.config["graphs"].items():
                file = str(Path(folder) / graph["file"])
                onnx_pipe.sessions[name] = ort.InferenceSession(file, options, providers=onnx_pipe.providers)
        z, epsilon = pipe.noise(1, seed=0)
        for batch in (int(b) for b in args.batches.split(",") if b.strip()):
            captions = [" ".join(rng.choice(words, size=int(rng.integers(3, 12)))) for _ in range(batch)]
            calls = {
                "torch": lambda c=captions, b=batch: pipe(c, seed=0, batch_size=b),
                "onnx": lambda c=captions, b=batch: onnx_pipe(
                    c, batch_size=b, noise=z.numpy(), condition_noise=epsilon.numpy()
                ),
            }
            seconds = time_calls(calls, args.repeats)
            diff = max(
                float(np.abs(a[-1] - b[-1].numpy()).max())
                for a, b in zip(calls["onnx"]().stage_arrays, calls["torch"]()._stage_tensors, strict=True)
            )
            emit(
                {
                    "type": "result",
                    "bench": "onnx_vs_torch",
                    "batch": batch,
                    "image_size": pipe.image_sizes[-1],
                    "ngf": int(pipe.generator.ngf),
                    **{
                        f"{n}_images_per_s": round(batch / statistics.median(s), 3)
                        for n, s in seconds.items()
                    },
                    **ratios(seconds, "torch")["onnx"],
                    "max_abs_pixel_diff": diff,
                    "steal_fraction": steal_fraction(before),
                }
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
