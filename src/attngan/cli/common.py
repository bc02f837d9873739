"""Shared plumbing of the console scripts: where the configs live, and how user errors are reported."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from attngan.errors import AttnGANError


def config_dir() -> str:
    """Absolute path of the shipped ``conf/`` directory (the repository's in an editable install)."""
    return str(resources.files("attngan.conf"))


def compose_config(config_name: str, overrides: Sequence[str] = (), return_hydra_config: bool = False) -> Any:
    """Compose a shipped config (``train``, ``eval``, ``data_tool``, ...) with ``overrides``, as its app would.

    For Python callers (notebooks, benchmarks, tests): no Hydra run directory, nothing resolved yet;
    ``return_hydra_config=True`` keeps the ``hydra`` node (launcher, sweeper).
    """
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(
            config_name=config_name, overrides=list(overrides), return_hydra_config=return_hydra_config
        )


def debug_enabled() -> bool:
    return os.environ.get("ATTNGAN_DEBUG", "") not in ("", "0", "false", "False")


def report_user_errors(prog: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: turn :class:`AttnGANError` into one message on stderr and its exit code.

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
                print(f"{prog}: error: {err}", file=sys.stderr)
                print(f"({type(err).__name__}; set ATTNGAN_DEBUG=1 for the traceback)", file=sys.stderr)
                sys.exit(err.exit_code)

        return wrapper

    return decorate


def hydra_main(config_name: str, prog: str, task: Callable[[Any], Any], argv: list[str] | None = None) -> Any:
    """Run ``task(cfg)`` as a Hydra app on the shipped configs, with user errors reported cleanly.

    Args:
        config_name: primary config in ``conf/`` (without ``.yaml``).
        prog: the console script's name, used in messages.
        task: function of the composed config.
        argv: command-line arguments (defaults to ``sys.argv[1:]``).
    """
    import hydra

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    if debug_enabled():
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")

    @hydra.main(version_base="1.3", config_path=config_dir(), config_name=config_name)
    @report_user_errors(prog)
    def _main(cfg: Any) -> Any:
        return task(cfg)

    return _main()
