"""The training step of a benchmark configuration, ready to run one batch at a time (profile and A/B runs).

:func:`prepare_step` builds the real :class:`~attngan.lit.AttnGANModule` of a preset (``cub_attngan2`` at any
batch size, ``shapes_attngan``) on the benchmark workspace (synthetic CUB tree, random-weight DAMSM), takes a
few real batches from its DataModule, and :meth:`PreparedStep.fit` runs ``trainer.fit`` over ``n`` of them with
the callbacks given, so a step is exactly what training runs (every D step, the G step, EMA, Lightning's own
per-batch work).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import CycledBatches, _build, _trainer
from benchmarks.workspace import build_cub_tree, compose_config, damsm_checkpoint, make_datamodule


def preset(name: str, workdir: Path, batch_size: int | None) -> tuple[list[str], list[str], int]:
    """``(training overrides, DAMSM overrides, batch size)`` of a preset.

    ``cub_attngan2``: the released AttnGAN2 birds config (3 stages, 64/128/256 px, Inception-v3 DAMSM with random
    weights) on a synthetic CUB tree, batch 4 unless given. ``shapes_attngan``: the ``make train`` recipe (batch 32).
    """
    if name == "cub_attngan2":
        batch = batch_size or 4
        root = build_cub_tree(workdir / "birds", num_train=max(2 * batch, 8), num_test=4)
        data = [f"data.root={root}", "data.num_workers=0"]
        damsm = ["experiment=cub_damsm", *data, "model.image_encoder.pretrained=false"]
        return ["experiment=cub_attngan2", *data, f"data.batch_size={batch}"], damsm, batch
    if name == "shapes_attngan":
        batch = batch_size or 32
        data = ["data.num_workers=0", f"data.num_images={max(4 * batch, 96)}"]
        damsm = ["experiment=shapes_damsm", *data]
        return ["experiment=shapes_attngan", *data, f"data.batch_size={batch}"], damsm, batch
    raise ValueError(f"unknown preset {name!r}: expected cub_attngan2 or shapes_attngan")


@dataclass
class PreparedStep:
    """A built module, its DataModule and a few distinct batches; :meth:`fit` runs steps over them."""

    cfg: Any
    module: Any
    datamodule: Any
    batches: list[dict[str, Any]]
    root: Path
    runs: int = field(default=0)

    def fit(self, steps: int, callbacks: list[Any], logger: Any = False) -> None:
        """``trainer.fit`` over ``steps`` batches (cycling the distinct ones), on the CPU."""
        batches, self.runs = self.batches, self.runs + 1
        self.datamodule.train_dataloader = lambda: CycledBatches(batches, steps)  # type: ignore[method-assign]
        trainer = _trainer(self.cfg, "cpu", callbacks, self.root / f"fit{self.runs}", logger=logger)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(self.module, datamodule=self.datamodule)


def prepare_step(
    name: str,
    workdir: Path,
    batch_size: int | None = None,
    overrides: list[str] | None = None,
    damsm_overrides: list[str] | None = None,
    distinct: int = 2,
) -> PreparedStep:
    """The real training module of preset ``name`` with extra Hydra ``overrides`` (a variant's config keys);
    ``damsm_overrides`` are added to the preset's DAMSM config (the tests shrink both)."""
    import lightning as L

    train, damsm_base, _ = preset(name, workdir, batch_size)
    damsm = damsm_checkpoint(workdir, [*damsm_base, *(damsm_overrides or [])])
    extra = [
        f"model.damsm_checkpoint={damsm}",
        "model.sample_every_n_epochs=0",
        "model.log_every_n_steps=1000",
    ]
    cfg = compose_config(workdir, [*train, *extra, *(overrides or [])])
    L.seed_everything(int(cfg.seed), verbose=False)
    datamodule = make_datamodule(cfg)
    module = _build(cfg, datamodule)
    batches: list[dict[str, Any]] = []
    for batch in datamodule.train_dataloader():
        batches.append(batch)
        if len(batches) >= distinct:
            break
    return PreparedStep(cfg, module, datamodule, batches, workdir / "run")
