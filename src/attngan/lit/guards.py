"""The non-finite loss guard both LightningModules share, and the collectives it needs.

A NaN or infinite loss either stops the run (``model.nonfinite_policy=stop``, naming the step and the term)
or has its step skipped (``skip``, counted). Under DDP every rank must take the same decision, or the ranks
that carry on would wait forever for the ones that stopped; the helpers here reduce over the process group
and are no-ops outside one.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from attngan.errors import ConfigError

NONFINITE_POLICIES = ("stop", "skip")


def world_size() -> int:
    """Number of processes in the default process group (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def check_nonfinite_policy(policy: str) -> None:
    """Refuse (:class:`ConfigError`, naming the config key and the choices) a policy not in :data:`NONFINITE_POLICIES`."""
    if policy not in NONFINITE_POLICIES:
        raise ConfigError(
            f"model.nonfinite_policy must be 'stop' or 'skip', got {policy!r}: 'stop' ends the run naming "
            "the step and the loss term, 'skip' leaves such steps out and counts them"
        )


def finite_on_every_rank(loss: torch.Tensor) -> bool:
    """Whether ``loss`` (any shape) is finite on every rank: one host sync, plus one all-reduce under DDP."""
    finite = torch.isfinite(loss.detach()).all().to(torch.float32)
    if world_size() > 1:
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    return bool(finite)


def earliest_over_ranks(first_steps: torch.Tensor) -> list[int]:
    """Per loss term, the earliest step any rank saw it non-finite (``-1``: never, on any rank).

    Args:
        first_steps: ``(num_terms,)`` long, this rank's first non-finite step per term, ``-1`` for never.

    Returns:
        ``num_terms`` integers, the same on every rank (so that every rank raises, or none does).
    """
    if world_size() == 1:
        return first_steps.tolist()
    never = torch.iinfo(first_steps.dtype).max
    steps = torch.where(first_steps < 0, torch.full_like(first_steps, never), first_steps)
    dist.all_reduce(steps, op=dist.ReduceOp.MIN)
    return torch.where(steps == never, torch.full_like(steps, -1), steps).tolist()


class NonFiniteWatch:
    """The first step at which each loss term was non-finite, kept on the device (no host sync per step) and
    read every N steps, so that ``nonfinite_policy=stop`` costs nothing inside the step.

    Args:
        names: the loss terms, in the order :meth:`track` gets their values.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.first: torch.Tensor | None = None  # (num_terms,) long, -1: never; made on the values' device

    def track(self, values: torch.Tensor, step: torch.Tensor) -> None:
        """Record ``step`` (a device scalar) for every term of ``values`` ``(num_terms,)`` that is not finite
        and was finite until now."""
        if self.first is None:
            self.first = torch.full((len(self.names),), -1, dtype=torch.long, device=values.device)
        bad = ~torch.isfinite(values)
        self.first = torch.where((self.first < 0) & bad, step.expand_as(self.first), self.first)

    def earliest(self) -> tuple[int, str] | None:
        """``(step, term)`` of the earliest non-finite value on any rank, or None (the same on every rank)."""
        if self.first is None:
            return None
        first = earliest_over_ranks(self.first)
        bad = [(step, name) for step, name in zip(first, self.names, strict=True) if step >= 0]
        return min(bad) if bad else None


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the ranks (every rank saw other samples); ``values`` itself outside DDP."""
    world = world_size()
    if world == 1:
        return values
    summed = values.clone()
    dist.all_reduce(summed)
    return summed / world


__all__ = [
    "NONFINITE_POLICIES",
    "NonFiniteWatch",
    "check_nonfinite_policy",
    "earliest_over_ranks",
    "finite_on_every_rank",
    "mean_over_ranks",
    "world_size",
]
