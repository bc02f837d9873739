"""Batched DAMSM word-level scores vs Python loops, at the released DAMSM batch size.

Compares :func:`attngan.losses.damsm.word_level_scores` (all B x B image–caption pairs in one pass) with
two loop implementations written here from the paper's equations:

- ``caption_loop``: one iteration per caption, all images at once (how the release's ``words_loss`` is
  organised);
- ``pair_loop``: one iteration per image–caption pair.

Prints one JSON line: seconds per call (forward, and forward + backward), speed-ups, and whether the
three results agree. Runs on CPU by default::

    python benchmarks/bench_damsm_loss.py [--batch 48] [--device cpu] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from attngan.losses.damsm import COSINE_EPS, word_level_scores
from benchmarks.meters import best_time

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


def _time(fn: Callable[[], torch.Tensor], repeats: int, backward: bool, device: torch.device) -> float:
    """Best seconds of one call of ``fn`` (and ``backward`` of its sum) after one warm-up call."""

    def once() -> None:
        out = fn()
        if backward:
            out.sum().backward()

    return best_time(once, repeats, device.type)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=48)
    parser.add_argument("--words", type=int, default=18)
    parser.add_argument("--regions", type=int, default=17, help="regions per side")
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pair-loop", action="store_true", help="the per-pair loop is slow on CPU")
    args = parser.parse_args()

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
        "batched": lambda: word_level_scores(words, lengths, regions, GAMMA1, GAMMA2),  # type: ignore[return-value]
        "caption_loop": lambda: caption_loop(words, length_list, regions),
    }
    if not args.skip_pair_loop:
        candidates["pair_loop"] = lambda: pair_loop(words, length_list, regions)

    with torch.no_grad():
        results = {name: fn() for name, fn in candidates.items()}
    agree = all(torch.allclose(results["batched"], other, rtol=1e-4, atol=1e-4) for other in results.values())
    max_abs_diff = max(float((results["batched"] - other).abs().max()) for other in results.values())

    report: dict[str, object] = {
        "batch": args.batch,
        "words": args.words,
        "regions": args.regions * args.regions,
        "dim": args.dim,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    for name, fn in candidates.items():
        with torch.no_grad():
            report[f"{name}_forward_s"] = round(_time(fn, args.repeats, False, device), 5)
        report[f"{name}_forward_backward_s"] = round(_time(fn, args.repeats, True, device), 5)
    for name in candidates:
        if name == "batched":
            continue
        for phase in ("forward", "forward_backward"):
            ratio = report[f"{name}_{phase}_s"] / report[f"batched_{phase}_s"]  # type: ignore[operator]
            report[f"speedup_vs_{name}_{phase}"] = round(ratio, 2)
    report["results_agree"] = agree
    report["max_abs_diff"] = max_abs_diff
    print(json.dumps(report))


if __name__ == "__main__":
    main()
