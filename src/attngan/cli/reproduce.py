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

from omegaconf import DictConfig, OmegaConf

from attngan.cli.common import report_user_errors

__all__ = ["main"]

PROG = "attngan-reproduce"


def _compose(overrides: list[str]) -> DictConfig:
    from attngan.cli.explain import App, check_arguments, explain
    from attngan.config import compose_config
    from attngan.errors import ConfigError
    from attngan.schemas import check_values

    app = App(PROG, "reproduce", overrides)
    try:
        check_arguments(app, overrides)
        cfg = compose_config("reproduce", overrides)
        check_values(cfg, "reproduce")
        return cfg
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
    if any(a in ("--cfg", "-c") for a in args):
        # --cfg job (or all): the composed config, as the Hydra apps print it; nothing runs
        at = next(i for i, a in enumerate(args) if a in ("--cfg", "-c"))
        print(OmegaConf.to_yaml(_compose(args[:at] + args[at + 2 :])), end="")
        return 0
    flags = [a for a in args if a.startswith("-")]
    if flags:
        from attngan.errors import ConfigError

        raise ConfigError(
            f"{PROG} takes key=value overrides, --help and --cfg job; got {flags[0]} (`{PROG} --help`)"
        )
    from attngan.outputs import check_run_directory
    from attngan.reproduce.runner import reproduce

    cfg = _compose(args)
    # resumable: a directory it wrote (plan.md first) is its own; any other non-empty one is refused
    signs = ("plan.md", "report.md")
    check_run_directory(str(cfg.output_dir), "output_dir", bool(cfg.overwrite), PROG, signs)
    _log_to_stderr()
    from attngan.cli.explain import App, check_config

    # every run's composed config gets attngan-train's checks (unknown keys, missing files, the accelerator)
    result = reproduce(cfg, check=lambda run_cfg: check_config(run_cfg, App("attngan-train", "train")))
    if result["report"]:
        done = ", ".join(f"{k} ({v})" for k, v in result["studies"].items())
        print(f"{PROG}: studies: {done}\n{PROG}: report: {result['report']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
