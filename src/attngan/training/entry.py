"""The training entry: :func:`fit` composes data, module and trainer from a composed config, fits, and exports.

``attngan-train`` (:mod:`attngan.cli.train`) checks the config, calls :func:`fit` and prints what the run
made; Python callers (reproduce, tests, notebooks) call :func:`fit` with a config from
:func:`attngan.config.compose_config`. Nothing here imports the command line.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from attngan.config import to_plain, unaccepted_arguments
from attngan.errors import AttnGANError, ConfigError
from attngan.outputs import (
    EXPORT_RECORD,
    atomic_write_text,
    check_output_file,
    check_run_directory,
    hold_run_directory,
)

if TYPE_CHECKING:
    from lightning.pytorch import Callback, LightningModule, Trainer

RUN_DIR_KEY = "hydra.run.dir"


class Preempted(SystemExit):
    """Training stopped by SIGTERM/SIGUSR1 or Ctrl-C after a resumable checkpoint was saved.

    A :class:`SystemExit` with the pre-emption exit code, so that a caller that does not catch it exits as a
    requeued cluster job should.

    Attributes:
        checkpoint: the resumable checkpoint (``<run dir>/checkpoints/last.ckpt``).
        reason: ``"interrupted (Ctrl-C)"`` or ``"pre-empted (SIGTERM/SIGUSR1)"``.
    """

    def __init__(self, checkpoint: Path, reason: str) -> None:
        from attngan.lit.callbacks import PREEMPTED_EXIT_CODE

        super().__init__(PREEMPTED_EXIT_CODE)
        self.checkpoint = checkpoint
        self.reason = reason


def fit(cfg: DictConfig, export: Path | None = None) -> dict[str, Any]:
    """Train the model of a composed ``train`` config and export its final checkpoint.

    Before any work the outputs are checked (:func:`check_outputs`) and the run directory
    (``trainer.default_root_dir``) is held for this process (:func:`attngan.outputs.hold_run_directory`).

    Args:
        cfg: a composed ``train`` config (:func:`attngan.config.compose_config`).
        export: where the final checkpoint is copied; defaults to ``cfg.export_path`` (None: no copy).

    Returns:
        ``run_dir``, ``checkpoint`` (``last.ckpt``), ``exported`` (when copied) and ``metrics`` (the trainer's
        final scalar metrics).

    Raises:
        Preempted: SIGTERM/SIGUSR1 or Ctrl-C during training, after the resumable checkpoint was written.
    """
    run_dir = Path(str(cfg.trainer.get("default_root_dir") or "."))
    export = check_outputs(cfg, run_dir, export)
    with hold_run_directory(run_dir, RUN_DIR_KEY):
        return _fit(cfg, run_dir, export)


def _fit(cfg: DictConfig, run_dir: Path, export: Path | None) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from attngan.checkpoint import safe_load_checkpoint
    from attngan.lit.callbacks import PreemptionCheckpoint
    from attngan.lit.checkpoint import check_resumable
    from attngan.lit.logging import finish_loggers, quiet_lightning_logs
    from attngan.lit.strategy import check_launch, resolve_ckpt_path

    quiet_lightning_logs()
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    # "auto" (and a requeued SLURM job): the newest checkpoint of this run directory, if any
    ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), run_dir)
    # a clear error now (a bad file, another model) rather than a traceback from deep inside Lightning
    resume_from = safe_load_checkpoint(ckpt_path) if ckpt_path else None
    datamodule = instantiate_user(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    if resume_from is not None:
        check_resumable(resume_from, ckpt_path, module)
        del resume_from
    trainer = build_trainer(cfg)
    check_launch(trainer)  # a -m sweep must not re-launch itself for extra DDP ranks
    run_dir = Path(trainer.default_root_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    try:
        with known_warnings_quieted():
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        preemption = next(c for c in trainer.callbacks if isinstance(c, PreemptionCheckpoint))
        # the checkpoint was refused (a non-finite loss): that is the news
        if preemption.save_error is not None:
            raise preemption.save_error from None
        reason = "interrupted (Ctrl-C)" if preemption.interrupted else "pre-empted (SIGTERM/SIGUSR1)"
        raise Preempted(last, reason) from None
    result: dict[str, Any] = {"run_dir": str(run_dir), "checkpoint": str(last)}
    if export is not None:
        # the full checkpoint, resumable as last.ckpt; atomic (AtomicCheckpointIO)
        trainer.save_checkpoint(export, weights_only=False)
        record_export(run_dir, export)
        result["exported"] = str(export)
    result["metrics"] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    finish_loggers(trainer.loggers)  # flush W&B; the next job of a sweep gets its own run
    return result


# ------------------------------------------------------------------------------------------ composition
def instantiate_user(spec: DictConfig) -> Any:
    """``hydra.utils.instantiate`` (plain containers, so checkpoints stay weights_only-safe), with an
    :class:`AttnGANError` of the constructor re-raised as itself (Hydra wraps it, which hides the message)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(spec, _convert_="all")
    except InstantiationException as err:
        if isinstance(err.__cause__, AttnGANError):
            raise err.__cause__ from None
        raise


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    if not group:
        return []
    return [
        instantiate_user(spec)
        for spec in group.values()
        if isinstance(spec, DictConfig) and "_target_" in spec
    ]


def build_module(cfg: DictConfig, vocab: list[str]) -> LightningModule:
    """The LightningModule named by ``cfg.model._target_``, built from the rest of ``cfg.model``."""
    from hydra.utils import get_class

    model_cfg = dict(to_plain(cfg.model))
    target = model_cfg.pop("_target_", None)
    if not target:
        raise ConfigError("model._target_ is missing: pick a model config (model=damsm or model=attngan)")
    module_cls = get_class(target)
    unknown, accepted = unaccepted_arguments(module_cls, model_cfg)
    if unknown:
        raise ConfigError(
            f"{target} does not take model.{', model.'.join(unknown)}; remove or rename these keys"
        )
    extra: dict[str, Any] = {"vocab": vocab, "run_config": to_plain(cfg)}
    if "seed" in accepted:
        extra["seed"] = int(cfg.seed)
    return module_cls(**model_cfg, **extra)


def build_trainer(cfg: DictConfig, extra_callbacks: list[Callback] | None = None) -> Trainer:
    """The Lightning ``Trainer`` of ``cfg.trainer`` with the config's callbacks and loggers."""
    from hydra.utils import instantiate

    from attngan.lit.callbacks import BadSampleReport, PreemptionCheckpoint
    from attngan.lit.checkpoint import AtomicCheckpointIO
    from attngan.lit.logging import LogRunConfig
    from attngan.lit.strategy import SameRunDirectory

    callbacks = [*_instantiate_group(cfg.get("callbacks")), BadSampleReport(), PreemptionCheckpoint()]
    callbacks += list(extra_callbacks or [])
    callbacks.append(LogRunConfig(to_plain(cfg)))  # the resolved config, to every logger (W&B run config)
    callbacks.append(SameRunDirectory())  # ranks started by srun/torchrun must share one run directory
    loggers = _instantiate_group(cfg.get("logger"))
    if not loggers:  # logger=none: callbacks that need a logger are left out
        from lightning.pytorch.callbacks import LearningRateMonitor

        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    return instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
        _convert_="all",
    )


# Lightning's warnings about choices made here on purpose (they would only bury real ones)
KNOWN_WARNINGS = (
    r".*module\(s\) in eval mode at the start of training.*",  # the frozen DAMSM encoders, the EMA generator
    r".*isinstance\(treespec, LeafSpec\).*",
    r".*is smaller than the logging interval.*",  # runs shorter than trainer.log_every_n_steps (smoke runs)
    r".*passed in a `val_dataloader` but have no `validation_step`.*",  # AttnGAN: the evaluation's data
    r".*overridden `on_before_batch_transfer` in `LightningModule`",  # the module's host-side step work
)


@contextlib.contextmanager
def known_warnings_quieted() -> Iterator[None]:
    """Within the block, silence :data:`KNOWN_WARNINGS`; the filters are restored on exit."""
    with warnings.catch_warnings():
        for pattern in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        yield


# ------------------------------------------------------------------------------------------ outputs
def _exports_of(run_dir: Path) -> set[Path]:
    try:
        lines = (run_dir / EXPORT_RECORD).read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    return {Path(line) for line in lines if line.strip()}


def record_export(run_dir: Path, export: Path) -> None:
    """Note in the run directory that this run wrote ``export`` (see :func:`check_outputs`)."""
    exports = sorted(str(p) for p in _exports_of(run_dir) | {export.resolve()})
    atomic_write_text(run_dir / EXPORT_RECORD, "\n".join(exports) + "\n")


def check_outputs(cfg: DictConfig, run_dir: Path, export: Path | None = None) -> Path | None:
    """Refuse, before any work, outputs that cannot be written or that hold another run's result.

    The run directory must be writable and new, empty or one attngan-train wrote (a resume); an existing
    export (``export``, else ``cfg.export_path``) is replaced only with ``overwrite=true`` or when this run
    directory wrote it (a resumed or continued run). Raises :class:`~attngan.errors.OutputError`.

    Returns:
        The export checked (``export``, else ``cfg.export_path``; None: no export).
    """
    overwrite = bool(cfg.get("overwrite"))
    check_run_directory(run_dir, RUN_DIR_KEY, overwrite)
    if export is None and cfg.get("export_path"):
        export = Path(str(cfg.export_path))
    if export is not None:
        own = export.resolve() in _exports_of(run_dir)
        check_output_file(export, "export_path", overwrite or own)
    return export


__all__ = [
    "Preempted",
    "build_module",
    "build_trainer",
    "check_outputs",
    "fit",
    "instantiate_user",
    "known_warnings_quieted",
    "record_export",
]
