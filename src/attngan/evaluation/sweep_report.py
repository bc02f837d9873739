"""The sweep report: one Markdown table and one figure for a Hydra sweep (paper Table 2 / Fig. 3).

The table holds the last value of every ``val/*`` metric per job (failed and unfinished jobs marked) and the
best setting per plotted metric (direction from the metric registry); the PNG shows the chosen metrics
against epoch (one line per job) and against the swept value (final values). Reading the sweep is
:mod:`attngan.evaluation.sweep`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attngan.errors import AttnGANError
from attngan.evaluation.sweep import (
    TRAINING_LOSSES,
    Job,
    best_job,
    fmt,
    job_label,
    job_status,
    metric_columns,
    plot_metrics,
    read_sweep,
    swept_keys,
)

__all__ = ["build_report", "markdown_report", "write_figure"]


def markdown_report(
    sweep_dir: Path,
    jobs: Sequence[Job],
    keys: Sequence[str],
    columns: Sequence[str],
    plotted: Sequence[str],
    figure: str | None,
) -> str:
    """The report: the table of jobs, the best setting per plotted metric, failed jobs, the figure."""
    extra = [m for m in TRAINING_LOSSES[:2] if any(job.last(m) is not None for job in jobs)][:1]
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
        cells = [str(job.number), *(fmt(job.overrides.get(k)) for k in keys), job_status(job)]
        last_epoch = job.last_epoch()
        cells.append("–" if last_epoch is None else str(last_epoch + 1))
        for metric in [*columns, *extra]:
            value, std = job.last(metric), job.last(f"{metric}_std")
            cells.append(fmt(value) + (f" ± {fmt(std)}" if value is not None and std is not None else ""))
        lines.append("| " + " | ".join(cells) + " |")
    best_lines = []
    for metric in plotted:
        values = {v for job in jobs if not job.problem and (v := job.last(metric)) is not None and v == v}
        best = best_job(jobs, metric)
        if best is not None and len(values) == 1:
            best_lines.append(f"- `{metric}`: {fmt(best[0])} for every job")
        elif best is not None:
            value, job = best
            setting = ", ".join(f"{k}={fmt(job.overrides.get(k))}" for k in keys) or f"job {job.number}"
            best_lines.append(f"- best `{metric}`: {fmt(value)} ({setting})")
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
                    [e + 1 for e in epochs], values, marker="o", markersize=3, label=job_label(job, keys)
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
                groups.setdefault(job_label(job, others, ""), []).append(
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
            labels = [job_label(job, keys) for job, _ in scored]
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
