"""Small pieces shared by the LightningModules (checkpoint metadata: :mod:`attngan.checkpoint`)."""

from __future__ import annotations

import hashlib
from typing import Any


def step_seed(seed: int, rank: int, step: int) -> int:
    """The seed of one training step's random draws: a pure function of ``(seed, rank, step)``.

    Seeding the global generator with it at the start of every step makes noise, CA samples and dropout masks
    independent of everything that ran before (data loading, sampling, a resume from a checkpoint).
    """
    digest = hashlib.blake2b(f"{seed}:{rank}:{step}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def damsm_gammas(hparams: Any) -> dict[str, float]:
    """The DAMSM smoothing factors gamma1/2/3 of a module's hyperparameters, as ``damsm_loss`` keywords."""
    return {name: hparams[name] for name in ("gamma1", "gamma2", "gamma3")}


def dataset_has_classes(trainer: Any) -> bool:
    """Whether the trainer's data module knows class ids (CUB, shapes): DAMSM negatives are masked by class."""
    datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
    return bool(getattr(datamodule, "num_classes", None))


def fixed_batch(datamodule: Any, num_captions: int) -> dict[str, Any]:
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
