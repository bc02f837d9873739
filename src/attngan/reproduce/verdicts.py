"""The verdict of every claim, from a study's recorded results alone: *holds*, *does not hold* or *inconclusive*.

A difference counts only when it exceeds the noise: the larger of the R-precision fold standard deviations and
the spread between seeds (when there are several), or two binomial standard errors of the oracle's shares. The
rules, claim by claim, are written in each function's ``why`` text (shown in the report) and in
docs/reproduce.md. A claim the shapes data contradicts is reported as measured.

Before any of that, a claim needs models that learned: each study states a quality floor (``floor:`` in
``conf/study/<name>.yaml``, e.g. one-object colour >= 0.9 and shape >= 0.7), and a model below it gets
:data:`UNDER` with its numbers, never holds or does not hold.
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
    "UNDER",
    "best_epoch",
    "check_floor",
    "lambda_rows",
    "number",
    "pct",
    "quality_of",
    "recipe_rows",
    "shortfalls",
    "verdicts",
]

HOLDS, NOT, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
UNDER = "under-trained (no verdict)"

# the names a floor may use -> the evaluation callback's key (one-object oracle accuracies, R-precision)
FLOOR_METRICS = {
    "colour": "shapes_colour_acc",
    "side": "shapes_position_acc",
    "shape": "shapes_shape_acc",
    "size": "shapes_size_acc",
    "r_precision": "r_precision",
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
        if not _ok(minimum) or not 0 <= float(minimum) <= 1:
            raise ConfigError(f"{where}.{name}={minimum!r} is refused: a floor is a share between 0 and 1")
        checked[str(name)] = float(minimum)
    return checked


def quality_of(accuracies: Mapping[str, Any]) -> dict[str, float]:
    """A model's floor metrics from an evaluation record (``shapes_colour_acc``, ...) or from the oracle's
    :func:`attngan.reproduce.probes.stage_accuracies` (``{"colour": {"value": ...}, "position": ...}``)."""
    if any(key in accuracies for key in FLOOR_METRICS.values()):
        return {name: accuracies[key] for name, key in FLOOR_METRICS.items() if _ok(accuracies.get(key))}
    aliases = {"colour": "colour", "side": "position", "shape": "shape", "size": "size"}
    out = {}
    for name, key in aliases.items():
        entry = accuracies.get(key)
        value = entry.get("value") if isinstance(entry, Mapping) else entry
        if _ok(value):
            out[name] = float(value)
    return out


def shortfalls(quality: Mapping[str, float], floor: Mapping[str, float]) -> list[str]:
    """The floor's metrics ``quality`` misses (not measured counts as missed): ``["shape 46.4 % < 70 %"]``."""
    missed = []
    for name, minimum in floor.items():
        value = quality.get(name)
        if not _ok(value):
            missed.append(f"{name} not measured (floor {100 * minimum:g} %)")
        elif value < minimum:
            missed.append(f"{name} {pct(value)} % < {100 * minimum:g} %")
    return missed


def _floored(
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


def _ok(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def pct(value: Any, std: Any = None) -> str:
    if not _ok(value):
        return "–"
    return f"{100 * value:.1f}" + (f" ± {100 * std:.1f}" if _ok(std) else "")


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if _ok(v)]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else math.nan
    return mean, std


def best_epoch(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The evaluation of ``run`` with the highest R-precision (paper Table 2 reports each model's best)."""
    scored = [e for e in run.get("evaluations", []) if _ok(e.get("r_precision"))]
    return max(scored, key=lambda e: e["r_precision"]) if scored else None


def _spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    def ranks(values: Sequence[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    if len(xs) < 3:
        return math.nan
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else math.nan


def _compare(a: float, b: float, margin: float) -> int:
    """1 when a > b + margin, -1 when a < b - margin, 0 otherwise (within the noise)."""
    if not (_ok(a) and _ok(b)):
        return 0
    return 1 if a > b + margin else -1 if a < b - margin else 0


def _verdict(a: float, b: float, margin: float) -> str:
    """The claim "a > b" judged against the noise: holds, does not hold, or inconclusive (within the noise)."""
    c = _compare(a, b, margin)
    return HOLDS if c > 0 else NOT if c < 0 else INCONCLUSIVE


def lambda_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (model, λ): best-epoch values averaged over seeds, fold std, seed spread."""
    groups: dict[tuple[str, float], list[Mapping[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["info"].get("model", "AttnGAN1"), float(run["info"]["lambda"])), []).append(
            run
        )
    rows = []
    for (model, lam), runs in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        bests = [b for run in runs if (b := best_epoch(run))]
        r_mean, r_seed_std = _mean_std([b["r_precision"] for b in bests])
        fold_std = _mean_std([b.get("r_precision_std") for b in bests])[0]
        rows.append(
            {
                "model": model,
                "lambda": lam,
                "label": runs[0]["label"],
                "seeds": len(runs),
                "epoch": [int(b["epoch"]) + 1 for b in bests],
                "epochs": runs[0].get("epochs"),
                "r": r_mean,
                "fold_std": fold_std,
                "seed_std": r_seed_std,
                "colour": _mean_std([b.get("shapes_colour_acc") for b in bests])[0],
                "side": _mean_std([b.get("shapes_position_acc") for b in bests])[0],
                "shape": _mean_std([b.get("shapes_shape_acc") for b in bests])[0],
                "size": _mean_std([b.get("shapes_size_acc") for b in bests])[0],
                "wall_s": sum(float(run.get("wall_s") or 0) for run in runs),
                # generator steps trained (the last evaluation's), for the measured step rate
                "steps": sum(
                    max((float(e.get("generator_step") or 0) for e in run["evaluations"]), default=0.0)
                    for run in runs
                ),
            }
        )
    return rows


def _noise(*rows: Mapping[str, Any]) -> float:
    values = [v for row in rows for v in (row["fold_std"], row["seed_std"]) if _ok(v)]
    return max(values) if values else 0.0


def _row_quality(row: Mapping[str, Any]) -> dict[str, float]:
    values = {"colour": row["colour"], "side": row["side"], "shape": row["shape"], "size": row.get("size")}
    return {k: v for k, v in {**values, "r_precision": row["r"]}.items() if _ok(v)}


def _lambda_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The floor applies to the model(s) a claim needs to have learned: the best λ for the trend, the lowest
    λ > 0 against λ = 0 (no DAMSM may draw worse: that is the claim), both models of AttnGAN2 ≥ AttnGAN1."""
    floor = results.get("floor") or {}
    rows = lambda_rows(results)
    one = [r for r in rows if r["model"] == "AttnGAN1" and _ok(r["r"])]
    two = [r for r in rows if r["model"] == "AttnGAN2" and _ok(r["r"])]
    out = []
    rho = _spearman([r["lambda"] for r in one], [r["r"] for r in one])
    verdict = INCONCLUSIVE if not _ok(rho) else HOLDS if rho >= 0.8 else NOT if rho <= 0 else INCONCLUSIVE
    trend = {
        "claim": "R-precision rises with λ (AttnGAN1)",
        "verdict": verdict,
        "why": f"Spearman ρ(λ, best R-precision) = {rho:.2f} over {len(one)} λ (holds ≥ 0.8, does not hold ≤ 0)",
    }
    best = {r["label"]: _row_quality(r) for r in sorted(one, key=lambda r: -r["r"])[:1]}
    out.append(_floored(trend, best, floor))
    zero = [r for r in one if r["lambda"] == 0]
    rest = [r for r in one if r["lambda"] > 0]
    compared: dict[str, dict[str, float]] = {}
    if zero and rest:
        lowest = min(rest, key=lambda r: r["r"])
        margin = _noise(zero[0], lowest)
        verdict = _verdict(lowest["r"], zero[0]["r"], margin)
        why = (
            f"no DAMSM {pct(zero[0]['r'])} % against the lowest λ > 0 ({number(lowest['lambda'])}) {pct(lowest['r'])} %; "
            f"noise {pct(margin)} points{_seeds(zero[0], lowest)}"
        )
        compared = {lowest["label"]: _row_quality(lowest)}
    else:
        verdict, why = INCONCLUSIVE, "λ = 0 or λ > 0 was not run"
    out.append(
        _floored(
            {"claim": "without the DAMSM loss R-precision is lowest", "verdict": verdict, "why": why},
            compared,
            floor,
        )
    )
    compared = {}
    if two and one:
        same = [r for r in one if r["lambda"] == two[0]["lambda"]] or [max(one, key=lambda r: r["r"])]
        margin = _noise(two[0], same[0])
        verdict = _verdict(two[0]["r"], same[0]["r"], margin)
        why = (
            f"AttnGAN2 {pct(two[0]['r'])} % against AttnGAN1 {pct(same[0]['r'])} % at λ={number(two[0]['lambda'])}; "
            f"noise {pct(margin)} points{_seeds(two[0], same[0])}"
        )
        compared = {two[0]["label"]: _row_quality(two[0]), same[0]["label"]: _row_quality(same[0])}
    else:
        verdict, why = INCONCLUSIVE, "AttnGAN2 was not run"
    out.append(
        _floored(
            {"claim": "AttnGAN2 ≥ AttnGAN1 (R-precision)", "verdict": verdict, "why": why}, compared, floor
        )
    )
    return out


def _seeds(*rows: Mapping[str, Any]) -> str:
    """How many seeds the compared rows have, and their spread when measured (for the why text)."""
    parts = [
        f"{row['seeds']} seeds, spread {pct(row['seed_std'])}" if row["seeds"] > 1 else "1 seed"
        for row in rows
    ]
    return " (" + " / ".join(parts) + ")"


def _word_swap_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """Per kind, the floor on the checkpoint's one-object accuracy (``floor.<kind>``: the attribute swapped
    must be drawn right before a swap of it can be judged)."""
    floors = results.get("floor") or {}
    model = {"checkpoint": results.get("quality") or {}}
    out = []
    for kind, r in results["kinds"].items():
        if not r.get("pairs"):
            out.append({"claim": f"swapping the {kind} word", "verdict": INCONCLUSIVE, "why": "no pairs"})
            continue
        followed, kept, success = r["followed"], r["kept"], r["success"]
        above = followed["value"] - 2 * followed["se"] > r["chance"]
        verdict = NOT if not above else HOLDS if success["value"] >= 0.5 else INCONCLUSIVE
        claim = {
            "claim": f"swapping the {kind} word changes the {kind} and keeps the rest",
            "verdict": verdict,
            "why": f"followed {pct(followed['value'])} % (chance {pct(r['chance'])} %), others kept "
            f"{pct(kept['value'])} %, both images right {pct(success['value'])} %, {r['pairs']} pairs; holds: "
            "followed > chance + 2 se and both right ≥ 50 %; does not hold: followed within 2 se of chance",
        }
        out.append(_floored(claim, model, floors.get(kind) or {}))
    return out


_COMPOSITION_CHANCE = 1 / 24  # 8 colours x 3 shapes


def _novel_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    seeds = [s for s in results["seeds"] if s.get("heldout") and s.get("seen")]
    if not seeds:
        return [{"claim": "novel compositions", "verdict": INCONCLUSIVE, "why": "no held-out test captions"}]
    held, held_spread = _mean_std([s["heldout"]["composition"]["value"] for s in seeds])
    seen, seen_spread = _mean_std([s["seen"]["composition"]["value"] for s in seeds])
    se = math.sqrt(
        max(s["heldout"]["composition"]["se"] for s in seeds) ** 2
        + max(s["seen"]["composition"]["se"] for s in seeds) ** 2
    )
    margin = max([2 * se, *(v for v in (held_spread, seen_spread) if _ok(v))])
    held_se = max(s["heldout"]["composition"]["se"] for s in seeds)
    if held - 2 * held_se <= _COMPOSITION_CHANCE:
        verdict = NOT
    elif seen - held <= margin:
        verdict = HOLDS
    else:
        verdict = INCONCLUSIVE
    claim = {
        "claim": "held-out colour-shape combinations are drawn as well as seen ones",
        "verdict": verdict,
        "why": f"colour and shape right: held out {pct(held)} %, seen {pct(seen)} % (chance "
        f"{pct(_COMPOSITION_CHANCE)} %), noise {pct(margin)} points; holds: held out within the noise of "
        "seen; does not hold: held out not above chance; between: inconclusive (generalises in part)",
    }
    # the floor is on the seen combinations: a model that cannot draw those says nothing about novel ones
    seen_quality = {f"seed {s['seed']} (seen)": quality_of(s["seen"]) for s in seeds}
    return [_floored(claim, seen_quality, results.get("floor") or {})]


def _attention_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    model = {"checkpoint": results.get("quality") or {}}
    floor = results.get("floor") or {}
    return [_floored(v, model, floor) for v in _attention_claims(results)]


def _attention_claims(results: Mapping[str, Any]) -> list[dict[str, str]]:
    stages = results["stages"]
    out = []
    if stages:
        last = stages[-1]
        uniform = last["uniform"]
        ratios = [
            last["inside"][k]["value"] / uniform
            for k in ("colour", "shape")
            if _ok(last["inside"][k]["value"])
        ]
        ratio = min(ratios) if ratios and _ok(uniform) and uniform > 0 else math.nan
        verdict = (
            INCONCLUSIVE if not _ok(ratio) else HOLDS if ratio >= 2 else NOT if ratio <= 1.2 else INCONCLUSIVE
        )
        out.append(
            {
                "claim": "colour and shape words attend to their object (last attention stage)",
                "verdict": verdict,
                "why": f"inside share / uniform: {ratio:.2f}× for the weaker of colour and shape words "
                "(holds ≥ 2×, does not hold ≤ 1.2×)",
            }
        )
    recovered, repeated = results.get("recovered"), results.get("repeated")
    if not recovered or not recovered.get("n") or not repeated or not repeated.get("n"):
        verdict, why = INCONCLUSIVE, "needs two attention stages (a 3-stage generator) and missed words"
    else:
        diff = recovered["value"] - repeated["value"]
        margin = 2 * math.sqrt(recovered["se"] ** 2 + repeated["se"] ** 2)
        few = recovered["n"] < 20 or repeated["n"] < 20
        verdict = INCONCLUSIVE if few else HOLDS if diff > margin else NOT if diff < -margin else INCONCLUSIVE
        why = (
            f"stage 2 attends {pct(recovered['value'])} % of the {recovered['n']} content words stage 1 gave less "
            f"than a uniform share, and {pct(repeated['value'])} % of the {repeated['n']} it gave more; holds when "
            f"the first exceeds the second by more than 2 se ({pct(margin)} points), does not hold when it is lower "
            "by as much; fewer than 20 words: inconclusive"
        )
    out.append(
        {
            "claim": "the second attention model attends to words the first missed (§4.1)",
            "verdict": verdict,
            "why": why,
        }
    )
    return out


def _refinement_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    stages = results["stages"]
    if len(stages) < 2:
        return [{"claim": "later stages add shape detail", "verdict": INCONCLUSIVE, "why": "one stage only"}]
    first, last = stages[0]["shape"], stages[-1]["shape"]
    margin = (
        2 * math.sqrt(first["se"] ** 2 + last["se"] ** 2) if _ok(first["se"]) and _ok(last["se"]) else 0.0
    )
    claim = {
        "claim": "later stages add shape detail",
        "verdict": _verdict(last["value"], first["value"], margin),
        "why": f"shape right G0 {pct(first['value'])} % → G{len(stages) - 1} {pct(last['value'])} %, noise "
        f"{pct(margin)} points (two standard errors of the difference)",
    }
    quality = results.get("quality") or quality_of(stages[-1])
    return [_floored(claim, {f"G{len(stages) - 1}": quality}, results.get("floor") or {})]


ONE_OBJECT = ("colour", "side", "shape", "size")


def _final(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's last evaluation: the recipe study compares runs at the same generator steps."""
    evaluations = [e for e in run.get("evaluations", []) if _ok(e.get("shapes_colour_acc"))]
    return (
        max(evaluations, key=lambda e: e.get("generator_step") or e.get("epoch") or 0)
        if evaluations
        else None
    )


def _one_object(evaluation: Mapping[str, Any]) -> tuple[float, float]:
    """The mean of the one-object colour, side, shape and size accuracies, and its binomial standard error
    (the four shares taken as independent, over the evaluation's ``num_images``)."""
    quality = quality_of(evaluation)
    values = [quality[k] for k in ONE_OBJECT if k in quality]
    if not values:
        return math.nan, math.nan
    n = max(1, int(evaluation.get("num_images") or 1))
    se = math.sqrt(sum(v * (1 - v) / n for v in values)) / len(values)
    return sum(values) / len(values), se


def recipe_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per variant (the recipe, the release, each option removed) at the final evaluation: the
    one-object accuracies and R-precision averaged over seeds, the one-object mean's spread between seeds."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault(str(run["info"].get("variant")), []).append(run)
    rows = []
    for variant, runs in groups.items():
        finals = [f for run in runs if (f := _final(run))]
        scores = [_one_object(f) for f in finals]
        mean, spread = _mean_std([s for s, _ in scores])
        quality = {
            k: _mean_std([quality_of(f).get(k) for f in finals])[0] for k in (*ONE_OBJECT, "r_precision")
        }
        rows.append(
            {
                "variant": variant,
                "label": runs[0]["label"] if variant != "recipe" else "the recipe (main job)",
                "seeds": len(finals),
                "steps": max((int(f.get("generator_step") or 0) for f in finals), default=0),
                "score": mean,
                "se": max((se for _, se in scores if _ok(se)), default=math.nan),
                "seed_std": spread,
                "quality": {k: v for k, v in quality.items() if _ok(v)},
            }
        )
    order = {"recipe": 0, "release": 1}
    return sorted(rows, key=lambda r: order.get(r["variant"], 2))


def _recipe_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The recipe against the release and against each option removed, on the one-object mean at the same
    steps; the noise is the larger of two standard errors of the difference and the spread between seeds. The
    floor is on the recipe's runs (the reference: a variant that learns less is the finding)."""
    rows = recipe_rows(results)
    main = next((r for r in rows if r["variant"] == "recipe"), None)
    if main is None or not _ok(main["score"]):
        return [{"claim": "the main job's recipe", "verdict": INCONCLUSIVE, "why": "the recipe was not run"}]
    model = {"the recipe": main["quality"]}
    floor = results.get("floor") or {}
    out = []
    for row in rows:
        if row is main:
            continue
        se = math.sqrt(main["se"] ** 2 + row["se"] ** 2) if _ok(main["se"]) and _ok(row["se"]) else 0.0
        margin = max([2 * se, *(v for v in (main["seed_std"], row["seed_std"]) if _ok(v))])
        if row["variant"] == "release":
            claim = "the main job's recipe learns more than the release recipe in the same steps"
        else:
            claim = f"{row['variant'].replace('_', ' ')} helps (the recipe without {row['label'].split('without ', 1)[-1]} learns less)"
        seeds = " / ".join(
            f"{r['seeds']} seeds, spread {pct(r['seed_std'])}" if r["seeds"] > 1 else "1 seed"
            for r in (main, row)
        )
        why = (
            f"one-object accuracy (mean of colour, side, shape, size) at {main['steps']} G steps: recipe "
            f"{pct(main['score'])} %, {row['label']} {pct(row['score'])} %; noise {pct(margin)} points ({seeds})"
        )
        out.append(
            _floored(
                {"claim": claim, "verdict": _verdict(main["score"], row["score"], margin), "why": why},
                model,
                floor,
            )
        )
    return out


def number(value: float) -> str:
    return f"{float(value):g}"


_RULES = {
    "lambda": _lambda_verdicts,
    "word_swap": _word_swap_verdicts,
    "novel": _novel_verdicts,
    "attention": _attention_verdicts,
    "refinement": _refinement_verdicts,
    "recipe": _recipe_verdicts,
}


def verdicts(name: str, results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The claims of study ``name`` with their verdicts (``claim``, ``verdict``, ``why``)."""
    return _RULES[name](results)
