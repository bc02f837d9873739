"""``attngan-train``: DAMSM pre-training and AttnGAN training, composed by Hydra; the console wrapper of
:func:`attngan.training.fit` (the command line parses, checks and reports; the library trains).

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
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import ConfigError
from attngan.training.entry import RUN_DIR_KEY, Preempted, check_outputs, fit

if TYPE_CHECKING:
    from hydra.conf import HydraConf

log = logging.getLogger("attngan.train")
PROG = "attngan-train"


def train(cfg: DictConfig) -> dict[str, Any]:
    """:func:`attngan.training.fit` as ``attngan-train`` runs it (on a config :func:`main` has checked): a sweep
    job's export placed in its job directory, Ctrl-C and pre-emption reported in one line, and a summary printed.

    Python callers that want none of this call :func:`attngan.training.fit` directly.
    """
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    from attngan.lit.callbacks import INTERRUPTED_EXIT_CODE

    run_dir = Path(str(cfg.trainer.get("default_root_dir") or "."))
    try:
        result = fit(cfg, export=export_target(cfg, run_dir))
    except Preempted as stop:
        print(
            f"{PROG}: {stop.reason}; resumable checkpoint: {stop.checkpoint}; resume with: "
            f"{resume_command(stop.checkpoint)} (exit code {stop.code})",
            file=sys.stderr,
        )
        sys.exit(stop.code)
    except KeyboardInterrupt:  # Ctrl-C before training started (during it: PreemptionCheckpoint)
        print(f"{PROG}: interrupted (Ctrl-C) before training started; nothing to resume", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
    except SystemExit as stop:
        if stop.code == INTERRUPTED_EXIT_CODE:  # a second Ctrl-C during training
            last = run_dir / "checkpoints" / "last.ckpt"
            kept = f"{last} holds the last finished epoch" if last.is_file() else "no checkpoint was written"
            print(f"{PROG}: stopped at once (a second Ctrl-C); {kept}", file=sys.stderr)
        raise
    if rank_zero_only.rank == 0:
        print_run_summary(Path(result["run_dir"]), result, next_command(cfg, result))
    return result


# ------------------------------------------------------------------------------------------ outputs
def _hydra() -> HydraConf | None:
    """The running Hydra job's config (``HydraConfig``), or None for a Python caller."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _in_sweep() -> bool:
    from hydra.types import RunMode

    return _hydra() is not None and _hydra().mode == RunMode.MULTIRUN


def export_target(cfg: DictConfig, run_dir: Path) -> Path | None:
    """Where the final checkpoint is copied: ``export_path``, or None. In a sweep job whose command line does
    not set it, ``<job directory>/<its file name>``: the jobs would otherwise replace each other's file."""
    if not cfg.get("export_path"):
        return None
    export = Path(str(cfg.export_path))
    if _in_sweep() and "export_path" not in {o.split("=")[0].lstrip("+~") for o in _command_line_overrides()}:
        export = run_dir / export.name
    return export


def check_run_outputs(composed: DictConfig) -> Path:
    """:func:`~attngan.training.entry.check_outputs` of the composed config before Hydra makes the run directory; returns that directory
    (``hydra.run.dir``, resolved once: hydra_main pins it and holds it for the run)."""
    run_dir = Path(str(composed.hydra.run.dir))
    check_outputs(composed, run_dir, export_target(composed, run_dir))
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
    return str(_hydra().runtime.output_dir) if _hydra() is not None else None


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
    return list(_hydra().overrides.task) if _hydra() is not None else []


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


def sweep_objective(cfg: DictConfig) -> dict[str, Any] | float:
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


def main(argv: list[str] | None = None) -> None:
    hydra_main("train", PROG, sweep_objective, argv, outputs=check_run_outputs)


__all__ = ["main", "train"]


if __name__ == "__main__":
    main()
