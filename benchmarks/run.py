"""Benchmarks of the real training, generation and data paths, every speed option side by side.

Usage::

    python benchmarks/run.py                      # everything (a 2-core CPU: about an hour; a GPU: minutes)
    python benchmarks/run.py --quick              # small sizes, no compile, no CUB-size configs (< 2 min)
    python benchmarks/run.py --only shapes_attngan --variants fp32_eager,bf16,combined --repeats 5
    python benchmarks/run.py --table benchmarks/results/<time>.jsonl   # the Markdown table of a results file

Every record is one JSON line on stdout and in ``benchmarks/results/<time>.jsonl``: first the ``environment``
(machine, CPU model, measured matmul peaks), then one ``measurement`` per case and round, one ``result`` per
configuration and variant (medians, ratio against the baseline of the same run, FLOPs per step, utilisation of
the measured peak), ``parity`` records, and last ``environment_end`` (steal time over the run, the peak measured
again). What is measured is in ``benchmarks/cases.py`` and ``plan.py``; how, in ``measure.py``; see the README.
Full runs start one process per measurement (``--isolate`` / ``--no-isolate`` choose; ``--quick``: in-process).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (python benchmarks/run.py): make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.cases import Benchmark, Case, benchmarks
from benchmarks.machine import CpuTimes, environment, measure_peaks, steal_fraction
from benchmarks.measure import run_case, run_isolated
from benchmarks.plan import parity_cases, plan, rounds
from benchmarks.report import Emitter, aggregate, markdown_table, parity, read_records
from benchmarks.workspace import build_cub_tree, damsm_checkpoint

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="AttnGAN benchmarks: training step, DAMSM step, generation, data loading.",
        epilog="Each line of output is a JSON object; results also go to benchmarks/results/<time>.jsonl.",
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes, no compile, no CUB-size configs")
    add("--device", default="auto", help="cpu, cuda or auto (default)")
    add("--only", default="", help="comma-separated config names (default: all)")
    add("--variants", default="", help="comma-separated variant names (default: all)")
    add("--repeats", type=int, default=None, help="rounds of every measurement (median; default: per config)")
    add("--warmup", type=int, default=None, help="warm-up steps (default: per config)")
    add("--steps", type=int, default=None, help="timed steps (default: per config)")
    add("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's; --quick: 1)")
    add("--parity-steps", type=int, default=None, help="loss parity steps (0: none)")
    add("--rtol", type=float, default=0.05, help="loss parity: relative tolerance")
    add("--atol", type=float, default=0.05, help="loss parity: absolute tolerance")
    add("--peak-tflops", type=float, default=None, help="use this peak for the utilisation, not the measured")
    add("--peak-size", type=int, default=None, help="side of the peak matmul (default: 2048 CPU, 8192 GPU)")
    add("--output", type=Path, default=None, help="results file (.jsonl)")
    add("--workdir", type=Path, default=None, help="data and checkpoints (default: temporary)")
    add("--isolate", action=argparse.BooleanOptionalAction, default=None, help="one process per measurement")
    add("--case-timeout", type=float, default=3600.0, help="seconds per isolated measurement")
    add("--table", type=Path, default=None, help="print the Markdown table of a results file")
    add("--case", default=None, help=argparse.SUPPRESS)  # internal: one isolated measurement
    return parser.parse_args(argv)


def _names(text: str) -> set[str]:
    return {s for s in text.split(",") if s}


def select(args: argparse.Namespace, device: str, workdir: Path) -> list[Benchmark]:
    """The benchmarks of this run (``--only``), an unknown name being an error that lists the known ones."""
    every = benchmarks(args.quick, device, workdir / "birds")
    only = _names(args.only)
    unknown = only - {b.name for b in every}
    if unknown:
        known = ", ".join(b.name for b in every)
        raise SystemExit(f"--only: unknown config(s) {sorted(unknown)}; known: {known}")
    return [b for b in every if not only or b.name in only]


def prepare(benches: list[Benchmark], workdir: Path, quick: bool) -> dict[str, str]:
    """Build what the selected benchmarks need: the synthetic CUB tree, and per benchmark its DAMSM checkpoint."""
    if any(b.name.startswith("cub") and not b.skip_reason for b in benches):
        # full: 10 DataLoader batches of 20; quick: enough for the loader's warm-up and one batch
        build_cub_tree(workdir / "birds", num_train=48 if quick else 200, num_test=4 if quick else 20)
    return {
        b.name: str(damsm_checkpoint(workdir, b.damsm_overrides))
        for b in benches
        if b.kind in ("train_step", "generate") and b.damsm_overrides is not None and not b.skip_reason
    }


def measure(cases: list[Case], isolate: bool, timeout: float, emit: Emitter) -> list[dict[str, Any]]:
    """Every case, round after round (interleaved), each measurement emitted as it comes."""
    records = []
    for round_cases in rounds(cases):
        for case in round_cases:
            record = run_isolated(case, timeout) if isolate else run_case(case)
            record = {"type": "measurement", **record, "overrides": case.variant_overrides}
            records.append(record)
            emit(record)
    return records


def measure_parity(
    args: argparse.Namespace,
    benches: list[Benchmark],
    device: str,
    threads: int | None,
    isolate: bool,
    workdir: Path,
    damsm: dict[str, str],
    emit: Emitter,
) -> list[dict[str, Any]]:
    """Loss trajectories of fp32 eager and the other precisions over the same first steps (failures emitted)."""
    steps = args.parity_steps
    if steps is None:
        steps = 3 if args.quick else (50 if device == "cuda" else 12)
    records = []
    for case in parity_cases(
        benches, quick=args.quick, device=device, workdir=workdir, steps=steps, damsm=damsm, threads=threads
    ):
        record = run_isolated(case, args.case_timeout) if isolate else run_case(case)
        if record["status"] != "ok":
            emit({"type": "parity", **record})
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.case:  # a child process: one measurement, one JSON line
        print(json.dumps(run_case(Case.from_json(args.case))), flush=True)
        return 0
    if args.table:
        print(markdown_table(read_records(args.table)))
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(args)


def run(args: argparse.Namespace) -> int:
    """A whole benchmark run (see the module docstring for what it writes)."""
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    threads = args.threads
    if threads is None and args.quick and device == "cpu":
        threads = 1  # quick runs share the machine (the test suite): one intra-op thread, no oversubscription
    if threads:
        torch.set_num_threads(threads)
    isolate = (not args.quick) if args.isolate is None else args.isolate
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="attngan-bench-"))
    try:
        benches = select(args, device, workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        return _run(args, benches, device, threads, isolate, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    benches: list[Benchmark],
    device: str,
    threads: int | None,
    isolate: bool,
    workdir: Path,
) -> int:
    """The run once its benchmarks are chosen: header, rounds of cases, parity, results, the closing record."""
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}"
    emit = Emitter(args.output or RESULTS_DIR / f"{stamp}.jsonl")
    for name in ("lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)

    started, cpu_start = time.perf_counter(), CpuTimes.read()
    env = environment(device, threads, args.quick, args.peak_size)
    emit(env)
    damsm = prepare(benches, workdir, args.quick)
    wanted = _names(args.variants)
    the_plan = plan(
        benches,
        device=device,
        workdir=workdir,
        variants=wanted,
        damsm=damsm,
        threads=threads,
        warmup=args.warmup,
        steps=args.steps,
        repeats=args.repeats,
    )
    records = [*the_plan.skipped, *measure(the_plan.cases, isolate, args.case_timeout, emit)]

    parity_records = measure_parity(args, benches, device, threads, isolate, workdir, damsm, emit)

    # the peak again at the end: utilisation is against the better of the two (the machine's limit today)
    end_peaks = measure_peaks(device, args.peak_size)
    best = {k: max(v, end_peaks.get(k, 0.0)) for k, v in env["peak_tflops"].items()}
    results = aggregate(records, {**env, "peak_tflops": best}, args.peak_tflops, the_plan.order)
    for record in [*results, *parity(parity_records, args.rtol, args.atol)]:
        emit(record)
    emit(
        {
            "type": "environment_end",
            "finished": datetime.now().isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - started, 1),
            "steal_fraction": steal_fraction(cpu_start, CpuTimes.read()),
            "peak_tflops_end": end_peaks,
            "peak_tflops_used": best,
        }
    )
    print(f"\nresults: {emit.path}\n\n{markdown_table(results)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
