"""What a benchmark run measures: variants, configurations (:class:`Benchmark`) and measurements (:class:`Case`).

A :class:`Benchmark` is one configuration (Hydra overrides of ``conf/train.yaml``) with the variants compared on
it; :func:`benchmarks` lists those of a run; :func:`benchmarks.plan.plan` expands them into one :class:`Case`
per (configuration, variant). Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BF16 = "trainer.precision=bf16-mixed"
CHANNELS_LAST = "model.channels_last=true"
COMPILE = "model.compile=true"
CACHED_TEXT = "data.cache_text_embeddings=true"
KINDS = ("train_step", "damsm_step", "generate", "data")


@dataclass(frozen=True)
class Variant:
    """One speed option (or combination) as the real config keys it sets.

    Attributes:
        name: the name in results (``fp32_eager``, ``bf16``, ``combined``, ``workers_2`` ...).
        bf16: ``trainer.precision=bf16-mixed`` (the text encoder stays fp32).
        channels_last: ``model.channels_last=true``.
        compile: ``model.compile=true`` (``torch.compile`` of G and every D).
        cached_text: ``data.cache_text_embeddings=true``.
        workers: DataLoader worker processes (``data`` benchmarks only).
    """

    name: str
    bf16: bool = False
    channels_last: bool = False
    compile: bool = False
    cached_text: bool = False
    workers: int | None = None

    @property
    def overrides(self) -> list[str]:
        """The Hydra overrides of this variant, in a fixed order."""
        flags = (
            (self.bf16, BF16),
            (self.channels_last, CHANNELS_LAST),
            (self.compile, COMPILE),
            (self.cached_text, CACHED_TEXT),
        )
        return [override for on, override in flags if on]

    @property
    def precision(self) -> str:
        """``bf16`` or ``fp32``: the math the variant's peak FLOP/s is taken for."""
        return "bf16" if self.bf16 else "fp32"


def _variants(*variants: Variant) -> dict[str, Variant]:
    return {v.name: v for v in variants}


TRAIN_VARIANTS = _variants(
    Variant("fp32_eager"),
    Variant("bf16", bf16=True),
    Variant("channels_last", channels_last=True),
    Variant("compile", compile=True),
    Variant("cached_text", cached_text=True),
    Variant("combined", bf16=True, channels_last=True, compile=True, cached_text=True),
    # the combination without torch.compile (what --quick can afford on a CPU)
    Variant("combined_eager", bf16=True, channels_last=True, cached_text=True),
    # the combination without channels-last (which CPUs do not gain from)
    Variant("combined_no_channels_last", bf16=True, compile=True, cached_text=True),
)
# DAMSMModule has no compile/channels-last option, and its text encoder trains (nothing to cache)
DAMSM_VARIANTS = {k: TRAIN_VARIANTS[k] for k in ("fp32_eager", "bf16")}
# generation reads new captions, no training batches: nothing to cache
GENERATE_VARIANTS = {
    k: dataclasses.replace(v, cached_text=False) for k, v in TRAIN_VARIANTS.items() if k != "cached_text"
}
BASELINES = ("fp32_eager", "workers_0")  # what ratios are against (data: 0 workers)


@dataclass
class Benchmark:
    """One benchmarked configuration: what it runs, on which data, how long, with which variants.

    Attributes:
        name: ``shapes_attngan``, ``cub_damsm`` ...
        kind: one of :data:`KINDS`.
        overrides: Hydra overrides of ``conf/train.yaml`` (the experiment and its data).
        variants: what is compared on it, by name.
        damsm_overrides: the DAMSM config whose random-weight checkpoint the case needs (None: none needed).
        batch_size: the batch size the overrides give (generation: captions per call).
        warmup / steps / repeats: untimed steps, timed steps, rounds.
        skip_reason: the whole configuration is skipped (every variant reported with this reason).
        skipped_variants: variant -> why it is skipped by default (``--variants`` naming it runs it).
    """

    name: str
    kind: str
    overrides: list[str]
    variants: dict[str, Variant]
    damsm_overrides: list[str] | None = None
    batch_size: int = 0
    warmup: int = 3
    steps: int = 10
    repeats: int = 1
    skip_reason: str | None = None
    skipped_variants: dict[str, str] = field(default_factory=dict)


@dataclass
class Case:
    """One measurement: one variant of one configuration, run in this process or a fresh one.

    Serialisable (:meth:`to_json` / :meth:`from_json`) so that ``run.py --case`` can rebuild it in a child.
    ``config`` is the benchmark's name, ``bench`` its kind; ``repeat`` the round it belongs to.
    """

    config: str
    bench: str
    variant: Variant
    overrides: list[str]
    device: str = "cpu"
    workdir: str = ""
    damsm: str | None = None
    threads: int | None = None
    batch_size: int = 0
    warmup: int = 1
    steps: int = 1
    repeats: int = 1
    repeat: int = 0
    count_flops: bool = False
    record_losses: bool = False
    distinct_batches: int | None = None  # default: min(warmup, 4)
    log_every: int = 10_000
    per_image_samples: int = 40

    def __post_init__(self) -> None:
        if self.bench not in KINDS:
            raise ValueError(f"Case.bench must be one of {KINDS}, got {self.bench!r}")
        if self.warmup < 0 or self.steps < 1:
            raise ValueError(
                f"a case needs warmup >= 0 and steps >= 1, got warmup={self.warmup}, steps={self.steps} "
                "(--warmup/--steps)"
            )

    @property
    def id(self) -> str:
        """A file-system-safe name of the measurement (its Lightning run directory)."""
        prefix = "parity-" if self.record_losses else ""
        return f"{prefix}{self.config}-{self.variant.name}"

    @property
    def variant_overrides(self) -> list[str]:
        return self.variant.overrides

    @property
    def workers(self) -> int:
        return self.variant.workers or 0

    def record(self) -> dict[str, Any]:
        """The identifying fields every measurement record starts with."""
        return {
            "config": self.config,
            "bench": self.bench,
            "variant": self.variant.name,
            "repeat": self.repeat,
        }

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Case:
        fields = json.loads(text)
        return cls(**{**fields, "variant": Variant(**fields["variant"])})


def benchmarks(quick: bool, device: str, cub_root: Path) -> list[Benchmark]:
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
        train = {k: v for k, v in TRAIN_VARIANTS.items() if not v.compile}
        generate = {k: GENERATE_VARIANTS[k] for k in ("fp32_eager", "bf16", "channels_last")}
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
    cub_repeats = repeats if gpu else 1
    # a CUB-size step takes about 2 minutes on a 2-core CPU (1 thread): no compile there, and the text
    # encoder (about 10 ms a batch) is nothing next to it (--variants asks for them anyway)
    cub_train_skip: dict[str, str] = {}
    if not gpu and not quick:
        slow = "compiling takes minutes on top of ~2-minute steps"
        cub_train_skip = {
            name: f"CPU, CUB size: {slow} (--variants {name} runs it)"
            for name in ("compile", "combined", "combined_no_channels_last")
        }
        cub_train_skip["cached_text"] = (
            "CPU, CUB size: text encoding is ~0.01% of the step (--variants cached_text runs it)"
        )
    cub_generate_skip = {k: v for k, v in cub_train_skip.items() if k != "cached_text"}
    shapes_train = ["experiment=shapes_attngan", "data.num_workers=0", *shapes_data]
    workers = (0,) if quick else (0, 1, 2)
    loaders = _variants(*(Variant(f"workers_{w}", workers=w) for w in workers))
    return [
        Benchmark(
            "shapes_attngan",
            "train_step",
            shapes_train + (["data.batch_size=8"] if quick else []),
            train,
            shapes_damsm,
            batch_size=8 if quick else 32,
            skipped_variants=skip_compile,
            repeats=repeats,
            **steps((3, 8)),
        ),
        Benchmark(
            "cub_attngan2",
            "train_step",
            ["experiment=cub_attngan2", *cub_data],
            train,
            cub_damsm,
            batch_size=20,
            repeats=cub_repeats,
            skip_reason=cub_skip,
            skipped_variants=cub_train_skip,
            **steps((1, 1)),
        ),
        Benchmark(
            "shapes_damsm",
            "damsm_step",
            shapes_damsm + (["data.batch_size=16"] if quick else []),
            dict(DAMSM_VARIANTS),
            batch_size=16 if quick else 48,
            repeats=repeats,
            **steps((3, 8)),
        ),
        Benchmark(
            "cub_damsm",
            "damsm_step",
            cub_damsm,
            dict(DAMSM_VARIANTS),
            batch_size=48,
            repeats=cub_repeats,
            skip_reason=cub_skip,
            **steps((1, 2)),
        ),
        Benchmark(
            "shapes_generate",
            "generate",
            shapes_train,
            generate,
            shapes_damsm,
            batch_size=100,
            skipped_variants=skip_compile,
            repeats=repeats,
            **steps((2, 5)),
        ),
        Benchmark(
            "cub_generate",
            "generate",
            ["experiment=cub_attngan2", *cub_data],
            generate,
            cub_damsm,
            batch_size=100,
            repeats=cub_repeats,
            skip_reason=cub_skip,
            skipped_variants=cub_generate_skip,
            **steps((1, 1)),
        ),
        Benchmark(
            "shapes_data",
            "data",
            ["experiment=shapes_attngan", *shapes_data],
            loaders,
            batch_size=32,
            warmup=1,
            steps=4 if quick else 30,
        ),
        Benchmark(
            "cub_data",
            "data",
            ["experiment=cub_attngan2", f"data.root={cub_root}"],
            loaders,
            batch_size=20,
            warmup=1,
            steps=1 if quick else 8,
        ),
    ]
