"""Shared plumbing of the console scripts: a config composed once, checked, then run by Hydra; user errors as one
line."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock

from omegaconf import DictConfig

from attngan.cli.explain import App, check_arguments, check_config, explain
from attngan.config import config_dir
from attngan.errors import AttnGANError, ConfigError
from attngan.outputs import hold_run_directory
from attngan.schemas import register_schemas

# exit code of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED_EXIT_CODE = 130


def debug_enabled() -> bool:
    """``ATTNGAN_DEBUG=1``: let errors propagate, with their traceback."""
    return os.environ.get("ATTNGAN_DEBUG", "") not in ("", "0", "false", "False")


def report(prog: str, err: AttnGANError, debug_hint: bool = True) -> NoReturn:
    """Print ``err`` on stderr, ``<prog>: error: <message>``, and exit with its code.

    Config mistakes are one line (:mod:`attngan.cli.explain` writes them so); a message that carries a
    listing (e.g. the expected layout of a dataset) keeps its lines.
    """
    hint = " (ATTNGAN_DEBUG=1 shows the traceback)" if debug_hint else ""
    print(f"{prog}: error: {str(err).strip()}{hint}", file=sys.stderr)
    sys.exit(err.exit_code)


def report_user_errors(prog: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: turn :class:`AttnGANError` into one line on stderr and its exit code.

    Tracebacks stay available with ``ATTNGAN_DEBUG=1``.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except AttnGANError as err:
                if debug_enabled():
                    raise
                report(prog, err)

        return wrapper

    return decorate


def hydra_main(
    config_name: str,
    prog: str,
    task: Callable[[DictConfig], Any],
    argv: list[str] | None = None,
    outputs: Callable[[DictConfig], Path | None] | None = None,
) -> None:
    """Run ``task(cfg)`` as a Hydra app on the shipped configs; every user mistake becomes one line.

    ``--help`` prints the app's own help (from ``conf/<config_name>.yaml``, see :mod:`attngan.cli.help`). A single
    run is composed once and checked (:func:`attngan.cli.explain.check_config`: missing mandatory values, keys no
    constructor takes, values out of range, checkpoints that are not there, an accelerator that is not there)
    before Hydra runs it (:func:`_run_once`), so a refused command makes no run directory. A command line with
    flags (``-m`` sweeps, ``--cfg``, ``--info``, ...) is Hydra's own (:func:`_hydra_app`): each job of a sweep
    checks its config first. Hydra's, OmegaConf's and Lightning's errors for user mistakes are explained
    (:func:`attngan.cli.explain.explain`); each is printed as one line on stderr, exit code 2.
    ``ATTNGAN_DEBUG=1`` lets every error propagate with its traceback.

    Args:
        config_name: primary config in ``conf/`` (without ``.yaml``).
        prog: the console script's name, used in messages.
        task: function of the composed config.
        argv: command-line arguments (defaults to ``sys.argv[1:]``).
        outputs: checks of the app's output locations on the composed config of a single run; it returns the
            run directory Hydra will write into, or None. That directory is pinned (``hydra.run.dir``, resolved
            once) and held for the run: a second process there is refused
            (:func:`attngan.outputs.hold_run_directory`) before Hydra writes a file into it.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        from attngan.cli.help import render_help

        print(render_help(config_name, prog))
        return
    app = App(prog, config_name, [a for a in args if not a.startswith("-")])
    register_schemas()  # the apps' typed configs (conf/<app>.yaml lists <app>_schema first)
    try:
        check_arguments(app, args)
        if any(a.startswith("-") for a in args):
            _hydra_app(app, task, args)
        else:
            _run_once(app, task, outputs)
    except KeyboardInterrupt:  # Ctrl-C while starting (attngan-train's training itself handles its own)
        if debug_enabled():
            raise
        print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
    except Exception as err:
        known = None if debug_enabled() else explain(err, app)
        if known is None:
            raise
        report(prog, known, debug_hint=not isinstance(known, ConfigError))


def _run_once(
    app: App, task: Callable[[DictConfig], Any], outputs: Callable[[DictConfig], Path | None] | None
) -> None:
    """What ``hydra.main`` does for a single run (``Hydra.run``), on a config composed once and checked before
    Hydra makes the run directory, writes ``.hydra/`` or starts its job log there."""
    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode
    from omegaconf import read_write

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name=app.config_name):
        hydra = GlobalHydra.instance().hydra
        cfg = hydra.compose_config(app.config_name, app.overrides, RunMode.RUN, with_log_configuration=True)
    if cfg.hydra.mode == RunMode.MULTIRUN:  # hydra.mode=MULTIRUN: a sweep without -m
        return _hydra_app(app, task, app.overrides)
    app.choices = dict(cfg.hydra.runtime.choices)
    check_config(cfg, app)
    run_dir = outputs(cfg) if outputs is not None else None
    with read_write(cfg.hydra):
        cfg.hydra.mode = RunMode.RUN
        if run_dir is not None:
            cfg.hydra.run.dir = str(run_dir)
    callbacks = Callbacks(cfg)
    callbacks.on_run_start(config=cfg, config_name=app.config_name)
    context = HydraContext(config_loader=hydra.config_loader, callbacks=callbacks)
    with hold_run_directory(run_dir, "hydra.run.dir") if run_dir else contextlib.nullcontext():
        done = run_job(_job(app, task, check=False), cfg, "hydra.run.dir", None, hydra_context=context)
    callbacks.on_run_end(config=cfg, config_name=app.config_name, job_return=done)
    _ = done.return_value  # raises what the task raised (as Hydra.run does)


def _job(app: App, task: Callable[[DictConfig], Any], check: bool) -> Callable[[DictConfig], Any]:
    """``task`` as Hydra's job: the config checked first (``check``), a user mistake reported inside the job
    (each job of a sweep reports its own; raised further, Hydra would print "Error executing job ..." first)."""

    def job(cfg: DictConfig) -> Any:
        from hydra.core.hydra_config import HydraConfig

        try:
            if check:
                app.choices = dict(HydraConfig.get().runtime.choices)
                check_config(cfg, app)
            return task(cfg)
        except Exception as err:
            known = None if debug_enabled() else explain(err, app)
            if known is None:
                raise
            report(app.prog, known, debug_hint=not isinstance(known, ConfigError))

    return job


def _hydra_app(app: App, task: Callable[[DictConfig], Any], args: list[str]) -> None:
    """``hydra.main`` on Hydra's own command line (``-m``, ``--cfg``, ``--info``, ...); each job checks its
    config before ``task``."""
    import hydra

    sys.argv = [sys.argv[0], *args]
    # HYDRA_FULL_ERROR: Hydra re-raises (and hydra_main explains) instead of printing its own trace
    with mock.patch.dict(os.environ, {"HYDRA_FULL_ERROR": "1"}):
        run = hydra.main(version_base="1.3", config_path=config_dir(), config_name=app.config_name)
        run(_job(app, task, check=True))()
