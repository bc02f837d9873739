"""The speed options side by side: training step, DAMSM step, generation and data loading (``make bench``).

Usage::

    python benchmarks/run.py                   # everything: a GPU takes minutes, a 2-core CPU over an hour
    python benchmarks/run.py --quick           # the shapes configs, no compile, few steps (make bench-quick)
    python benchmarks/run.py --threads 1 --only shapes_attngan --variants fp32_eager,bf16,combined --repeats 5

Every variant of a config is measured in the same run, in interleaved rounds; one JSON line per result with
its ratio against the config's first variant (``fp32_eager``; data: ``workers_0``), and the wall time and steal
time of the config next to it. The AttnGAN and DAMSM steps are ``trainer.fit`` of the real module
(:func:`benchmarks.common.compare_steps`); generation is ``AttnGANPipeline.generate`` at batch 100. Every DAMSM
has random weights and CUB is a synthetic tree: speed does not depend on either.
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import (
    build_cub_tree,
    compare_steps,
    compose,
    cpu_model,
    cpu_times,
    damsm_checkpoint,
    datamodule_of,
    emit,
    loss_parity,
    machine,
    ratios,
    steal_fraction,
    time_calls,
    workspace,
)

BF16, CHANNELS_LAST, COMPILE = (
    "trainer.precision=bf16-mixed",
    "model.channels_last=true",
    "model.compile=true",
)
VARIANTS = {
    "fp32_eager": [],
    "bf16": [BF16],
    "channels_last": [CHANNELS_LAST],
    "compile": [COMPILE],
    "combined": [BF16, CHANNELS_LAST, COMPILE],
    "combined_eager": [BF16, CHANNELS_LAST],
}
DAMSM_VARIANTS = ("fp32_eager", "bf16")  # DAMSMModule has no compile or channels-last option
SHAPES = ["data.num_workers=0"]
CUB = ["data.root=${paths.root_dir}/birds", "data.num_workers=0"]
SHAPES_DAMSM = ["experiment=shapes_damsm", *SHAPES]
CUB_DAMSM = ["experiment=cub_damsm", *CUB, "model.image_encoder.pretrained=false"]
# name: (what is measured, the training config's overrides, the DAMSM config of its random-weight checkpoint)
CONFIGS: dict[str, tuple[str, list[str], list[str] | None]] = {
    "shapes_attngan": ("step", ["experiment=shapes_attngan", *SHAPES], SHAPES_DAMSM),
    "cub_attngan2": ("step", ["experiment=cub_attngan2", *CUB], CUB_DAMSM),
    "shapes_damsm": ("step", SHAPES_DAMSM, None),
    "cub_damsm": ("step", CUB_DAMSM, None),
    "shapes_generate": ("generate", ["experiment=shapes_attngan", *SHAPES], SHAPES_DAMSM),
    "cub_generate": ("generate", ["experiment=cub_attngan2", *CUB], CUB_DAMSM),
    "shapes_data": ("data", ["experiment=shapes_attngan"], None),
    "cub_data": ("data", ["experiment=cub_attngan2", "data.root=${paths.root_dir}/birds"], None),
}
QUICK = ["data.num_images=96", "data.batch_size=8"]  # --quick: on top of the shapes configs


def variants_of(
    name: str, args: argparse.Namespace, device: str
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The variants of a config this run measures, and those it skips with the reason."""
    kind, _, damsm = CONFIGS[name]
    if kind == "data":
        every = {f"workers_{w}": [f"data.num_workers={w}"] for w in ((0, 2) if args.quick else (0, 1, 2))}
    else:
        every = {k: v for k, v in VARIANTS.items() if damsm is not None or k in DAMSM_VARIANTS}
    skipped = {}
    for variant, overrides in every.items():
        if args.quick and COMPILE in overrides:
            skipped[variant] = "--quick: torch.compile takes minutes on a 2-core CPU"
        elif (
            name.startswith("cub")
            and device == "cpu"
            and COMPILE in overrides
            and variant not in args.variants
        ):
            skipped[variant] = (
                f"CPU, CUB size: compiling takes minutes on top of ~2-minute steps (--variants {variant})"
            )
    chosen = {
        k: v for k, v in every.items() if k not in skipped and (not args.variants or k in args.variants)
    }
    return chosen, {k: v for k, v in skipped.items() if not args.variants or k in args.variants}


def counts(name: str, args: argparse.Namespace, device: str) -> tuple[int, int, int]:
    """``(rounds, warm-up steps, timed steps)`` of a config: a CUB step on a CPU takes about two minutes."""
    if args.quick:
        rounds, warmup, steps = 1, 1, 2
    elif device == "cuda":
        rounds, warmup, steps = 3, 5, 20
    elif name.startswith("cub"):
        rounds, warmup, steps = 1, 1, 1
    else:
        rounds, warmup, steps = 3, 5, 8
    return args.repeats or rounds, args.warmup if args.warmup is not None else warmup, args.steps or steps


def compare_generation(
    cfg: Any, variants: dict[str, list[str]], rounds: int, steps: int, device: str, batch_size: int = 100
) -> list[dict[str, Any]]:
    """Images/s of ``AttnGANPipeline.generate`` at ``batch_size`` captions of the training data, per variant."""
    from attngan.pipeline import AttnGANPipeline
    from attngan.text import Vocabulary
    from attngan.training.entry import build_module

    torch.manual_seed(0)
    datamodule = datamodule_of(cfg)
    module = build_module(cfg, datamodule.vocab.to_list())
    batch = next(iter(datamodule.train_dataloader()))
    rows = torch.arange(batch_size) % len(batch["lengths"])
    captions, lengths = batch["captions"][rows].to(device), batch["lengths"][rows].to(device)
    calls = {}
    for name, overrides in variants.items():
        generator = copy.deepcopy(module.generator_ema)
        if CHANNELS_LAST in overrides:
            generator.to(memory_format=torch.channels_last)
        if COMPILE in overrides:
            generator.compile()
        vocab = Vocabulary.from_list(module.vocab)
        pipe = AttnGANPipeline(module.text_encoder, generator, vocab, int(cfg.data.max_words), device=device)
        noise = torch.randn(batch_size, pipe.z_dim, device=device)

        def call(pipe: Any = pipe, noise: torch.Tensor = noise, bf16: bool = BF16 in overrides) -> Any:
            with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                return pipe.generate(captions, lengths, noise)

        calls[name] = call
    seconds = time_calls(calls, rounds, steps)
    by_ratio = ratios(seconds, next(iter(variants)))
    return [
        {
            "variant": n,
            "overrides": variants[n],
            "batch_size": batch_size,
            "images_per_s": round(batch_size / statistics.median(s), 2),
            **by_ratio[n],
        }
        for n, s in seconds.items()
    ]


def compare_loading(
    workdir: Path, overrides: list[str], variants: dict[str, list[str]], rounds: int, steps: int
) -> list[dict[str, Any]]:
    """Images/s of the training DataLoader per worker count (persistent workers; the warm-up starts them)."""

    def endless(loader: Any) -> Any:
        while True:
            yield from loader

    calls, batch_size = {}, 0
    for name, extra in variants.items():
        datamodule = datamodule_of(compose(workdir, [*overrides, *extra, "data.persistent_workers=true"]))
        batches, batch_size = endless(datamodule.train_dataloader()), int(datamodule.batch_size)
        calls[name] = lambda batches=batches: [next(batches) for _ in range(steps)]
    seconds = time_calls(calls, rounds)
    by_ratio = ratios(seconds, next(iter(variants)))
    return [
        {
            "variant": n,
            "overrides": variants[n],
            "batch_size": batch_size,
            "images_per_s": round(steps * batch_size / statistics.median(s), 1),
            **by_ratio[n],
        }
        for n, s in seconds.items()
    ]


def measure(name: str, args: argparse.Namespace, device: str, workdir: Path) -> list[dict[str, Any]]:
    """The records of one config: its results, skipped variants and loss parity."""
    kind, overrides, damsm = CONFIGS[name]
    if args.quick:
        overrides, damsm = [*overrides, *QUICK], damsm and [*damsm, *QUICK]
    variants, skipped = variants_of(name, args, device)
    rounds, warmup, steps = counts(name, args, device)
    if name.startswith("cub"):
        build_cub_tree(workdir / "birds", num_train=20 * (warmup + steps + 1))
    if damsm is not None:
        overrides = [
            *overrides,
            f"model.damsm_checkpoint={damsm_checkpoint(workdir, damsm)}",
            "model.sample_every_n_epochs=0",
        ]
    records: list[dict[str, Any]] = [
        {"type": "skipped", "variant": k, "reason": v} for k, v in skipped.items()
    ]
    if not variants:
        return records
    if kind == "step":
        results, losses = compare_steps(workdir, overrides, variants, rounds, warmup, steps)
        records += results + loss_parity(losses, next(iter(variants)))
    elif kind == "generate":
        records += compare_generation(compose(workdir, overrides), variants, rounds, steps, device)
    else:
        records += compare_loading(workdir, overrides, variants, rounds, steps)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shapes only, no compile, few steps, 1 thread")
    parser.add_argument(
        "--only", default="", help=f"comma-separated configs (default: all of {', '.join(CONFIGS)})"
    )
    parser.add_argument(
        "--variants", default="", help=f"comma-separated variants (default: all of {', '.join(VARIANTS)})"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="interleaved rounds (default: 3; CUB on a CPU 1)"
    )
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps, also the loss-parity steps")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per variant and round")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (--quick: 1)")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="data and checkpoints (default: temporary)"
    )
    args = parser.parse_args(argv)
    args.variants = {v for v in args.variants.split(",") if v}
    only = [c for c in args.only.split(",") if c] or [
        c for c in CONFIGS if not (args.quick and c.startswith("cub"))
    ]
    unknown = set(only) - set(CONFIGS)
    if unknown:
        raise SystemExit(f"--only: unknown config(s) {sorted(unknown)}; known: {', '.join(CONFIGS)}")
    if args.threads or args.quick:  # a shared CPU: one intra-op thread each (docs/performance.md)
        torch.set_num_threads(args.threads or 1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for logger in ("lightning", "lightning.pytorch"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    emit(machine(device))
    started, before = time.perf_counter(), cpu_times()
    with workspace(args.workdir) as workdir:
        for name in only:
            config_start, config_before = time.perf_counter(), cpu_times()
            records = measure(name, args, device, workdir)
            common = {
                "wall_s": round(time.perf_counter() - config_start, 1),
                "steal_fraction": steal_fraction(config_before),
            }
            for record in records:
                emit({"type": "result", "config": name, **record, **common})
    end = {
        "type": "environment_end",
        "cpu_model": cpu_model(),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    emit({**end, "steal_fraction": steal_fraction(before)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
