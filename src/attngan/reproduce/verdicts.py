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

from attngan.reproduce.recipe import recipe_verdicts
from attngan.reproduce.rules import (
    HOLDS,
    INCONCLUSIVE,
    NOT,
    ONE_OBJECT,
    UNDER,
    best_epoch,
    floored,
    is_number,
    judge,
    mean_std,
    number,
    pct,
    quality_of,
    seeds_text,
)

__all__ = ["HOLDS", "INCONCLUSIVE", "NOT", "UNDER", "best_epoch", "lambda_rows", "verdicts"]


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
        r_mean, r_seed_std = mean_std([b["r_precision"] for b in bests])
        fold_std = mean_std([b.get("r_precision_std") for b in bests])[0]
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
                # the one-object oracle (the floor's metrics) at the best epoch
                **{k: mean_std([quality_of(b).get(k) for b in bests])[0] for k in ONE_OBJECT},
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
    values = [v for row in rows for v in (row["fold_std"], row["seed_std"]) if is_number(v)]
    return max(values) if values else 0.0


def _row_quality(row: Mapping[str, Any]) -> dict[str, float]:
    values = {"colour": row["colour"], "side": row["side"], "shape": row["shape"], "size": row.get("size")}
    return {k: v for k, v in {**values, "r_precision": row["r"]}.items() if is_number(v)}


def _lambda_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The floor applies to the model(s) a claim needs to have learned: the best λ for the trend, the lowest
    λ > 0 against λ = 0 (no DAMSM may draw worse: that is the claim), both models of AttnGAN2 ≥ AttnGAN1."""
    floor = results.get("floor") or {}
    rows = lambda_rows(results)
    one = [r for r in rows if r["model"] == "AttnGAN1" and is_number(r["r"])]
    two = [r for r in rows if r["model"] == "AttnGAN2" and is_number(r["r"])]
    out = []
    rho = _spearman([r["lambda"] for r in one], [r["r"] for r in one])
    verdict = (
        INCONCLUSIVE if not is_number(rho) else HOLDS if rho >= 0.8 else NOT if rho <= 0 else INCONCLUSIVE
    )
    trend = {
        "claim": "R-precision rises with λ (AttnGAN1)",
        "verdict": verdict,
        "why": f"Spearman ρ(λ, best R-precision) = {rho:.2f} over {len(one)} λ (holds ≥ 0.8, does not hold ≤ 0)",
    }
    best = {r["label"]: _row_quality(r) for r in sorted(one, key=lambda r: -r["r"])[:1]}
    out.append(floored(trend, best, floor))
    zero = [r for r in one if r["lambda"] == 0]
    rest = [r for r in one if r["lambda"] > 0]
    compared: dict[str, dict[str, float]] = {}
    if zero and rest:
        lowest = min(rest, key=lambda r: r["r"])
        margin = _noise(zero[0], lowest)
        verdict = judge(lowest["r"], zero[0]["r"], margin)
        why = (
            f"no DAMSM {pct(zero[0]['r'])} % against the lowest λ > 0 ({number(lowest['lambda'])}) {pct(lowest['r'])} %; "
            f"noise {pct(margin)} points ({seeds_text(zero[0], lowest)})"
        )
        compared = {lowest["label"]: _row_quality(lowest)}
    else:
        verdict, why = INCONCLUSIVE, "λ = 0 or λ > 0 was not run"
    out.append(
        floored(
            {"claim": "without the DAMSM loss R-precision is lowest", "verdict": verdict, "why": why},
            compared,
            floor,
        )
    )
    compared = {}
    if two and one:
        same = [r for r in one if r["lambda"] == two[0]["lambda"]] or [max(one, key=lambda r: r["r"])]
        margin = _noise(two[0], same[0])
        verdict = judge(two[0]["r"], same[0]["r"], margin)
        why = (
            f"AttnGAN2 {pct(two[0]['r'])} % against AttnGAN1 {pct(same[0]['r'])} % at λ={number(two[0]['lambda'])}; "
            f"noise {pct(margin)} points ({seeds_text(two[0], same[0])})"
        )
        compared = {two[0]["label"]: _row_quality(two[0]), same[0]["label"]: _row_quality(same[0])}
    else:
        verdict, why = INCONCLUSIVE, "AttnGAN2 was not run"
    out.append(
        floored(
            {"claim": "AttnGAN2 ≥ AttnGAN1 (R-precision)", "verdict": verdict, "why": why}, compared, floor
        )
    )
    return out


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
        out.append(floored(claim, model, floors.get(kind) or {}))
    return out


_COMPOSITION_CHANCE = 1 / 24  # 8 colours x 3 shapes


def _novel_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    seeds = [s for s in results["seeds"] if s.get("heldout") and s.get("seen")]
    if not seeds:
        return [{"claim": "novel compositions", "verdict": INCONCLUSIVE, "why": "no held-out test captions"}]
    held, held_spread = mean_std([s["heldout"]["composition"]["value"] for s in seeds])
    seen, seen_spread = mean_std([s["seen"]["composition"]["value"] for s in seeds])
    se = math.sqrt(
        max(s["heldout"]["composition"]["se"] for s in seeds) ** 2
        + max(s["seen"]["composition"]["se"] for s in seeds) ** 2
    )
    margin = max([2 * se, *(v for v in (held_spread, seen_spread) if is_number(v))])
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
    return [floored(claim, seen_quality, results.get("floor") or {})]


def _attention_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    model = {"checkpoint": results.get("quality") or {}}
    floor = results.get("floor") or {}
    return [floored(v, model, floor) for v in _attention_claims(results)]


def _attention_claims(results: Mapping[str, Any]) -> list[dict[str, str]]:
    stages = results["stages"]
    out = []
    if stages:
        last = stages[-1]
        uniform = last["uniform"]
        ratios = [
            last["inside"][k]["value"] / uniform
            for k in ("colour", "shape")
            if is_number(last["inside"][k]["value"])
        ]
        ratio = min(ratios) if ratios and is_number(uniform) and uniform > 0 else math.nan
        verdict = (
            INCONCLUSIVE
            if not is_number(ratio)
            else HOLDS
            if ratio >= 2
            else NOT
            if ratio <= 1.2
            else INCONCLUSIVE
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
        2 * math.sqrt(first["se"] ** 2 + last["se"] ** 2)
        if is_number(first["se"]) and is_number(last["se"])
        else 0.0
    )
    claim = {
        "claim": "later stages add shape detail",
        "verdict": judge(last["value"], first["value"], margin),
        "why": f"shape right G0 {pct(first['value'])} % → G{len(stages) - 1} {pct(last['value'])} %, noise "
        f"{pct(margin)} points (two standard errors of the difference)",
    }
    quality = results.get("quality") or quality_of(stages[-1])
    return [floored(claim, {f"G{len(stages) - 1}": quality}, results.get("floor") or {})]


_RULES = {
    "lambda": _lambda_verdicts,
    "word_swap": _word_swap_verdicts,
    "novel": _novel_verdicts,
    "attention": _attention_verdicts,
    "refinement": _refinement_verdicts,
    "recipe": recipe_verdicts,
}


def verdicts(name: str, results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The claims of study ``name`` with their verdicts (``claim``, ``verdict``, ``why``)."""
    return _RULES[name](results)
