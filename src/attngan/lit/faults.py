"""Fault injection for tests and drills: the one sanctioned way to make a training step go wrong on purpose.

A :class:`FaultInjector` is a Lightning callback that attaches itself to the module when fitting starts and
detaches at the end, so a test (or a chaos drill on a cluster) adds it as it adds any callback, in Python or
from the command line; the training step has no hook of its own::

    attngan-train experiment=shapes_attngan \
        +callbacks.fault._target_=attngan.lit.faults.NonFiniteLoss \
        +callbacks.fault.term=g_kl +callbacks.fault.at_step=2

What the modules pass to :meth:`FaultInjector.loss_terms`, before any of it is used:

- :class:`~attngan.lit.AttnGANModule`: ``{"d<i>": loss}`` before discriminator ``i`` steps, then
  ``{"g_adversarial", "g_damsm", "g_kl"}`` before they are weighted into the generator loss; ``step`` is the
  generator step (0-based). The injector wraps the methods of the module's loss object
  (:class:`attngan.training.loss.AttnGANLoss`) for the run.
- :class:`~attngan.lit.DAMSMModule`: the DAMSM loss terms of a training step with their sum ``"loss"``;
  ``step`` is the trainer's global step. The injector wraps the module's ``_losses`` for the run (training
  batches only: validation runs in eval mode).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from attngan.training.loss import AttnGANLoss


class FaultInjector(Callback):
    """Base class: sees every loss term of a training step and returns the terms to use instead.

    Subclasses override :meth:`loss_terms`; this base class changes nothing.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        losses = getattr(pl_module, "losses", None)
        if isinstance(losses, AttnGANLoss):
            self._wrap(losses)
        else:
            self._wrap_damsm(pl_module)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        """The class's own methods again."""
        losses = getattr(pl_module, "losses", None)
        if isinstance(losses, AttnGANLoss):
            for name in ("discriminator", "generator"):
                vars(losses).pop(name, None)
        vars(pl_module).pop("_losses", None)

    def _wrap_damsm(self, module: LightningModule) -> None:
        """The DAMSM module's ``_losses(batch) -> (terms, features)``, its training terms passed through
        :meth:`loss_terms` (this instance only)."""
        compute = module._losses

        def losses_with_faults(batch: dict[str, Any]) -> tuple[dict[str, torch.Tensor], Any]:
            terms, features = compute(batch)
            if module.training:
                terms = self.loss_terms(module.global_step, terms)
            return terms, features

        module._losses = losses_with_faults

    def _wrap(self, losses: AttnGANLoss) -> None:
        """The loss object's phases, with their terms passed through :meth:`loss_terms` (this instance only)."""
        discriminator, generator = losses.discriminator, losses.generator

        def discriminator_terms(step: int, stage: int, *args: Any) -> torch.Tensor:
            name = f"d{stage}"
            return self.loss_terms(step, {name: discriminator(step, stage, *args)})[name]

        def generator_terms(step: int, *args: Any) -> dict[str, torch.Tensor]:
            return self.loss_terms(step, generator(step, *args))

        losses.discriminator = discriminator_terms  # type: ignore[method-assign]
        losses.generator = generator_terms  # type: ignore[method-assign]

    def loss_terms(self, step: int, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The loss terms the step goes on with.

        Args:
            step: the module's step counter (see the module docstring).
            terms: name -> scalar loss tensor (with its graph).

        Returns:
            A dictionary with the same keys (the same dictionary is fine).
        """
        return terms


class NonFiniteLoss(FaultInjector):
    """Makes one loss term non-finite at one step, as an exploding loss would.

    When the terms come with their sum (``"loss"``, the DAMSM), the sum is made non-finite too: it was
    computed from the term before the injection.

    Args:
        term: the loss term's name (``g_kl``, ``d0``, ``word_t2i``, ...).
        at_step: the step to poison (0-based; see the module docstring).
        value: what the term is multiplied by (``nan``; ``inf`` for an overflow).
    """

    def __init__(self, term: str, at_step: int, value: float = math.nan) -> None:
        self.term = term
        self.at_step = int(at_step)
        self.value = float(value)
        self.injected: list[int] = []  # the steps poisoned so far

    def loss_terms(self, step: int, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if step != self.at_step or self.term not in terms:
            return terms
        self.injected.append(step)
        poisoned = {self.term: terms[self.term] * self.value}
        if "loss" in terms and self.term != "loss":
            poisoned["loss"] = terms["loss"] * self.value
        return {**terms, **poisoned}


__all__ = ["FaultInjector", "NonFiniteLoss"]
