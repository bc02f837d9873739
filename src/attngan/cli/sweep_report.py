"""``attngan-sweep-report``: one table and one figure for a Hydra sweep (paper Table 2 / Fig. 3).

Reads every job of a multirun directory (``attngan-train -m ...``): the swept values from the job's
``.hydra/overrides.yaml``, its metrics from the CSV logger's ``csv/metrics.csv``. Writes a Markdown table (last
value of every ``val/*`` metric per job, failed and unfinished jobs marked) and a PNG of the chosen metrics
against epoch (one line per job) and against the swept value (final values)::

    attngan-train -m experiment=cub_attngan1 model.lambda_damsm=0.1,1,5,10
    attngan-sweep-report multirun/cub_attngan1/2026-01-31_12-00-00
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from attngan.cli.common import report_user_errors
from attngan.errors import AttnGANError

PROG = "attngan-sweep-report"
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
# bookkeeping columns, not results (also left out: counts, `num_` in the name, and `_baseline`s)
NOT_METRICS = {"val/generator_step", "val/epoch", "val/step"}
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


def metric_columns(jobs: Sequence[Job], requested: Sequence[str] | None = None) -> list[str]:
    """The ``val/*`` metrics any job logged (preferred first), or the requested ones."""
    present = sorted({k for job in jobs for row in job.rows for k in row})
    if requested:
        return [m for m in requested if m in present]
    val = [
        k
        for k in present
        if k.startswith("val/")
        and not k.endswith(("_std", "_baseline"))
        and "num_" not in k
        and k not in NOT_METRICS
    ]
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
        chosen = [m for m in ("train/g_loss", "train/loss_epoch", "train/loss") if m in present][:1]
    return chosen


def lower_is_better(metric: str) -> bool:
    name = metric.lower()
    return "fid" in name or "loss" in name


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:
            return "nan"
        return f"{value:.4g}"
    return str(value)


def job_status(job: Job) -> str:
    if job.problem:
        return "failed"
    max_epochs = (job.config.get("trainer") or {}).get("max_epochs")
    last = job.last_epoch()
    if isinstance(max_epochs, int) and max_epochs > 0 and last is not None and last + 1 < max_epochs:
        return f"stopped at epoch {last + 1}/{max_epochs}"
    return "done"


def markdown_report(
    sweep_dir: Path,
    jobs: Sequence[Job],
    keys: Sequence[str],
    columns: Sequence[str],
    plotted: Sequence[str],
    figure: str | None,
) -> str:
    """The report: the table of jobs, the best setting per plotted metric, failed jobs, the figure."""
    losses = ("train/g_loss", "train/loss_epoch")
    extra = [m for m in losses if any(job.last(m) is not None for job in jobs)][:1]
    header = ["job", *keys, "status", "epochs", *columns, *extra]
    lines = [
        f"# Sweep report: {sweep_dir}",
        "",
        f"{len(jobs)} job(s); swept: {', '.join(f'`{k}`' for k in keys) or '(nothing differs between jobs)'}. "
        "Metric values are the last logged (final epoch); `±` is the logged standard deviation.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for job in jobs:
        cells = [str(job.number), *(_fmt(job.overrides.get(k)) for k in keys), job_status(job)]
        last_epoch = job.last_epoch()
        cells.append("–" if last_epoch is None else str(last_epoch + 1))
        for metric in [*columns, *extra]:
            value, std = job.last(metric), job.last(f"{metric}_std")
            cells.append(_fmt(value) + (f" ± {_fmt(std)}" if value is not None and std is not None else ""))
        lines.append("| " + " | ".join(cells) + " |")
    finished = [job for job in jobs if not job.problem]
    best_lines = []
    for metric in plotted:
        scored = [
            (value, job) for job in finished if (value := job.last(metric)) is not None and value == value
        ]
        if len(scored) > 1 and len({value for value, _ in scored}) == 1:
            best_lines.append(f"- `{metric}`: {_fmt(scored[0][0])} for every job")
        elif len(scored) > 1:
            value, job = (min if lower_is_better(metric) else max)(scored, key=lambda item: item[0])
            setting = ", ".join(f"{k}={_fmt(job.overrides.get(k))}" for k in keys) or f"job {job.number}"
            best_lines.append(f"- best `{metric}`: {_fmt(value)} ({setting})")
    if best_lines:
        lines += ["", *best_lines]
    failed = [job for job in jobs if job.problem]
    if failed:
        lines += ["", "Failed or empty jobs:"]
        lines += [f"- job {job.number} ({job.path}): {job.problem}" for job in failed]
    if not columns:
        lines += [
            "",
            "No `val/*` metrics were logged (no evaluation ran): the table shows the last training loss.",
        ]
    if figure:
        lines += ["", f"![metrics against epoch and {keys[0] if keys else 'job'}]({figure})"]
    return "\n".join(lines) + "\n"


def _label(job: Job, keys: Sequence[str], fallback: str | None = None) -> str:
    text = ", ".join(f"{k.rsplit('.', 1)[-1]}={_fmt(job.overrides.get(k))}" for k in keys)
    return text or (f"job {job.number}" if fallback is None else fallback)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def write_figure(
    path: Path, jobs: Sequence[Job], keys: Sequence[str], metrics: Sequence[str], x_key: str | None
) -> None:
    """Per metric: against epoch (one line per job) and final value against the swept value (paper Fig. 3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    finished = [job for job in jobs if not job.problem]
    fig, axes = plt.subplots(len(metrics), 2, figsize=(10, 3.4 * len(metrics)), squeeze=False)
    for row, metric in enumerate(metrics):
        over_epochs, over_values = axes[row]
        for job in finished:
            points = job.series(metric)
            if points:
                epochs, values = zip(*points)
                over_epochs.plot(
                    [e + 1 for e in epochs], values, marker="o", markersize=3, label=_label(job, keys)
                )
        over_epochs.set_xlabel("epoch")
        over_epochs.xaxis.set_major_locator(MaxNLocator(integer=True))
        over_epochs.ticklabel_format(axis="y", useOffset=False)
        over_epochs.set_ylabel(metric)
        over_epochs.set_title(f"{metric} during training")
        if over_epochs.get_legend_handles_labels()[0]:
            over_epochs.legend(fontsize=7)
        over_epochs.grid(alpha=0.3)

        scored = [(job, job.last(metric)) for job in finished if job.last(metric) is not None]
        numeric_x = x_key is not None and all(_is_number(job.overrides.get(x_key)) for job, _ in scored)
        if scored and numeric_x:
            assert x_key is not None
            others = [k for k in keys if k != x_key]
            groups: dict[str, list[tuple[float, float]]] = {}
            for job, value in scored:
                groups.setdefault(_label(job, others, ""), []).append(
                    (float(job.overrides[x_key]), float(value))
                )
            for label, points in groups.items():
                xs, ys = zip(*sorted(points))
                over_values.plot(xs, ys, marker="o", label=label if others else None)
            xs_all = [float(job.overrides[x_key]) for job, _ in scored]
            if min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 20:
                over_values.set_xscale("log")
            over_values.set_xlabel(x_key)
            if others:
                over_values.legend(fontsize=7)
        elif scored:
            labels = [_label(job, keys) for job, _ in scored]
            over_values.bar(range(len(scored)), [value for _, value in scored])
            over_values.set_xticks(range(len(scored)), labels, rotation=30, ha="right", fontsize=7)
        else:
            over_values.text(0.5, 0.5, "no values", ha="center", va="center", transform=over_values.transAxes)
        over_values.ticklabel_format(axis="y", useOffset=False)
        over_values.set_ylabel(metric)
        over_values.set_title(f"final {metric}")
        over_values.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- entry point
def build_report(
    sweep_dir: str | Path,
    output_dir: str | Path | None = None,
    metrics: Sequence[str] | None = None,
    x_key: str | None = None,
) -> dict[str, Any]:
    """Read a sweep, write ``sweep_report.md`` and ``sweep_report.png``; returns what was found and written.

    Args:
        sweep_dir: the multirun directory (``hydra.sweep.dir``).
        output_dir: where to write (default: ``sweep_dir``).
        metrics: metrics for the table and figure (default: every ``val/*`` metric in the table, IS and
            R-precision, or the first ones present, in the figure).
        x_key: swept key on the figure's x-axis (default: the first swept key).
    """
    sweep_dir = Path(sweep_dir)
    jobs = read_sweep(sweep_dir)
    keys = swept_keys(jobs, sweep_dir)
    if x_key is not None and x_key not in keys:
        keys = [x_key, *keys]
    columns = metric_columns(jobs, metrics)
    if metrics and not columns:
        present = sorted({k for job in jobs for row in job.rows for k in row})
        raise AttnGANError(f"none of the metrics {list(metrics)} was logged by any job; logged: {present}")
    out = Path(output_dir) if output_dir else sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    figure_path: Path | None = out / "sweep_report.png"
    plotted = plot_metrics(jobs, columns, metrics)
    if plotted and any(not job.problem for job in jobs):
        write_figure(figure_path, jobs, keys, plotted, x_key or (keys[0] if keys else None))
    else:
        figure_path = None
    figure_name = figure_path.name if figure_path else None
    markdown = markdown_report(sweep_dir, jobs, keys, columns, plotted, figure_name)
    report_path = out / "sweep_report.md"
    report_path.write_text(markdown)
    return {
        "jobs": jobs,
        "swept": keys,
        "metrics": columns,
        "plotted": plotted,
        "markdown": markdown,
        "report": report_path,
        "figure": figure_path,
    }


@report_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Collect the jobs of an `attngan-train -m` sweep into a Markdown table and a PNG figure "
        "(metrics against epoch and against the swept value).",
    )
    parser.add_argument("sweep_dir", help="the sweep directory, e.g. multirun/cub_attngan1/<date>_<time>")
    parser.add_argument("--output-dir", default=None, help="where to write the report (default: sweep_dir)")
    parser.add_argument(
        "--metrics", default=None, help="comma-separated metrics, e.g. val/inception_score,val/r_precision"
    )
    parser.add_argument(
        "--x", dest="x_key", default=None, help="swept key for the x-axis, e.g. model.lambda_damsm"
    )
    args = parser.parse_args(argv)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    result = build_report(args.sweep_dir, args.output_dir, metrics, args.x_key)
    sys.stdout.write(result["markdown"])
    sys.stdout.flush()
    written = [str(result["report"])] + ([str(result["figure"])] if result["figure"] else [])
    print(f"{PROG}: wrote {', '.join(written)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
