"""What every verdict shares: the measured numbers as text, "a exceeds b beyond the noise", and the quality floors.

A claim needs models that learned: each study states a floor (``floor:`` in ``conf/study/<name>.yaml``: one-object
oracle accuracies and R-precision, e.g. colour >= 0.9 and shape >= 0.7), and a model below it gets :data:`UNDER`
with its numbers, never holds or does not hold (:func:`floored`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FLOOR_METRICS",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT",
    "ONE_OBJECT",
    "UNDER",
    "best_epoch",
    "check_floor",
    "floored",
    "is_number",
    "judge",
    "mean_std",
    "number",
    "pct",
    "quality_of",
    "seeds_text",
    "shortfalls",
]

HOLDS, NOT, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
UNDER = "under-trained (no verdict)"

# the names a floor may use -> the evaluation callback's key: the oracle on one-object test captions (as the
# make train summary reports them), R-precision
FLOOR_METRICS = {
    "colour": "shapes_single_object_colour_acc",
    "side": "shapes_single_object_position_acc",
    "shape": "shapes_single_object_shape_acc",
    "size": "shapes_single_object_size_acc",
    "r_precision": "r_precision",
}
ONE_OBJECT = ("colour", "side", "shape", "size")
# records written before the callback split one- from two-object images: every object counted
_ALL_OBJECTS = {
    "colour": "shapes_colour_acc",
    "side": "shapes_position_acc",
    "shape": "shapes_shape_acc",
    "size": "shapes_size_acc",
}


def check_floor(floor: Mapping[str, Any], where: str) -> dict[str, float]:
    """``floor`` as ``{metric: minimum}``, refused in one line when a name or a value is wrong.

    Raises:
        ConfigError: a metric that is not one of :data:`FLOOR_METRICS`, or a minimum outside [0, 1].
    """
    from attngan.errors import ConfigError

    checked = {}
    for name, minimum in dict(floor).items():
        if name not in FLOOR_METRICS:
            raise ConfigError(
                f"{where}.{name} is not a metric a floor can use; use {', '.join(FLOOR_METRICS)} (conf/study/)"
            )
        if not is_number(minimum) or not 0 <= float(minimum) <= 1:
            raise ConfigError(f"{where}.{name}={minimum!r} is refused: a floor is a share between 0 and 1")
        checked[str(name)] = float(minimum)
    return checked


def quality_of(accuracies: Mapping[str, Any]) -> dict[str, float]:
    """A model's floor metrics from an evaluation record (``shapes_colour_acc``, ...) or from the oracle's
    :func:`attngan.reproduce.probes.stage_accuracies` (``{"colour": {"value": ...}, "position": ...}``)."""
    if any(key in accuracies for key in (*FLOOR_METRICS.values(), *_ALL_OBJECTS.values())):
        found = {}
        for name, key in FLOOR_METRICS.items():
            value = accuracies.get(key, accuracies.get(_ALL_OBJECTS.get(name, key)))
            if is_number(value):
                found[name] = float(value)
        return found
    aliases = {"colour": "colour", "side": "position", "shape": "shape", "size": "size"}
    out = {}
    for name, key in aliases.items():
        entry = accuracies.get(key)
        value = entry.get("value") if isinstance(entry, Mapping) else entry
        if is_number(value):
            out[name] = float(value)
    return out


def shortfalls(quality: Mapping[str, float], floor: Mapping[str, float]) -> list[str]:
    """The floor's metrics ``quality`` misses (not measured counts as missed): ``["shape 46.4 % < 70 %"]``."""
    missed = []
    for name, minimum in floor.items():
        value = quality.get(name)
        if not is_number(value):
            missed.append(f"{name} not measured (floor {100 * minimum:g} %)")
        elif value < minimum:
            missed.append(f"{name} {pct(value)} % < {100 * minimum:g} %")
    return missed


def floored(
    verdict: dict[str, str], models: Mapping[str, Mapping[str, float]], floor: Mapping[str, float]
) -> dict[str, str]:
    """``verdict`` unless one of ``models`` (label -> its floor metrics) is below ``floor``: then :data:`UNDER`,
    naming each shortfall, the measured numbers kept."""
    missed = [f"{label}: {', '.join(m)}" for label, q in models.items() if (m := shortfalls(q, floor))]
    if not missed:
        return verdict
    return {
        **verdict,
        "verdict": UNDER,
        "why": f"below the study's floor ({'; '.join(missed)}); measured: {verdict['why']}",
    }


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def pct(value: Any, std: Any = None) -> str:
    if not is_number(value):
        return "–"
    return f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if is_number(std) else "")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if is_number(v)]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else math.nan
    return mean, std


def _compare(a: float, b: float, margin: float) -> int:
    """1 when a > b + margin, -1 when a < b - margin, 0 otherwise (within the noise)."""
    if not (is_number(a) and is_number(b)):
        return 0
    return 1 if a > b + margin else -1 if a < b - margin else 0


def judge(a: float, b: float, margin: float) -> str:
    """The claim "a > b" judged against the noise: holds, does not hold, or inconclusive (within the noise)."""
    c = _compare(a, b, margin)
    return HOLDS if c > 0 else NOT if c < 0 else INCONCLUSIVE


def best_epoch(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The evaluation of ``run`` with the highest R-precision (paper Table 2 reports each model's best)."""
    scored = [e for e in run.get("evaluations", []) if is_number(e.get("r_precision"))]
    return max(scored, key=lambda e: e["r_precision"]) if scored else None


def seeds_text(*rows: Mapping[str, Any]) -> str:
    """How many seeds each compared row has, and their spread when measured: ``"2 seeds, spread 1.2 / 1 seed"``."""
    return " / ".join(
        f"{row['seeds']} seeds, spread {pct(row['seed_std'])}" if row["seeds"] > 1 else "1 seed"
        for row in rows
    )


def number(value: float) -> str:
    return f"{float(value):g}"
