"""Distributed training for a GAN stepped by hand.

Lightning's DDP strategy wraps the whole LightningModule in ``DistributedDataParallel``, which expects one
backward pass per forward; AttnGAN makes ``num_stages + 1`` backward passes per batch (each discriminator,
then the generator) over different parameter sets, with frozen encoders beside them. This strategy keeps
Lightning's process group, samplers and rank handling, but does not wrap the module: parameters and
buffers are broadcast from rank 0 at start, and the module averages the gradients of exactly the network
it is about to step (:meth:`AttnGANModule._all_reduce_gradients`), in one flat all-reduce per step.
Frozen encoders and the EMA never take part in gradient traffic.
"""

from __future__ import annotations

from lightning.pytorch.overrides.distributed import _sync_module_states
from lightning.pytorch.strategies import DDPStrategy


class GANDDPStrategy(DDPStrategy):
    """DDP without the ``DistributedDataParallel`` wrapper; gradients are averaged by the module."""

    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        assert self.model is not None
        _sync_module_states(self.model)  # every rank starts from rank 0's weights and buffers
