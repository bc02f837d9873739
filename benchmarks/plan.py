"""The plan of a run: one :class:`~benchmarks.cases.Case` per (benchmark, variant), in interleaved rounds.

Every variant left out is a ``skipped`` record with the reason, so a result table shows what was not measured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.cases import TRAIN_VARIANTS, Benchmark, Case


@dataclass
class Plan:
    """The measurements of a run, the variants left out, and the (config, variant) order of the results."""

    cases: list[Case] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)


def plan(
    benches: list[Benchmark],
    *,
    device: str,
    workdir: Path,
    variants: Collection[str] = (),
    damsm: dict[str, str] | None = None,
    threads: int | None = None,
    warmup: int | None = None,
    steps: int | None = None,
    repeats: int | None = None,
) -> Plan:
    """One :class:`Case` per (benchmark, variant); ``variants`` (``--variants``) keeps only those named.

    A variant skipped by default runs when ``variants`` names it; a benchmark's ``skip_reason`` skips all.
    ``damsm`` maps a benchmark name to its DAMSM checkpoint; ``warmup``/``steps``/``repeats`` override the
    benchmark's own. FLOPs are counted on every variant that is not compiled (FlopCounterMode needs eager code).
    """
    result = Plan()
    for bench in benches:
        # a skipped-by-default name the benchmark does not offer (compile under --quick) is still reported
        extra = [n for n in bench.skipped_variants if n not in bench.variants]
        for name in [*bench.variants, *extra]:
            if variants and name not in variants:
                continue
            result.order.append((bench.name, name))
            reason = bench.skip_reason
            if reason is None and (name not in variants or name not in bench.variants):
                reason = bench.skipped_variants.get(name)
            if reason is not None:
                result.skipped.append(
                    {
                        "config": bench.name,
                        "bench": bench.kind,
                        "variant": name,
                        "overrides": bench.variants[name].overrides if name in bench.variants else [],
                        "status": "skipped",
                        "reason": reason,
                    }
                )
                continue
            variant = bench.variants[name]
            result.cases.append(
                Case(
                    config=bench.name,
                    bench=bench.kind,
                    variant=variant,
                    overrides=list(bench.overrides),
                    device=device,
                    workdir=str(workdir),
                    damsm=(damsm or {}).get(bench.name),
                    threads=threads,
                    batch_size=bench.batch_size,
                    warmup=bench.warmup if warmup is None else warmup,
                    steps=bench.steps if steps is None else steps,
                    repeats=bench.repeats if repeats is None else repeats,
                    count_flops=bench.kind != "data" and not variant.compile,
                )
            )
    return result


def rounds(cases: list[Case]) -> list[list[Case]]:
    """The cases of every round, interleaved: each round runs every variant once, odd rounds in reverse order
    (a slow drift of the machine then weighs on every variant alike)."""
    count = max((c.repeats for c in cases), default=0)
    out = []
    for repeat in range(count):
        ordered = cases if repeat % 2 == 0 else cases[::-1]
        out.append([dataclasses.replace(c, repeat=repeat) for c in ordered if repeat < c.repeats])
    return out


def parity_cases(
    benches: list[Benchmark],
    *,
    quick: bool,
    device: str,
    workdir: Path,
    steps: int,
    damsm: dict[str, str],
    threads: int | None = None,
) -> list[Case]:
    """Loss-trajectory cases: fp32 eager and the other precisions over the same first ``steps`` steps.

    Only training-step benchmarks; on a CPU only ``shapes_attngan`` (CUB-size steps are too slow for it).
    """
    names = ["fp32_eager", "combined_eager"] if quick else ["fp32_eager", "bf16", "combined"]
    out = []
    for bench in benches:
        if steps <= 0 or bench.kind != "train_step" or bench.skip_reason:
            continue
        if bench.name != "shapes_attngan" and device != "cuda":
            continue
        for name in names:
            out.append(
                Case(
                    config=bench.name,
                    bench="train_step",
                    variant=TRAIN_VARIANTS[name],
                    overrides=list(bench.overrides),
                    device=device,
                    workdir=str(workdir),
                    damsm=damsm.get(bench.name),
                    threads=threads,
                    warmup=0,
                    steps=steps,
                    distinct_batches=steps,
                    log_every=1,
                    record_losses=True,
                )
            )
    return out
