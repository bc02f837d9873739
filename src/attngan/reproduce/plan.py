"""The time budget of ``make reproduce``: how many epochs each training run gets so that all of them fit.

Nothing here is measured at run time: a run's cost is its generator steps (``epochs x steps per epoch``, the
steps read from its composed config: training images of the shapes split, batch size, ``limit_train_batches``)
divided by a measured step rate, scaled by the pixels its stages draw against the reference recipe's, plus a
fixed cost per evaluation of the callback. Runs whose study says ``epochs: null`` share what is left of the
budget after the fixed costs (DAMSM pre-training, runs with a given number of epochs, the evaluation-only
studies), all with the same number of epochs. The plan is printed before anything trains
(``attngan-reproduce plan_only=true`` prints only the plan) and written beside the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from attngan.config import to_plain
from attngan.errors import ConfigError

__all__ = ["PlannedRun", "assign_epochs", "plan_markdown", "relative_cost", "steps_per_epoch"]


@dataclass
class PlannedRun:
    """One run of the plan: its study, label, steps per epoch, cost factor and (once assigned) epochs."""

    study: str
    label: str
    kind: str  # "attngan" | "damsm"
    steps_per_epoch: int
    cost: float  # seconds per step relative to the reference recipe's (1.0)
    epochs: int | None  # None: from the budget
    evaluations: int = 0
    done: bool = False  # already trained: costs nothing

    def seconds(self, budget: Mapping[str, Any], epochs: int | None = None) -> float:
        """Estimated wall time of the run with ``epochs`` (default: its own)."""
        if self.done:
            return 0.0
        epochs = self.epochs if epochs is None else epochs
        rate = float(budget["damsm_steps_per_second" if self.kind == "damsm" else "attngan_steps_per_second"])
        train = (epochs or 0) * self.steps_per_epoch * self.cost / rate
        return train + min(self.evaluations, epochs or 0) * float(budget["evaluation_seconds"])


def steps_per_epoch(cfg: DictConfig) -> int:
    """Optimizer steps (generator steps for AttnGAN) of one epoch of a composed ``train`` config.

    The shapes split is computed, not generated (:func:`attngan.data.shapes.shapes_split`); images of a
    ``data.holdout`` leave the training split, so the count is an upper bound then. Training drops the last
    incomplete batch.
    """
    from attngan.data.shapes import DEFAULT_TEST_FRACTION, shapes_split

    data = cfg.data
    if str(data.get("name")) != "shapes":
        raise ConfigError(f"the reproduce studies run on data=shapes, got data={data.get('name')}")
    train, _ = shapes_split(int(data.num_images), int(data.generation_seed), DEFAULT_TEST_FRACTION)
    steps = len(train) // int(data.batch_size)
    limit = cfg.trainer.get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool):
        steps = min(steps, limit)
    elif isinstance(limit, float):
        steps = int(steps * limit)
    return max(1, steps)


def relative_cost(cfg: DictConfig, reference_sizes: Sequence[int]) -> float:
    """Seconds per step of ``cfg`` against the reference recipe's: the ratio of the pixels of all stages
    (generator and discriminators work per pixel), times the batch-size ratio is already in the steps."""
    sizes = [int(s) for s in to_plain(cfg.model.image_sizes)]
    reference = sum(int(s) ** 2 for s in reference_sizes)
    return sum(s * s for s in sizes) / reference if reference else 1.0


def assign_epochs(runs: Sequence[PlannedRun], budget: Mapping[str, Any], fixed_seconds: float) -> int | None:
    """Give every run with ``epochs=None`` the same number of epochs, the most that fits the budget.

    Args:
        runs: the plan's runs (changed in place).
        budget: ``minutes``, ``reserve``, the step rates and ``evaluation_seconds`` (``conf/reproduce.yaml``).
        fixed_seconds: costs that are not training runs (the evaluation-only studies).

    Returns:
        The epochs assigned, or ``None`` when no run asked for them.

    Raises:
        ConfigError: the fixed costs alone exceed the budget, or not one epoch fits.
    """
    total = float(budget["minutes"]) * 60.0 * (1.0 - float(budget.get("reserve", 0.0)))
    free = [r for r in runs if r.epochs is None and not r.done]
    for run in runs:
        if run.epochs is None and run.done:
            run.epochs = 0
    free_ids = {id(r) for r in free}
    fixed = fixed_seconds + sum(r.seconds(budget) for r in runs if id(r) not in free_ids)
    if not free:
        return None
    per_epoch = sum(
        r.seconds(budget, 1) - min(r.evaluations, 1) * float(budget["evaluation_seconds"]) for r in free
    )
    evaluations = sum(r.evaluations * float(budget["evaluation_seconds"]) for r in free)
    epochs = math.floor((total - fixed - evaluations) / per_epoch) if per_epoch > 0 else 0
    if epochs < 1:
        raise ConfigError(
            f"the reproduce budget of {budget['minutes']} minutes leaves no epoch for {len(free)} run(s) "
            f"(fixed costs {fixed / 60:.1f} min); raise budget.minutes, or give the studies' epochs explicitly"
        )
    for run in free:
        run.epochs = epochs
    return epochs


def plan_markdown(runs: Sequence[PlannedRun], budget: Mapping[str, Any], fixed: Mapping[str, float]) -> str:
    """The plan as a Markdown table: every run's epochs, steps and estimated minutes, and the total."""
    lines = [
        f"Budget: {budget['minutes']} min on 2 idle cores ({float(budget.get('reserve', 0)) * 100:.0f} % kept "
        f"free), {budget['attngan_steps_per_second']} AttnGAN / {budget['damsm_steps_per_second']} DAMSM "
        f"steps/s for the reference stages {list(budget['reference_stage_sizes'])} px, "
        f"{budget['evaluation_seconds']} s per evaluation.",
        "",
        "| study | run | epochs | steps/epoch | steps | cost/step | evaluations | est. min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total = 0.0
    for run in runs:
        seconds = run.seconds(budget)
        total += seconds
        epochs = run.epochs or 0
        status = " (done)" if run.done else ""
        lines.append(
            f"| {run.study} | {run.label}{status} | {epochs} | {run.steps_per_epoch} | "
            f"{epochs * run.steps_per_epoch} | {run.cost:.2f} | {min(run.evaluations, epochs)} | {seconds / 60:.1f} |"
        )
    for name, seconds in fixed.items():
        total += seconds
        lines.append(f"| {name} | evaluation only | – | – | – | – | – | {seconds / 60:.1f} |")
    lines.append(f"| **total** | | | | | | | **{total / 60:.1f}** |")
    return "\n".join(lines) + "\n"
