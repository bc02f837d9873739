"""``attngan-train``: DAMSM pre-training and AttnGAN training, composed by Hydra.

Examples::

    attngan-train experiment=shapes_damsm
    attngan-train experiment=shapes_attngan
    attngan-train experiment=cub_attngan2 data.root=/data/birds model.damsm_checkpoint=/ckpt/damsm.ckpt
    attngan-train experiment=cub_attngan2 ckpt_path=outputs/cub_attngan2/<time>/checkpoints/last.ckpt
    attngan-train -m experiment=cub_attngan1 model.lambda_damsm=0.1,1,5,10
    attngan-train experiment=cub_attngan2 --cfg job      # print the composed config
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.cli.explain import App, check_config
from attngan.config import to_plain, unaccepted_arguments
from attngan.errors import AttnGANError, ConfigError
from attngan.outputs import (
    EXPORT_RECORD,
    atomic_write_text,
    check_output_file,
    check_run_directory,
    hold_run_directory,
)

log = logging.getLogger("attngan.train")
PROG = "attngan-train"


def _instantiate_group(group: DictConfig | None) -> list[Any]:
    if not group:
        return []
    return [
        instantiate_user(spec)
        for spec in group.values()
        if isinstance(spec, DictConfig) and "_target_" in spec
    ]


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


def build_module(cfg: DictConfig, vocab: list[str]) -> Any:
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


def build_trainer(cfg: DictConfig, extra_callbacks: list[Any] | None = None) -> Any:
    from hydra.utils import instantiate

    from attngan.lit.callbacks import default_callbacks
    from attngan.lit.checkpoint import AtomicCheckpointIO
    from attngan.lit.logging import LogRunConfig
    from attngan.lit.strategy import SameRunDirectory

    callbacks = _instantiate_group(cfg.get("callbacks")) + default_callbacks() + list(extra_callbacks or [])
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


def quiet_known_warnings() -> None:
    """Silence warnings that are expected here and would only bury real ones."""
    import warnings

    # the frozen DAMSM encoders and the EMA generator stay in eval mode on purpose
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode at the start of training.*")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*is smaller than the logging interval.*")
    # the data module's val_dataloader feeds the evaluation callback; the AttnGAN module has no val loop
    warnings.filterwarnings(
        "ignore", message=r".*passed in a `val_dataloader` but have no `validation_step`.*"
    )


def train(cfg: DictConfig) -> dict[str, Any]:
    """Compose data, module and trainer from ``cfg``, fit, and export the final checkpoint.

    Before any work the outputs are checked (:func:`check_outputs`) and the run directory is held for this
    process (a second run there is refused, :func:`attngan.outputs.hold_run_directory`).
    """
    from attngan.lit.callbacks import INTERRUPTED_EXIT_CODE

    check_config(cfg, App(PROG, "train"))  # no-op under attngan-train (checked before); for Python callers
    run_dir = Path(str(cfg.trainer.get("default_root_dir") or "."))
    check_outputs(cfg, run_dir)
    with hold_run_directory(run_dir, RUN_DIR_KEY):
        try:
            return _train(cfg)
        except KeyboardInterrupt:  # Ctrl-C before training started (during it: PreemptionCheckpoint)
            print(f"{PROG}: interrupted (Ctrl-C) before training started; nothing to resume", file=sys.stderr)
            sys.exit(INTERRUPTED_EXIT_CODE)
        except SystemExit as stop:
            if stop.code == INTERRUPTED_EXIT_CODE:  # a second Ctrl-C during training
                last = run_dir / "checkpoints" / "last.ckpt"
                kept = (
                    f"{last} holds the last finished epoch" if last.is_file() else "no checkpoint was written"
                )
                print(f"{PROG}: stopped at once (a second Ctrl-C); {kept}", file=sys.stderr)
            raise


def _train(cfg: DictConfig) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from attngan.checkpoint import safe_load_checkpoint
    from attngan.lit.callbacks import PREEMPTED_EXIT_CODE
    from attngan.lit.checkpoint import check_resumable
    from attngan.lit.logging import finish_loggers, quiet_lightning_logs
    from attngan.lit.strategy import check_launch, resolve_ckpt_path

    quiet_known_warnings()
    quiet_lightning_logs()
    L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    # "auto" (and a requeued SLURM job): the newest checkpoint of this run directory, if any
    ckpt_path = resolve_ckpt_path(cfg.get("ckpt_path"), cfg.trainer.get("default_root_dir") or ".")
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
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        unsaved = [c.save_error for c in trainer.callbacks if getattr(c, "save_error", None) is not None]
        if unsaved:  # the pre-emption checkpoint was refused (a non-finite loss): that is the news
            raise unsaved[0] from None
        interrupted = any(getattr(c, "interrupted", False) for c in trainer.callbacks)
        last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        why = "interrupted (Ctrl-C)" if interrupted else "pre-empted (SIGTERM/SIGUSR1)"
        print(
            f"{PROG}: {why}; resumable checkpoint: {last}; resume with: {resume_command(last)} "
            f"(exit code {PREEMPTED_EXIT_CODE})",
            file=sys.stderr,
        )
        sys.exit(PREEMPTED_EXIT_CODE)
    run_dir = Path(trainer.default_root_dir)
    result: dict[str, Any] = {
        "run_dir": str(run_dir),
        "checkpoint": str(run_dir / "checkpoints" / "last.ckpt"),
    }
    export = export_target(cfg, run_dir)
    if export is not None:
        # the full checkpoint, resumable as last.ckpt; atomic (AtomicCheckpointIO)
        trainer.save_checkpoint(export, weights_only=False)
        record_export(run_dir, export)
        result["exported"] = str(export)
    if trainer.is_global_zero:
        print_run_summary(run_dir, result, next_command(cfg, result))
    result["metrics"] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    finish_loggers(trainer.loggers)  # flush W&B; the next job of a sweep gets its own run
    return result


# ------------------------------------------------------------------------------------------ outputs
RUN_DIR_KEY = "hydra.run.dir"


def _in_sweep() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # not run by Hydra (a Python caller)
        return False


def export_target(cfg: DictConfig, run_dir: Path) -> Path | None:
    """Where the final checkpoint is copied: ``export_path``, or None. In a sweep job whose command line does
    not set it, ``<job directory>/<its file name>``: the jobs would otherwise replace each other's file."""
    if not cfg.get("export_path"):
        return None
    export = Path(str(cfg.export_path))
    if _in_sweep() and "export_path" not in {o.split("=")[0].lstrip("+~") for o in _command_line_overrides()}:
        export = run_dir / export.name
    return export


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


def check_outputs(cfg: DictConfig, run_dir: Path) -> None:
    """Refuse, before any work, outputs that cannot be written or that hold another run's result.

    The run directory must be writable and new, empty or one attngan-train wrote (a resume); an existing
    ``export_path`` is replaced only with ``overwrite=true`` or when this run directory wrote it (a resumed or
    continued run). Raises :class:`~attngan.errors.OutputError`.
    """
    overwrite = bool(cfg.get("overwrite"))
    check_run_directory(run_dir, RUN_DIR_KEY, overwrite)
    export = export_target(cfg, run_dir)
    if export is not None:
        own = export.resolve() in _exports_of(run_dir)
        check_output_file(export, "export_path", overwrite or own)


def check_run_outputs(composed: DictConfig) -> Path:
    """:func:`check_outputs` of the composed config before Hydra makes the run directory; returns that directory
    (``hydra.run.dir``, resolved once: hydra_main pins it and holds it for the run)."""
    run_dir = Path(str(composed.hydra.run.dir))
    check_outputs(composed, run_dir)
    return run_dir


def resume_command(last: Path) -> str:
    """The command that resumes this run from ``last``: its own overrides, its run directory, ``ckpt_path``."""
    overrides = _command_line_overrides()
    if not overrides and not _hydra_run_dir():
        return f"{PROG} <same overrides> ckpt_path={last}"
    kept = [o for o in overrides if o.split("=")[0].lstrip("+~") != "ckpt_path"]
    kept += [f"{RUN_DIR_KEY}={_hydra_run_dir()}", f"ckpt_path={last}"]
    return " ".join([PROG, *(shlex.quote(o) for o in kept)])


def _hydra_run_dir() -> str | None:
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return None


def print_run_summary(run_dir: Path, result: dict[str, Any], next_step: str | None = None) -> None:
    lines = [f"run directory:   {run_dir}", f"checkpoint:      {result['checkpoint']}"]
    if "exported" in result:
        lines.append(f"exported to:     {result['exported']}")
    for name, label in (("samples", "samples:         "), ("attention", "attention maps:  ")):
        if (run_dir / name).exists():
            lines.append(f"{label}{run_dir / name}")
    if next_step:
        lines.append(f"next:            {next_step}")
    print("\n".join(lines), file=sys.stderr)


EXAMPLE_CAPTIONS = {
    "shapes": "a large red circle on the left",
    "cub": "this bird is red with a short beak",
    "coco": "a man riding a wave on a surfboard",
}


def _command_line_overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except ValueError:  # not run by Hydra (a Python caller)
        return []


def next_command(cfg: DictConfig, result: dict[str, Any]) -> str:
    """The command that uses what this run made: AttnGAN training after a DAMSM, generation after an AttnGAN."""
    from attngan.config import config_dir

    checkpoint = result.get("exported") or result["checkpoint"]
    name = str(cfg.data.get("name") or "shapes")
    if not str(cfg.model.get("_target_", "")).endswith("DAMSMModule"):
        caption = EXAMPLE_CAPTIONS.get(name, "a caption in the words of your captions")
        return f"attngan-generate checkpoint={shlex.quote(checkpoint)} {shlex.quote(f'captions=[{caption}]')}"
    # every data override (the AttnGAN run must see the same captions and samples: data.root, data.bad_manifest,
    # data.num_images, ...), the paths and the seed
    carried = [
        o
        for o in _command_line_overrides()
        if o.split("=")[0].lstrip("+~").split(".")[0] in ("data", "paths", "seed")
    ]
    experiments = sorted(Path(config_dir(), "experiment").glob(f"{name}_attngan*.yaml"))
    parts = [
        "attngan-train",
        f"experiment={experiments[-1].stem}" if experiments else "model=attngan",
        *carried,
    ]
    default = Path(str(cfg.paths.root_dir), "outputs", name, "damsm.ckpt")
    if not experiments or Path(checkpoint).resolve() != default.resolve():
        parts.append(f"model.damsm_checkpoint={checkpoint}")
    return " ".join(shlex.quote(p) if " " in p else p for p in parts)


def sweep_objective(cfg: DictConfig) -> Any:
    """The Hydra task: :func:`train`; with ``+optimized_metric=<name>`` (an Optuna sweep) it returns that
    metric's final value, which the sweeper optimises, instead of the result dict."""
    result = train(cfg)
    metric = cfg.get("optimized_metric")
    if not metric:
        return result
    if metric not in result["metrics"]:
        raise ConfigError(
            f"optimized_metric={metric} was not logged by the end of training; logged: "
            f"{sorted(result['metrics']) or 'nothing'}. Evaluation metrics (val/*) need the evaluation "
            "callback to run on the last epoch (callbacks.evaluation.on_last_epoch=true)."
        )
    return result["metrics"][metric]


def main(argv: list[str] | None = None) -> Any:
    return hydra_main("train", PROG, sweep_objective, argv, outputs=check_run_outputs)


if __name__ == "__main__":
    main()
