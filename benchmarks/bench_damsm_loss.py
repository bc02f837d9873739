"""Batched DAMSM word-level scores vs Python loops, at the released DAMSM batch size.

Compares :func:`attngan.losses.damsm.word_level_scores` (all B x B image–caption pairs in one pass) with
two loop implementations written here from the paper's equations:

- ``caption_loop``: one iteration per caption, all images at once (how the release's ``words_loss`` is
  organised);
- ``pair_loop``: one iteration per image–caption pair.

Prints JSON lines: per phase (forward, forward + backward) and implementation the median seconds per call over
``--repeats`` interleaved rounds and the ratio against ``caption_loop`` (> 1: faster), then whether the three
results agree. Runs on CPU by default::

    python benchmarks/bench_damsm_loss.py [--batch 48] [--device cpu] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from attngan.losses.damsm import COSINE_EPS, word_level_scores
from benchmarks.common import cpu_times, emit, machine, ratios, steal_fraction, time_calls

GAMMA1, GAMMA2 = 4.0, 5.0


def _pair_score(words: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """One image, one caption: words (D, L), regions (D, R) -> scalar R(Q, D)."""
    weights = torch.softmax(words.t() @ regions, dim=0)  # (L, R), normalised over words
    alpha = torch.softmax(weights * GAMMA1, dim=1)  # over regions
    context = alpha @ regions.t()  # (L, D)
    cosine = (context * words.t()).sum(1) / (context.norm(dim=1) * words.norm(dim=0)).clamp(min=COSINE_EPS)
    return torch.log(torch.exp(cosine * GAMMA2).sum())


def caption_loop(words: torch.Tensor, lengths: list[int], regions: torch.Tensor) -> torch.Tensor:
    """Release-style loop: for each caption, attend over every image's regions in one batched call."""
    batch, dim = regions.shape[:2]
    flat = regions.reshape(batch, dim, -1)  # (B, D, R)
    columns = []
    for j, length in enumerate(lengths):
        caption = words[j, :, :length].unsqueeze(0).expand(batch, dim, length)  # (B, D, L)
        weights = torch.softmax(torch.bmm(flat.transpose(1, 2), caption), dim=2)  # (B, R, L), over words
        alpha = torch.softmax(weights.transpose(1, 2) * GAMMA1, dim=2)  # (B, L, R), over regions
        context = torch.bmm(flat, alpha.transpose(1, 2))  # (B, D, L)
        cosine = (context * caption).sum(1) / (context.norm(dim=1) * caption.norm(dim=1)).clamp(
            min=COSINE_EPS
        )
        columns.append(torch.log(torch.exp(cosine * GAMMA2).sum(dim=1)))  # (B,)
    return torch.stack(columns, dim=1)  # (B_images, B_captions)


def pair_loop(words: torch.Tensor, lengths: list[int], regions: torch.Tensor) -> torch.Tensor:
    batch, dim = regions.shape[:2]
    flat = regions.reshape(batch, dim, -1)
    rows = [
        torch.stack([_pair_score(words[j, :, :length], flat[i]) for j, length in enumerate(lengths)])
        for i in range(batch)
    ]
    return torch.stack(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=48)
    parser.add_argument("--words", type=int, default=18)
    parser.add_argument("--regions", type=int, default=17, help="regions per side")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--skip-pair-loop", action="store_true", help="the per-pair loop is slow on CPU")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, args.words + 1, (args.batch,), generator=gen)
    lengths[0] = args.words
    words = torch.randn(args.batch, args.dim, args.words, generator=gen)
    words = words * (torch.arange(args.words) < lengths.unsqueeze(1)).unsqueeze(1)
    regions = torch.randn(args.batch, args.dim, args.regions, args.regions, generator=gen)
    words, regions, lengths = words.to(device), regions.to(device), lengths.to(device)
    words.requires_grad_(True)
    regions.requires_grad_(True)
    length_list = lengths.tolist()

    candidates: dict[str, Callable[[], torch.Tensor]] = {
        "caption_loop": lambda: caption_loop(words, length_list, regions),
        "batched": lambda: word_level_scores(words, lengths, regions, GAMMA1, GAMMA2),  # type: ignore[return-value]
    }
    if not args.skip_pair_loop:
        candidates["pair_loop"] = lambda: pair_loop(words, length_list, regions)
    with torch.no_grad():
        results = {name: fn() for name, fn in candidates.items()}
    agree = all(torch.allclose(results["batched"], other, rtol=1e-4, atol=1e-4) for other in results.values())

    def forward(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            with torch.no_grad():
                fn()

        return run

    def backward(fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        return lambda: fn().sum().backward()

    emit(machine(device.type))
    before = cpu_times()
    for phase, wrap in (("forward", forward), ("forward_backward", backward)):
        seconds = time_calls({name: wrap(fn) for name, fn in candidates.items()}, args.repeats)
        for name, ratio in ratios(seconds, "caption_loop").items():
            record = {
                "type": "result",
                "bench": "damsm_word_scores",
                "phase": phase,
                "variant": name,
                **ratio,
            }
            emit({**record, "seconds_median": round(statistics.median(seconds[name]), 5)})
    emit(
        {
            "type": "check",
            "bench": "damsm_word_scores",
            "batch": args.batch,
            "words": args.words,
            "regions": args.regions**2,
            "dim": args.dim,
            "results_agree": agree,
            "max_abs_diff": max(
                float((results["batched"] - other).abs().max()) for other in results.values()
            ),
            "steal_fraction": steal_fraction(before),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
