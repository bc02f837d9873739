"""Small pieces of the LightningModules: step seeds, batches, initial weights (checkpoint metadata:
:mod:`attngan.checkpoint`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from lightning.pytorch import Trainer
from torch import nn

from attngan.checkpoint import attngan_entry, generator_state_dict, safe_load_checkpoint, strip_prefix
from attngan.data.datamodule import CaptionDataModule
from attngan.errors import CheckpointError

log = logging.getLogger(__name__)


def step_seed(seed: int, rank: int, step: int) -> int:
    """The seed of one training step's random draws: a pure function of ``(seed, rank, step)``.

    Seeding the global generator with it at the start of every step makes noise, CA samples and dropout masks
    independent of everything that ran before (data loading, sampling, a resume from a checkpoint).
    """
    digest = hashlib.blake2b(f"{seed}:{rank}:{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def damsm_gammas(hparams: Mapping[str, Any]) -> dict[str, float]:
    """The DAMSM smoothing factors gamma1/2/3 of a module's hyperparameters, as ``damsm_loss`` keywords."""
    return {name: hparams[name] for name in ("gamma1", "gamma2", "gamma3")}


def dataset_has_classes(trainer: Trainer) -> bool:
    """Whether the trainer's data module knows class ids (CUB, shapes): DAMSM negatives are masked by class."""
    datamodule = trainer.datamodule
    return isinstance(datamodule, CaptionDataModule) and bool(datamodule.num_classes)


def fixed_batch(datamodule: CaptionDataModule, num_captions: int) -> dict[str, Any]:
    """The first ``num_captions`` samples of the validation split (deterministic), on the CPU."""
    batch = next(iter(datamodule.val_dataloader()))
    n = min(num_captions, batch["captions"].shape[0])
    return {
        "images": [im[:n].cpu() for im in batch["images"]],
        "captions": batch["captions"][:n].cpu(),
        "lengths": batch["lengths"][:n].cpu(),
        "class_ids": batch["class_ids"][:n].cpu(),
        "texts": list(batch["texts"][:n]),
        "keys": list(batch["keys"][:n]),
    }


def load_initial_weights(path: str, generator: nn.Module, discriminators: nn.Module) -> None:
    """``model.init_from``: the generator's (and the discriminators', where saved) weights of an attngan
    checkpoint; a :class:`CheckpointError` names the networks the checkpoint was built with if they differ."""
    checkpoint = safe_load_checkpoint(path)
    attngan_entry(checkpoint, path, kind="attngan")
    state = checkpoint["state_dict"]
    disc_state = strip_prefix(state, "discriminators.")
    try:
        generator.load_state_dict(generator_state_dict(state))
        if disc_state:
            discriminators.load_state_dict(disc_state)
    except RuntimeError as err:
        saved = checkpoint["attngan"].get("networks", {}).get("generator", {})
        raise CheckpointError(
            f"model.init_from='{path}' does not fit this model's networks ({str(err).splitlines()[0]}). "
            f"Its generator was built with {saved}; set model.generator.* to match."
        ) from err
    if not disc_state:  # e.g. a release generator imported by attngan-import-original
        log.warning("init_from=%s has no discriminators: they start from random weights", path)
