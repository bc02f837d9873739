"""From measurements to results: medians over rounds, ratios against the baseline, utilisation, parity, table.

Every record is one JSON object; :class:`Emitter` prints each on its own line and appends it to the results
file, so stdout and ``benchmarks/results/<time>.jsonl`` hold the same lines.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any, TextIO

from benchmarks.cases import BASELINES, BF16

# fields copied from the first ok measurement / taken as the median over the ok measurements
_FIRST = ("batch_size", "image_size", "workers", "memory_kind", "per_image_ms", "text_cache")
_MEDIAN = ("steps_per_s", "images_per_s", "peak_memory_mb", "step_s_median", "first_step_s", "steal_fraction")


class Emitter:
    """Writes records as JSON lines to ``stream`` (stdout) and to ``path`` (emptied first)."""

    def __init__(self, path: Path, stream: TextIO | None = None) -> None:
        self.path = path
        self.stream = stream or sys.stdout
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def __call__(self, record: dict[str, Any]) -> None:
        line = json.dumps(record)
        print(line, file=self.stream, flush=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a results file (``.jsonl``)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ratio_key(bench: str) -> str:
    """The name of a result's ratio field: against fp32 eager, or for data loading against 0 workers."""
    return "ratio_vs_0_workers" if bench == "data" else "ratio_vs_fp32_eager"


def paired_ratios(records: list[dict[str, Any]], config: str, variant: str, baseline: str) -> list[float]:
    """steps/s of ``variant`` over ``baseline`` in every round both were measured ok (round by round)."""

    def by_round(name: str) -> dict[int, float]:
        return {
            r.get("repeat", 0): r["steps_per_s"]
            for r in records
            if r["config"] == config
            and r["variant"] == name
            and r.get("status") == "ok"
            and r.get("steps_per_s")
        }

    ours, base = by_round(variant), by_round(baseline)
    return [ours[k] / base[k] for k in sorted(ours) if k in base]


def peak_for(env: dict[str, Any], precision: str, override: float | None = None) -> tuple[float | None, str]:
    """The peak TFLOP/s a result is judged against, and where it comes from.

    ``--peak-tflops`` first; else the peak measured in this run: on a GPU the one of the variant's math (bf16
    variants: the bf16 matmul; fp32: the fp32 matmul as the run computes it, TF32 if enabled); on a CPU the
    fp32 matmul for every variant (the machine's limit).
    """
    if override:
        return override, "--peak-tflops"
    peaks = env.get("peak_tflops") or {}
    basis = precision if env.get("device") == "cuda" and precision in peaks else "fp32"
    if basis not in peaks:
        return None, "no measured peak in the environment record"
    return peaks[basis], f"measured {basis} matmul"


def aggregate(
    records: list[dict[str, Any]],
    env: dict[str, Any],
    peak_override: float | None = None,
    order: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """One result per (config, variant): medians over rounds, ratio against the baseline, utilisation.

    Args:
        records: measurement records and ``skipped`` records (``config``, ``variant``, ``status`` each).
        env: the environment record (``device``, ``device_name``, ``threads``, ``peak_tflops``).
        peak_override: ``--peak-tflops``.
        order: the (config, variant) order of the results (default: first seen).

    The ratio is the median of the round-by-round ratios where the variant and the baseline were measured in
    the same rounds (paired, so a slow round weighs on both), else the ratio of the medians. FLOPs per step are
    the variant's own count, or where it has none (compiled variants) the baseline's of the same config.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in order or []}
    for record in records:
        groups.setdefault((record["config"], record["variant"]), []).append(record)
    flops: dict[tuple[str, str], int] = {}
    for r in records:
        if r.get("flops_per_step") and r.get("status") == "ok":
            flops.setdefault((r["config"], r["variant"]), r["flops_per_step"])
    results = []
    for (config, variant), group in groups.items():
        if not group:
            continue
        ok = [r for r in group if r.get("status") == "ok"]
        first = group[0]
        result: dict[str, Any] = {
            "type": "result",
            "config": config,
            "bench": first["bench"],
            "variant": variant,
            "overrides": first.get("overrides", []),
            "device": env["device"],
            "device_name": env["device_name"],
            "threads": env["threads"],
        }
        if not ok:
            result.update({"status": first["status"], "reason": first.get("reason")})
            results.append(result)
            continue
        result.update({"status": "ok", "repeats": len(ok)})
        result.update({key: ok[0][key] for key in _FIRST if key in ok[0]})
        for key in _MEDIAN:
            values = [r[key] for r in ok if r.get(key) is not None]
            if values:
                result[key] = round(statistics.median(values), 4)
        result["steps_per_s_repeats"] = [r.get("steps_per_s") for r in ok]
        counted = flops.get((config, variant)) or flops.get((config, "fp32_eager"))
        if counted and result.get("steps_per_s"):
            result["flops_per_step"] = counted
            result["flops_counted_on"] = variant if (config, variant) in flops else "fp32_eager"
            achieved = counted * result["steps_per_s"] / 1e12
            result["achieved_tflops"] = round(achieved, 5)
            precision = "bf16" if BF16 in result["overrides"] else "fp32"
            peak, basis = peak_for(env, precision, peak_override)
            result["peak_tflops"], result["peak_basis"] = peak, basis
            result["utilisation"] = round(achieved / peak, 5) if peak else None
            if env["device"] == "cuda":  # model FLOP utilisation, the name it has on accelerators
                result["mfu"] = result["utilisation"]
        results.append(result)
    add_ratios(results, records)
    return results


def add_ratios(results: list[dict[str, Any]], records: list[dict[str, Any]]) -> None:
    """Set every ok result's ratio against the baseline variant (``fp32_eager``; data: ``workers_0``)."""
    base = {r["config"]: r for r in results if r.get("steps_per_s") and r["variant"] in BASELINES}
    for result in results:
        baseline = base.get(result["config"])
        if not result.get("steps_per_s") or baseline is None:
            continue
        rounds = paired_ratios(records, result["config"], result["variant"], baseline["variant"])
        ratio = statistics.median(rounds) if rounds else result["steps_per_s"] / baseline["steps_per_s"]
        result[ratio_key(result["bench"])] = round(ratio, 3)
        result["baseline"] = baseline["variant"]
        result["ratio_rounds"] = [round(r, 3) for r in rounds]


def parity(records: list[dict[str, Any]], rtol: float, atol: float) -> list[dict[str, Any]]:
    """Loss trajectories of every variant against fp32 eager over the same first steps."""
    by_config: dict[str, dict[str, list[dict[str, float]]]] = {}
    for record in records:
        if record.get("losses"):
            by_config.setdefault(record["config"], {})[record["variant"]] = record["losses"]
    out = []
    for config, runs in by_config.items():
        reference = runs.get("fp32_eager")
        if not reference:
            continue
        for variant, losses in runs.items():
            if variant == "fp32_eager":
                continue
            steps = min(len(losses), len(reference))
            terms: dict[str, Any] = {}
            ok = True
            for term in reference[0]:
                ref = [reference[i][term] for i in range(steps)]
                got = [losses[i].get(term, math.nan) for i in range(steps)]
                diffs = [abs(a - b) for a, b in zip(got, ref)]
                mean_ref, mean_got = statistics.fmean(ref), statistics.fmean(got)
                close = abs(mean_got - mean_ref) <= atol + rtol * abs(mean_ref)
                ok = ok and close and all(math.isfinite(v) for v in got)
                terms[term] = {
                    "mean_fp32": round(mean_ref, 5),
                    "mean_variant": round(mean_got, 5),
                    "max_abs_diff": round(max(diffs), 5),
                    "first_step_abs_diff": round(diffs[0], 6),
                    "means_close": close,
                }
            out.append(
                {
                    "type": "parity",
                    "config": config,
                    "variant": variant,
                    "steps": steps,
                    "rtol": rtol,
                    "atol": atol,
                    "within_tolerance": ok,
                    "terms": terms,
                }
            )
    return out


def _cell(value: Any, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    return f"{value * scale:{spec}}{suffix}" if value else ""


def markdown_table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (one row per config and variant)."""
    lines = [
        "| config | variant | steps/s | images/s | peak memory (MiB) | vs baseline | GFLOP/step | TFLOP/s "
        "| utilisation | steal | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.get("type") != "result":
            continue
        note = ""
        if r.get("status") != "ok":
            note = f"{r.get('status')}: {str(r.get('reason'))[:90]}"
        elif r.get("per_image_ms"):
            note = ", ".join(f"{k} {v} ms" for k, v in r["per_image_ms"].items())
        steal = r.get("steal_fraction")
        cells = [
            r["config"],
            r["variant"],
            _cell(r.get("steps_per_s"), ".3f"),
            _cell(r.get("images_per_s"), ".1f"),
            _cell(r.get("peak_memory_mb"), ".0f"),
            _cell(r.get(ratio_key(r.get("bench", ""))), ".2f", suffix="x"),
            _cell(r.get("flops_per_step"), ".2f", 1e-9),
            _cell(r.get("achieved_tflops"), ".3f"),
            _cell(r.get("utilisation"), ".1f", 100, "%"),
            f"{100 * steal:.1f}%" if steal is not None else "",
            note,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
