"""``attngan-sweep-report``: one table and one figure for a Hydra sweep (paper Table 2 / Fig. 3).

Reads every job of a multirun directory (``attngan-train -m ...``) and writes ``sweep_report.md`` and
``sweep_report.png`` (:func:`attngan.evaluation.sweep_report.build_report`)::

    attngan-train -m experiment=cub_attngan1 model.lambda_damsm=0.1,1,5,10
    attngan-sweep-report multirun/cub_attngan1/2026-01-31_12-00-00
"""

from __future__ import annotations

import argparse
import sys

from attngan.cli.common import report_user_errors
from attngan.evaluation.sweep_report import build_report

__all__ = ["main"]

PROG = "attngan-sweep-report"


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
