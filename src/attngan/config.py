"""OmegaConf resolvers used by the shipped configs, and config helpers."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


def stage_sizes(base_size: int, num_stages: int) -> ListConfig:
    """Image sizes of a generator's stages: ``base_size * 2**i`` for ``i < num_stages``.

    A ``ListConfig`` rather than a list, so that ``OmegaConf.resolve`` (``--cfg job --resolve``) accepts it.
    """
    return ListConfig([int(base_size) * 2**i for i in range(int(num_stages))])


def register_resolvers() -> None:
    """Register ``${stage_sizes:base,num}`` (idempotent)."""
    if not OmegaConf.has_resolver("stage_sizes"):
        OmegaConf.register_new_resolver("stage_sizes", stage_sizes)


def to_plain(cfg: Any) -> Any:
    """A resolved config as plain Python containers (safe for ``torch.load(weights_only=True)``)."""
    if isinstance(cfg, DictConfig | ListConfig):
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    return cfg


def unaccepted_arguments(target: Any, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(unknown, accepted)``: the ``names`` that ``target``'s constructor does not take, and those it does."""
    accepted = inspect.signature(target).parameters
    return sorted(k for k in names if k not in accepted), sorted(accepted)


register_resolvers()
