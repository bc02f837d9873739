"""Run a console script's ``main()`` in-process, as its installed script would run it.

Starting a subprocess costs seconds (Python, torch, Lightning and Hydra are imported again); tests of what a
command prints, writes and exits with call ``main()`` here instead, with ``sys.argv``, the working directory and
the environment set as for the script, stdout and stderr captured and ``SystemExit`` turned into the exit code.
A few tests still run the installed scripts as subprocesses, to prove the wiring itself.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

BIN = Path(sys.executable).parent


def console_scripts() -> dict[str, importlib.metadata.EntryPoint]:
    """``name -> entry point`` of every installed console script."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group="console_scripts")}


def run_in_process(
    argv: list[str] | tuple[str, ...],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    unset: tuple[str, ...] = ("ATTNGAN_DEBUG", "HYDRA_FULL_ERROR"),
) -> subprocess.CompletedProcess:
    """``argv[0]``'s ``main()`` (e.g. ``attngan-train``) called in-process with ``argv[1:]``.

    Args:
        argv: the command line, starting with the console script's name.
        cwd: working directory during the call (restored afterwards).
        env: variables set during the call (the environment is restored afterwards).
        unset: variables removed during the call.

    Returns:
        A ``CompletedProcess`` with the captured stdout, stderr and the exit code: ``SystemExit``'s code, or
        what ``main`` returns, read as ``sys.exit(main())`` (the installed script) reads it.
    """
    main = console_scripts()[argv[0]].load()
    command = [str(BIN / argv[0]), *argv[1:]]
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_argv, saved_cwd = dict(os.environ), list(sys.argv), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    os.environ.update(env or {})
    for name in unset:
        os.environ.pop(name, None)
    sys.argv = command
    os.chdir(cwd)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                sys.exit(main())  # as the installed script: its return value is the exit status
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                if not isinstance(exit_.code, int | None):
                    print(
                        exit_.code, file=sys.stderr
                    )  # what sys.exit prints for a value that is not a status
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in root.handlers[:]:  # Hydra's job logging (a file in the run directory) ends here
            if handler not in saved_handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)
        from hydra.core.global_hydra import GlobalHydra
        from hydra.core.hydra_config import HydraConfig

        GlobalHydra.instance().clear()
        HydraConfig.instance().cfg = None  # a later in-process run must not see this one's (multi)run mode
    return subprocess.CompletedProcess(command, code, out.getvalue(), err.getvalue())
