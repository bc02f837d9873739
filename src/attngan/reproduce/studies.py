"""The five studies: which runs each trains (configs composed from the shipped experiments), what each measures.

Every study function takes the :class:`Context` and its study config (``conf/study/<name>.yaml``) and returns the
JSON-ready measurements its ``results.json`` keeps; the verdicts and the report are made from those alone
(:mod:`attngan.reproduce.report`), so a recorded ``results.json`` is enough to rebuild the report.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from attngan.errors import ConfigError
from attngan.reproduce.rules import best_epoch, number, quality_of
from attngan.reproduce.runs import TrainingRun, train_run

if TYPE_CHECKING:
    from attngan.reproduce.probes import Probe

log = logging.getLogger("attngan.reproduce")

__all__ = [
    "Context",
    "attngan2_runs",
    "best_lambda",
    "lambda_common",
    "lambda_runs",
    "novel_runs",
    "study_attention",
    "study_lambda",
    "study_novel",
    "study_refinement",
    "study_word_swap",
]


@dataclass
class Context:
    """What every study shares: the reproduce config, where it writes, the DAMSM, the per-run overrides.

    Attributes:
        cfg: the composed ``reproduce`` config.
        out: ``cfg.output_dir``.
        paths: ``paths.*`` overrides of every training run (root and cache directories).
        damsm: the shared DAMSM checkpoint.
        epochs: per study, the epochs of its runs (from the plan).
        results: the results of the studies done so far (a study may need another's, e.g. its checkpoint).
        run_study: runs a study by name (for dependencies) and returns its results.
        spec: the config of a study by name, chosen or not (the recipe study builds on the λ study's).
        check: vets each run's composed config before it trains (:func:`attngan.reproduce.runner.reproduce`).
    """

    cfg: DictConfig
    out: Path
    paths: list[str]
    damsm: Path
    epochs: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_study: Callable[[str], dict[str, Any]] | None = None
    spec: Callable[[str], DictConfig] | None = None
    check: Callable[[DictConfig], None] | None = None

    def train(self, run: TrainingRun, run_dir: Path, common: list[str]) -> dict[str, Any]:
        """:func:`attngan.reproduce.runs.train_run` with the context's config check."""
        return train_run(run, run_dir, common, self.check)

    def attngan_common(self, damsm: Path | None = None) -> list[str]:
        return [
            *self.paths,
            f"model.damsm_checkpoint={damsm or self.damsm}",
            *[str(o) for o in self.cfg.train_overrides],
        ]

    def damsm_common(self) -> list[str]:
        return [*self.paths, *[str(o) for o in self.cfg.damsm_overrides]]

    def checkpoint(self, spec: DictConfig) -> Path:
        """A probe study's checkpoint: ``lambda`` (the lambda study's AttnGAN2, first seed) or a path."""
        choice = str(spec.get("checkpoint") or "lambda")
        if choice != "lambda":
            path = Path(choice)
            if not path.is_file():
                raise ConfigError(
                    f"checkpoint={path} does not exist; pass an AttnGAN checkpoint trained on shapes, or "
                    "checkpoint=lambda (the lambda study's AttnGAN2)"
                )
            return path
        results = self.results.get("lambda")
        if results is None:
            assert self.run_study is not None
            results = self.run_study("lambda")
        chosen = next((r for r in results["runs"] if r["info"]["model"] == "AttnGAN2"), results["runs"][-1])
        return Path(chosen["checkpoint"])

    def probe(self, spec: DictConfig) -> tuple[Path, Probe]:
        """A probe study's checkpoint (:meth:`checkpoint`), opened for measuring."""
        from attngan.reproduce.probes import load_probe

        checkpoint = self.checkpoint(spec)
        return checkpoint, load_probe(checkpoint, str(self.cfg.device))


def _epoch_overrides(epochs: int, evaluations: int) -> list[str]:
    every = max(1, math.ceil(epochs / max(1, evaluations)))
    return [f"trainer.max_epochs={epochs}", f"callbacks.evaluation.every_n_epochs={every}"]


# ------------------------------------------------------------------------------------------ 1: lambda
def _lambda_run(spec: DictConfig, model: str, lam: float, seed: int, common: list[str]) -> TrainingRun:
    """One run of the λ study: AttnGAN1 or AttnGAN2 of the experiment's recipe at ``lam``. Below
    ``spec.constant_below`` (the recipe's ramp start) λ is constant: a ramp would start above it."""
    stages = [str(o) for o in (spec.attngan2 if model == "AttnGAN2" else spec.attngan1)]
    constant = ["model.training.lambda_damsm_start=null"] if lam < float(spec.constant_below) else []
    label = f"{model}, λ={number(lam)}" + (" (no DAMSM)" if not lam else "")
    if model == "AttnGAN2" and lam == float(spec.attngan2_lambda):
        label += " (the recipe)"
    return TrainingRun(
        f"{model.lower()}_lambda_{number(lam)}_seed{seed}",
        str(spec.experiment),
        [*stages, f"model.lambda_damsm={number(lam)}", *constant, f"seed={seed}", *common],
        label,
        {"lambda": float(lam), "seed": seed, "model": model},
        home="lambda",
    )


def lambda_common(spec: DictConfig, epochs: int) -> list[str]:
    return [*_epoch_overrides(epochs, int(spec.evaluations)), *[str(o) for o in spec.overrides]]


def attngan2_runs(spec: DictConfig, seeds: list[int], epochs: int) -> list[TrainingRun]:
    """AttnGAN2 at ``spec.attngan2_lambda`` for every seed: the main job's recipe (the recipe study's too)."""
    common = lambda_common(spec, epochs)
    return [_lambda_run(spec, "AttnGAN2", float(spec.attngan2_lambda), seed, common) for seed in seeds]


def lambda_runs(
    spec: DictConfig, seeds: list[int], epochs: int, best: float | None
) -> tuple[list[TrainingRun], list[TrainingRun]]:
    """The λ study's two rounds.

    Round one: AttnGAN1 at every λ, first seed. Round two, once the best λ is known: the other seeds of AttnGAN1
    at the decisive λ (0, the best, AttnGAN2's), then AttnGAN2 at its λ for every seed. With ``best=None`` (the
    plan, before anything trained) the best is a λ outside the other two, so the plan counts the most runs.
    """
    common = lambda_common(spec, epochs)
    lambdas = [float(lam) for lam in spec.lambdas]
    first = [_lambda_run(spec, "AttnGAN1", lam, seeds[0], common) for lam in lambdas]
    lam2 = float(spec.attngan2_lambda)
    if best is None:
        best = next((lam for lam in lambdas if lam not in (0.0, lam2)), lambdas[0])
    decisive = [lam for lam in dict.fromkeys([0.0, best, lam2]) if lam in lambdas]
    second = [_lambda_run(spec, "AttnGAN1", lam, seed, common) for lam in decisive for seed in seeds[1:]]
    return first, second + attngan2_runs(spec, seeds, epochs)


def best_lambda(records: list[dict[str, Any]]) -> float:
    """The λ of AttnGAN1 with the highest best-epoch R-precision, averaged over seeds (ties: smaller)."""
    by_lambda: dict[float, list[float]] = {}
    for record in records:
        if record["info"].get("model", "AttnGAN1") == "AttnGAN1":
            best = best_epoch(record)
            by_lambda.setdefault(record["info"]["lambda"], []).append(
                best["r_precision"] if best else -math.inf
            )
    return max(sorted(by_lambda), key=lambda lam: sum(by_lambda[lam]) / len(by_lambda[lam]))


def study_lambda(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    seeds = [int(s) for s in ctx.cfg.seeds]
    epochs = ctx.epochs["lambda"]
    common = ctx.attngan_common()
    first, _ = lambda_runs(spec, seeds, epochs, None)
    records = [ctx.train(run, run.directory(ctx.out, "lambda"), common) for run in first]
    chosen = best_lambda(records)
    _, second = lambda_runs(spec, seeds, epochs, chosen)
    records += [ctx.train(run, run.directory(ctx.out, "lambda"), common) for run in second]
    _sweep_report(ctx.out / "lambda" / "runs", ctx.out / "lambda")
    return {
        "best_lambda": best_lambda(records),
        "seeded_lambda": chosen,
        "attngan2_lambda": float(spec.attngan2_lambda),
        "epochs": epochs,
        "seeds": seeds,
        "runs": records,
    }


def _sweep_report(runs_dir: Path, out: Path) -> None:
    """The generic ``attngan-sweep-report`` table and figure of the runs (CSV logger only)."""
    from attngan.errors import AttnGANError
    from attngan.evaluation.sweep_report import build_report

    if not any(runs_dir.glob("*/csv/metrics.csv")):
        return
    try:
        build_report(runs_dir, out, x_key="model.lambda_damsm")
    except AttnGANError as err:  # the study's own report does not depend on it
        log.warning("attngan-sweep-report of %s: %s", runs_dir, err)


# ------------------------------------------------------------------------------------------ 3: novel
def _holdout_override(spec: DictConfig) -> str:
    return f"data.holdout=[{','.join(str(h) for h in spec.holdout)}]"


def novel_runs(
    spec: DictConfig, seeds: list[int], epochs: int
) -> tuple[TrainingRun | None, list[TrainingRun]]:
    """The held-out DAMSM (when ``own_damsm``) and the AttnGAN run per seed, both on the held-out split (one
    seed: the study's claim compares held-out with seen captions of the same model, not two runs)."""
    holdout = _holdout_override(spec)
    damsm = (
        TrainingRun("damsm", "shapes_damsm", [holdout], "DAMSM, held-out split") if spec.own_damsm else None
    )
    runs = [
        TrainingRun(
            f"attngan_seed{seed}",
            str(spec.experiment),
            [
                holdout,
                *[str(o) for o in spec.overrides],
                f"seed={seed}",
                *_epoch_overrides(epochs, int(spec.evaluations)),
            ],
            f"AttnGAN, held out {list(spec.holdout)}",
            {"seed": seed, "holdout": [str(h) for h in spec.holdout]},
        )
        for seed in seeds
    ]
    return damsm, runs


def study_novel(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    from attngan.reproduce.probes import held_out, load_probe, measure, single_object_items

    seeds = [int(s) for s in ctx.cfg.seeds][:1]
    study_dir = ctx.out / "novel"
    damsm_run, runs = novel_runs(spec, seeds, ctx.epochs["novel"])
    damsm = ctx.damsm
    if damsm_run is not None:
        damsm = Path(ctx.train(damsm_run, study_dir / "runs" / "damsm", ctx.damsm_common())["checkpoint"])
    records = [ctx.train(run, study_dir / "runs" / run.name, ctx.attngan_common(damsm)) for run in runs]
    per_seed = []
    for record in records:
        probe = load_probe(record["checkpoint"], str(ctx.cfg.device))
        is_held = held_out(probe)
        measured = {"seed": record["info"]["seed"]}
        for name, keep in (("heldout", is_held), ("seen", lambda truth, held=is_held: not held(truth))):
            items = single_object_items(probe, int(spec.num_captions), True, keep)
            measured[name] = measure(probe, items, int(spec.seed))[1][-1] if items else None
            if items:
                measured[f"{name}_images"] = len({i.key for i in items})
        train_keys = (probe.root / "train.txt").read_text().split()
        measured["train_images"] = len(train_keys)
        measured["train_images_held_out"] = sum(1 for k in train_keys if is_held(probe.truth[k]))
        per_seed.append(measured)
    return {
        "holdout": [str(h) for h in spec.holdout],
        "own_damsm": bool(spec.own_damsm),
        "runs": records,
        "seeds": per_seed,
    }


# ------------------------------------------------------------------------------------------ 2, 4, 5: probes
def study_word_swap(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    from attngan.reproduce.figures import swap_figure
    from attngan.reproduce.probes import checkpoint_quality, word_swap

    checkpoint, probe = ctx.probe(spec)
    results, examples = word_swap(probe, int(spec.num_captions), int(spec.seed))
    if examples:
        swap_figure(examples[: int(spec.num_examples)]).save(ctx.out / "word_swap.png")
    return {
        "checkpoint": str(checkpoint),
        "kinds": results,
        "figure": "word_swap.png" if examples else None,
        "quality": checkpoint_quality(probe, int(spec.num_captions), int(spec.seed)),
    }


def study_attention(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    from attngan.reproduce.attention import attention_study
    from attngan.reproduce.probes import checkpoint_quality, single_object_items

    checkpoint, probe = ctx.probe(spec)
    results = attention_study(
        probe, int(spec.num_captions), int(spec.seed), int(spec.top_k), int(spec.min_count)
    )
    example = single_object_items(probe, 1)
    if example:
        figure = probe.pipe(example[0].caption, seed=int(spec.seed)).attention_figure(0)
        figure.save(ctx.out / "attention.png")
    return {
        **results,
        "checkpoint": str(checkpoint),
        "num_attention_stages": len(results["stages"]),
        "quality": checkpoint_quality(probe, int(spec.num_captions), int(spec.seed)),
        "figure": "attention.png" if example else None,
    }


def study_refinement(ctx: Context, spec: DictConfig) -> dict[str, Any]:
    from attngan.reproduce.figures import stage_figure
    from attngan.reproduce.probes import measure, single_object_items

    checkpoint, probe = ctx.probe(spec)
    items = single_object_items(probe, int(spec.num_captions))
    generated, accuracies = measure(probe, items, int(spec.seed), every_stage=True)
    stages = [
        {"px": int(images.shape[-1]), **acc} for images, acc in zip(generated.stages, accuracies, strict=True)
    ]
    stage_figure(generated.stages, [i.caption for i in items], 4).save(ctx.out / "refinement.png")
    return {
        "checkpoint": str(checkpoint),
        "captions": len(items),
        "stages": stages,
        "figure": "refinement.png",
        "quality": quality_of(stages[-1]),
    }
