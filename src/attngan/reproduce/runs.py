"""The training runs of the studies: the shipped experiments with overrides, trained in-process, resumable.

A run is ``attngan-train experiment=<experiment> <overrides>`` composed from the shipped configs and trained by
the library's training entry :func:`attngan.training.fit` into its own run directory. The directory looks like the job of a Hydra sweep
(``.hydra/config.yaml`` and ``.hydra/overrides.yaml``), so :mod:`attngan.evaluation.sweep` and
``attngan-sweep-report`` read a study's runs like any ``attngan-train -m`` sweep. When the run finishes,
``done.json`` records its result (checkpoint, wall time, every evaluation of the callback); a run with
``done.json`` is not trained again, and a run that stopped part-way resumes from its ``checkpoints/last.ckpt``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig

from attngan.config import compose_config, to_plain
from attngan.errors import AttnGANError

log = logging.getLogger("attngan.reproduce")

__all__ = ["DONE_FILE", "TrainingRun", "compose_run", "read_evaluations", "train_run"]

DONE_FILE = "done.json"
# what a study keeps of every evaluation the callback logs (evaluation.jsonl)
_KEPT = ("epoch", "step", "generator_step", "num_images", "seconds")
_KEPT_PREFIXES = ("r_precision", "shapes_", "attention_")


@dataclass
class TrainingRun:
    """One training run of a study.

    Attributes:
        name: the run directory's name under the study directory (``attngan1_lambda_1``).
        experiment: the shipped experiment (``shapes_attngan``, ``shapes_damsm``).
        overrides: Hydra overrides on top of it (``model.lambda_damsm=1``).
        label: how tables and figures name the run (``AttnGAN1, λ=1``).
        info: what the report groups by (``{"lambda": 1.0, "stages": 2, "seed": 42}``).
        home: the study whose ``runs/`` directory holds the run when another study shares it (the recipe
            study's main-recipe runs are the λ study's AttnGAN2 runs); empty: the study's own.
    """

    name: str
    experiment: str
    overrides: list[str]
    label: str
    info: dict[str, Any] = field(default_factory=dict)
    home: str = ""

    def directory(self, out: Path, study: str) -> Path:
        """``<out>/<home or study>/runs/<name>``: where the run trains and where its ``done.json`` is."""
        return Path(out) / (self.home or study) / "runs" / self.name


def compose_run(run: TrainingRun, run_dir: Path, common: Sequence[str] = ()) -> DictConfig:
    """The run's ``train`` config: the experiment, the run's overrides, then ``common`` (paths, DAMSM, device),
    writing into ``run_dir`` and exporting its final checkpoint to ``run_dir/<kind>.ckpt``."""
    kind = "damsm" if run.experiment.endswith("damsm") else "attngan"
    return compose_config(
        "train",
        [
            f"experiment={run.experiment}",
            *run.overrides,
            *common,
            f"paths.output_dir={run_dir}",
            f"export_path={run_dir / f'{kind}.ckpt'}",
        ],
    )


def read_evaluations(run_dir: Path) -> list[dict[str, Any]]:
    """The evaluation callback's records of a run (``evaluation.jsonl``): epoch, step and every metric value
    (R-precision and its fold std, the shapes oracle, attention localisation); empty when none ran."""
    path = run_dir / "evaluation.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        records.append(
            {
                k: v
                for k, v in raw.items()
                if (k in _KEPT or k.startswith(_KEPT_PREFIXES)) and (v is None or isinstance(v, int | float))
            }
        )
    # a resumed run may repeat an epoch: the last record of each epoch wins
    by_epoch = {int(r.get("epoch", i)): r for i, r in enumerate(records)}
    return [by_epoch[e] for e in sorted(by_epoch)]


def _write_job_files(run_dir: Path, cfg: DictConfig, overrides: Sequence[str]) -> None:
    """``.hydra/config.yaml`` + ``overrides.yaml``: the run reads as a sweep job (attngan-sweep-report)."""
    hydra_dir = run_dir / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(to_plain(cfg), sort_keys=False))
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))


def train_run(
    run: TrainingRun,
    run_dir: Path,
    common: Sequence[str] = (),
    check: Callable[[DictConfig], None] | None = None,
) -> dict[str, Any]:
    """Train ``run`` into ``run_dir`` unless its ``done.json`` says it is done; returns that record.

    ``check(cfg)`` vets the composed config before anything trains (``attngan-reproduce`` passes the command
    line's checks: unknown keys, missing files, the accelerator).

    Returns:
        ``{"name", "label", "info", "overrides", "checkpoint", "wall_s", "epochs", "evaluations"}``.

    Raises:
        AttnGANError: training failed (the message names the run directory and how to resume).
    """
    from attngan.training import fit
    from attngan.training.entry import Preempted

    run_dir = Path(run_dir)
    done = run_dir / DONE_FILE
    if done.is_file():
        log.info("%s: done already (%s)", run.label, done)
        return json.loads(done.read_text())
    last = run_dir / "checkpoints" / "last.ckpt"
    resume = [f"ckpt_path={last}"] if last.is_file() else []
    if resume:
        log.info("%s: resuming from %s", run.label, last)
    cfg = compose_run(run, run_dir, [*common, *resume])
    if check is not None:
        check(cfg)
    _write_job_files(run_dir, cfg, [*run.overrides, *common])
    started = time.monotonic()
    try:
        result = fit(cfg)
    except Preempted as err:  # SIGTERM or Ctrl-C: resumable
        raise AttnGANError(
            f"{run.label} {err.reason}; run the same command again to resume from {err.checkpoint}"
        ) from None
    record = {
        "name": run.name,
        "label": run.label,
        "info": run.info,
        "overrides": list(run.overrides),
        "checkpoint": result.get("exported") or result["checkpoint"],
        "wall_s": round(time.monotonic() - started, 1),
        "epochs": int(cfg.trainer.max_epochs),
        "evaluations": read_evaluations(run_dir),
    }
    done.write_text(json.dumps(record, indent=1, allow_nan=True) + "\n")
    return record
