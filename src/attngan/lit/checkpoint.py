"""The Lightning side of checkpoints: the checkpoint IO plugin and the checks before resuming a run.

The format itself (atomic writes, safe reads, the ``"attngan"`` entry, networks from a file) lives in
:mod:`attngan.checkpoint`, which does not need Lightning.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.serialization import MAP_LOCATION

from attngan.checkpoint import atomic_torch_save, attngan_entry, safe_load_checkpoint
from attngan.errors import CheckpointError, VocabularyMismatchError

if TYPE_CHECKING:
    from attngan.lit import AttnGANModule, DAMSMModule

# the checkpoint kind each LightningModule writes (the "kind" of its "attngan" entry)
MODULE_KINDS = {"DAMSMModule": "damsm", "AttnGANModule": "attngan"}


def check_resumable(
    checkpoint: dict[str, Any], path: str | os.PathLike[str], module: AttnGANModule | DAMSMModule
) -> None:
    """Refuse, naming the file and the differences, a checkpoint that ``module`` cannot resume training from.

    Catches what Lightning would otherwise report as a traceback deep inside ``trainer.fit``: a checkpoint of
    another kind (DAMSM vs AttnGAN), a weights-only file (an export of ``attngan-import-original``), another
    vocabulary, or networks of other shapes (other model overrides than the run that wrote it).
    """
    kind = MODULE_KINDS.get(type(module).__name__)
    entry = attngan_entry(checkpoint, path, kind=kind)
    if not {"state_dict", "optimizer_states", "loops"} <= set(checkpoint):
        raise CheckpointError(
            f"'{path}' holds weights only (no optimizer or loop state), so training cannot resume from it. "
            "Start a new run from its weights instead (model.init_from=<file> for AttnGAN), or resume from a "
            "run's checkpoints/last.ckpt."
        )
    if entry.get("vocab") is not None and list(entry["vocab"]) != module.vocab:
        raise VocabularyMismatchError(
            f"'{path}' was trained with another vocabulary ({len(entry['vocab'])} ids) than this run's dataset "
            f"({len(module.vocab)} ids); resume it with the data of the run that wrote it."
        )
    saved, expected = checkpoint["state_dict"], module.state_dict()
    shapes = [
        f"{k} {tuple(saved[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in saved and isinstance(saved[k], torch.Tensor) and saved[k].shape != v.shape
    ]
    found = {
        "missing": sorted(set(expected) - set(saved)),
        "unexpected": sorted(set(saved) - set(expected)),
        "other shapes:": shapes,
    }
    problems = [
        f"{what} {', '.join(keys[:4])}" + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        for what, keys in found.items()
        if keys
    ]
    if problems:
        raise CheckpointError(
            f"'{path}' does not fit the model of this run ({'; '.join(problems)}). Resume with the same model "
            "overrides as the run that wrote it (its resolved config is inside: checkpoint['attngan']['config'])."
        )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes atomically and reads with ``weights_only=True``."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: object = None
    ) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(
        self,
        path: str | os.PathLike[str],
        map_location: MAP_LOCATION = None,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        return rename_datamodule_state(safe_load_checkpoint(path, map_location=map_location or "cpu"))


# the per-dataset data modules of checkpoints written before the one CaptionDataModule (Lightning keys a data
# module's state by class name: without the rename a resume would silently rebuild the vocabulary)
_OLD_DATAMODULES = ("ShapesDataModule", "FolderDataModule", "CUBDataModule", "COCODataModule")


def rename_datamodule_state(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """``checkpoint`` with an older data module's state under ``CaptionDataModule`` (changed in place)."""
    if "CaptionDataModule" not in checkpoint:
        for old in _OLD_DATAMODULES:
            if old in checkpoint:
                checkpoint["CaptionDataModule"] = checkpoint.pop(old)
                break
    return checkpoint
