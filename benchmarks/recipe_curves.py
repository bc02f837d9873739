"""Accuracy of shapes runs against generator steps and wall minutes, side by side (JSON lines + one PNG).

    python benchmarks/recipe_curves.py release=outputs/runs/release new=outputs/shapes/attngan_run \
        --png docs/img/recipe-curves.png

Each run directory is an ``attngan-train`` run with the evaluation callback on: its ``evaluation.jsonl`` gives the
metrics per evaluation, its ``attngan.log`` the wall time of each (minutes since the run's first log line, data
set-up and evaluations included). Compare runs only when they ran on the same machine with the same threads, at the
same time (interleaved), as docs/results.md says.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

METRICS = {
    "shapes_single_object_colour_acc": "one object: colour",
    "shapes_single_object_position_acc": "one object: side",
    "shapes_single_object_shape_acc": "one object: shape",
    "shapes_single_object_size_acc": "one object: size",
    "shapes_two_object_colour_acc": "two objects: both colours",
    "r_precision": "R-precision",
}
_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+\]")
_EVALUATION = re.compile(r"epoch (\d+) evaluation \(")


def _stamp(line: str) -> datetime | None:
    found = _STAMP.match(line)
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S") if found else None


def read_run(directory: Path) -> list[dict[str, Any]]:
    """One record per evaluation: ``generator_step``, ``minutes`` (None without a log) and the metrics."""
    records = [json.loads(line) for line in (directory / "evaluation.jsonl").read_text().splitlines() if line]
    minutes: dict[int, float] = {}
    log = directory / "attngan.log"
    if log.is_file():
        start = None
        for line in log.read_text(errors="replace").splitlines():
            stamp = _stamp(line)
            start = start or stamp
            found = _EVALUATION.search(line)
            if found and stamp and start:
                minutes[int(found.group(1))] = (stamp - start).total_seconds() / 60
    return [
        {**r, "generator_step": int(r["generator_step"]), "minutes": minutes.get(int(r["epoch"]))}
        for r in records
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="NAME=RUN_DIR, one per run")
    parser.add_argument("--png", type=Path, help="write the curves here")
    args = parser.parse_args(argv)
    runs = {}
    for item in args.runs:
        name, _, path = item.partition("=")
        runs[name] = read_run(Path(path))
        for record in runs[name]:
            out = {"run": name, "generator_step": record["generator_step"], "minutes": record["minutes"]}
            out.update({key: round(float(record[key]), 4) for key in METRICS if key in record})
            print(json.dumps(out))
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 3, figsize=(13, 7), sharex=True)
        for ax, (key, title) in zip(axes.flat, METRICS.items(), strict=True):
            for name, records in runs.items():
                points = [(r["minutes"], r[key]) for r in records if r["minutes"] is not None and key in r]
                if points:
                    ax.plot(*zip(*points), marker="o", label=name)
            ax.set_title(title)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel("wall minutes of AttnGAN training")
        axes.flat[0].legend()
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=90)


if __name__ == "__main__":
    main()
