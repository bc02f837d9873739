"""``attngan-reproduce``: the paper's five claims re-run on the shapes data, with a report and a verdict each.

Studies are configs (``conf/study/*.yaml``) over the shipped shapes experiments; the work is
:func:`attngan.reproduce.runner.reproduce`::

    attngan-reproduce                                   # every study -> outputs/reproduce/report.md
    attngan-reproduce study=lambda output_dir=outputs/reproduce
    attngan-reproduce plan_only=true                    # the time budget plan only
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from attngan.cli.common import report_user_errors

__all__ = ["main"]

PROG = "attngan-reproduce"


def _compose(overrides: list[str]) -> Any:
    from attngan.cli.explain import App, check_arguments, explain
    from attngan.config import compose_config
    from attngan.errors import ConfigError

    app = App(PROG, "reproduce", overrides)
    try:
        check_arguments(app, overrides)
        return compose_config("reproduce", overrides)
    except Exception as err:
        known = explain(err, app)
        if known is None:
            raise
        raise ConfigError(str(known)) from None


class _CurrentStderr(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a record is written, not the stream of when it was made
    (``main`` called in-process under a redirected or captured stderr that is later closed)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _log_to_stderr() -> None:
    """attngan's INFO lines (studies, runs, data) on stderr; Lightning keeps its own handler."""
    logger = logging.getLogger("attngan")
    if not logger.handlers:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@report_user_errors(PROG)
def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        from attngan.cli.help import render_help

        print(render_help("reproduce", PROG))
        return 0
    from attngan.reproduce.runner import reproduce

    _log_to_stderr()
    result = reproduce(_compose(args))
    if result["report"]:
        done = ", ".join(f"{k} ({v})" for k, v in result["studies"].items())
        print(f"{PROG}: studies: {done}\n{PROG}: report: {result['report']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
