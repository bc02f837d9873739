"""What every verdict shares: the measured numbers as text, "a exceeds b beyond the noise", and the quality floors.

A claim needs models that learned: each study states a floor (``floor:`` in ``conf/study/<name>.yaml``: one-object
oracle accuracies and R-precision, e.g. colour >= 0.9 and shape >= 0.7), and a model below it gets :data:`UNDER`
with its numbers, never holds or does not hold (:func:`floored`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "FLOOR_METRICS",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT",
    "ONE_OBJECT",
    "UNDER",
    "best_epoch",
    "by_key",
    "check_floor",
    "floored",
    "is_number",
    "judge",
    "mean_quality",
    "mean_std",
    "noise",
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
        values = {
            name: accuracies.get(key, accuracies.get(_ALL_OBJECTS.get(name, key)))
            for name, key in FLOOR_METRICS.items()
        }
    else:
        keys = {"colour": "colour", "side": "position", "shape": "shape", "size": "size"}
        values = {name: accuracies.get(key) for name, key in keys.items()}
        values = {k: v.get("value") if isinstance(v, Mapping) else v for k, v in values.items()}
    return {k: float(v) for k, v in values.items() if is_number(v)}


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


def number(value: float) -> str:
    return f"{float(value):g}"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation of the numbers among ``values`` (NaN where undefined)."""
    values = [v for v in values if is_number(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def mean_quality(evaluations: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The floor metrics (one-object oracle and R-precision) of ``evaluations`` averaged (over seeds)."""
    means = {
        k: mean_std([quality_of(e).get(k) for e in evaluations])[0] for k in (*ONE_OBJECT, "r_precision")
    }
    return {k: v for k, v in means.items() if is_number(v)}


def noise(errors: Sequence[float] = (), spreads: Sequence[float] = ()) -> float:
    """The margin a difference must exceed: two standard errors of it (``errors``: those of its terms; 0 when
    one is not measured) or the largest measured spread (between seeds, over folds), whichever is larger."""
    two_se = 2 * math.sqrt(sum(e * e for e in errors)) if all(map(is_number, errors)) else 0.0
    return max([two_se, *(s for s in spreads if is_number(s))])


def judge(a: float, b: float, margin: float) -> str:
    """The claim "a > b" judged against the noise: holds, does not hold, or inconclusive (within the noise)."""
    if is_number(a) and is_number(b) and abs(a - b) > margin:
        return HOLDS if a > b else NOT
    return INCONCLUSIVE


def best_epoch(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The evaluation of ``run`` with the highest R-precision (paper Table 2 reports each model's best)."""
    scored = [e for e in run.get("evaluations", []) if is_number(e.get("r_precision"))]
    return max(scored, key=lambda e: e["r_precision"]) if scored else None


_Key = TypeVar("_Key", bound=Hashable)


def by_key(
    runs: Sequence[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], _Key]
) -> dict[_Key, list[Mapping[str, Any]]]:
    """``runs`` grouped by ``key(run)`` (the seeds of one model), in first-seen order."""
    groups: dict[_Key, list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def seeds_text(*rows: Mapping[str, Any]) -> str:
    """How many seeds each compared row has, and their spread when measured: ``"2 seeds, spread 1.2 / 1 seed"``."""
    return " / ".join(
        f"{row['seeds']} seeds, spread {pct(row['seed_std'])}" if row["seeds"] > 1 else "1 seed"
        for row in rows
    )
