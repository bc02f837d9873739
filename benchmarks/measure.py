"""Running one :class:`~benchmarks.cases.Case`: a training step, generation or data loading, here or in a child.

Every runner returns the fields of one measurement record; :func:`run_case` adds the identity, the status
(``ok``/``error``: one failing variant must not lose the others), the case's wall time and its steal time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.cases import Case
from benchmarks.machine import CpuTimes, steal_fraction
from benchmarks.meters import MemoryMeter, count_flops, summary_times, sync
from benchmarks.workspace import compose_config, make_datamodule

REPO = Path(__file__).resolve().parents[1]


class CycledBatches:
    """``length`` batches cycling through ``batches`` (a fresh dict each time: hooks may add keys)."""

    def __init__(self, batches: list[dict[str, Any]], length: int) -> None:
        self.batches = batches
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(self.length):
            yield dict(self.batches[i % len(self.batches)])


class StepTimer(Callback):
    """Times every training batch end to end (previous batch end to this batch end) under ``trainer.fit``.

    Args:
        device: ``cpu`` or ``cuda`` (a GPU is synchronised at every batch end).
        warmup: untimed batches; peak memory is measured from the end of the last of them.
        flops_at: the batch whose FLOPs are counted (``FlopCounterMode`` from its start to its end: the whole
            step as Lightning runs it, D steps, G step, backward passes, EMA), or None for no count.
    """

    def __init__(self, device: str, warmup: int, flops_at: int | None = None) -> None:
        self.device = device
        self.warmup = warmup
        self.flops_at = flops_at
        self.ends: list[float] = []
        self.flops: int | None = None
        self.memory = MemoryMeter(device)
        self.memory_result: dict[str, Any] = {}
        self.start = 0.0
        self._counter: FlopCounterMode | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        sync(self.device)
        self.start = time.perf_counter()
        if self.warmup == 0:
            self.memory.start()

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == self.flops_at:
            self._counter = FlopCounterMode(display=False)
            self._counter.__enter__()

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops = int(self._counter.get_total_flops())
            self._counter = None
        sync(self.device)
        self.ends.append(time.perf_counter())
        if batch_idx + 1 == self.warmup:
            self.memory.start()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.memory_result = self.memory.stop()

    def first_step_s(self) -> float:
        return self.ends[0] - self.start

    def step_times(self) -> list[float]:
        """Seconds of every timed (post-warm-up) batch."""
        ends = [self.start, *self.ends]
        return [ends[i + 1] - ends[i] for i in range(self.warmup, len(self.ends))]


def _pin(value: Any) -> Any:
    if hasattr(value, "pin_memory"):
        return value.pin_memory()
    if isinstance(value, list):
        return [_pin(v) for v in value]
    return value


def _trainer(cfg: Any, device: str, callbacks: list[Any], root: Path, logger: Any = False) -> Any:
    from hydra.utils import instantiate

    return instantiate(
        cfg.trainer,
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        strategy="auto",
        max_epochs=1,
        max_steps=-1,
        limit_train_batches=None,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        benchmark=device == "cuda",
        default_root_dir=str(root),
        logger=logger,
        callbacks=callbacks,
        _convert_="all",
    )


def memory_logger() -> Any:
    """A Lightning logger keeping the loss terms the module logs (``model.`` and ``trainer.log_every_n_steps=1``)."""
    from lightning.pytorch.loggers.logger import Logger

    class _MemoryLogger(Logger):
        def __init__(self) -> None:
            super().__init__()
            self.values: list[dict[str, float]] = []

        @property
        def name(self) -> str:
            return "memory"

        @property
        def version(self) -> int:
            return 0

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            terms = {k: float(v) for k, v in metrics.items() if k.startswith("train/") and "step" not in k}
            if terms:
                self.values.append(terms)

        def __bool__(self) -> bool:  # an empty logger is still a logger
            return True

    return _MemoryLogger()


def _build(cfg: Any, datamodule: Any) -> Any:
    from attngan.cli.train import build_module

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Inception-v3 with RANDOM weights": intended here
        return build_module(cfg, datamodule.vocab.to_list())


def run_training(case: Case, workdir: Path) -> dict[str, Any]:
    """Time ``warmup + steps`` training batches of the real module (AttnGAN or DAMSM) under ``trainer.fit``."""
    import lightning as L

    overrides = [*case.overrides, *case.variant_overrides]
    if case.bench == "train_step":
        overrides += [f"model.damsm_checkpoint={case.damsm}", "model.sample_every_n_epochs=0"]
        # Lightning writes the module's logged losses every trainer.log_every_n_steps batches: keep both equal
        overrides += [
            f"model.log_every_n_steps={case.log_every}",
            f"trainer.log_every_n_steps={case.log_every}",
        ]
    cfg = compose_config(workdir, overrides)
    if case.record_losses and case.variant.compile:
        # compiled code draws its own random numbers (the CA noise is drawn inside the generator); eager's
        # draws keep the loss comparison about numerics only
        import torch._inductor.config as inductor_config

        inductor_config.fallback_random = True
    L.seed_everything(int(cfg.seed), verbose=False)
    datamodule = make_datamodule(cfg)
    module = _build(cfg, datamodule)
    # a few distinct batches from the real loader (drop_last, padded captions); warm-up sees them all
    wanted = case.distinct_batches or max(1, min(case.warmup, 4))
    distinct: list[dict[str, Any]] = []
    for batch in datamodule.train_dataloader():
        distinct.append({k: _pin(v) for k, v in batch.items()} if case.device == "cuda" else batch)
        if len(distinct) >= wanted:
            break
    if not distinct:
        raise ValueError(
            f"{case.config}: the training DataLoader gave no batch (fewer images than data.batch_size, with "
            "drop_last); use more images (data.num_images) or a smaller data.batch_size"
        )
    length = case.warmup + case.steps
    datamodule.train_dataloader = lambda: CycledBatches(distinct, length)  # type: ignore[method-assign]
    # FLOPs of the last warm-up step: a steady-state step (caches filled), not timed itself
    flops_at = max(case.warmup - 1, 0) if case.count_flops else None
    timer = StepTimer(case.device, case.warmup, flops_at)
    losses = memory_logger() if case.record_losses else False
    trainer = _trainer(cfg, case.device, [timer], workdir / "run" / case.id, logger=losses)
    trainer.fit(module, datamodule=datamodule)
    times = timer.step_times()
    batch_size = int(distinct[0]["captions"].shape[0])
    median = statistics.median(times)
    result: dict[str, Any] = {
        "batch_size": batch_size,
        "image_size": int(distinct[0]["images"][-1].shape[-1]),
        **summary_times(times),
        "steps_per_s": round(1.0 / median, 4),
        "images_per_s": round(batch_size / median, 3),
        "first_step_s": round(timer.first_step_s(), 3),
        **timer.memory_result,
    }
    if timer.flops is not None:
        result["flops_per_step"] = timer.flops
    cache = getattr(module, "text_cache", None)
    if cache is not None:
        result["text_cache"] = {"entries": len(cache), "hits": cache.hits, "misses": cache.misses}
    if losses:
        result["losses"] = losses.values
    del module, trainer
    torch.set_grad_enabled(True)
    return result


def run_generate(case: Case, workdir: Path) -> dict[str, Any]:
    """Images/s of ``AttnGANPipeline.generate`` at ``batch_size`` captions, for one variant."""
    from attngan.pipeline import AttnGANPipeline
    from attngan.text import Vocabulary, caption_to_tensor

    device, batch_size = case.device, case.batch_size
    cfg = compose_config(
        workdir, [*case.overrides, *case.variant_overrides, f"model.damsm_checkpoint={case.damsm}"]
    )
    torch.manual_seed(0)
    datamodule = make_datamodule(cfg)
    module = _build(cfg, datamodule)
    pipe = AttnGANPipeline(
        module.text_encoder,
        module.generator_ema,
        Vocabulary.from_list(module.vocab),
        max_words=int(cfg.data.max_words),
        device=device,
    )
    if cfg.model.channels_last:
        pipe.generator.to(memory_format=torch.channels_last)
    if cfg.model.compile:
        pipe.generator.compile()
    dataset = datamodule.train_dataset
    rows = [
        caption_to_tensor(dataset.caption_ids[i % len(dataset)][0], int(cfg.data.max_words))
        for i in range(batch_size)
    ]
    captions = torch.stack([r[0] for r in rows])
    lengths = torch.tensor([r[1] for r in rows])
    noise = torch.randn(batch_size, pipe.z_dim)
    bf16 = str(cfg.trainer.precision).startswith("bf16")

    def generate() -> Any:
        autocast = torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:
            return pipe.generate(captions, lengths, noise)

    result: dict[str, Any] = {"batch_size": batch_size, "image_size": pipe.image_sizes[-1]}
    start = time.perf_counter()
    for i in range(max(case.warmup, 1 if case.count_flops else 0)):
        if i == 0 and case.count_flops:
            _, result["flops_per_step"] = count_flops(generate)
        else:
            generate()
        sync(device)
        if i == 0:
            result["first_step_s"] = round(time.perf_counter() - start, 3)
    memory = MemoryMeter(device)
    memory.start()
    times = []
    for _ in range(case.steps):
        start = time.perf_counter()
        generate()
        sync(device)
        times.append(time.perf_counter() - start)
    result.update(memory.stop())
    result.update(summary_times(times))
    result["steps_per_s"] = round(1.0 / statistics.median(times), 4)
    result["images_per_s"] = round(batch_size / statistics.median(times), 3)
    return result


def run_data(case: Case, workdir: Path) -> dict[str, Any]:
    """DataLoader images/s with ``workers`` processes; with 0 workers also the per-image costs."""
    import numpy as np

    from attngan.data.images import bird_crop_box, open_image

    workers, pin = case.workers, case.device == "cuda"
    loader_overrides = [f"data.num_workers={workers}", f"data.pin_memory={str(pin).lower()}"]
    cfg = compose_config(workdir, [*case.overrides, *loader_overrides, "data.persistent_workers=true"])
    datamodule = make_datamodule(cfg)
    result: dict[str, Any] = {
        "batch_size": datamodule.batch_size,
        "image_size": datamodule.image_sizes[-1],
        "workers": workers,
        "pin_memory": pin,
        "persistent_workers": True,
    }
    loader = datamodule.train_dataloader()
    start = time.perf_counter()
    iterator = iter(loader)
    for _ in range(case.warmup):  # the first batches pay for starting the workers
        next(iterator)
    result["first_batches_s"] = round(time.perf_counter() - start, 3)
    batches = 0
    start = time.perf_counter()
    for _ in range(case.steps):
        if next(iterator, None) is None:
            break
        batches += 1
    elapsed = time.perf_counter() - start
    result["batches"] = batches
    result["steps_per_s"] = round(batches / elapsed, 4)
    result["images_per_s"] = round(batches * datamodule.batch_size / elapsed, 2)
    del iterator, loader
    if workers == 0:  # where a sample's time goes, in this process
        dataset = datamodule.train_dataset
        parts: dict[str, list[float]] = {"decode": [], "bbox_crop": [], "resize_crop_flip_to_tensor": []}
        parts["whole_sample"] = []
        for i in range(min(len(dataset), case.per_image_samples)):
            record = dataset.records[i]
            t0 = time.perf_counter()
            image = open_image(record.image_path)
            t1 = time.perf_counter()
            if record.bbox is not None:
                image = image.crop(bird_crop_box(record.bbox, *image.size))
            t2 = time.perf_counter()
            dataset.transform(image, np.random.default_rng(i))
            t3 = time.perf_counter()
            dataset[(i, i)]
            t4 = time.perf_counter()
            for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                parts[name].append(seconds)
        result["per_image_ms"] = {k: round(1e3 * statistics.median(v), 3) for k, v in parts.items()}
    torch.set_grad_enabled(True)
    return result


RUNNERS: dict[str, Callable[[Case, Path], dict[str, Any]]] = {
    "train_step": run_training,
    "damsm_step": run_training,
    "generate": run_generate,
    "data": run_data,
}


def run_case(case: Case) -> dict[str, Any]:
    """Run one measurement in this process; the record to print (``status`` ``ok`` or ``error``)."""
    if case.threads:
        torch.set_num_threads(int(case.threads))
    for name in ("lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    record = case.record()
    started, before = time.perf_counter(), CpuTimes.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            record.update(RUNNERS[case.bench](case, Path(case.workdir)))
        record["status"] = "ok"
    except Exception as err:  # one failing variant must not lose the others
        record.update({"status": "error", "reason": f"{type(err).__name__}: {err}"[:2000]})
    finally:
        if case.variant.compile:
            with contextlib.suppress(Exception):
                torch._dynamo.reset()
        gc.collect()
    record["case_s"] = round(time.perf_counter() - started, 2)
    record["steal_fraction"] = steal_fraction(before, CpuTimes.read())
    return record


def run_isolated(case: Case, timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh Python process (clean memory, no shared compile state)."""
    command = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--case", case.to_json()]
    record = case.record()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {**record, "status": "error", "reason": f"timed out after {timeout:.0f} s (--case-timeout)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout)[-1500:]
        return {**record, "status": "error", "reason": f"exit code {done.returncode}: {tail}"}
    return json.loads(lines[-1])
