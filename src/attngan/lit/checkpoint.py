"""Checkpoints: atomic writes, safe reads, and the self-describing ``"attngan"`` entry.

Every checkpoint our modules write is a Lightning checkpoint plus ``checkpoint["attngan"]``, made of plain
Python containers and tensors only, so it loads with ``torch.load(weights_only=True)``:

``kind`` ("damsm" | "attngan"), ``version``, ``config`` (resolved run config), ``vocab`` (words in id order,
id 0 = padding), ``networks`` (constructor arguments of every network, with ``_target_``),
``generator_step``, and for AttnGAN ``ema_generator`` (the EMA weights used for sampling).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from attngan.config import unaccepted_arguments
from attngan.errors import CheckpointError, ConfigError, VocabularyMismatchError

# network classes a checkpoint may name in its `_target_` (nothing else is ever instantiated from one)
ALLOWED_TARGET_PREFIX = "attngan.models."


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file in the same directory, then rename over ``path``.

    A kill during the save leaves the previous file intact (never a truncated one).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def safe_load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; every failure names the file and what to do."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"checkpoint '{path}' does not exist (check the path; relative paths are "
            f"taken from the directory you ran the command in: {os.getcwd()})"
        )
    if path.is_dir():
        raise CheckpointError(f"checkpoint '{path}' is a directory; pass the .ckpt file inside it")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint '{path}' is empty (0 bytes): it was not written completely")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint '{path}' cannot be read ({type(err).__name__}: {str(err).splitlines()[0][:200]}). "
            "It is truncated or corrupt, or not a PyTorch checkpoint; use another one (e.g. an epoch "
            "snapshot next to it)."
        ) from err
    except Exception as err:  # weights_only refuses arbitrary objects with pickle.UnpicklingError
        raise CheckpointError(
            f"checkpoint '{path}' holds objects that are not plain data and was refused by the safe loader "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200]}). attngan only reads checkpoints with "
            "torch.load(weights_only=True)."
        ) from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint '{path}' holds a {type(obj).__name__}, expected a dict")
    return obj


def attngan_entry(checkpoint: dict[str, Any], path: str | os.PathLike[str], kind: str | None = None) -> dict:
    """The ``"attngan"`` entry of a loaded checkpoint, checked for ``kind``."""
    entry = checkpoint.get("attngan")
    if not isinstance(entry, dict):
        raise CheckpointError(
            f"'{path}' is not a checkpoint written by attngan (no 'attngan' entry). For the authors' released "
            "*.pth files use `attngan-import-original` first."
        )
    if kind is not None and entry.get("kind") != kind:
        raise CheckpointError(
            f"'{path}' is a {entry.get('kind')!r} checkpoint, expected a {kind!r} one"
            + (
                " (pass the DAMSM checkpoint written by `attngan-train experiment=..._damsm`)"
                if kind == "damsm"
                else ""
            )
        )
    return entry


def build_network(spec: dict[str, Any], **extra: Any) -> torch.nn.Module:
    """Instantiate a network from its saved constructor arguments (``_target_`` restricted to attngan.models)."""
    from hydra.utils import get_class

    spec = dict(spec)
    target = spec.pop("_target_", None)
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGET_PREFIX):
        raise CheckpointError(
            f"checkpoint names network class {target!r}; only {ALLOWED_TARGET_PREFIX}* is allowed"
        )
    spec.update(extra)
    cls = get_class(target)
    unknown, accepted = unaccepted_arguments(cls, spec)
    if unknown:
        raise ConfigError(
            f"{target} does not take the argument(s) {unknown}; it takes {accepted}. "
            "Check the model config (e.g. model.image_encoder.*) for keys meant for another network."
        )
    return cls(**spec)


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``state`` under ``prefix`` (e.g. ``"text_encoder."``), with the prefix removed."""
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


# the checkpoint kind each LightningModule writes (the "kind" of its "attngan" entry)
MODULE_KINDS = {"DAMSMModule": "damsm", "AttnGANModule": "attngan"}


def check_resumable(
    checkpoint: dict[str, Any], path: str | os.PathLike[str], module: torch.nn.Module
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
    vocab = getattr(module, "vocab", None)
    if vocab is not None and entry.get("vocab") is not None and list(entry["vocab"]) != list(vocab):
        raise VocabularyMismatchError(
            f"'{path}' was trained with another vocabulary ({len(entry['vocab'])} ids) than this run's dataset "
            f"({len(vocab)} ids); resume it with the data of the run that wrote it."
        )
    saved, expected = checkpoint["state_dict"], module.state_dict()
    problems = []
    if missing := sorted(set(expected) - set(saved)):
        problems.append(
            f"missing {', '.join(missing[:4])}"
            + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        )
    if unexpected := sorted(set(saved) - set(expected)):
        problems.append(
            f"unexpected {', '.join(unexpected[:4])}"
            + (f" and {len(unexpected) - 4} more" if len(unexpected) > 4 else "")
        )
    shapes = [
        f"{k} {tuple(saved[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in saved and isinstance(saved[k], torch.Tensor) and saved[k].shape != v.shape
    ]
    if shapes:
        problems.append("other shapes: " + ", ".join(shapes[:4]) + (" ..." if len(shapes) > 4 else ""))
    if problems:
        raise CheckpointError(
            f"'{path}' does not fit the model of this run ({'; '.join(problems)}). Resume with the same model "
            "overrides as the run that wrote it (its resolved config is inside: checkpoint['attngan']['config'])."
        )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes atomically and reads with ``weights_only=True``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict:
        return safe_load_checkpoint(path, map_location=map_location or "cpu")
