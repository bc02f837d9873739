"""Reading a Hydra sweep: its jobs, what they swept, what they logged, which did best.

A job is a folder holding ``.hydra/overrides.yaml`` (``attngan-train -m ...``); its swept values come from
there, its metrics from the CSV logger's ``csv/metrics.csv``. Which direction is better comes from the metric
registry (:func:`attngan.metrics.registry.higher_is_better`), never from the metric's name. The report
(Markdown table and figure) is :mod:`attngan.evaluation.sweep_report`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attngan.errors import AttnGANError
from attngan.metrics.registry import result_entry

__all__ = [
    "Job",
    "best_job",
    "find_job_dirs",
    "fmt",
    "higher_is_better",
    "job_label",
    "job_status",
    "metric_columns",
    "parse_overrides",
    "plot_metrics",
    "read_job",
    "read_metrics",
    "read_sweep",
    "swept_keys",
]

# first in the table and the figure, when present (paper Fig. 3 plots IS and R-precision); then the others
PREFERRED = [
    "val/inception_score",
    "val/r_precision",
    "val/fid",
    "val/shapes_image_acc",
    "val/shapes_colour_acc",
    "val/shapes_shape_acc",
    "val/shapes_position_acc",
]
# bookkeeping the evaluation callback logs next to the results: not metrics
NOT_METRICS = {"val/generator_step", "val/num_images", "val/epoch", "val/step"}
# the training losses the report falls back to when no evaluation ran (minimised, so lower is better)
TRAINING_LOSSES = ("train/g_loss", "train/loss_epoch", "train/loss")
# directory names the report does not descend into when looking for jobs
SKIP_DIRS = {".hydra", "checkpoints", "samples", "attention", "csv", "tensorboard", "wandb"}


@dataclass
class Job:
    """One job of a sweep: where it ran, what it changed, what it logged."""

    path: Path
    number: int
    overrides: dict[str, Any]
    config: dict[str, Any]
    rows: list[dict[str, float]] = field(default_factory=list)
    problem: str | None = None  # why there are no metrics

    def series(self, metric: str) -> list[tuple[float, float]]:
        """``(epoch, value)`` of a metric, the last value of each epoch, epochs increasing."""
        by_epoch: dict[float, float] = {}
        for row in self.rows:
            if metric in row and "epoch" in row:
                by_epoch[row["epoch"]] = row[metric]
        return sorted(by_epoch.items())

    def last(self, metric: str) -> float | None:
        values = [row[metric] for row in self.rows if metric in row]
        return values[-1] if values else None

    def last_epoch(self) -> int | None:
        epochs = [row["epoch"] for row in self.rows if "epoch" in row]
        return int(max(epochs)) if epochs else None


# ---------------------------------------------------------------------------------------------- reading
def _parse_value(text: str) -> Any:
    """An override's value as Hydra reads it: numbers (``1e-3`` too), booleans, lists, else the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_overrides(lines: Sequence[str]) -> dict[str, Any]:
    """``["model.lambda_damsm=5", "+trainer.x=1"]`` -> ``{"model.lambda_damsm": 5, "trainer.x": 1}``."""
    parsed: dict[str, Any] = {}
    for line in lines:
        key, sep, value = str(line).partition("=")
        if not sep:
            continue
        parsed[key.lstrip("+~")] = _parse_value(value)
    return parsed


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError:
        return None


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a CSV logger's ``metrics.csv``: only the cells that hold a number."""
    rows = []
    with path.open(newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, text in raw.items():
                if key is None or text in (None, ""):
                    continue
                try:
                    row[key] = float(text)  # nan and inf kept: a diverged job shows as such
                except ValueError:
                    continue
            if row:
                rows.append(row)
    return rows


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Directories holding ``.hydra/overrides.yaml`` under ``sweep_dir`` (jobs may sit in nested folders when
    an override value contains a ``/``)."""
    found = []
    pending = [sweep_dir]
    while pending:
        folder = pending.pop()
        if (folder / ".hydra" / "overrides.yaml").is_file():
            found.append(folder)
            continue
        pending += [
            p for p in folder.iterdir() if p.is_dir() and p.name not in SKIP_DIRS and p.name[0] != "."
        ]
    return found


def _job_number(path: Path, hydra_cfg: Any, fallback: int) -> int:
    try:
        return int(hydra_cfg["hydra"]["job"]["num"])
    except (KeyError, TypeError, ValueError):
        head = path.name.split("_", 1)[0]
        return int(head) if head.isdigit() else fallback


def read_job(path: Path, fallback_number: int) -> Job:
    overrides = parse_overrides(_read_yaml(path / ".hydra" / "overrides.yaml") or [])
    config = _read_yaml(path / ".hydra" / "config.yaml") or {}
    number = _job_number(path, _read_yaml(path / ".hydra" / "hydra.yaml"), fallback_number)
    job = Job(
        path=path, number=number, overrides=overrides, config=config if isinstance(config, dict) else {}
    )
    candidates = [path / "csv" / "metrics.csv", *sorted(path.glob("csv/*/metrics.csv"))]
    metrics_file = next((p for p in candidates if p.is_file()), None)
    if metrics_file is None:
        job.problem = "no csv/metrics.csv (failed before logging, or run without logger=csv)"
        return job
    try:
        job.rows = read_metrics(metrics_file)
    except (OSError, csv.Error) as err:
        job.problem = f"unreadable metrics ({err})"
        return job
    if not job.rows:
        job.problem = "metrics.csv is empty (failed before the first logged step)"
    return job


def read_sweep(sweep_dir: Path) -> list[Job]:
    if not sweep_dir.is_dir():
        raise AttnGANError(
            f"'{sweep_dir}' is not a directory; pass the sweep directory of `attngan-train -m`"
        )
    job_dirs = find_job_dirs(sweep_dir)
    if not job_dirs:
        raise AttnGANError(
            f"no sweep jobs under '{sweep_dir}' (a job is a folder with .hydra/overrides.yaml). Pass the "
            "directory `attngan-train -m ...` printed, e.g. multirun/<task_name>/<date>_<time>"
        )
    jobs = [read_job(path, i) for i, path in enumerate(sorted(job_dirs))]
    return sorted(jobs, key=lambda job: (job.number, str(job.path)))


# ---------------------------------------------------------------------------------------------- analysis
def swept_keys(jobs: Sequence[Job], sweep_dir: Path) -> list[str]:
    """Override keys whose value differs between jobs (in override order); with one job, the keys written
    with sweep syntax in ``multirun.yaml``."""
    order: list[str] = []
    for job in jobs:
        order += [k for k in job.overrides if k not in order]
    differing = [k for k in order if len({repr(job.overrides.get(k)) for job in jobs}) > 1]
    if differing or len(jobs) != 1:
        return differing
    multirun = _read_yaml(sweep_dir / "multirun.yaml") or {}
    task = ((multirun.get("hydra") or {}).get("overrides") or {}).get("task") or []
    swept = parse_overrides([str(t) for t in task if "," in str(t) or "(" in str(t)])
    return [k for k in order if k in swept]


def _is_column(key: str) -> bool:
    """A ``val/*`` result worth a column: a registry result marked ``headline`` (not a spread, count or
    reference value), or any other ``val/*`` value that is not bookkeeping."""
    if not key.startswith("val/") or key in NOT_METRICS:
        return False
    result = result_entry(key)
    return result is None or result.headline


def metric_columns(jobs: Sequence[Job], requested: Sequence[str] | None = None) -> list[str]:
    """The ``val/*`` metrics any job logged (preferred first), or the requested ones."""
    present = sorted({k for job in jobs for row in job.rows for k in row})
    if requested:
        return [m for m in requested if m in present]
    val = [k for k in present if _is_column(k)]
    return [m for m in PREFERRED if m in val] + [m for m in val if m not in PREFERRED]


def plot_metrics(jobs: Sequence[Job], columns: Sequence[str], requested: Sequence[str] | None) -> list[str]:
    if requested:
        return list(columns)
    chosen = [m for m in PREFERRED[:2] if m in columns]
    for m in columns:
        if len(chosen) >= 2:
            break
        if m not in chosen:
            chosen.append(m)
    if not chosen:  # no evaluation yet: show the generator loss (or the DAMSM loss)
        present = {k for job in jobs for row in job.rows for k in row}
        chosen = [m for m in TRAINING_LOSSES if m in present][:1]
    return chosen


def higher_is_better(metric: str) -> bool | None:
    """The direction of ``metric`` (``val/<result>`` from the metric registry; training losses are minimised);
    ``None`` when it has none (a count, or a value the registry does not know)."""
    if metric in TRAINING_LOSSES:
        return False
    result = result_entry(metric)
    return result.higher_is_better if result is not None else None


def best_job(jobs: Sequence[Job], metric: str) -> tuple[float, Job] | None:
    """The finished job with the best last value of ``metric`` and that value; ``None`` when there is no
    direction or fewer than two finite values."""
    direction = higher_is_better(metric)
    scored = [(value, job) for job in jobs if not job.problem and (value := job.last(metric)) is not None]
    scored = [(value, job) for value, job in scored if value == value]  # NaN: a diverged job is never best
    if direction is None or len(scored) < 2:
        return None
    return (max if direction else min)(scored, key=lambda item: item[0])


def fmt(value: Any) -> str:
    """A table cell: 4 significant digits, ``nan``, ``–`` for nothing."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.4g}"
    return str(value)


def job_status(job: Job) -> str:
    """``done``, ``failed`` or ``stopped at epoch k/n``."""
    if job.problem:
        return "failed"
    max_epochs = (job.config.get("trainer") or {}).get("max_epochs")
    last = job.last_epoch()
    if isinstance(max_epochs, int) and max_epochs > 0 and last is not None and last + 1 < max_epochs:
        return f"stopped at epoch {last + 1}/{max_epochs}"
    return "done"


def job_label(job: Job, keys: Sequence[str], fallback: str | None = None) -> str:
    """A job's swept values as ``key=value, ...`` (the last part of each key)."""
    text = ", ".join(f"{k.rsplit('.', 1)[-1]}={fmt(job.overrides.get(k))}" for k in keys)
    return text or (f"job {job.number}" if fallback is None else fallback)
