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
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from attngan.reproduce.recipe import recipe_verdicts
from attngan.reproduce.rules import (
    HOLDS,
    INCONCLUSIVE,
    NOT,
    UNDER,
    best_epoch,
    by_key,
    floored,
    is_number,
    judge,
    mean_quality,
    mean_std,
    noise,
    number,
    pct,
    quality_of,
    seeds_text,
)

__all__ = ["HOLDS", "INCONCLUSIVE", "NOT", "UNDER", "best_epoch", "lambda_rows", "verdicts"]


def _spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's ρ: the Pearson correlation of the ranks (ties share their mean rank); NaN below 3 points."""

    def ranks(values: Sequence[float]) -> list[float]:
        return [(sum(v < x for v in values) + sum(v <= x for v in values) - 1) / 2 for x in values]

    if len(xs) < 3:
        return math.nan
    try:
        return statistics.correlation(ranks(xs), ranks(ys))
    except statistics.StatisticsError:  # constant ranks
        return math.nan


def lambda_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per (model, λ): best-epoch values averaged over seeds, fold std, seed spread."""
    groups = by_key(
        results["runs"], lambda run: (run["info"].get("model", "AttnGAN1"), float(run["info"]["lambda"]))
    )
    rows = []
    for (model, lam), runs in sorted(groups.items()):
        bests = [b for run in runs if (b := best_epoch(run))]
        r_mean, r_seed_std = mean_std([b["r_precision"] for b in bests])
        rows.append(
            {
                "model": model,
                "lambda": lam,
                "label": runs[0]["label"],
                "seeds": len(runs),
                "epoch": [int(b["epoch"]) + 1 for b in bests],
                "epochs": runs[0].get("epochs"),
                "r": r_mean,
                "fold_std": mean_std([b.get("r_precision_std") for b in bests])[0],
                "seed_std": r_seed_std,
                # the floor's metrics (the one-object oracle, R-precision) at the best epoch
                "quality": mean_quality(bests),
                "wall_s": sum(float(run.get("wall_s") or 0) for run in runs),
                # generator steps trained (the last evaluation's), for the measured step rate
                "steps": sum(
                    max((float(e.get("generator_step") or 0) for e in run["evaluations"]), default=0.0)
                    for run in runs
                ),
            }
        )
    return rows


def _compared(
    claim: str, a: Mapping[str, Any], b: Mapping[str, Any], what: str, shown: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """The claim "row ``a`` > row ``b``" on best R-precision, against the larger fold std or seed spread;
    ``shown``: the rows in the order the text names their seeds."""
    margin = noise(spreads=[a["fold_std"], a["seed_std"], b["fold_std"], b["seed_std"]])
    why = f"{what}; noise {pct(margin)} points ({seeds_text(*shown)})"
    return {"claim": claim, "verdict": judge(a["r"], b["r"], margin), "why": why}


def _lambda_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The floor applies to the model(s) a claim needs to have learned: the best λ for the trend, the lowest
    λ > 0 against λ = 0 (no DAMSM may draw worse: that is the claim), both models of AttnGAN2 ≥ AttnGAN1."""
    floor = results.get("floor") or {}
    rows = [r for r in lambda_rows(results) if is_number(r["r"])]
    one = [r for r in rows if r["model"] == "AttnGAN1"]
    two = [r for r in rows if r["model"] == "AttnGAN2"]
    rho = _spearman([r["lambda"] for r in one], [r["r"] for r in one])
    trend = {
        "claim": "R-precision rises with λ (AttnGAN1)",
        "verdict": HOLDS if rho >= 0.8 else NOT if rho <= 0 else INCONCLUSIVE,  # NaN: inconclusive
        "why": f"Spearman ρ(λ, best R-precision) = {rho:.2f} over {len(one)} λ (holds ≥ 0.8, does not hold ≤ 0)",
    }
    out = [floored(trend, {r["label"]: r["quality"] for r in sorted(one, key=lambda r: -r["r"])[:1]}, floor)]
    zero = [r for r in one if r["lambda"] == 0]
    rest = [r for r in one if r["lambda"] > 0]
    claim = "without the DAMSM loss R-precision is lowest"
    if zero and rest:
        lowest = min(rest, key=lambda r: r["r"])
        what = (
            f"no DAMSM {pct(zero[0]['r'])} % against the lowest λ > 0 ({number(lowest['lambda'])}) "
            f"{pct(lowest['r'])} %"
        )
        out.append(
            floored(
                _compared(claim, lowest, zero[0], what, [zero[0], lowest]),
                {lowest["label"]: lowest["quality"]},
                floor,
            )
        )
    else:
        out.append({"claim": claim, "verdict": INCONCLUSIVE, "why": "λ = 0 or λ > 0 was not run"})
    claim = "AttnGAN2 ≥ AttnGAN1 (R-precision)"
    if two and one:
        same = [r for r in one if r["lambda"] == two[0]["lambda"]] or [max(one, key=lambda r: r["r"])]
        what = f"AttnGAN2 {pct(two[0]['r'])} % against AttnGAN1 {pct(same[0]['r'])} % at λ={number(two[0]['lambda'])}"
        models = {two[0]["label"]: two[0]["quality"], same[0]["label"]: same[0]["quality"]}
        out.append(floored(_compared(claim, two[0], same[0], what, [two[0], same[0]]), models, floor))
    else:
        out.append({"claim": claim, "verdict": INCONCLUSIVE, "why": "AttnGAN2 was not run"})
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
        claim = {
            "claim": f"swapping the {kind} word changes the {kind} and keeps the rest",
            "verdict": NOT if not above else HOLDS if success["value"] >= 0.5 else INCONCLUSIVE,
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
    held_se = max(s["heldout"]["composition"]["se"] for s in seeds)
    margin = noise([held_se, max(s["seen"]["composition"]["se"] for s in seeds)], [held_spread, seen_spread])
    if held - 2 * held_se <= _COMPOSITION_CHANCE:
        verdict = NOT
    else:
        verdict = HOLDS if seen - held <= margin else INCONCLUSIVE
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
    out = []
    if results["stages"]:
        last = results["stages"][-1]
        uniform = last["uniform"]
        ratios = [
            last["inside"][k]["value"] / uniform
            for k in ("colour", "shape")
            if is_number(last["inside"][k]["value"])
        ]
        ratio = min(ratios) if ratios and is_number(uniform) and uniform > 0 else math.nan
        out.append(
            {
                "claim": "colour and shape words attend to their object (last attention stage)",
                "verdict": HOLDS
                if ratio >= 2
                else NOT
                if ratio <= 1.2
                else INCONCLUSIVE,  # NaN: inconclusive
                "why": f"inside share / uniform: {ratio:.2f}× for the weaker of colour and shape words "
                "(holds ≥ 2×, does not hold ≤ 1.2×)",
            }
        )
    recovered, repeated = results.get("recovered"), results.get("repeated")
    if not recovered or not recovered.get("n") or not repeated or not repeated.get("n"):
        verdict, why = INCONCLUSIVE, "needs two attention stages (a 3-stage generator) and missed words"
    else:
        margin = noise([recovered["se"], repeated["se"]])
        few = recovered["n"] < 20 or repeated["n"] < 20
        verdict = INCONCLUSIVE if few else judge(recovered["value"], repeated["value"], margin)
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
    model = {"checkpoint": results.get("quality") or {}}
    return [floored(v, model, results.get("floor") or {}) for v in out]


def _refinement_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    stages = results["stages"]
    if len(stages) < 2:
        return [{"claim": "later stages add shape detail", "verdict": INCONCLUSIVE, "why": "one stage only"}]
    first, last = stages[0]["shape"], stages[-1]["shape"]
    margin = noise([first["se"], last["se"]])
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
