"""Study 6, the recipe (not in the paper): the authors' release recipe and the main job's recipe with one option
removed, against the main job's recipe, at the same generator steps, stages, evaluation points and seeds.

The main recipe's runs are the λ study's AttnGAN2 runs (:func:`attngan.reproduce.studies.attngan2_runs`), trained
once; the comparison is the mean of the one-object colour, side, shape and size accuracies at the last evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from omegaconf import DictConfig

from attngan.reproduce.rules import (
    INCONCLUSIVE,
    ONE_OBJECT,
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
from attngan.reproduce.runs import TrainingRun
from attngan.reproduce.studies import Context, attngan2_runs, lambda_common

__all__ = ["recipe_rows", "recipe_runs", "recipe_verdicts", "study_recipe"]


def recipe_runs(
    spec: DictConfig, lambda_spec: DictConfig, seeds: list[int], epochs: int
) -> tuple[list[TrainingRun], list[TrainingRun]]:
    """``(main, others)``: the main job's recipe (the λ study's AttnGAN2 runs, every seed), and the release
    recipe (every seed) and the recipe with one option removed (first seed), all at the same steps, stages and
    evaluation points as the main runs."""
    main = attngan2_runs(lambda_spec, seeds, epochs)
    common = lambda_common(lambda_spec, epochs)
    stages = [str(o) for o in lambda_spec.attngan2]
    lam = f"model.lambda_damsm={number(float(lambda_spec.attngan2_lambda))}"
    others = [
        TrainingRun(
            f"release_seed{seed}",
            str(spec.release),
            [*stages, f"seed={seed}", *common],
            "release recipe",
            {"variant": "release", "seed": seed},
        )
        for seed in seeds
    ]
    for name, removed in spec.ablations.items():
        others.append(
            TrainingRun(
                f"without_{name}_seed{seeds[0]}",
                str(lambda_spec.experiment),
                [*stages, lam, *[str(o) for o in removed.overrides], f"seed={seeds[0]}", *common],
                f"recipe without {removed.label}",
                {"variant": str(name), "removed": str(removed.label), "seed": seeds[0]},
            )
        )
    return main, others


def study_recipe(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    assert ctx.spec is not None
    lambda_spec = ctx.spec("lambda")
    seeds = [int(s) for s in ctx.cfg.seeds]
    epochs = ctx.epochs["recipe"]
    main, others = recipe_runs(spec, lambda_spec, seeds, epochs)
    common = ctx.attngan_common()
    records = []
    for run in main:
        record = ctx.train(run, run.directory(ctx.out, "recipe"), common)
        records.append({**record, "info": {**record["info"], "variant": "recipe"}})
    records += [ctx.train(run, run.directory(ctx.out, "recipe"), common) for run in others]
    return {"epochs": epochs, "seeds": seeds, "runs": records}


def _final(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's last evaluation: the recipe study compares runs at the same generator steps."""
    evaluations = [e for e in run.get("evaluations", []) if "colour" in quality_of(e)]
    return max(evaluations, key=lambda e: e.get("generator_step") or e.get("epoch") or 0, default=None)


def _one_object(evaluation: Mapping[str, Any]) -> tuple[float, float]:
    """The mean of the one-object colour, side, shape and size accuracies, and its binomial standard error
    (the four shares taken as independent, over the evaluation's ``num_images``)."""
    quality = quality_of(evaluation)
    values = [quality[k] for k in ONE_OBJECT if k in quality]
    n = max(1, int(evaluation.get("num_images") or 1))
    se = math.sqrt(sum(v * (1 - v) / n for v in values)) / len(values)
    return sum(values) / len(values), se


def recipe_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per variant (the recipe, the release, each option removed) at the final evaluation: the
    one-object accuracies and R-precision averaged over seeds, the one-object mean's spread between seeds."""
    rows = []
    for variant, runs in by_key(results["runs"], lambda run: str(run["info"].get("variant"))).items():
        finals = [f for run in runs if (f := _final(run))]
        scores = [_one_object(f) for f in finals]
        mean, spread = mean_std([s for s, _ in scores])
        rows.append(
            {
                "variant": variant,
                "label": runs[0]["label"] if variant != "recipe" else "the recipe (main job)",
                "seeds": len(finals),
                "steps": max((int(f.get("generator_step") or 0) for f in finals), default=0),
                "score": mean,
                "se": max((se for _, se in scores if is_number(se)), default=math.nan),
                "seed_std": spread,
                "quality": mean_quality(finals),
            }
        )
    order = {"recipe": 0, "release": 1}
    return sorted(rows, key=lambda r: order.get(r["variant"], 2))


def recipe_verdicts(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """The recipe against the release and against each option removed, on the one-object mean at the same
    steps; the noise is the larger of two standard errors of the difference and the spread between seeds. The
    floor is on the recipe's runs (the reference: a variant that learns less is the finding)."""
    rows = recipe_rows(results)
    main = next((r for r in rows if r["variant"] == "recipe"), None)
    if main is None or not is_number(main["score"]):
        return [{"claim": "the main job's recipe", "verdict": INCONCLUSIVE, "why": "the recipe was not run"}]
    out = []
    for row in rows:
        if row is main:
            continue
        margin = noise([main["se"], row["se"]], [main["seed_std"], row["seed_std"]])
        if row["variant"] == "release":
            claim = "the main job's recipe learns more than the release recipe in the same steps"
        else:
            claim = f"{row['label']} learns less than the recipe (the option helps)"
        why = (
            f"one-object accuracy (mean of colour, side, shape, size) at {main['steps']} G steps: recipe "
            f"{pct(main['score'])} %, {row['label']} {pct(row['score'])} %; noise {pct(margin)} points "
            f"({seeds_text(main, row)})"
        )
        verdict = {"claim": claim, "verdict": judge(main["score"], row["score"], margin), "why": why}
        out.append(floored(verdict, {"the recipe": main["quality"]}, results.get("floor") or {}))
    return out
