"""Progress of long loops (``attngan-eval``, ``attngan-generate``, ``attngan-data check``, FID statistics): tqdm.

On a terminal tqdm's bar; elsewhere (a log file, CI, a pipe) tqdm's count, rate and ETA without the bar as lines
of their own, at most one every ``mininterval`` seconds (10 by default) and a last one, never a carriage return::

    generating images:  10% 3000/30000 [00:07<01:05, 412.30img/s]

Whether it shows: ``ATTNGAN_PROGRESS=0`` turns every progress display off, training's included; otherwise the
caller's ``enabled`` decides (the CLIs pass their ``progress`` key, ``true`` by default; training passes
``true``); library calls leave it ``None``, which is off unless ``ATTNGAN_PROGRESS=1``. No Lightning here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["ENV_VAR", "is_terminal", "progress", "progress_enabled"]

#: the environment variable: 0/false/off/no hides every progress display, 1/true/on/yes shows the library's too
ENV_VAR = "ATTNGAN_PROGRESS"
_OFF = {"0", "false", "off", "no"}
_ON = {"1", "true", "on", "yes"}


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether a progress display shows: ``ATTNGAN_PROGRESS=0`` wins, then ``enabled``, then ``ATTNGAN_PROGRESS=1``.

    Args:
        enabled: the caller's choice (a CLI's ``progress`` key); ``None``: off unless ``ATTNGAN_PROGRESS=1``.
    """
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env in _OFF:
        return False
    if enabled is not None:
        return bool(enabled)
    return env in _ON


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a bar redraws there; elsewhere progress is plain lines)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


# off a terminal: tqdm's bar-less format (ncols=0), a line at most every 10 s with the average rate since the start,
# and leave=False so that close() asks _Lines for its last line instead of adding a newline
_LOG_SETTINGS = {"ncols": 0, "mininterval": 10.0, "smoothing": 0, "leave": False}


class _Lines(tqdm):
    """tqdm for a log file: each display a line of its own (a redrawn bar would be one endless line there)."""

    _shown = 0  # the count of the last line: no line at 0, none twice for one count

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        # msg "" is close() clearing the bar (leave=False): in a log, the last line instead
        if self.n != self._shown:
            self._shown = self.n
            self.fp.write(f"{self}\n")
            self.fp.flush()
        return False  # nothing for close() to clear


def progress(
    iterable: Iterable[Any] | None = None,
    total: int | None = None,
    *,
    desc: str = "",
    unit: str = "it",
    enabled: bool | None = None,
    count: Callable[[Any], int] | None = None,
    file: TextIO | None = None,
    **options: Any,
) -> Any:
    """A tqdm over ``iterable`` (iterate it), or over ``total`` items (call ``update``; use it as a context manager)::

        for batch in progress(loader, total=len(dataset), desc="FID reference", unit="img", count=len):
            ...
        with progress(total=30000, desc="generating images", unit="img", enabled=cfg.progress) as bar:
            bar.update(100)

    Args:
        iterable: what to iterate over; ``None``: call ``update`` yourself.
        total: the number of items (default: the iterable's ``len``, unless ``count`` is given).
        desc: what is counted, the start of every line.
        unit: the items' unit (``"img"``, ``"caption"``).
        enabled: the caller's choice (see :func:`progress_enabled`); ``None``: off unless ``ATTNGAN_PROGRESS=1``.
        count: the number of items in one element of the iterable (e.g. ``len`` of a batch; default 1).
        file: where to write (default: ``sys.stderr`` at the time of the call).
        **options: more tqdm arguments (``mininterval``: off a terminal, the least seconds between two lines).
    """
    file = sys.stderr if file is None else file
    terminal = is_terminal(file)
    settings = {"dynamic_ncols": True} if terminal else _LOG_SETTINGS
    bar = (tqdm if terminal else _Lines)(
        iterable if count is None else None,
        total=total,
        desc=desc or None,
        unit=unit,
        file=file,
        disable=not progress_enabled(enabled),
        **{**settings, **options},
    )
    return bar if count is None or iterable is None else _counted(bar, iterable, count)


def _counted(bar: tqdm, iterable: Iterable[Any], count: Callable[[Any], int]) -> Iterator[Any]:
    with bar:
        for item in iterable:
            yield item
            bar.update(count(item))
