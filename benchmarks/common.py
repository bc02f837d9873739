"""What every benchmark script shares: the machine record, interleaved rounds and their ratios, and the real
training step of a composed config (:func:`compare_steps`), on synthetic data and random-weight DAMSMs."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import pickle
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback


# ------------------------------------------------------------------------------------------------ machine
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what :mod:`platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_times() -> tuple[int, int] | None:
    """``(all jiffies, steal jiffies)`` of the machine so far (``/proc/stat``; guest time is inside user)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(values), values[7]


def steal_fraction(before: tuple[int, int] | None) -> float | None:
    """The share of the CPU time since ``before`` that the hypervisor gave to other machines."""
    after = cpu_times()
    if before is None or after is None or after[0] <= before[0]:
        return None
    return round((after[1] - before[1]) / (after[0] - before[0]), 4)


def machine(device: str = "cpu") -> dict[str, Any]:
    """The header record of a run: what the numbers were measured on."""
    return {
        "type": "environment",
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else cpu_model(),
        "load_average": list(os.getloadavg()),
        "torch": torch.__version__,
    }


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


# ------------------------------------------------------------------------------------ rounds and ratios
def interleaved(names: list[str], rounds: int) -> Iterator[tuple[int, str]]:
    """``(round, name)``: every name once a round, odd rounds in reverse order (a drifting machine weighs on
    every variant alike)."""
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            yield r, name


def ratios(seconds: dict[str, list[float]], baseline: str, key: str = "ratio") -> dict[str, dict[str, Any]]:
    """Per variant: the median over rounds of ``baseline seconds / variant seconds`` of the same round (> 1: the
    variant is faster), under ``<key>_vs_<baseline>``, and the round-by-round ratios."""
    out = {}
    for name, times in seconds.items():
        rounds = [b / t for b, t in zip(seconds[baseline], times, strict=True)]
        out[name] = {
            f"{key}_vs_{baseline}": round(statistics.median(rounds), 3),
            f"{key}_rounds": [round(x, 3) for x in rounds],
        }
    return out


def time_calls(calls: dict[str, Callable[[], Any]], rounds: int, number: int = 1) -> dict[str, list[float]]:
    """Seconds per call of every callable in every round (interleaved), each warmed up once first.

    ``torch.utils.benchmark`` times them (CUDA synchronised), with the current thread count."""
    from torch.utils.benchmark import Timer

    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    threads = torch.get_num_threads()
    for _, name in interleaved(list(calls), rounds):
        timer = Timer(stmt="call()", globals={"call": calls[name]}, num_threads=threads)
        seconds[name].append(timer.timeit(number).mean)
    return seconds


# -------------------------------------------------------------------------------------------- workspace
@contextlib.contextmanager
def workspace(path: Path | None) -> Iterator[Path]:
    """``path``, or a temporary folder removed afterwards, for data and checkpoints; warnings are silenced
    meanwhile (a random-weight Inception-v3 and Lightning's advice are intended here)."""
    with tempfile.TemporaryDirectory(prefix="attngan-bench-") as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield path or Path(scratch)


def compose(workdir: Path, overrides: list[str]) -> Any:
    """``conf/train.yaml`` with ``overrides``, writing inside ``workdir``; no loggers, checkpoints or samples."""
    from attngan.config import compose_config

    return compose_config(
        "train",
        [
            f"paths.root_dir={workdir}",
            f"paths.output_dir={workdir}/run",
            f"paths.cache_dir={workdir}/cache",
            "logger=none",
            "callbacks=none",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            "+trainer.enable_checkpointing=false",
            "trainer.limit_val_batches=0",
            "trainer.max_epochs=1",
            *overrides,
        ],
    )


def datamodule_of(cfg: Any) -> Any:
    from attngan.training.entry import instantiate_user

    datamodule = instantiate_user(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def build_cub_tree(root: Path, num_train: int, num_test: int = 4) -> Path:
    """A synthetic CUB tree in the authors' layout, made once per size: 500x375 JPEGs, bounding boxes, 10 captions
    per image (some longer than 18 words), 20 classes."""
    import numpy as np
    from PIL import Image

    done = root / ".complete"
    if done.is_file() and done.read_text() == f"{num_train} {num_test}":
        return root
    rng = np.random.default_rng(0)
    words = "this bird has a red crown white belly small beak long wings black tail yellow breast brown"
    lists: dict[str, list[str]] = {"images.txt": [], "bounding_boxes.txt": []}
    keys: dict[str, list[str]] = {"train": [], "test": []}
    for number in range(1, num_train + num_test + 1):
        key = f"{number % 20 + 1:03d}.Bird_{number % 20}/Bird_{number:05d}"
        keys["train" if number <= num_train else "test"].append(key)
        y, x = np.mgrid[0:375, 0:500]  # a smooth gradient with noise compresses like a photograph
        pixels = np.stack([x * 0.4, y * 0.5, (x + y) * 0.2], -1) + rng.normal(0, 12, (375, 500, 3))
        path = root / "CUB_200_2011" / "images" / f"{key}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        w, h = rng.integers(120, 300), rng.integers(100, 250)
        lists["images.txt"].append(f"{number} {key}.jpg")
        lists["bounding_boxes.txt"].append(
            f"{number} {rng.integers(0, 500 - w)}.0 {rng.integers(0, 375 - h)}.0 {w}.0 {h}.0"
        )
        text = root / "text" / f"{key}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(
            "".join(" ".join(rng.choice(words.split(), int(rng.integers(8, 24)))) + "\n" for _ in range(10))
        )
    for name, lines in lists.items():
        (root / "CUB_200_2011" / name).write_text("\n".join(lines) + "\n")
    for split, split_keys in keys.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(split_keys, protocol=2))
        classes = [int(k[:3]) - 1 for k in split_keys]
        (root / split / "class_info.pickle").write_bytes(pickle.dumps(classes, protocol=2))
    done.write_text(f"{num_train} {num_test}")
    return root


def damsm_checkpoint(workdir: Path, overrides: list[str]) -> Path:
    """A DAMSM checkpoint with random weights (speed does not depend on them) for the data of ``overrides``,
    written as the real module saves one; made once per distinct ``overrides``."""
    from attngan.training.entry import build_module

    path = workdir / "damsm" / f"{hashlib.sha1(json.dumps(overrides).encode()).hexdigest()[:10]}.ckpt"
    if not path.is_file():
        cfg = compose(workdir, overrides)
        torch.manual_seed(0)
        module = build_module(cfg, datamodule_of(cfg).vocab.to_list())
        checkpoint: dict[str, Any] = {"state_dict": module.state_dict()}
        module.on_save_checkpoint(checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint, path)
    return path


# ---------------------------------------------------------------------------------------- training step
class StepTimer(Callback):
    """Wall and process-CPU seconds of every training batch, start to end (the loader's fetch is outside); with
    ``record_losses`` also the ``train/`` values of ``trainer.callback_metrics`` after each batch."""

    def __init__(self, record_losses: bool = False) -> None:
        self.record_losses = record_losses
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.losses: dict[int, dict[str, float]] = {}
        self._start = (0.0, 0.0)

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self._start = (time.perf_counter(), time.process_time())

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])
        if self.record_losses:
            metrics = trainer.callback_metrics
            terms = {
                k: float(v)
                for k, v in metrics.items()
                if k.startswith("train/") and not k.endswith(("_step", "_epoch")) and v.numel() == 1
            }
            if terms:
                self.losses[batch_idx] = terms


def fit_steps(cfg: Any, module: Any, datamodule: Any, batches: int, timer: StepTimer, log_every: int) -> None:
    """``trainer.fit`` of ``module`` over ``batches`` batches: the Trainer, callbacks and step of a real run."""
    from attngan.training.entry import build_trainer, known_warnings_quieted

    cfg.trainer.limit_train_batches = batches
    cfg.trainer.log_every_n_steps = log_every
    with known_warnings_quieted():
        build_trainer(cfg, extra_callbacks=[timer]).fit(module, datamodule=datamodule)
    if len(timer.wall) < batches:
        raise SystemExit(
            f"the data gave {len(timer.wall)} batches of the {batches} asked: lower --warmup/--steps or use more "
            "data (data.num_images)"
        )


def compare_steps(
    workdir: Path, overrides: list[str], variants: dict[str, list[str]], rounds: int, warmup: int, steps: int
) -> tuple[list[dict[str, Any]], dict[str, dict[int, dict[str, float]]]]:
    """The training step of ``overrides`` under every variant (extra overrides; the first is the baseline).

    Each variant's module is built when first needed, with the config's seed, then runs ``warmup`` untimed
    steps (seeded again, with ``trainer.log_every_n_steps=1``: the losses of those steps are the loss-parity
    trajectory) and, in every interleaved round, ``steps`` timed steps; it is freed after its last round.

    Returns:
        one record per variant (median seconds, steps/s, images/s, ratios against the baseline in wall and
        process-CPU time), and the warm-up losses per variant and step.
    """
    import lightning as L

    from attngan.training.entry import build_module

    built: dict[str, tuple[Any, Any, Any]] = {}
    wall: dict[str, list[float]] = {n: [] for n in variants}
    cpu: dict[str, list[float]] = {n: [] for n in variants}
    losses: dict[str, dict[int, dict[str, float]]] = {}
    extra: dict[str, dict[str, Any]] = {n: {} for n in variants}
    for r, name in interleaved(list(variants), rounds):
        if name not in built:
            cfg = compose(workdir, [*overrides, *variants[name]])
            if cfg.model.get(
                "compile"
            ):  # random draws as in eager code: the loss parity compares numerics only
                from torch._inductor import config as inductor_config

                inductor_config.fallback_random = True
            L.seed_everything(int(cfg.seed), verbose=False)
            datamodule = datamodule_of(cfg)
            built[name] = (cfg, build_module(cfg, datamodule.vocab.to_list()), datamodule)
            log_every = int(cfg.trainer.log_every_n_steps)
            if warmup:
                L.seed_everything(int(cfg.seed), verbose=False)
                timer = StepTimer(record_losses=True)
                fit_steps(*built[name], warmup, timer, log_every=1)
                losses[name] = timer.losses
            extra[name] = {"batch_size": int(datamodule.batch_size), "log_every": log_every}
        cuda = torch.cuda.is_available() and built[name][1].device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            resident = torch.cuda.memory_allocated()
        timer = StepTimer()
        fit_steps(*built[name], steps, timer, log_every=extra[name]["log_every"])
        wall[name].append(statistics.median(timer.wall))
        cpu[name].append(statistics.median(timer.cpu))
        if cuda:  # above what every built variant keeps resident
            peak = (torch.cuda.max_memory_allocated() - resident) / 2**20
            extra[name]["peak_step_memory_mb"] = round(
                max(peak, extra[name].get("peak_step_memory_mb", 0)), 1
            )
        if r == rounds - 1:
            del built[name]
            gc.collect()
    baseline = next(iter(variants))
    wall_ratios, cpu_ratios = ratios(wall, baseline), ratios(cpu, baseline, "cpu_ratio")
    records = []
    for name in variants:
        median = statistics.median(wall[name])
        batch_size = extra[name].pop("batch_size")
        del extra[name]["log_every"]
        records.append(
            {
                "variant": name,
                "overrides": variants[name],
                "batch_size": batch_size,
                "step_s_median": round(median, 4),
                "step_cpu_s_median": round(statistics.median(cpu[name]), 4),
                "steps_per_s": round(1 / median, 4),
                "images_per_s": round(batch_size / median, 3),
                **wall_ratios[name],
                **cpu_ratios[name],
                **extra[name],
            }
        )
    return records, losses


def loss_parity(
    losses: dict[str, dict[int, dict[str, float]]], baseline: str, rtol: float = 0.05, atol: float = 0.05
) -> list[dict[str, Any]]:
    """Every variant's warm-up losses against the baseline's, step by step: the mean of each term over the steps
    both logged must agree within ``atol + rtol * |mean|``."""
    reference = losses.get(baseline, {})
    out = []
    for name, trajectory in losses.items():
        shared = sorted(set(trajectory) & set(reference))
        if name == baseline or not shared:
            continue
        terms = {}
        for term in reference[shared[0]]:
            ref = [reference[s][term] for s in shared]
            got = [trajectory[s].get(term, float("nan")) for s in shared]
            mean_ref, mean_got = statistics.fmean(ref), statistics.fmean(got)
            terms[term] = {
                "mean_baseline": round(mean_ref, 5),
                "mean_variant": round(mean_got, 5),
                "max_abs_diff": round(max(abs(a - b) for a, b in zip(got, ref)), 5),
                "close": abs(mean_got - mean_ref) <= atol + rtol * abs(mean_ref),
            }
        within = all(t["close"] for t in terms.values())
        out.append(
            {
                "type": "parity",
                "variant": name,
                "baseline": baseline,
                "steps": len(shared),
                "within_tolerance": within,
                "terms": terms,
            }
        )
    return out
