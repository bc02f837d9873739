"""Exponential moving average of the generator's parameters (the release's ``avg_param_G``)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to hold the moving average (no gradients, never optimised)."""
    ema = copy.deepcopy(module)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, live: nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * live`` for parameters; buffers are copied from ``live``.

    As in the release, only parameters are averaged and the live BatchNorm statistics are kept.
    Runs on the device with fused list ops: no host synchronisation.
    """
    ema_params = list(ema.parameters())
    live_params = [p.detach() for p in live.parameters()]
    if len(ema_params) != len(live_params):
        raise ValueError("EMA and live modules have different parameter lists")
    torch._foreach_lerp_(ema_params, live_params, 1.0 - decay)
    for ema_buffer, live_buffer in zip(ema.buffers(), live.buffers(), strict=True):
        ema_buffer.copy_(live_buffer)
