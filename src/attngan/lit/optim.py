"""Adam as the training step uses it: the same update, computed by one of PyTorch's implementations.

PyTorch's ``Adam`` has three implementations of one update: a Python loop over the parameters
(``for_loop``, the default on a CPU), ``foreach`` (multi-tensor ops) and ``fused`` (one kernel per dtype and
device, on CPUs and GPUs). They differ in rounding only. On the CUB AttnGAN2 step (105 M parameters in G and the
three D's) the four optimizer steps take 0.70 s of CPU with the loop and 0.11 s fused
(``docs/results.md#what-each-change-buys``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from attngan.errors import ConfigError

ADAM_IMPLEMENTATIONS = ("fused", "foreach", "for_loop")
_FLAGS = {
    "fused": {"fused": True, "foreach": None},
    "foreach": {"fused": None, "foreach": True},
    "for_loop": {"fused": None, "foreach": False},
}


def check_adam_implementation(implementation: str) -> str:
    """``implementation`` if it is one of :data:`ADAM_IMPLEMENTATIONS`, else a :class:`ConfigError`."""
    if implementation not in ADAM_IMPLEMENTATIONS:
        raise ConfigError(
            f"model.adam_implementation={implementation!r} is not one of {list(ADAM_IMPLEMENTATIONS)}; "
            "fused is the fastest (same update, rounding differs), for_loop is PyTorch's CPU default"
        )
    return implementation


def make_adam(
    parameters: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float], implementation: str
) -> torch.optim.Adam:
    """``torch.optim.Adam(parameters, lr, betas)`` computed by ``implementation`` (see the module docstring)."""
    return torch.optim.Adam(
        parameters, lr=lr, betas=betas, **_FLAGS[check_adam_implementation(implementation)]
    )


def set_adam_implementation(optimizer: torch.optim.Optimizer, implementation: str) -> None:
    """Switch a (possibly restored) optimizer to ``implementation``.

    ``Optimizer.load_state_dict`` restores the ``fused`` / ``foreach`` flags saved in a checkpoint, so a resumed
    run would otherwise keep the implementation of the run that wrote it.
    """
    flags = _FLAGS[check_adam_implementation(implementation)]
    for group in optimizer.param_groups:
        group.update(flags)
    if flags["fused"]:  # a fused step wants its step counters as tensors on the parameters' device
        for state in optimizer.state.values():
            step = state.get("step")
            if step is not None and torch.is_tensor(step) and step.device.type == "cpu":
                param_device = state["exp_avg"].device
                state["step"] = step.to(device=param_device, dtype=torch.float32)
