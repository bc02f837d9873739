"""What the machine is and what it can do: CPU model, steal time, and the measured matmul peak FLOP/s.

Utilisation is against a peak *measured in the same run* (a large dense matmul, best of a few), not a data
sheet: on a shared or throttled machine that is the limit the benchmark actually had.
"""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from benchmarks.meters import best_time

# Dense data-sheet peaks (TFLOP/s, no sparsity) for context beside the measured ones: (bf16, tf32, fp32).
# Longest names first ("H100 PCIe" before "H100").
DATASHEET_TFLOPS: list[tuple[str, tuple[float, float, float]]] = [
    ("H100 PCIe", (756.0, 378.0, 51.2)),
    ("H100", (989.4, 494.7, 66.9)),
    ("GH200", (989.4, 494.7, 66.9)),
    ("H200", (989.4, 494.7, 66.9)),
    ("B200", (2250.0, 1100.0, 80.0)),
    ("A100", (312.0, 156.0, 19.5)),
    ("L40S", (362.1, 183.0, 91.6)),
    ("L4", (121.0, 60.0, 30.3)),
    ("A10G", (70.0, 35.0, 31.2)),
    ("A10", (125.0, 62.5, 31.2)),
]
DEFAULT_PEAK_SIZE = {"cpu": 2048, "cuda": 8192}


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what :mod:`platform` knows)."""
    with contextlib.suppress(OSError):
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class CpuTimes:
    """The machine's cumulative CPU time in jiffies (first line of ``/proc/stat``)."""

    total: int
    steal: int

    @classmethod
    def read(cls, stat: Path = Path("/proc/stat")) -> CpuTimes | None:
        """Now, or None where there is no ``/proc/stat``.

        Fields: user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is already
        counted in user/nice, so the total is the first eight.
        """
        try:
            fields = stat.read_text().splitlines()[0].split()
        except (OSError, IndexError):
            return None
        if fields[0] != "cpu" or len(fields) < 9:
            return None
        values = [int(v) for v in fields[1:9]]
        return cls(total=sum(values), steal=values[7])


def steal_fraction(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """Steal jiffies / all jiffies between two readings (the share of time the hypervisor gave to others)."""
    if before is None or after is None or after.total <= before.total:
        return None
    return round((after.steal - before.steal) / (after.total - before.total), 4)


def matmul_peak_tflops(device: str, dtype: torch.dtype, size: int, repeats: int = 3) -> float:
    """TFLOP/s of the best of ``repeats`` ``size x size`` matmuls (``2 size^3`` FLOPs each) in ``dtype``.

    Uses the current thread count and TF32 setting, so it is the peak the benchmark's own math could reach.
    """
    if size < 1:
        raise ValueError(f"the peak matmul needs a size >= 1, got {size} (--peak-size)")
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    with torch.no_grad():
        seconds = best_time(lambda: torch.mm(a, b), repeats, device)
    return 2 * size**3 / seconds / 1e12


def measure_peaks(device: str, size: int | None = None) -> dict[str, float]:
    """Measured peak TFLOP/s by math: ``fp32`` everywhere; on a GPU also ``bf16`` (the bf16 variants' basis).

    On a GPU ``fp32`` is measured as the run computes it (TF32 where ``torch.backends.cuda.matmul.allow_tf32``
    is on); on a CPU bf16 is left out: the limit a CPU step is judged against is its fp32 peak.
    """
    size = size or DEFAULT_PEAK_SIZE.get(device, 2048)
    peaks = {"fp32": round(matmul_peak_tflops(device, torch.float32, size), 5)}
    if device == "cuda":
        peaks["bf16"] = round(matmul_peak_tflops(device, torch.bfloat16, size), 5)
    return peaks


def datasheet_tflops(device_name: str) -> dict[str, float] | None:
    """The data-sheet dense peaks of a known GPU by math (``bf16``/``tf32``/``fp32``), else None."""
    for name, (bf16, tf32, fp32) in DATASHEET_TFLOPS:
        if name.lower() in device_name.lower():
            return {"bf16": bf16, "tf32": tf32, "fp32": fp32}
    return None


def environment(
    device: str, threads: int | None, quick: bool, peak_size: int | None = None
) -> dict[str, Any]:
    """The header record of a run: versions, machine, thread count, measured peaks, steal time meanwhile."""
    import lightning

    from attngan.checkpoint import git_state

    name = torch.cuda.get_device_name() if device == "cuda" else cpu_model()
    before = CpuTimes.read()
    peaks = measure_peaks(device, peak_size)
    return {
        "type": "environment",
        "started": datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "device": device,
        "device_name": name,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads or torch.get_num_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "peak_tflops": peaks,
        "peak_matmul_size": peak_size or DEFAULT_PEAK_SIZE.get(device, 2048),
        "datasheet_tflops": datasheet_tflops(name) if device == "cuda" else None,
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "steal_fraction_peak": steal_fraction(before, CpuTimes.read()),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "git": git_state(),
    }
