"""Reading the authors' released state dicts safely, and copying them through a key map.

The pieces :mod:`attngan.compat.original` builds its loaders and exporters from: a released ``.pth`` file read
with ``torch.load(weights_only=True)`` (nothing in it is executed), a check that it is the file it should be,
and a strict copy from release key names to ours (and back), with every missing, unexpected or mis-shaped key
named in the error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from attngan.checkpoint import load_weights_only
from attngan.compat.keymaps import Rule, release_key_map
from attngan.errors import CheckpointError

PathLike = str | os.PathLike[str]

_MAX_LISTED_KEYS = 20


def read_release_state_dict(
    path: PathLike, what: str, required: Iterable[str] = (), hint: str = ""
) -> dict[str, torch.Tensor]:
    """Read a released state dict safely (``weights_only=True``, on CPU).

    A ``module.`` prefix (files saved from ``nn.DataParallel``) is removed.

    Args:
        path: the ``.pth`` file.
        what: what the file should be, for messages (e.g. ``"text encoder (RNN_ENCODER)"``).
        required: keys the file must have to be the ``what`` it should be.
        hint: what to pass instead, said when a required key is absent.

    Raises:
        CheckpointError: the file is missing, unreadable, not a flat state dict of tensors, or lacks a
            required key (naming the absent keys, the file's first keys and ``hint``).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"The released {what} file {path} does not exist.")
    state = load_weights_only(
        path, expected=f"the authors' released {what} file", instead="download it again from the release"
    )
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and not isinstance(state["state_dict"], torch.Tensor)
    ):
        raise CheckpointError(
            f"{path} is a training checkpoint (it has a 'state_dict' entry), not one of the authors' released "
            f"{what} files. Load attngan checkpoints with attngan's own loaders."
        )
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path} does not hold a state dict of tensors (found {type(state).__name__}); expected the "
            f"authors' released {what} file."
        )
    state = dict(state)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    absent = [k for k in required if k not in state]
    if absent:
        raise CheckpointError(
            f"{path} is not the release's {what}: it lacks {', '.join(absent)} (its first keys are "
            f"{list_keys(sorted(state)[:5]) or 'none'}). {hint}"
        )
    return state


def list_keys(keys: list[str]) -> str:
    """``keys`` joined for a message, at most ``_MAX_LISTED_KEYS`` of them (``... and N more``)."""
    shown = ", ".join(keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return shown + (f", ... and {more} more" if more > 0 else "")


def load_mapped(
    module: nn.Module, release_state: Mapping[str, torch.Tensor], rules: list[Rule], path: PathLike, what: str
) -> None:
    """Copy ``release_state`` into ``module`` through the key-map ``rules`` (:mod:`attngan.compat.keymaps`),
    strictly.

    ``num_batches_tracked`` buffers may be absent (files saved by PyTorch < 0.4.1) and start at 0.

    Raises:
        CheckpointError: keys are missing or unexpected (all listed), or shapes differ.
    """
    ours = module.state_dict()
    to_ours = {release: our_key for our_key, release in release_key_map(ours, rules, what).items()}
    missing = [k for k in to_ours if k not in release_state and not k.endswith("num_batches_tracked")]
    unexpected = sorted(set(release_state) - set(to_ours))
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"missing keys ({len(missing)}): {list_keys(missing)}")
        if unexpected:
            problems.append(f"unexpected keys ({len(unexpected)}): {list_keys(unexpected)}")
        raise CheckpointError(f"{path} does not fit the release's {what}: " + "; ".join(problems) + ".")

    new_state: dict[str, torch.Tensor] = {}
    mismatched: list[str] = []
    for release_key, our_key in to_ours.items():
        target = ours[our_key]
        if release_key not in release_state:  # an absent num_batches_tracked
            new_state[our_key] = torch.zeros_like(target)
            continue
        tensor = release_state[release_key]
        if tensor.shape != target.shape:
            mismatched.append(f"{release_key}: expected {tuple(target.shape)}, found {tuple(tensor.shape)}")
            continue
        new_state[our_key] = tensor.to(target.dtype)
    if mismatched:
        raise CheckpointError(
            f"{path}: tensor shapes do not fit the release's {what} inferred from the file: "
            + list_keys(mismatched)
            + "."
        )
    module.load_state_dict(new_state, strict=True)


def export_mapped(module: nn.Module, rules: list[Rule], what: str) -> dict[str, torch.Tensor]:
    """``module``'s state dict under the release's key names (``rules``), detached CPU copies."""
    ours = module.state_dict()
    key_map = release_key_map(ours, rules, what)
    return {key_map[k]: v.detach().clone().cpu() for k, v in ours.items()}
