"""Meters: wall time of a call, peak memory of a region, FLOPs of a call (torch only, no Lightning)."""

from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode


def sync(device: str) -> None:
    """Wait for the device (a no-op on a CPU, where every op has finished when it returns)."""
    if device == "cuda":
        torch.cuda.synchronize()


def best_time(fn: Callable[[], Any], repeats: int, device: str = "cpu", warmup: int = 1) -> float:
    """The shortest wall time of ``repeats`` calls of ``fn`` after ``warmup`` calls, in seconds.

    The minimum, not the median: what the hardware can do, with the least interference from other work.
    """
    if repeats < 1:
        raise ValueError(f"best_time needs repeats >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def summary_times(times: list[float]) -> dict[str, float]:
    """Median, min and max of per-step times, in seconds."""
    if not times:
        raise ValueError("no timed steps: a case needs steps >= 1")
    ordered = sorted(times)
    return {
        "step_s_median": round(statistics.median(ordered), 5),
        "step_s_min": round(ordered[0], 5),
        "step_s_max": round(ordered[-1], 5),
    }


def count_flops(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` under ``FlopCounterMode``: its result and the FLOPs of what it computed (forward and, if it
    calls ``backward``, backward; matmuls, convolutions and attention, as PyTorch's counter counts them)."""
    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


class PeakRSS:
    """Peak resident memory of this process while running, sampled every ``interval`` seconds."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as handle:
                return int(handle.read().split()[1]) * self._page
        except OSError:  # not Linux: the lifetime peak is the best there is
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.interval)

    def start(self) -> None:
        self.peak = self._rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._rss())
        return self.peak / 2**20


class MemoryMeter:
    """Peak memory of a timed region: CUDA ``max_memory_allocated`` on a GPU, process RSS on a CPU."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.rss = PeakRSS()

    def start(self) -> None:
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        self.rss.start()

    def stop(self) -> dict[str, Any]:
        rss = self.rss.stop()
        if self.device == "cuda":
            return {
                "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                "memory_kind": "cuda_max_allocated",
                "peak_rss_mb": round(rss, 1),
            }
        return {"peak_memory_mb": round(rss, 1), "memory_kind": "process_rss"}
