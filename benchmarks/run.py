"""Benchmarks of the real training, generation and data paths, every speed option side by side.

What is timed (after warm-up):

- ``train_step``: one full AttnGAN training step as the Lightning Trainer runs it (``trainer.fit`` on the
  real :class:`~attngan.lit.AttnGANModule`: G forward, every D step, the G step with the DAMSM loss, the EMA
  update), at the shapes config and the released CUB AttnGAN2 config (batch 20, 256x256); and one DAMSM
  pre-training step (shapes; CUB: batch 48, 299x299). Batches come from the real DataModule, are made once
  before timing and cycled, so data loading is not in the step time (it is measured on its own).
- ``generate``: images/s of the generation path (:class:`~attngan.pipeline.AttnGANPipeline` ``generate``:
  text encoder + EMA generator, no gradients) at batch 100.
- ``data``: images/s of the training DataLoader with 0, 1 and 2 workers, and the per-image cost of decoding,
  cutting around the bird and resizing (shapes data and a synthetic CUB tree of 500x375 JPEGs).

Variants, composed from the real config keys and compared in the same run (ratios against ``fp32_eager``):
``fp32_eager``; ``bf16`` (``trainer.precision=bf16-mixed``, the text encoder stays fp32); ``channels_last``
(``model.channels_last=true``); ``compile`` (``model.compile=true``: ``torch.compile`` of G and every D);
``cached_text`` (``data.cache_text_embeddings=true``); ``combined`` (all four).

Reported per configuration: steps/s, images/s, peak memory (``torch.cuda.max_memory_allocated`` on a GPU,
peak process RSS on a CPU), FLOPs per step (``torch.utils.flop_counter.FlopCounterMode``, counted once on the
fp32 eager step) and, on a GPU with a known peak, the model FLOP utilisation. Every measurement and result is
printed as one JSON object per line and written to ``benchmarks/results/<time>.jsonl``; a Markdown table of the
results goes to stderr.

Usage::

    python benchmarks/run.py                      # everything (a 2-core CPU: about an hour; a GPU: minutes)
    python benchmarks/run.py --quick              # small sizes, no compile, no CUB-size configs (< 2 min)
    python benchmarks/run.py --only shapes_attngan --variants fp32_eager,bf16,combined --repeats 5
    python benchmarks/run.py --table benchmarks/results/<time>.jsonl   # the Markdown table of a results file

Full runs start one process per measurement (clean peak memory, no compile cache shared between variants);
``--quick`` runs them in this process (``--isolate`` / ``--no-isolate`` choose).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"

# ---------------------------------------------------------------------------------------------- variants
BF16 = "trainer.precision=bf16-mixed"
CHANNELS_LAST = "model.channels_last=true"
COMPILE = "model.compile=true"
CACHED_TEXT = "data.cache_text_embeddings=true"
TRAIN_VARIANTS: dict[str, list[str]] = {
    "fp32_eager": [],
    "bf16": [BF16],
    "channels_last": [CHANNELS_LAST],
    "compile": [COMPILE],
    "cached_text": [CACHED_TEXT],
    "combined": [BF16, CHANNELS_LAST, COMPILE, CACHED_TEXT],
    # the combination without torch.compile (what --quick can afford on a CPU)
    "combined_eager": [BF16, CHANNELS_LAST, CACHED_TEXT],
    # the combination without channels-last (which CPUs do not gain from)
    "combined_no_channels_last": [BF16, COMPILE, CACHED_TEXT],
}
# DAMSMModule has no compile/channels-last option, and its text encoder trains (nothing to cache)
DAMSM_VARIANTS = {"fp32_eager": [], "bf16": [BF16]}
GENERATE_VARIANTS = {
    k: v for k, v in TRAIN_VARIANTS.items() if k not in ("cached_text",)
}  # new captions: nothing to cache
# combined = the variant overrides without the cache (generation reads no training batches)
GENERATE_VARIANTS["combined"] = [BF16, CHANNELS_LAST, COMPILE]
GENERATE_VARIANTS["combined_eager"] = [BF16, CHANNELS_LAST]
GENERATE_VARIANTS["combined_no_channels_last"] = [BF16, COMPILE]

# Dense peak TFLOP/s per GPU (vendor data sheets, no sparsity): (bf16, tf32, fp32). Longest names first.
PEAK_TFLOPS: list[tuple[str, tuple[float, float, float]]] = [
    ("H100 PCIe", (756.0, 378.0, 51.2)),
    ("H100", (989.4, 494.7, 66.9)),
    ("H200", (989.4, 494.7, 66.9)),
    ("GH200", (989.4, 494.7, 66.9)),
    ("B200", (2250.0, 1100.0, 80.0)),
    ("A100", (312.0, 156.0, 19.5)),
    ("L40S", (362.1, 183.0, 91.6)),
    ("L4", (121.0, 60.0, 30.3)),
    ("A10G", (70.0, 35.0, 31.2)),
    ("A10", (125.0, 62.5, 31.2)),
]


# ---------------------------------------------------------------------------------------------- configs
@dataclass
class Config:
    """One benchmarked configuration: what it runs, on which data, how long.

    ``overrides`` are Hydra overrides of ``conf/train.yaml``; ``damsm`` names the DAMSM checkpoint it needs
    (built from ``damsm_overrides`` with random weights); ``warmup``/``steps`` are per device kind.
    """

    name: str
    kind: str  # "train_step" | "damsm_step" | "generate" | "data"
    overrides: list[str]
    variants: dict[str, list[str]] = field(default_factory=dict)
    damsm_overrides: list[str] | None = None
    batch_size: int = 0
    warmup: int = 3
    steps: int = 10
    repeats: int = 1
    workers: tuple[int, ...] = (0, 1, 2)
    skip_reason: str | None = None  # the whole config is skipped
    skipped_variants: dict[str, str] = field(default_factory=dict)  # variant -> why it is skipped


def configs(quick: bool, device: str, cub_root: Path) -> list[Config]:
    """Every configuration of a run (``quick``: small sizes, no compile, CUB-size ones skipped)."""
    gpu = device == "cuda"
    shapes_data = ["data.num_images=96"] if quick else []
    cub_data = [f"data.root={cub_root}", "data.num_workers=0"]
    shapes_damsm = ["experiment=shapes_damsm", *shapes_data]
    cub_damsm = ["experiment=cub_damsm", *cub_data, "model.image_encoder.pretrained=false"]
    no_compile = "--quick: torch.compile takes minutes on a 2-core CPU; run without --quick"
    skip_compile = (
        dict.fromkeys(("compile", "combined", "combined_no_channels_last"), no_compile) if quick else {}
    )
    if quick:
        train = {k: v for k, v in TRAIN_VARIANTS.items() if COMPILE not in v}
        generate = {
            k: v for k, v in GENERATE_VARIANTS.items() if k in ("fp32_eager", "bf16", "channels_last")
        }
    else:
        train, generate = dict(TRAIN_VARIANTS), dict(GENERATE_VARIANTS)
        if gpu:  # on a GPU compile is cheap enough to always be part of the combination
            train.pop("combined_eager")
            generate.pop("combined_eager")

    def steps(cpu: tuple[int, int], cuda: tuple[int, int] = (10, 30)) -> dict[str, int]:
        warmup, count = (1, 2) if quick else (cuda if gpu else cpu)
        return {"warmup": warmup, "steps": count}

    cub_skip = "--quick: CUB-size configs take from seconds to minutes per step on a CPU" if quick else None
    repeats = 1 if quick else 3
    # a CUB-size step takes about 2 minutes on a 2-core CPU (1 thread): no compile there, and the text
    # encoder (about 10 ms a batch) is nothing next to it (--variants asks for them anyway)
    cpu_cub = "CPU, CUB size: {} (--variants {} runs it)"
    cub_train_skip, cub_generate_skip = {}, {}
    if not gpu and not quick:
        slow = "compiling takes minutes on top of ~2-minute steps"
        cub_train_skip = {
            "compile": cpu_cub.format(slow, "compile"),
            "combined": cpu_cub.format(slow, "combined"),
            "combined_no_channels_last": cpu_cub.format(slow, "combined_no_channels_last"),
            "cached_text": cpu_cub.format("text encoding is ~0.01% of the step", "cached_text"),
        }
        cub_generate_skip = {k: v for k, v in cub_train_skip.items() if k != "cached_text"}
    return [
        Config(
            "shapes_attngan",
            "train_step",
            ["experiment=shapes_attngan", "data.num_workers=0", *shapes_data]
            + (["data.batch_size=8"] if quick else []),
            train,
            shapes_damsm,
            batch_size=8 if quick else 32,
            skipped_variants=skip_compile,
            repeats=repeats,
            **steps((3, 8)),
        ),
        Config(
            "cub_attngan2",
            "train_step",
            ["experiment=cub_attngan2", *cub_data],
            train,
            cub_damsm,
            batch_size=20,
            repeats=1 if not gpu else repeats,
            skip_reason=cub_skip,
            skipped_variants=cub_train_skip,
            **steps((1, 1)),
        ),
        Config(
            "shapes_damsm",
            "damsm_step",
            shapes_damsm + (["data.batch_size=16"] if quick else []),
            dict(DAMSM_VARIANTS),
            batch_size=16 if quick else 48,
            repeats=repeats,
            **steps((3, 8)),
        ),
        Config(
            "cub_damsm",
            "damsm_step",
            cub_damsm,
            dict(DAMSM_VARIANTS),
            batch_size=48,
            repeats=1 if not gpu else repeats,
            skip_reason=cub_skip,
            **steps((1, 2)),
        ),
        Config(
            "shapes_generate",
            "generate",
            ["experiment=shapes_attngan", "data.num_workers=0", *shapes_data],
            generate,
            shapes_damsm,
            batch_size=100,
            skipped_variants=skip_compile,
            repeats=repeats,
            **steps((2, 5)),
        ),
        Config(
            "cub_generate",
            "generate",
            ["experiment=cub_attngan2", *cub_data],
            generate,
            cub_damsm,
            batch_size=100,
            repeats=1 if not gpu else repeats,
            skip_reason=cub_skip,
            skipped_variants=cub_generate_skip,
            **steps((1, 1)),
        ),
        Config(
            "shapes_data",
            "data",
            ["experiment=shapes_attngan", *shapes_data],
            {"loader": []},
            batch_size=32,
            workers=(0,) if quick else (0, 1, 2),
            warmup=1,
            steps=4 if quick else 30,
        ),
        Config(
            "cub_data",
            "data",
            ["experiment=cub_attngan2", f"data.root={cub_root}"],
            {"loader": []},
            batch_size=20,
            workers=(0,) if quick else (0, 1, 2),
            warmup=1,
            steps=1 if quick else 8,
        ),
    ]


# ---------------------------------------------------------------------------------------------- plumbing
def compose_config(workdir: Path, overrides: list[str]) -> Any:
    """``conf/train.yaml`` composed with ``overrides``, paths inside ``workdir`` (no Hydra run directory)."""
    from attngan.cli.common import compose_config

    return compose_config(
        "train",
        [
            f"paths.root_dir={workdir}",
            f"paths.output_dir={workdir}/run",
            f"paths.cache_dir={workdir}/cache",
            "logger=none",
            "callbacks=none",
            *overrides,
        ],
    )


def make_datamodule(cfg: Any) -> Any:
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


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
        import torch

        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        self.rss.start()

    def stop(self) -> dict[str, Any]:
        import torch

        rss = self.rss.stop()
        if self.device == "cuda":
            return {
                "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                "memory_kind": "cuda_max_allocated",
                "peak_rss_mb": round(rss, 1),
            }
        return {"peak_memory_mb": round(rss, 1), "memory_kind": "process_rss"}


def count_flops(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``fn`` under ``FlopCounterMode``; its result and the FLOPs it did (forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


def summary_times(times: list[float]) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        "step_s_median": round(statistics.median(ordered), 5),
        "step_s_min": round(ordered[0], 5),
        "step_s_max": round(ordered[-1], 5),
    }


# ---------------------------------------------------------------------------------------------- setup
# words of the synthetic CUB captions
CUB_TEXT = (
    "this bird has a red crown and white belly small beak long wings black tail feathers yellow breast "
    "brown spots on its grey head with short pointed orange legs is sitting perched branch blue throat"
)


def build_cub_tree(root: Path, num_train: int, num_test: int, seed: int = 0) -> Path:
    """A synthetic CUB tree in the authors' layout: 500x375 JPEGs, bounding boxes, 10 captions per image
    (some longer than 18 words, so training draws word subsets), 20 classes. Made once per ``root``."""
    import numpy as np
    from PIL import Image

    done = root / ".complete"
    if done.is_file() and done.read_text() == f"{num_train} {num_test} {seed}":
        return root
    rng = np.random.default_rng(seed)
    images_txt, boxes_txt = [], []
    splits: dict[str, list[str]] = {"train": [], "test": []}
    classes: dict[str, list[int]] = {"train": [], "test": []}
    for number in range(1, num_train + num_test + 1):
        class_id = number % 20
        key = f"{class_id + 1:03d}.Bird_{class_id}/Bird_{class_id}_{number:05d}"
        split = "train" if number <= num_train else "test"
        splits[split].append(key)
        classes[split].append(class_id)
        # a smooth gradient with noise compresses like a photograph (not like pure noise)
        y, x = np.mgrid[0:375, 0:500]
        base = np.stack([x * 0.4, y * 0.5, (x + y) * 0.2], axis=-1) + rng.normal(0, 12, (375, 500, 3))
        path = root / "CUB_200_2011" / "images" / f"{key}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path, quality=90)
        w, h = rng.integers(120, 300), rng.integers(100, 250)
        bx, by = rng.integers(0, 500 - w), rng.integers(0, 375 - h)
        images_txt.append(f"{number} {key}.jpg")
        boxes_txt.append(f"{number} {bx}.0 {by}.0 {w}.0 {h}.0")
        text = root / "text" / f"{key}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        captions = [" ".join(rng.choice(CUB_TEXT.split(), size=int(rng.integers(8, 24)))) for _ in range(10)]
        text.write_text("\n".join(captions) + "\n")
    (root / "CUB_200_2011" / "images.txt").write_text("\n".join(images_txt) + "\n")
    (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(boxes_txt) + "\n")
    for split, keys in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(keys, protocol=2))
        (root / split / "class_info.pickle").write_bytes(pickle.dumps(classes[split], protocol=2))
    done.write_text(f"{num_train} {num_test} {seed}")
    return root


def damsm_checkpoint(workdir: Path, overrides: list[str]) -> Path:
    """A DAMSM checkpoint with random weights for the data of ``overrides``, written by the real module's
    ``on_save_checkpoint`` (made once per distinct ``overrides``)."""
    import hashlib

    import torch

    from attngan.cli.train import build_module

    tag = hashlib.sha1(json.dumps(overrides).encode()).hexdigest()[:10]
    path = workdir / "damsm" / f"damsm-{tag}.ckpt"
    if path.is_file():
        return path
    cfg = compose_config(workdir, overrides)
    datamodule = make_datamodule(cfg)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Inception-v3 with RANDOM weights": intended here
        module = build_module(cfg, datamodule.vocab.to_list())
    checkpoint: dict[str, Any] = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


# ---------------------------------------------------------------------------------------------- cases
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


def _step_timer(device: str, warmup: int, flops_at: int | None) -> Any:
    """A Lightning callback timing every batch end to end (previous batch end to this batch end)."""
    from lightning.pytorch import Callback
    from torch.utils.flop_counter import FlopCounterMode

    class StepTimer(Callback):
        def __init__(self) -> None:
            self.ends: list[float] = []
            self.flops: int | None = None
            self.memory = MemoryMeter(device)
            self.memory_result: dict[str, Any] = {}
            self._counter: FlopCounterMode | None = None
            self._start = 0.0

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            sync(device)
            self._start = time.perf_counter()

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if batch_idx == flops_at:
                self._counter = FlopCounterMode(display=False)
                self._counter.__enter__()

        def on_train_batch_end(
            self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
        ) -> None:
            if self._counter is not None:
                self._counter.__exit__(None, None, None)
                self.flops = int(self._counter.get_total_flops())
                self._counter = None
            sync(device)
            self.ends.append(time.perf_counter())
            if batch_idx + 1 == warmup:
                self.memory.start()

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            self.memory_result = self.memory.stop()

        def step_times(self) -> list[float]:
            ends = [self._start, *self.ends]
            return [ends[i + 1] - ends[i] for i in range(warmup, len(self.ends))]

    return StepTimer()


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


def run_training(case: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Time ``warmup + steps`` training batches of the real module under ``trainer.fit``."""
    import lightning as L
    import torch

    from attngan.cli.train import build_module

    device, warmup, steps = case["device"], case["warmup"], case["steps"]
    overrides = [*case["overrides"], *case["variant_overrides"]]
    if case["kind"] == "train_step":
        overrides += [f"model.damsm_checkpoint={case['damsm']}", "model.sample_every_n_epochs=0"]
        overrides += [f"model.log_every_n_steps={case.get('log_every', 10_000)}"]
    cfg = compose_config(workdir, overrides)
    if case.get("record_losses"):
        # compiled code draws its own random numbers (the CA noise is drawn inside the generator); eager's
        # draws keep the loss comparison about numerics only
        import torch._inductor.config

        torch._inductor.config.fallback_random = True
    L.seed_everything(int(cfg.seed), verbose=False)
    datamodule = make_datamodule(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = build_module(cfg, datamodule.vocab.to_list())
    # a few distinct batches from the real loader (drop_last, padded captions); warm-up sees them all
    wanted = case.get("distinct_batches") or max(1, min(warmup, 4))
    distinct: list[dict[str, Any]] = []
    for batch in datamodule.train_dataloader():
        if device == "cuda":  # as the real loader with pin_memory
            batch = {k: _pin(v) for k, v in batch.items()}
        distinct.append(batch)
        if len(distinct) >= wanted:
            break
    datamodule.train_dataloader = lambda: CycledBatches(distinct, warmup + steps)  # type: ignore[method-assign]
    flops_at = 0 if case.get("count_flops") else None
    timer = _step_timer(device, warmup, flops_at)
    losses = memory_logger() if case.get("record_losses") else False
    trainer = _trainer(cfg, device, [timer], workdir / "run" / case["id"], logger=losses)
    trainer.fit(module, datamodule=datamodule)
    times = timer.step_times()
    batch_size = int(distinct[0]["captions"].shape[0])
    result: dict[str, Any] = {
        "batch_size": batch_size,
        "image_size": int(distinct[0]["images"][-1].shape[-1]),
        **summary_times(times),
        "steps_per_s": round(1.0 / statistics.median(times), 4),
        "images_per_s": round(batch_size / statistics.median(times), 3),
        "first_step_s": round(timer.ends[0] - timer._start, 3),
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


def _pin(value: Any) -> Any:
    if hasattr(value, "pin_memory"):
        return value.pin_memory()
    if isinstance(value, list):
        return [_pin(v) for v in value]
    return value


def memory_logger() -> Any:
    """A Lightning logger keeping the loss terms the module logs (``model.log_every_n_steps=1``)."""
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


def run_generate(case: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Images/s of ``AttnGANPipeline.generate`` at ``batch_size`` captions, for one variant."""
    import torch

    from attngan.cli.train import build_module
    from attngan.pipeline import AttnGANPipeline
    from attngan.text import Vocabulary, caption_to_tensor

    device, warmup, steps, batch_size = case["device"], case["warmup"], case["steps"], case["batch_size"]
    cfg = compose_config(
        workdir, [*case["overrides"], *case["variant_overrides"], f"model.damsm_checkpoint={case['damsm']}"]
    )
    torch.manual_seed(0)
    datamodule = make_datamodule(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = build_module(cfg, datamodule.vocab.to_list())
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
    autocast = torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def generate() -> Any:
        with autocast:
            return pipe.generate(captions, lengths, noise)

    result: dict[str, Any] = {"batch_size": batch_size, "image_size": pipe.image_sizes[-1]}
    start = time.perf_counter()
    for i in range(warmup):
        if i == 0 and case.get("count_flops"):
            _, result["flops_per_step"] = count_flops(generate)
        else:
            generate()
        sync(device)
        if i == 0:
            result["first_step_s"] = round(time.perf_counter() - start, 3)
    memory = MemoryMeter(device)
    memory.start()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        generate()
        sync(device)
        times.append(time.perf_counter() - start)
    result.update(memory.stop())
    result.update(summary_times(times))
    result["steps_per_s"] = round(1.0 / statistics.median(times), 4)
    result["images_per_s"] = round(batch_size / statistics.median(times), 3)
    return result


def run_data(case: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """DataLoader images/s with ``workers`` processes; with 0 workers also the per-image costs."""
    import numpy as np
    import torch

    from attngan.data.images import bird_crop_box, open_image

    device, workers = case["device"], case["workers"]
    pin = device == "cuda"
    cfg = compose_config(
        workdir,
        [
            *case["overrides"],
            f"data.num_workers={workers}",
            f"data.pin_memory={str(pin).lower()}",
            "data.persistent_workers=true",
        ],
    )
    datamodule = make_datamodule(cfg)
    result: dict[str, Any] = {
        "batch_size": datamodule.batch_size,
        "image_size": datamodule.image_sizes[-1],
        "workers": workers,
        "pin_memory": pin,
        "persistent_workers": True,
    }
    loader = datamodule.train_dataloader()
    batches = 0
    start = time.perf_counter()
    iterator = iter(loader)
    for _ in range(case["warmup"]):  # the first batches pay for starting the workers
        next(iterator)
    result["first_batches_s"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    for _ in range(case["steps"]):
        try:
            next(iterator)
        except StopIteration:
            break
        batches += 1
    elapsed = time.perf_counter() - start
    result["batches"] = batches
    result["steps_per_s"] = round(batches / elapsed, 4)
    result["images_per_s"] = round(batches * datamodule.batch_size / elapsed, 2)
    del iterator, loader

    if workers == 0:  # where a sample's time goes, in this process
        dataset = datamodule.train_dataset
        count = min(len(dataset), case.get("per_image_samples", 40))
        decode, crop, transform, sample = [], [], [], []
        for i in range(count):
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
            decode.append(t1 - t0)
            crop.append(t2 - t1)
            transform.append(t3 - t2)
            sample.append(t4 - t3)
        result["per_image_ms"] = {
            "decode": round(1e3 * statistics.median(decode), 3),
            "bbox_crop": round(1e3 * statistics.median(crop), 3),
            "resize_crop_flip_to_tensor": round(1e3 * statistics.median(transform), 3),
            "whole_sample": round(1e3 * statistics.median(sample), 3),
        }
    torch.set_grad_enabled(True)
    return result


RUNNERS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "train_step": run_training,
    "damsm_step": run_training,
    "generate": run_generate,
    "data": run_data,
}


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in this process; the record to print."""
    import torch

    if case.get("threads"):
        torch.set_num_threads(int(case["threads"]))
    logging.getLogger("lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    workdir = Path(case["workdir"])
    record = {k: case[k] for k in ("config", "bench", "variant", "repeat")}
    started = time.perf_counter()
    try:
        record.update(RUNNERS[case["bench"]](case, workdir))
        record["status"] = "ok"
    except Exception as err:  # one failing variant must not lose the others
        record.update({"status": "error", "reason": f"{type(err).__name__}: {err}"[:2000]})
    finally:
        with contextlib.suppress(Exception):
            torch._dynamo.reset()
        gc.collect()
    record["case_s"] = round(time.perf_counter() - started, 2)
    return record


def run_isolated(case: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one measurement in a fresh Python process (clean memory, no shared compile state)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--case", json.dumps(case)]
    record = {k: case[k] for k in ("config", "bench", "variant", "repeat")}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {**record, "status": "error", "reason": f"timed out after {timeout:.0f} s (--case-timeout)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout)[-1500:]
        return {**record, "status": "error", "reason": f"exit code {done.returncode}: {tail}"}
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------- results
def peak_tflops(device_name: str, variant_overrides: list[str]) -> tuple[float | None, str]:
    """The GPU's dense peak for the variant's math: bf16, else TF32 (cuDNN convolutions use it by default)."""
    import torch

    for name, (bf16, tf32, fp32) in PEAK_TFLOPS:
        if name.lower() in device_name.lower():
            if BF16 in variant_overrides:
                return bf16, "bf16"
            if torch.backends.cudnn.allow_tf32:
                return tf32, "tf32"
            return fp32, "fp32"
    return None, f"no peak FLOP/s known for {device_name!r} (--peak-tflops sets one)"


def aggregate(
    records: list[dict[str, Any]],
    env: dict[str, Any],
    peak_override: float | None,
    order: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """One result per (config, variant): medians over repeats, ratio against fp32 eager, FLOP utilisation."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in order or []}
    for record in records:
        groups.setdefault((record["config"], record["variant"]), []).append(record)
    groups = {key: group for key, group in groups.items() if group}
    flops = {
        r["config"]: r["flops_per_step"] for r in records if r.get("flops_per_step") and r["status"] == "ok"
    }
    results = []
    for (config, variant), group in groups.items():
        ok = [r for r in group if r["status"] == "ok"]
        first = group[0]
        result: dict[str, Any] = {
            "type": "result",
            "config": config,
            "bench": first["bench"],
            "variant": variant,
            "overrides": first.get("overrides", []),
            "device": env["device"],
            "device_name": env["device_name"],
            "threads": env["threads"],
        }
        if not ok:
            result.update({"status": group[0]["status"], "reason": group[0].get("reason")})
            results.append(result)
            continue
        result["status"] = "ok"
        result["repeats"] = len(ok)
        for key in ("batch_size", "image_size", "workers", "memory_kind", "per_image_ms", "text_cache"):
            if key in ok[0]:
                result[key] = ok[0][key]
        for key in ("steps_per_s", "images_per_s", "peak_memory_mb", "step_s_median", "first_step_s"):
            values = [r[key] for r in ok if r.get(key) is not None]
            if values:
                result[key] = round(statistics.median(values), 4)
        result["steps_per_s_repeats"] = [r.get("steps_per_s") for r in ok]
        if config in flops and result.get("steps_per_s"):
            achieved = flops[config] * result["steps_per_s"] / 1e12
            result["flops_per_step"] = flops[config]
            result["achieved_tflops"] = round(achieved, 4)
            if env["device"] == "cuda":
                peak, basis = (
                    (peak_override, "--peak-tflops")
                    if peak_override
                    else peak_tflops(env["device_name"], result["overrides"])
                )
                result["peak_tflops"], result["peak_basis"] = peak, basis
                result["mfu"] = round(achieved / peak, 4) if peak else None
            else:
                result["mfu"] = None  # no peak table for CPUs: achieved_tflops is the figure
        results.append(result)
    # headline: steps/s against fp32 eager of the same config (data: against 0 workers)
    base = {
        r["config"]: r["steps_per_s"]
        for r in results
        if r.get("steps_per_s") and r["variant"] in ("fp32_eager", "workers_0")
    }
    for result in results:
        if result.get("steps_per_s") and result["config"] in base:
            result["ratio_vs_fp32_eager" if result["bench"] != "data" else "ratio_vs_0_workers"] = round(
                result["steps_per_s"] / base[result["config"]], 3
            )
    return results


def parity(records: list[dict[str, Any]], rtol: float, atol: float) -> list[dict[str, Any]]:
    """Loss trajectories of every variant against fp32 eager over the same first steps."""
    import math

    by_config: dict[str, dict[str, list[dict[str, float]]]] = {}
    for record in records:
        if record.get("losses"):
            by_config.setdefault(record["config"], {})[record["variant"]] = record["losses"]
    out = []
    for config, runs in by_config.items():
        reference = runs.get("fp32_eager")
        if not reference:
            continue
        for variant, losses in runs.items():
            if variant == "fp32_eager":
                continue
            steps = min(len(losses), len(reference))
            terms: dict[str, Any] = {}
            ok = True
            for term in reference[0]:
                ref = [reference[i][term] for i in range(steps)]
                got = [losses[i].get(term, math.nan) for i in range(steps)]
                diffs = [abs(a - b) for a, b in zip(got, ref)]
                mean_ref, mean_got = statistics.fmean(ref), statistics.fmean(got)
                close = abs(mean_got - mean_ref) <= atol + rtol * abs(mean_ref)
                ok = ok and close and all(math.isfinite(v) for v in got)
                terms[term] = {
                    "mean_fp32": round(mean_ref, 5),
                    "mean_variant": round(mean_got, 5),
                    "max_abs_diff": round(max(diffs), 5),
                    "first_step_abs_diff": round(diffs[0], 6),
                    "means_close": close,
                }
            out.append(
                {
                    "type": "parity",
                    "config": config,
                    "variant": variant,
                    "steps": steps,
                    "rtol": rtol,
                    "atol": atol,
                    "within_tolerance": ok,
                    "terms": terms,
                }
            )
    return out


def markdown_table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (one row per config and variant)."""
    lines = [
        "| config | variant | steps/s | images/s | peak memory (MiB) | vs fp32 eager | TFLOP/s | MFU | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.get("type") != "result":
            continue
        ratio = r.get("ratio_vs_fp32_eager", r.get("ratio_vs_0_workers"))
        memory = r.get("peak_memory_mb")
        note = ""
        if r.get("status") != "ok":
            note = f"{r.get('status')}: {str(r.get('reason'))[:90]}"
        elif r.get("per_image_ms"):
            note = ", ".join(f"{k} {v} ms" for k, v in r["per_image_ms"].items())
        mfu = r.get("mfu")
        cells = [
            r["config"],
            r["variant"],
            f"{r['steps_per_s']:.3f}" if r.get("steps_per_s") else "",
            f"{r['images_per_s']:.1f}" if r.get("images_per_s") else "",
            f"{memory:.0f}" if memory else "",
            f"{ratio:.2f}x" if ratio else "",
            f"{r['achieved_tflops']:.3f}" if r.get("achieved_tflops") else "",
            f"{100 * mfu:.1f}%" if mfu else "",
            note,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main
def environment(device: str, threads: int | None, quick: bool) -> dict[str, Any]:
    import lightning
    import torch

    from attngan.lit.common import git_state

    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    if device == "cpu":
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    return {
        "type": "environment",
        "started": datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "device": device,
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "threads": threads or torch.get_num_threads(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "python": platform.python_version(),
        "git": git_state(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="AttnGAN benchmarks: training step, DAMSM step, generation, data loading.",
        epilog="Each line of output is a JSON object; results also go to benchmarks/results/<time>.jsonl.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, no compile, no CUB-size configs")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--only", default="", help="comma-separated config names (default: all)")
    parser.add_argument("--variants", default="", help="comma-separated variant names (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats of every measurement (median)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up steps (default: per config)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: per config)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--parity-steps", type=int, default=None, help="loss parity steps (0: none)")
    parser.add_argument("--rtol", type=float, default=0.05, help="loss parity: relative tolerance")
    parser.add_argument("--atol", type=float, default=0.05, help="loss parity: absolute tolerance")
    parser.add_argument("--peak-tflops", type=float, default=None, help="GPU peak for the MFU")
    parser.add_argument("--output", type=Path, default=None, help="results file (.jsonl)")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="data and checkpoints (default: temporary)"
    )
    parser.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--case-timeout", type=float, default=3600.0, help="seconds per isolated measurement")
    parser.add_argument("--table", type=Path, default=None, help="print the Markdown table of a results file")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)  # internal: one isolated measurement
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.case:  # a child process: one measurement, one JSON line
        print(json.dumps(run_case(json.loads(args.case))), flush=True)
        return 0
    if args.table:
        records = [json.loads(line) for line in args.table.read_text().splitlines() if line.strip()]
        print(markdown_table(records))
        return 0

    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if args.threads is None and args.quick and device == "cpu":
        args.threads = (
            1  # quick runs share the machine (the test suite): one intra-op thread, no oversubscription
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    isolate = (not args.quick) if args.isolate is None else args.isolate
    output = (
        args.output or RESULTS_DIR / f"{datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}.jsonl"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="attngan-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.only.split(",") if s}
    wanted_variants = {s for s in args.variants.split(",") if s}

    env = environment(device, args.threads, args.quick)

    def emit(record: dict[str, Any]) -> None:
        print(json.dumps(record), flush=True)
        with output.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    output.write_text("")
    emit(env)
    logging.getLogger("lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    cub_root = workdir / "birds"
    plan = [c for c in configs(args.quick, device, cub_root) if not only or c.name in only]
    if any(c.name.startswith("cub") and not c.skip_reason for c in plan):
        # full: 10 DataLoader batches of 20; quick: enough for the loader's warm-up and one batch
        build_cub_tree(cub_root, num_train=48 if args.quick else 200, num_test=4 if args.quick else 20)

    cases: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    order: list[tuple[str, str]] = []  # (config, variant) in the order of the plan
    for config in plan:
        variants = {k: v for k, v in config.variants.items() if not wanted_variants or k in wanted_variants}
        if config.kind == "data":
            variants = {
                f"workers_{w}": []
                for w in config.workers
                if not wanted_variants or f"workers_{w}" in wanted_variants
            }
        if config.skip_reason:
            skipped = dict.fromkeys(variants, config.skip_reason)
        else:  # a variant skipped by default runs when --variants names it
            skipped = {
                v: why
                for v, why in config.skipped_variants.items()
                if v not in wanted_variants or v not in variants
            }
        variants = {k: v for k, v in variants.items() if k not in skipped}
        for variant in [*config.variants, *variants, *skipped]:
            if (config.name, variant) in order or (wanted_variants and variant not in wanted_variants):
                continue
            if variant not in variants and variant not in skipped:
                continue
            order.append((config.name, variant))
            if variant in skipped:
                reason = skipped[variant]
                records.append(
                    {
                        "config": config.name,
                        "bench": config.kind,
                        "variant": variant,
                        "status": "skipped",
                        "reason": reason,
                    }
                )
        if config.skip_reason:
            continue
        damsm = None
        if config.kind in ("train_step", "generate") and config.damsm_overrides is not None:
            damsm = str(damsm_checkpoint(workdir, config.damsm_overrides))
        for variant, overrides in variants.items():
            cases.append(
                {
                    "id": f"{config.name}-{variant}",
                    "config": config.name,
                    "bench": config.kind,
                    "kind": config.kind,
                    "variant": variant,
                    "overrides": config.overrides,
                    "variant_overrides": overrides,
                    "damsm": damsm,
                    "device": device,
                    "threads": args.threads,
                    "batch_size": config.batch_size,
                    "warmup": args.warmup if args.warmup is not None else config.warmup,
                    "steps": args.steps if args.steps is not None else config.steps,
                    "repeats": args.repeats if args.repeats is not None else config.repeats,
                    "workers": int(variant.split("_")[1]) if config.kind == "data" else 0,
                    "count_flops": variant == "fp32_eager",
                    "workdir": str(workdir),
                }
            )

    # every variant once per round, rounds repeated: variants are measured side by side in time
    rounds = max((c["repeats"] for c in cases), default=0)
    for repeat in range(rounds):
        for case in cases:
            if repeat >= case["repeats"]:
                continue
            case = {**case, "repeat": repeat}
            record = run_isolated(case, args.case_timeout) if isolate else run_case(case)
            record = {"type": "measurement", **record, "overrides": case["variant_overrides"]}
            records.append(record)
            emit(record)

    # loss parity: fp32 eager against the other precisions/variants over the same first steps
    parity_steps = args.parity_steps
    if parity_steps is None:
        parity_steps = 3 if args.quick else (50 if device == "cuda" else 12)
    parity_records = []
    parity_variants = ["fp32_eager", "combined_eager"] if args.quick else ["fp32_eager", "bf16", "combined"]
    for config in plan:
        if parity_steps <= 0 or config.kind != "train_step" or config.skip_reason:
            continue
        if config.name != "shapes_attngan" and device != "cuda":
            continue  # on a CPU, CUB-size steps are too slow for a loss trajectory
        damsm = str(damsm_checkpoint(workdir, config.damsm_overrides or []))
        for variant in parity_variants:
            case = {
                "id": f"parity-{config.name}-{variant}",
                "config": config.name,
                "bench": "train_step",
                "kind": "train_step",
                "variant": variant,
                "repeat": 0,
                "overrides": config.overrides,
                "variant_overrides": TRAIN_VARIANTS[variant],
                "damsm": damsm,
                "device": device,
                "threads": args.threads,
                "warmup": 0,
                "steps": parity_steps,
                "distinct_batches": parity_steps,
                "log_every": 1,
                "record_losses": True,
                "workdir": str(workdir),
            }
            record = run_isolated(case, args.case_timeout) if isolate else run_case(case)
            if record["status"] != "ok":
                emit({"type": "parity", "config": config.name, "variant": variant, **record})
            parity_records.append(record)

    results = aggregate(records, env, args.peak_tflops, order)
    for result in results:
        emit(result)
    for result in parity(parity_records, args.rtol, args.atol):
        emit(result)
    print(f"\nresults: {output}\n\n{markdown_table(results)}", file=sys.stderr)
    if own_workdir:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
