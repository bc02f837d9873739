"""Shared plumbing of the console scripts: where the configs live, and how user errors are reported."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from attngan.config import compose_config, config_dir
from attngan.errors import AttnGANError, ConfigError
from attngan.outputs import hold_run_directory

# exit code of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED_EXIT_CODE = 130

# flags that print instead of running (--cfg, --info, ...), run a sweep (-m) or pick another config
UNCHECKED_FLAGS = {
    *("-m", "--multirun", "-c", "--cfg", "-i", "--info", "-sc", "--shell-completion", "--hydra-help"),
    *("-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir", "--experimental-rerun"),
}


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


def _hydra_value(text: str) -> str:
    """``text`` as a Hydra override value: as is when plain, else single-quoted."""
    if re.fullmatch(r"[\w./:+@-]+", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def hydra_main(
    config_name: str,
    prog: str,
    task: Callable[[Any], Any],
    argv: list[str] | None = None,
    check: bool = True,
    outputs: Callable[[Any], Path | None] | None = None,
) -> Any:
    """Run ``task(cfg)`` as a Hydra app on the shipped configs; every user mistake becomes one line.

    Before the task runs: ``--help`` prints the app's own help (from ``conf/<config_name>.yaml``, see
    :mod:`attngan.cli.help`), and the composed config is checked (``check=True``; see
    :func:`attngan.cli.explain.check_config`): missing mandatory values, keys no constructor takes,
    checkpoints that are not there, an accelerator that is not there. Hydra's, OmegaConf's and Lightning's
    errors for user mistakes are explained (:func:`attngan.cli.explain.explain`); each is printed as one line
    on stderr, exit code 2. ``ATTNGAN_DEBUG=1`` lets every error propagate with its traceback.

    Args:
        config_name: primary config in ``conf/`` (without ``.yaml``).
        prog: the console script's name, used in messages.
        task: function of the composed config.
        argv: command-line arguments (defaults to ``sys.argv[1:]``).
        check: run the checks of the composed config before ``task``.
        outputs: checks of the app's output locations on the composed config (a single run, before Hydra
            starts it); it returns the run directory Hydra will write into, or None. That directory is pinned
            (``hydra.run.dir``, resolved once) and held for the run: a second process there is refused
            (:func:`attngan.outputs.hold_run_directory`) before Hydra writes a file into it.
    """
    import hydra

    from attngan.cli.explain import App, check_arguments, check_config, explain
    from attngan.schemas import register_schemas

    register_schemas()  # the apps' typed configs (conf/<app>.yaml lists <app>_schema first)
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        from attngan.cli.help import render_help

        print(render_help(config_name, prog))
        return None
    overrides = [a for a in args if not a.startswith("-") and ("=" in a or a.startswith("~"))]
    app = App(prog, config_name, overrides)
    debug = debug_enabled()

    # a single run is checked before Hydra starts it (no run directory is made for a refused command); the
    # jobs of a sweep (-m) are checked each inside its own job
    flags = {a.split("=")[0] for a in args if a.startswith("-")}
    check_first = check and not flags & UNCHECKED_FLAGS

    @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
    def _main(cfg: Any) -> Any:
        # errors are reported here, inside the job (each job of a sweep reports its own): raised further,
        # Hydra would print "Error executing job ..." first
        if check and not check_first:
            from hydra.core.hydra_config import HydraConfig

            app.choices = dict(HydraConfig.get().runtime.choices)
            try:
                check_config(cfg, app)
            except AttnGANError as err:
                if debug:
                    raise
                report(prog, err, debug_hint=False)
        try:
            return task(cfg)
        except Exception as err:
            known = None if debug else explain(err, app)
            if known is None:
                raise
            report(prog, known)

    sys.argv = [sys.argv[0], *args]
    saved = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing its own trace
    try:
        check_arguments(app, args)
        run_dir = None
        if check_first:
            composed = compose_config(config_name, overrides, return_hydra_config=True)
            app.choices = dict(composed.hydra.runtime.choices)
            check_config(composed, app)
            run_dir = outputs(composed) if outputs is not None else None
        if run_dir is None:
            return _main()
        if not any(a.startswith("hydra.run.dir=") for a in args):
            sys.argv.append(f"hydra.run.dir={_hydra_value(str(run_dir))}")
        with hold_run_directory(run_dir, "hydra.run.dir"):
            return _main()
    except KeyboardInterrupt:  # Ctrl-C while starting (attngan-train's training itself handles its own)
        if debug:
            raise
        print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
    except Exception as err:
        known = None if debug else explain(err, app)
        if known is None:
            raise
        report(prog, known, debug_hint=not isinstance(known, ConfigError))
    finally:
        if saved is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved
