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


def train(cfg: DictConfig) -> dict[str, Any]:
    """Compose data, module and trainer from ``cfg``, fit, and export the final checkpoint."""
    import lightning as L
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from attngan.checkpoint import safe_load_checkpoint
    from attngan.lit.callbacks import PREEMPTED_EXIT_CODE
    from attngan.lit.checkpoint import check_resumable
    from attngan.lit.logging import finish_loggers
    from attngan.lit.strategy import check_launch, resolve_ckpt_path

    check_config(cfg, App(PROG, "train"))  # no-op under attngan-train (checked before); for Python callers
    quiet_known_warnings()
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
        last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        print(
            f"attngan-train: pre-empted (SIGTERM/SIGUSR1); resumable checkpoint: {last}\n"
            f"resume with: attngan-train <same overrides> ckpt_path={last}",
            file=sys.stderr,
        )
        sys.exit(PREEMPTED_EXIT_CODE)
    run_dir = Path(trainer.default_root_dir)
    result: dict[str, Any] = {
        "run_dir": str(run_dir),
        "checkpoint": str(run_dir / "checkpoints" / "last.ckpt"),
    }
    if cfg.get("export_path"):
        export = Path(cfg.export_path)
        trainer.save_checkpoint(export)
        result["exported"] = str(export)
    if trainer.is_global_zero:
        print_run_summary(run_dir, result, next_command(cfg, result))
    result["metrics"] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    finish_loggers(trainer.loggers)  # flush W&B; the next job of a sweep gets its own run
    return result


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


# data keys that decide the vocabulary: a DAMSM's AttnGAN run must see the same captions
_CARRIED = (
    "data",
    "data.root",
    "data.num_images",
    "data.generation_seed",
    "data.captions_per_image",
    "data.holdout",
    "data.vocab",
)
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
    carried = [
        o
        for o in _command_line_overrides()
        if o.split("=")[0].lstrip("+") in _CARRIED or o.startswith(("paths.", "seed="))
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
    return hydra_main("train", PROG, sweep_objective, argv)


if __name__ == "__main__":
    main()
