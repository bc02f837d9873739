"""``attngan-reproduce``'s job: plan the budget, make sure a DAMSM exists, run the chosen studies, write the report.

Resumable at two levels: a study whose ``<output_dir>/<study>/results.json`` exists is skipped (``force=true``
runs it again), and inside a study every run with a ``done.json`` is reused (:mod:`attngan.reproduce.runs`).
The plan (:mod:`attngan.reproduce.plan`) counts every run, done or not, so the epochs it gives stay the same
when an interrupted ``make reproduce`` is started again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.config import compose_config, to_plain
from attngan.errors import ConfigError
from attngan.evaluation.report import json_ready
from attngan.outputs import atomic_write_text
from attngan.reproduce.plan import PlannedRun, assign_epochs, plan_markdown, relative_cost, steps_per_epoch
from attngan.reproduce.recipe import recipe_runs, study_recipe
from attngan.reproduce.report import build_report
from attngan.reproduce.rules import check_floor
from attngan.reproduce.runs import TrainingRun, compose_run
from attngan.reproduce.studies import (
    Context,
    lambda_runs,
    novel_runs,
    study_attention,
    study_lambda,
    study_novel,
    study_refinement,
    study_word_swap,
)

log = logging.getLogger("attngan.reproduce")

__all__ = ["RESULTS_FILE", "STUDIES", "build_plan", "reproduce", "run_study"]

RESULTS_FILE = "results.json"
TRAINING_STUDIES = ("lambda", "novel", "recipe")
PROBE_STUDIES = ("word_swap", "attention", "refinement")
SHARED_DAMSM = TrainingRun("damsm", "shapes_damsm", [], "DAMSM (shared)")


STUDIES: dict[str, Callable[[Context, DictConfig], dict[str, Any]]] = {
    "lambda": study_lambda,
    "word_swap": study_word_swap,
    "novel": study_novel,
    "attention": study_attention,
    "refinement": study_refinement,
    "recipe": study_recipe,
}


def run_study(ctx: Context, name: str, spec: DictConfig) -> dict[str, Any]:
    """Run study ``name`` and return its results (with its config)."""
    if name not in STUDIES:
        raise ConfigError(f"unknown study {name!r}; the studies are {sorted(STUDIES)} (conf/study/)")
    results = STUDIES[name](ctx, spec)
    # the floor was checked when the plan was made (build_plan), before anything trained
    floor = to_plain(spec.get("floor") or {})
    return {"study": name, "title": str(spec.title), "config": to_plain(spec), **results, "floor": floor}


def _paths(cfg: DictConfig) -> list[str]:
    return [f"paths.root_dir={cfg.paths.root_dir}", f"paths.cache_dir={cfg.paths.cache_dir}"]


# overrides that change neither the steps of an epoch nor the cost of a step: runs that differ only in these
# are composed once for the plan
_COST_FREE = ("model.lambda_damsm=", "seed=", "model.training.", "model.kl_weight=")
_composed: dict[tuple[str, ...], tuple[int, float, int]] = {}


def _measure(run: TrainingRun, run_dir: Path, common: list[str], ref: list[int]) -> tuple[int, float, int]:
    """``(steps per epoch, cost per step, max_epochs)`` of a run's composed config (cached)."""
    key = (
        run.experiment,
        *[o for o in [*run.overrides, *common] if not o.startswith(_COST_FREE)],
        *map(str, ref),
    )
    if key not in _composed:
        cfg = compose_run(run, run_dir, common)
        cost = relative_cost(cfg, ref) if not run.experiment.endswith("damsm") else 1.0
        _composed[key] = (steps_per_epoch(cfg), cost, int(cfg.trainer.max_epochs))
    return _composed[key]


def _planned(
    study: str,
    run: TrainingRun,
    run_dir: Path,
    common: list[str],
    epochs: int | None,
    evaluations: int,
    ref: list[int],
) -> PlannedRun:
    steps, cost, max_epochs = _measure(run, run_dir, common, ref)
    kind = "damsm" if run.experiment.endswith("damsm") else "attngan"
    return PlannedRun(
        study=study,
        label=run.label + (f", seed {run.info['seed']}" if "seed" in run.info else ""),
        kind=kind,
        steps_per_epoch=steps,
        cost=cost,
        epochs=max_epochs if kind == "damsm" else epochs,
        evaluations=evaluations if kind == "attngan" else 0,
    )


def build_plan(cfg: DictConfig, ctx: Context) -> tuple[list[PlannedRun], dict[str, float], str]:
    """Every training run of the chosen studies (and of the λ study when a probe study needs its checkpoint),
    its cost, and the epochs that fit ``cfg.budget``; sets ``ctx.epochs``. A run two studies share (the main
    recipe: the λ study's AttnGAN2 and the recipe study's reference) counts once. Checks every study's floor.

    Returns:
        ``(planned runs, fixed costs by study, the plan as Markdown)``.
    """
    budget = cfg.budget
    ref = [int(s) for s in budget.reference_stage_sizes]
    seeds = [int(s) for s in cfg.seeds]
    studies = dict(cfg.studies)
    for name, spec in studies.items():
        floors = spec.get("floor") or {}
        nested = name == "word_swap"
        for kind, floor in floors.items() if nested else [("", floors)]:
            check_floor(to_plain(floor), f"studies.{name}.floor" + (f".{kind}" if kind else ""))
    needs_lambda = any(
        str(studies[n].get("checkpoint", "")) == "lambda" for n in studies if n in PROBE_STUDIES
    )
    if needs_lambda and "lambda" not in studies:
        studies["lambda"] = _study_spec(cfg, "lambda")
    lambda_spec = studies.get("lambda") or _study_spec(cfg, "lambda")
    lambda_epochs = None if lambda_spec.get("epochs") is None else int(lambda_spec.epochs)
    planned: list[PlannedRun] = []
    # the shared DAMSM counts always: a clean clone trains it
    shared = _planned("damsm", SHARED_DAMSM, ctx.out / "damsm", ctx.damsm_common(), None, 0, ref)
    planned.append(shared)
    groups: dict[str, list[PlannedRun]] = {}
    seen: set[Path] = set()
    for name in TRAINING_STUDIES:
        if name not in studies:
            continue
        spec = studies[name]
        if name == "novel":
            explicit = None if spec.get("epochs") is None else int(spec.epochs)
            evaluations = int(spec.evaluations)
            damsm, attngan = novel_runs(spec, seeds[:1], explicit or 1)
            runs = ([(damsm, ctx.damsm_common())] if damsm else []) + [
                (r, ctx.attngan_common()) for r in attngan
            ]
        else:  # lambda, recipe: at the λ study's epochs and evaluation points
            explicit, evaluations = lambda_epochs, int(lambda_spec.evaluations)
            if name == "lambda":
                first, second = lambda_runs(spec, seeds, explicit or 1, None)
                listed = [*first, *second]
            else:
                main, others = recipe_runs(spec, lambda_spec, seeds, explicit or 1)
                listed = [*main, *others]
            runs = [(r, ctx.attngan_common()) for r in listed]
        group = []
        for run, common in runs:
            run_dir = run.directory(ctx.out, name)
            if run_dir in seen:
                continue
            seen.add(run_dir)
            group.append(_planned(name, run, run_dir, common, explicit, evaluations, ref))
        groups[name] = group
        planned += group
    fixed = {n: float(budget.probe_seconds) for n in [*PROBE_STUDIES, "novel"] if n in studies}
    # every run counts, done or not, so resumed invocations get the same epochs; the DAMSM's file, once there,
    # costs nothing
    assign_epochs(planned, budget, sum(fixed.values()))
    shared.done = Path(ctx.damsm).is_file()
    for name, group in groups.items():
        ctx.epochs[name] = max((r.epochs or 0 for r in group if r.kind == "attngan"), default=0)
    if "recipe" in groups and "lambda" in groups:
        ctx.epochs["recipe"] = ctx.epochs["lambda"]
    return planned, fixed, plan_markdown(planned, budget, fixed)


def _study_spec(cfg: DictConfig, name: str) -> DictConfig:
    """The config of a study that was not chosen (a dependency): ``conf/study/<name>.yaml`` as shipped."""
    composed = compose_config("reproduce", [f"study={name}"])
    return composed.studies[name]


def reproduce(cfg: DictConfig, check: Callable[[DictConfig], None] | None = None) -> dict[str, Any]:
    """Run the studies of ``cfg.studies`` (skipping finished ones) and write ``<output_dir>/report.md``.

    ``check(run_cfg)`` vets each run's composed ``train`` config before it trains (the command line passes
    ``attngan-train``'s checks; the library does not import the command line).

    Returns:
        ``{"report", "plan", "studies": {name: "done" | "skipped"}}``.
    """
    out = Path(str(cfg.output_dir))
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(cfg=cfg, out=out, paths=_paths(cfg), damsm=Path(str(cfg.damsm_checkpoint)), check=check)
    ctx.spec = lambda name: cfg.studies[name] if name in cfg.studies else _study_spec(cfg, name)
    _, _, plan = build_plan(cfg, ctx)
    (out / "plan.md").write_text("# Budget plan\n\n" + plan)
    print(plan, flush=True)
    if cfg.plan_only:
        return {"plan": plan, "report": None, "studies": {}}
    if not ctx.damsm.is_file():
        log.info("no DAMSM at %s: training the shared one into %s", ctx.damsm, out / "damsm")
        record = ctx.train(SHARED_DAMSM, out / "damsm", ctx.damsm_common())
        ctx.damsm = Path(record["checkpoint"])
    status: dict[str, str] = {}

    def run_named(name: str) -> dict[str, Any]:
        path = out / name / RESULTS_FILE
        if name in ctx.results:
            return ctx.results[name]
        if path.is_file() and not cfg.force:
            log.info("study %s: done already (%s); force=true runs it again", name, path)
            status.setdefault(name, "skipped")
            results = json.loads(path.read_text())
            # the floor is a rule, not a measurement: today's config judges the recorded numbers
            floor = to_plain(ctx.spec(name).get("floor") or {})
            if results.get("floor") != floor:
                log.info(
                    "study %s: floor %s (was %s); verdicts recomputed", name, floor, results.get("floor")
                )
                results["floor"] = floor
                atomic_write_text(path, json.dumps(results, indent=1) + "\n")
            ctx.results[name] = results
            return results
        spec = ctx.spec(name)
        started = time.monotonic()
        log.info("study %s: %s", name, spec.title)
        results = run_study(ctx, name, spec)
        results["wall_s"] = round(time.monotonic() - started, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(json_ready(results), indent=1, default=str) + "\n")
        ctx.results[name] = results
        status[name] = "done"
        return results

    ctx.run_study = run_named
    for name in cfg.studies:
        run_named(str(name))
    report = build_report(out)
    return {"report": str(report), "plan": plan, "studies": status}
