"""Interleaved A/B of training-step variants (any config overrides) in one process: ratios, not absolute seconds.

Usage::

    python benchmarks/ab_step.py --preset cub_attngan2 --batch-size 4 --rounds 3 \\
        old=model.adam_implementation=for_loop new=model.adam_implementation=fused

Every variant (``name=override,override,...``; the first is the baseline) is the real module of the preset with
those overrides, stepped under ``trainer.fit`` (:func:`benchmarks.common.compare_steps`): ``--warmup`` untimed
steps, then ``--steps`` timed steps per variant in each of ``--rounds`` interleaved rounds. One JSON line per
variant: the median over rounds of ``baseline seconds / variant seconds`` in wall time and in process CPU time
(the robust one on an oversubscribed machine), with the CPU model and the steal time over the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import (
    build_cub_tree,
    compare_steps,
    cpu_times,
    damsm_checkpoint,
    emit,
    loss_parity,
    machine,
    steal_fraction,
    workspace,
)


def preset(name: str, workdir: Path, batch_size: int | None) -> list[str]:
    """The training overrides of a preset, with its random-weight DAMSM checkpoint.

    ``cub_attngan2``: the released AttnGAN2 birds config (64/128/256 px, Inception-v3) on a synthetic CUB tree,
    batch 4 unless given; ``shapes_attngan``: the ``make train`` recipe (batch 32)."""
    if name == "cub_attngan2":
        batch = batch_size or 4
        data = [f"data.root={build_cub_tree(workdir / 'birds', max(8 * batch, 16))}", "data.num_workers=0"]
        damsm = ["experiment=cub_damsm", *data, "model.image_encoder.pretrained=false"]
    elif name == "shapes_attngan":
        batch = batch_size or 32
        data = ["data.num_workers=0", f"data.num_images={max(8 * batch, 96)}"]
        damsm = ["experiment=shapes_damsm", *data]
    else:
        raise ValueError(f"unknown preset {name!r}: expected cub_attngan2 or shapes_attngan")
    checkpoint = damsm_checkpoint(workdir, damsm)
    return [
        f"experiment={name}",
        *data,
        f"data.batch_size={batch}",
        f"model.damsm_checkpoint={checkpoint}",
        "model.sample_every_n_epochs=0",
    ]


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``name=key=value,key=value`` -> ``(name, [key=value, ...])``; ``name=`` has no overrides."""
    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise ValueError(
            f"a variant is name=override,override,... (e.g. old=model.adam_implementation=for_loop), got {text!r}"
        )
    return name, [o for o in rest.split(",") if o]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cub_attngan2", choices=["cub_attngan2", "shapes_attngan"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1, help="timed steps per variant and round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per variant, before the rounds")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--set", action="append", default=[], help="an override of every variant (repeatable)"
    )
    parser.add_argument("variants", nargs="+", help="name=override,override,... (the first is the baseline)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    variants = dict(parse_variant(v) for v in args.variants)
    emit(machine())
    started, before = time.perf_counter(), cpu_times()
    with workspace(args.workdir) as workdir:
        overrides = [*preset(args.preset, workdir, args.batch_size), *args.set]
        results, losses = compare_steps(workdir, overrides, variants, args.rounds, args.warmup, args.steps)
    common = {"preset": args.preset, "wall_s": round(time.perf_counter() - started, 1)}
    for record in [*results, *loss_parity(losses, next(iter(variants)))]:
        emit({"type": "ab", **common, **record, "steal_fraction": steal_fraction(before)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
