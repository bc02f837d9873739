"""Distributed and cluster training: the GAN DDP strategy, resuming after a requeue, launch checks.

Lightning's DDP strategy wraps the whole LightningModule in ``DistributedDataParallel``, which expects one
backward pass per forward; AttnGAN makes ``num_stages + 1`` backward passes per batch (each discriminator,
then the generator) over different parameter sets, with frozen encoders beside them. :class:`GANDDPStrategy`
keeps Lightning's process group, samplers and rank handling, but does not wrap the module:

- parameters and buffers are broadcast from rank 0 when fitting starts;
- a module stepped by hand (``automatic_optimization = False``, AttnGAN) averages the gradients of exactly
  the network it is about to step, in one flat all-reduce (:func:`average_gradients`); frozen encoders and
  the EMA never take part in gradient traffic;
- a module with automatic optimisation (the DAMSM) gets its gradients averaged by the strategy, right after
  the backward pass and before ``on_before_optimizer_step`` (so gradient clipping sees averaged gradients,
  as under plain DDP), and its BatchNorm statistics broadcast from rank 0 after each step;
- either way every rank holds the same weights, buffers and EMA at every step, and rank 0 alone writes
  checkpoints, samples and logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.overrides.distributed import _sync_module_states
from lightning.pytorch.strategies import DDPStrategy, Strategy

from attngan.errors import ConfigError
from attngan.lit.guards import world_size

log = logging.getLogger(__name__)

# what `ckpt_path` may say instead of a path: resume from the newest checkpoint of this run directory, if any
AUTO_RESUME = "auto"


def _in_one_message(tensors: list[torch.Tensor], collective: Callable[[torch.Tensor], Any]) -> None:
    """Run ``collective`` on ``tensors`` packed into one flat tensor (one message, not one per tensor), and
    copy the result back. A no-op outside a process group or without tensors."""
    if world_size() == 1 or not tensors:
        return
    flat = torch._utils._flatten_dense_tensors(tensors)
    collective(flat)
    for tensor, synced in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors), strict=True):
        tensor.copy_(synced)


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Average ``.grad`` of ``parameters`` over all ranks, in place, with one flat all-reduce.

    Every rank must hold gradients for the same parameters (true when each rank runs the same step).
    Parameters without a gradient are left out. A no-op outside a process group.
    """

    def average(flat: torch.Tensor) -> None:
        dist.all_reduce(flat)
        flat.div_(world_size())

    _in_one_message([p.grad for p in parameters if p.grad is not None], average)


def broadcast_buffers(*modules: torch.nn.Module) -> None:
    """Copy rank 0's floating-point buffers (BatchNorm statistics) of ``modules`` to every rank, in one
    flat broadcast, as ``DistributedDataParallel(broadcast_buffers=True)`` does. A no-op outside a group."""
    buffers = [b for module in modules for b in module.buffers() if b.is_floating_point()]
    _in_one_message(buffers, lambda flat: dist.broadcast(flat, src=0))


def check_manual_strategy(strategy: Strategy) -> None:
    """Refuse Lightning's plain DDP for a module that steps its optimizers by hand (AttnGAN).

    Raises:
        ConfigError: ``strategy`` is a ``DDPStrategy`` other than :class:`GANDDPStrategy`.
    """
    if isinstance(strategy, DDPStrategy) and not isinstance(strategy, GANDDPStrategy):
        raise ConfigError(
            "AttnGAN steps four optimizers by hand, which plain DDP does not support; use trainer=ddp "
            "(attngan.lit.strategy.GANDDPStrategy) instead of trainer.strategy=ddp"
        )


class GANDDPStrategy(DDPStrategy):
    """DDP without the ``DistributedDataParallel`` wrapper (see the module docstring).

    Takes :class:`~lightning.pytorch.strategies.DDPStrategy`'s arguments (``process_group_backend``,
    ``start_method``, ``timeout``, ...); the DDP-wrapper ones (``find_unused_parameters``, comm hooks) do not
    apply.
    """

    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        assert self.model is not None
        _sync_module_states(self.model)  # every rank starts from rank 0's weights and buffers

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        closure: Callable[[], Any],
        model: LightningModule | torch.nn.Module | None = None,
        **kwargs: Any,
    ) -> Any:
        module = model if model is not None else self.lightning_module
        if world_size() > 1 and isinstance(module, LightningModule) and module.automatic_optimization:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            backward_closure = closure

            def closure() -> Any:  # the precision plugin runs this, then on_before_optimizer_step, then steps
                result = backward_closure()
                average_gradients(parameters)
                return result

            output = super().optimizer_step(optimizer, closure, model, **kwargs)
            broadcast_buffers(module)  # BatchNorm statistics of rank 0, so that every rank holds one model
            return output
        return super().optimizer_step(optimizer, closure, model, **kwargs)


# ---------------------------------------------------------------------------------------------- resuming
def newest_checkpoint(run_dir: Path) -> Path | None:
    """The newest resumable checkpoint of a run directory: ``checkpoints/last.ckpt`` (every epoch and on
    pre-emption) or Lightning's SLURM ``hpc_ckpt_<n>.ckpt`` (written before it requeues a job)."""
    candidates = [run_dir / "checkpoints" / "last.ckpt", *run_dir.glob("hpc_ckpt_*.ckpt")]
    existing = [path for path in candidates if path.is_file() and path.stat().st_size > 0]
    return max(existing, key=lambda path: path.stat().st_mtime) if existing else None


def resolve_ckpt_path(ckpt_path: str | None, run_dir: str | os.PathLike[str]) -> str | None:
    """The checkpoint ``trainer.fit`` resumes from.

    Args:
        ckpt_path: ``cfg.ckpt_path``: a path, ``"auto"`` (the newest checkpoint of ``run_dir`` if there is
            one, else a fresh start) or ``None`` (a fresh start, except in a requeued SLURM job, where it
            means ``"auto"``: the job comes back into the same run directory and carries on).
        run_dir: the run directory (``trainer.default_root_dir``).
    """
    if ckpt_path is not None and str(ckpt_path) != AUTO_RESUME:
        return str(ckpt_path)
    # a SLURM job started again after a requeue (pre-emption, `scontrol requeue`) counts its restarts
    restarts = os.environ.get("SLURM_RESTART_COUNT", "0").strip()
    if ckpt_path is None and not (restarts.isdigit() and int(restarts) > 0):
        return None
    found = newest_checkpoint(Path(run_dir))
    reason = "ckpt_path=auto" if ckpt_path is not None else "requeued SLURM job"
    if found is None:
        log.info("%s: no checkpoint in %s yet, starting from scratch", reason, run_dir)
        return None
    log.info("%s: resuming from %s", reason, found)
    return str(found)


# ---------------------------------------------------------------------------------------------- launching
class SameRunDirectory(Callback):
    """Stop every rank, before any checkpoint is read, when the ranks disagree on the run directory.

    Ranks started by SLURM (``srun``) or ``torchrun`` each compose their own config; a run directory with
    ``${now:...}`` in it then differs between ranks that started in different seconds, and each would look
    for its resume checkpoint in another place.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if trainer.world_size == 1:
            return
        mine = os.path.abspath(str(trainer.default_root_dir))
        rank_zero = trainer.strategy.broadcast(mine, src=0)
        if not trainer.strategy.reduce_boolean_decision(mine == rank_zero, all=True):
            raise ConfigError(
                f"the ranks of this job use different run directories (rank 0: {rank_zero}; rank "
                f"{trainer.global_rank}: {mine}). Ranks started by srun or torchrun each resolve "
                "hydra.run.dir themselves; give them one that does not depend on the start time, e.g. "
                "'hydra.run.dir=outputs/${task_name}/${oc.env:SLURM_JOB_ID}' (or hydra.sweep.dir for -m)."
            )


def check_launch(trainer: Trainer) -> None:
    """Refuse a Hydra multirun whose jobs would re-launch the script for their extra ranks.

    Lightning starts ranks 1..N-1 of a single-node DDP job by running the command line again; inside a
    ``-m`` sweep that command is the whole sweep, so every job would start N-1 more sweeps. Supported
    instead: one device per job, ``trainer.strategy.start_method=spawn`` (ranks are spawned, not
    re-launched), or a SLURM launcher where SLURM starts the ranks (``hydra/launcher=slurm``).

    Raises:
        ConfigError: the trainer would re-launch the script and Hydra runs in multirun mode.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    launcher = trainer.strategy.launcher
    # SLURM and torchrun start the ranks themselves; otherwise Lightning re-runs the command line for them
    relaunches = (
        isinstance(launcher, _SubprocessScriptLauncher)
        and not launcher.cluster_environment.creates_processes_externally
    )
    if relaunches and launcher.num_processes > 1:
        raise ConfigError(
            f"a Hydra sweep (-m) cannot start DDP jobs with {launcher.num_processes} devices on this node: "
            "Lightning would re-run the command line, i.e. the whole sweep, for every extra rank. Use one of: "
            "trainer.devices=1 (one device per sweep job); trainer.strategy.start_method=spawn (ranks are "
            "spawned by the job itself); or hydra/launcher=slurm, where SLURM starts the ranks of each job "
            "(pip install 'attngan[slurm]'). See 'Multi-GPU and clusters' in the README."
        )


__all__ = [
    "AUTO_RESUME",
    "GANDDPStrategy",
    "SameRunDirectory",
    "average_gradients",
    "broadcast_buffers",
    "check_launch",
    "check_manual_strategy",
    "newest_checkpoint",
    "resolve_ckpt_path",
]
