"""Interleaved A/B timing of training-step variants in one process: ratios, not absolute seconds.

Usage::

    python benchmarks/ab_step.py --preset cub_attngan2 --batch-size 4 --rounds 3 \\
        old=model.adam_implementation=for_loop new=model.adam_implementation=fused

Every variant (``name=override,override,...``; the first is the baseline) gets its own real module
(:func:`benchmarks.stepping.prepare_step`). Each round runs ``--steps`` training steps of every variant under
``trainer.fit`` (odd rounds in reverse order, so a drifting shared machine weighs on all alike), timed from
batch start to batch end; the first round also runs ``--warmup`` untimed steps per variant. The result is the
median over rounds of each round's ratio ``baseline time / variant time`` (> 1: the variant is faster), for the
wall time and for the process CPU time (the robust one on an oversubscribed machine), with the steal time of ``/proc/stat`` over the run. Prints JSON lines and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from lightning.pytorch import Callback

from benchmarks.machine import CpuTimes, cpu_model, steal_fraction
from benchmarks.stepping import PreparedStep, prepare_step


class BatchTimes(Callback):
    """Wall and process-CPU seconds from every training batch's start to its end, after ``skip`` batches.

    On a shared, oversubscribed CPU the wall time of a step depends on what else runs; the CPU time the process
    itself spent (``time.process_time``) much less so, which is what a ratio needs there.
    """

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self._start = self._cpu_start = 0.0

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx >= self.skip:
            self.times.append(time.perf_counter() - self._start)
            self.cpu_times.append(time.process_time() - self._cpu_start)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``name=key=value,key=value`` -> ``(name, [key=value, ...])``; ``name=`` has no overrides."""
    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise ValueError(
            f"a variant is name=override,override,... (e.g. old=model.adam_implementation=for_loop), got {text!r}"
        )
    return name, [o for o in rest.split(",") if o]


def ab_rounds(
    steps: dict[str, PreparedStep], rounds: int, per_round: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Median wall and CPU step seconds of every variant in every round (interleaved)."""
    names = list(steps)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    cpu_seconds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            skip = warmup if r == 0 else 0
            timer = BatchTimes(skip)
            steps[name].fit(skip + per_round, [timer])
            seconds[name].append(statistics.median(timer.times))
            cpu_seconds[name].append(statistics.median(timer.cpu_times))
            # each measurement as it comes, so a run killed later (memory, time) keeps what it measured
            print(
                json.dumps(
                    {
                        "type": "round",
                        "round": r,
                        "variant": name,
                        "step_s": timer.times,
                        "step_cpu_s": timer.cpu_times,
                    }
                ),
                flush=True,
            )
    return seconds, cpu_seconds


def _ratios(times: dict[str, list[float]], name: str, baseline: str) -> list[float]:
    return [b / t for b, t in zip(times[baseline], times[name], strict=True)]


def summarise(seconds: dict[str, list[float]], cpu_seconds: dict[str, list[float]]) -> list[dict[str, Any]]:
    """One record per variant: median wall and CPU seconds, and the medians of the per-round ratios against the
    first variant (``speedup_vs_*``: > 1 is faster; ``cpu_speedup_vs_*`` from the process CPU time)."""
    baseline = next(iter(seconds))
    records = []
    for name, times in seconds.items():
        ratios, cpu_ratios = _ratios(seconds, name, baseline), _ratios(cpu_seconds, name, baseline)
        records.append(
            {
                "type": "ab",
                "variant": name,
                "median_step_s": round(statistics.median(times), 3),
                "median_step_cpu_s": round(statistics.median(cpu_seconds[name]), 3),
                "round_s": [round(t, 3) for t in times],
                "speedup_vs_" + baseline: round(statistics.median(ratios), 3),
                "cpu_speedup_vs_" + baseline: round(statistics.median(cpu_ratios), 3),
                "ratio_rounds": [round(x, 3) for x in ratios],
                "cpu_ratio_rounds": [round(x, 3) for x in cpu_ratios],
            }
        )
    return records


def markdown(records: list[dict[str, Any]], baseline: str) -> str:
    """The Markdown table of :func:`summarise`'s records."""
    lines = [
        f"| variant | step s (wall) | step s (CPU) | speed-up vs {baseline}, wall | CPU | CPU ratio per round |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        rounds = ", ".join(f"{x:.2f}" for x in r["cpu_ratio_rounds"])
        lines.append(
            f"| {r['variant']} | {r['median_step_s']:.2f} | {r['median_step_cpu_s']:.2f} | "
            f"{r['speedup_vs_' + baseline]:.2f}× | {r['cpu_speedup_vs_' + baseline]:.2f}× | {rounds} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="interleaved A/B of training-step variants (CPU, one process)"
    )
    parser.add_argument("--preset", default="cub_attngan2", choices=["cub_attngan2", "shapes_attngan"])
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1, help="timed steps per variant and round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per variant in the first round")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("variants", nargs="+", help="name=override,override,... (the first is the baseline)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="attngan-ab-"))
    variants = dict(parse_variant(v) for v in args.variants)
    before = CpuTimes.read()
    steps = {name: prepare_step(args.preset, workdir, args.batch_size, o) for name, o in variants.items()}
    seconds, cpu_seconds = ab_rounds(steps, args.rounds, args.steps, args.warmup)
    header = {
        "type": "environment",
        "preset": args.preset,
        "batch_size": int(next(iter(steps.values())).batches[0]["captions"].shape[0]),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "variants": variants,
        "steal_fraction": steal_fraction(before, CpuTimes.read()),
    }
    records = summarise(seconds, cpu_seconds)
    for record in [header, *records]:
        print(json.dumps(record))
    print(markdown(records, next(iter(variants))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
