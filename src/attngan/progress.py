"""Progress, one helper for every display: long loops (``attngan-eval``, ``attngan-generate``, ``attngan-data
check``, FID statistics) through :func:`progress`, and the training loop's lines (:mod:`attngan.lit.progress`)
through the same switch, rate, ETA and duration formats.

On a terminal a bar (tqdm) with the count, the rate and the ETA; elsewhere (a log file, CI, a pipe) one plain
line every ``every`` items (a tenth of the total by default, at most one a second) or every ``interval`` seconds,
whichever comes first, and a last line when done, never a carriage return::

    generating images: 3000/30000 img (10%), 412.3 img/s, ETA 1m05s

Whether it shows: ``ATTNGAN_PROGRESS=0`` turns every progress display off, training's included; otherwise the
caller's ``enabled`` decides (the CLIs pass their ``progress`` key, ``true`` by default; training passes
``true``); library calls leave it ``None``, which is off unless ``ATTNGAN_PROGRESS=1``. No Lightning here.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

__all__ = [
    "ENV_VAR",
    "Progress",
    "eta_seconds",
    "format_duration",
    "format_rate",
    "is_terminal",
    "progress",
    "progress_enabled",
]

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


def format_duration(seconds: float) -> str:
    """``"45s"``, ``"3m05s"``, ``"2h07m"``; ``"?"`` for an unknown (infinite or NaN) duration."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_rate(rate: float, unit: str) -> str:
    """``"412.3 img/s"``, ``"4.52 steps/s"``, ``"0.0421 steps/s"``: 3 significant digits, 1 decimal from 100."""
    return f"{rate:.1f} {unit}/s" if rate >= 100 else f"{rate:.3g} {unit}/s"


def eta_seconds(left: float, done: float, elapsed: float) -> float:
    """Seconds for ``left`` more items at the pace so far (``done`` items in ``elapsed`` seconds); ``inf``
    (shown as ``?``) before the first item or when ``left`` is unknown."""
    return left * elapsed / done if done > 0 else math.inf


class Progress:
    """Show the progress of a loop: a bar on a terminal, plain lines elsewhere, nothing when disabled.

    Iterate over it (when built over an iterable), use it as a context manager, or call :meth:`update` and
    :meth:`close` yourself::

        for batch in progress(loader, total=len(dataset), desc="FID reference", unit="img", count=len):
            ...
        with progress(30000, desc="generating images", unit="img", enabled=cfg.progress) as bar:
            bar.update(100)

    Args:
        iterable_or_total: what to iterate over, or the number of items (then call ``update``).
        total: the number of items when an iterable is given (default: its ``len``; ``None``: unknown).
        desc: what is counted, the start of every line.
        unit: the items' unit (``"img"``, ``"caption"``).
        stream: where to write (default: ``sys.stderr`` at the time of the call).
        enabled: the caller's choice (see :func:`progress_enabled`); ``None``: off unless ``ATTNGAN_PROGRESS=1``.
        every: off a terminal, a line every this many items (default: a tenth of ``total``).
        interval: off a terminal, a line at least every this many seconds.
        count: the number of items in one element of the iterable (e.g. ``len`` of a batch; default 1).
        min_interval: off a terminal, the least seconds between two lines due by ``every`` (a short job writes
            its last line only).
    """

    def __init__(
        self,
        iterable_or_total: Iterable[Any] | int | None = None,
        total: int | None = None,
        *,
        desc: str = "",
        unit: str = "it",
        stream: TextIO | None = None,
        enabled: bool | None = None,
        every: int | None = None,
        interval: float = 10.0,
        count: Callable[[Any], int] | None = None,
        min_interval: float = 1.0,
    ) -> None:
        iterable = iterable_or_total
        if isinstance(iterable_or_total, int) and not isinstance(iterable_or_total, bool):
            if total is not None:
                raise TypeError("give the total once: progress(total) or progress(iterable, total=...)")
            iterable, total = None, iterable_or_total
        elif total is None and count is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(enabled)
        self.count_of = count
        self.interval = float(interval)
        self.min_interval = float(min_interval)
        if every is None:
            every = max(1, math.ceil(total / 10)) if total else 0
        self.every = int(every)
        self.n = 0
        self.started = self._last = time.perf_counter()
        self._next = self.every
        self._closed = False
        self._bar: Any = None
        if self.enabled and is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=desc or None, unit=unit, file=self.stream, dynamic_ncols=True, leave=True
            )

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        self.n += int(n)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(int(n))
            return
        now = time.perf_counter()
        # a count-due line waits min_interval after the last one: a job of a second writes its last line only
        due_by_count = self.every > 0 and self.n >= self._next and now - self._last >= self.min_interval
        if due_by_count or now - self._last >= self.interval:
            if self.total is None or self.n < self.total:  # the last line is written by close()
                self._write(now)
            if self.every > 0:
                self._next = (self.n // self.every + 1) * self.every

    def close(self) -> None:
        """Write the last line (plain) or close the bar; further calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            return
        self._write(time.perf_counter(), done=True)

    def line(self, now: float | None = None, done: bool = False) -> str:
        """The plain progress line: ``desc: n/total (p%), rate unit/s, ETA t`` (``done in t`` when finished)."""
        now = time.perf_counter() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            count = f"{self.n}/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%)"
        else:
            count = f"{self.n} {self.unit}"
        if done:
            tail = f"done in {format_duration(elapsed)}"
        elif self.total:
            tail = f"ETA {format_duration(eta_seconds(self.total - self.n, self.n, elapsed))}"
        else:
            tail = f"{format_duration(elapsed)} elapsed"
        return f"{head}{count}, {format_rate(self.n / elapsed, self.unit)}, {tail}"

    def _write(self, now: float, done: bool = False) -> None:
        self.stream.write(self.line(now, done) + "\n")
        self.stream.flush()
        self._last = now

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this Progress was built from a total, not an iterable: call update() instead")
        try:
            for item in self.iterable:
                yield item
                self.update(self.count_of(item) if self.count_of is not None else 1)
        finally:
            self.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: the name callers use, as with tqdm: ``for x in progress(items, desc=...)``
progress = Progress
