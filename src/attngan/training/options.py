"""Training options beyond the authors' release (``model.training.*``), every one off by default.

The release recipe (BCE losses, the batch's other captions as mismatched pairs, no gradient penalty, a fixed EMA
decay, a constant λ) is what every default here gives, and the only recipe of the CUB and COCO experiments. The
shapes experiments turn options on; ``attngan-train`` prints which (:meth:`TrainingOptions.departures`).
What each buys on shapes: docs/results.md; why they exist: docs/decisions/036-shapes-training-options.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from attngan.data.shapes.negatives import check_attribute_weights
from attngan.errors import ConfigError
from attngan.losses.adversarial import LOSS_TYPES
from attngan.losses.penalties import PENALTY_TYPES

_STAGE_CHOICES = ("last", "all")


@dataclass(frozen=True)
class TrainingOptions:
    """``model.training``: how the AttnGAN is trained; the defaults are the release.

    Attributes:
        adversarial_loss: ``bce`` (release) or ``hinge`` (SAGAN / DF-GAN).
        gradient_penalty: ``none`` (release), ``ma_gp`` (DF-GAN's matching-aware penalty) or ``r1``.
        gradient_penalty_weight: k of MA-GP (DF-GAN 2) or γ of R1.
        gradient_penalty_power: p of MA-GP (DF-GAN 6).
        gradient_penalty_every: lazy regularisation: the penalty runs every N discriminator steps, times N.
        gradient_penalty_stages: ``last`` (the largest scale's discriminator only, cheapest) or ``all``.
        hard_negative_fraction: share of the mismatched pairs that are the true caption with one attribute
            changed (shapes data only; :mod:`attngan.data.shapes.negatives`); 0 is the release.
        hard_negative_weights: how often each attribute (colour, shape, position, size, count) is the one changed.
        ema_rampup: StyleGAN2-ADA's EMA ramp: the EMA half-life is at most ``ema_rampup`` x the images seen so
            far (and at most the one of ``model.ema_decay``); ``null`` is the release's fixed decay.
        lambda_damsm_start: λ at generator step 0, rising linearly to ``model.lambda_damsm`` over
            ``lambda_rampup_steps``; ``null`` is the release's constant λ.
        lambda_rampup_steps: length of that ramp in generator steps.
    """

    adversarial_loss: str = "bce"
    gradient_penalty: str = "none"
    gradient_penalty_weight: float = 2.0
    gradient_penalty_power: float = 6.0
    gradient_penalty_every: int = 1
    gradient_penalty_stages: str = "last"
    hard_negative_fraction: float = 0.0
    hard_negative_weights: dict[str, float] = field(
        default_factory=lambda: {"colour": 0.3, "shape": 0.4, "position": 0.3, "size": 0.0, "count": 0.0}
    )
    ema_rampup: float | None = None
    lambda_damsm_start: float | None = None
    lambda_rampup_steps: int = 0

    def __post_init__(self) -> None:
        def refuse(key: str, accepted: str) -> None:
            raise ConfigError(f"model.training.{key}={getattr(self, key)!r} is not accepted: {accepted}")

        if self.adversarial_loss not in LOSS_TYPES:
            refuse("adversarial_loss", f"one of {list(LOSS_TYPES)}")
        if self.gradient_penalty not in PENALTY_TYPES:
            refuse("gradient_penalty", f"one of {list(PENALTY_TYPES)}")
        if self.gradient_penalty_stages not in _STAGE_CHOICES:
            refuse("gradient_penalty_stages", f"one of {list(_STAGE_CHOICES)}")
        if not (self.gradient_penalty_weight >= 0 and math.isfinite(self.gradient_penalty_weight)):
            refuse("gradient_penalty_weight", "a finite number >= 0")
        if not self.gradient_penalty_power > 0:
            refuse("gradient_penalty_power", "a number > 0")
        if int(self.gradient_penalty_every) < 1:
            refuse("gradient_penalty_every", "an integer >= 1")
        if not 0.0 <= self.hard_negative_fraction <= 1.0:
            refuse("hard_negative_fraction", "a number in [0, 1]")
        try:
            check_attribute_weights(self.hard_negative_weights)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        if self.ema_rampup is not None and not self.ema_rampup > 0:
            refuse("ema_rampup", "null or a number > 0 (StyleGAN2-ADA: 0.05)")
        if int(self.lambda_rampup_steps) < 0:
            refuse("lambda_rampup_steps", "an integer >= 0")
        if self.lambda_damsm_start is not None and self.lambda_damsm_start < 0:
            refuse("lambda_damsm_start", "null or a number >= 0")

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> TrainingOptions:
        """From ``model.training`` (a mapping; None: the release). Unknown keys are refused by name."""
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(f"model.training has unknown keys {unknown}; the options are {sorted(known)}")
        if "hard_negative_weights" in config:
            config["hard_negative_weights"] = dict(config["hard_negative_weights"])
        return cls(**config)

    def departures(self) -> dict[str, Any]:
        """The options that differ from the release, ``{key: value}`` (empty: the release recipe)."""
        release = asdict(TrainingOptions())
        changed = {k: v for k, v in asdict(self).items() if v != release[k]}
        if self.hard_negative_fraction == 0:
            changed.pop("hard_negative_weights", None)  # weights of negatives that are never drawn
        if self.gradient_penalty == "none":
            for key in ("gradient_penalty_weight", "gradient_penalty_power", "gradient_penalty_every"):
                changed.pop(key, None)
            changed.pop("gradient_penalty_stages", None)
        if self.lambda_damsm_start is None:
            changed.pop("lambda_rampup_steps", None)
        return changed

    def lambda_damsm(self, target: float, step: int) -> float:
        """λ at generator step ``step``: the ramp from ``lambda_damsm_start`` to ``target``, else ``target``."""
        if self.lambda_damsm_start is None or self.lambda_rampup_steps <= 0:
            return target
        progress = min(1.0, step / self.lambda_rampup_steps)
        return self.lambda_damsm_start + (target - self.lambda_damsm_start) * progress

    def ema_decay(self, decay: float, batch_size: int, images_seen: int) -> float:
        """The EMA decay of this step (StyleGAN2-ADA ``training_loop.py``: ``β = 0.5 ** (B / ema_nimg)``).

        ``decay`` fixes the longest half-life, ``B · ln 0.5 / ln decay`` images; with ``ema_rampup`` the half-life
        is also at most ``ema_rampup · images_seen``. Without it, ``decay`` (the release).
        """
        if self.ema_rampup is None:
            return decay
        if images_seen <= 0:
            return 0.0
        return min(decay, 0.5 ** (batch_size / (self.ema_rampup * images_seen)))


def recipe_departures(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every training option of a resolved run config that departs from the release, by full key.

    ``model.training.*`` (:meth:`TrainingOptions.departures`), a KL weight other than the release's 1,
    ``data.fresh_images`` and the CoordConv inputs (``model.generator.coord_channels``,
    ``model.discriminator.coord_channels``). λ and the network sizes are per-dataset values, not listed. Empty: the
    release recipe.
    """
    config = config or {}
    model, data = dict(config.get("model") or {}), dict(config.get("data") or {})
    options = TrainingOptions.from_config(model.get("training"))
    found = {f"model.training.{k}": v for k, v in options.departures().items()}
    if model.get("kl_weight", 1.0) != 1.0:  # the release's KL coefficient is 1 for every dataset
        found["model.kl_weight"] = model["kl_weight"]
    if data.get("fresh_images"):
        found["data.fresh_images"] = True
    for network in ("generator", "discriminator"):
        if (model.get(network) or {}).get("coord_channels"):
            found[f"model.{network}.coord_channels"] = True
    return found


def format_departures(departures: Mapping[str, Any]) -> str:
    """``"the release recipe"`` or ``"AttnGAN with these training options: key=value, ..."``."""
    if not departures:
        return "the release recipe (no training option beyond the release)"
    return "AttnGAN with these training options: " + ", ".join(f"{k}={v}" for k, v in departures.items())


__all__ = ["TrainingOptions", "format_departures", "recipe_departures"]
