"""Checkpoints: atomic writes, safe reads, the self-describing ``"attngan"`` entry, networks from a file.

Every checkpoint attngan writes (``attngan-train``, ``attngan-import-original``) is a dict holding
``state_dict`` (``text_encoder.*``, ``image_encoder.*``, ``generator.*``, ``generator_ema.*``, ...) and
``checkpoint["attngan"]``, made of plain Python containers and tensors only, so it loads with
``torch.load(weights_only=True)``:

``kind`` ("damsm" | "attngan"), ``version``, ``torch_version``, ``git``, ``config`` (resolved run config),
``vocab`` (words in id order, id 0 = padding), ``networks`` (constructor arguments of every network, with
``_target_``), ``gammas``, ``generator_step``.

Training checkpoints also hold Lightning's optimizer and loop state; what only Lightning needs
(the checkpoint IO plugin, resume checks) lives in :mod:`attngan.lit.checkpoint`. This module does not
import Lightning.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch.serialization import MAP_LOCATION

from attngan.config import unaccepted_arguments
from attngan.errors import CheckpointError, ConfigError
from attngan.models import Generator
from attngan.version import __version__

# network classes a checkpoint may name in its `_target_` (nothing else is ever instantiated from one)
ALLOWED_TARGET_PREFIX = "attngan.models."

ATTNGAN_FILES = "a file written by attngan-train or attngan-import-original"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_PICKLE_MAGIC = b"\x80"  # pickle protocol >= 2: what torch.save wrote before its zip format


# ------------------------------------------------------------------------------------------ writing
def atomic_torch_save(obj: object, path: str | os.PathLike[str]) -> None:
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


def git_state() -> str | None:
    """``<commit>[-dirty]`` of the source tree attngan runs from, when it is a git checkout."""
    root = Path(__file__).resolve().parents[2]  # src/attngan/checkpoint.py -> the repository root
    if not (root / ".git").exists():
        return None

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit or None


def run_metadata(kind: str, config: dict[str, Any] | None, vocab: list[str]) -> dict[str, Any]:
    """The self-describing part of every checkpoint (``checkpoint["attngan"]``, see the module docstring).

    Args:
        kind: ``"damsm"`` or ``"attngan"``.
        config: the resolved run config as plain containers.
        vocab: the words in id order (id 0 = padding).
    """
    return {
        "kind": kind,
        "version": __version__,
        "torch_version": str(torch.__version__),
        "git": git_state(),
        "config": config or {},
        "vocab": list(vocab),
    }


# ------------------------------------------------------------------------------------------ reading
def _load_failure(path: Path, err: Exception, expected: str, instead: str) -> CheckpointError:
    """Name what went wrong reading ``path``: truncated/corrupt, or not a checkpoint at all."""
    with path.open("rb") as handle:
        header = handle.read(4)
    not_a_checkpoint = f"is not a checkpoint file (expected {expected})"
    first_line = (str(err).splitlines() or [""])[0][:200]
    corrupt = CheckpointError(
        f"checkpoint '{path}' cannot be read ({type(err).__name__}: {first_line}). "
        f"It is truncated or corrupt; {instead}."
    )
    refused = re.search(r"GLOBAL (\S+) was not an allowed global", str(err))
    if refused and refused.group(1).endswith("."):  # an old-format file cut inside a class name
        return corrupt
    if refused:  # a pickle that asks for code or classes: never run
        return CheckpointError(
            f"'{path}' {not_a_checkpoint}: it asks for the Python object {refused.group(1)}, which is not "
            "plain data, so it was not loaded."
        )
    if header.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):  # the zip's directory at the end is missing: cut short
            return corrupt
        with zipfile.ZipFile(path) as archive:
            if not any(name.endswith("data.pkl") for name in archive.namelist()):
                return CheckpointError(f"'{path}' {not_a_checkpoint}: it is a zip archive of other files.")
        return corrupt
    if header.startswith(_PICKLE_MAGIC) and not isinstance(err, pickle.UnpicklingError):
        return corrupt  # an old-format torch file that ends early (EOF / short reads)
    return CheckpointError(f"'{path}' {not_a_checkpoint}.")


def load_weights_only(
    path: str | os.PathLike[str],
    map_location: MAP_LOCATION = "cpu",
    expected: str = ATTNGAN_FILES,
    instead: str = "use another one (e.g. an epoch snapshot next to it)",
) -> Any:
    """``torch.load(path, weights_only=True)`` of an existing file, failing with one clear message.

    Args:
        path: the file.
        map_location: where tensors go (``torch.load``'s argument).
        expected: what the file should be, for the "is not a checkpoint file (expected ...)" message.
        instead: what to do about a truncated or corrupt file.

    Raises:
        CheckpointError: the file is empty, truncated or corrupt, or not a checkpoint at all (another kind
            of file, or a pickle that asks for code or classes: refused, never run).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint '{path}' is empty (0 bytes): it was not written completely")
    try:
        with warnings.catch_warnings():  # torch's notice on plain pickles, which are refused anyway
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types here; _load_failure tells them apart
        raise _load_failure(path, err, expected, instead) from err


def safe_load_checkpoint(path: str | os.PathLike[str], map_location: MAP_LOCATION = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; every failure names the file and what to do.

    Args:
        path: the ``.ckpt`` file.
        map_location: where tensors go (``torch.load``'s argument).

    Returns:
        The checkpoint dict.

    Raises:
        CheckpointError: the path is missing or a directory; the file is empty, truncated or corrupt; or it is
            not a checkpoint (another kind of file, or a pickle of anything but plain data and tensors).
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"checkpoint '{path}' does not exist (check the path; relative paths are "
            f"taken from the directory you ran the command in: {os.getcwd()})"
        )
    if path.is_dir():
        found = sorted(path.glob("*.ckpt")) + sorted(path.glob("*/*.ckpt"))
        raise CheckpointError(
            f"'{path}' is a directory, not a checkpoint file (pass the .ckpt file inside it"
            + (f", e.g. '{found[-1]}')" if found else ")")
        )
    obj = load_weights_only(path, map_location)
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"'{path}' is not a checkpoint file (expected {ATTNGAN_FILES}): it holds a {type(obj).__name__}, "
            "not a dict."
        )
    return obj


def attngan_entry(
    checkpoint: dict[str, Any], path: str | os.PathLike[str], kind: str | None = None
) -> dict[str, Any]:
    """The ``"attngan"`` entry of a loaded checkpoint, checked for ``kind`` (``"damsm"``/``"attngan"``)."""
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
                else (
                    ": a DAMSM is what AttnGAN training reads (attngan-train experiment=shapes_attngan "
                    "model.damsm_checkpoint=PATH); generation, evaluation, export and the demo take the attngan "
                    "checkpoint that training exports (e.g. outputs/shapes/attngan.ckpt, or <run dir>/checkpoints/"
                    "last.ckpt of an attngan run)"
                    if kind == "attngan" and entry.get("kind") == "damsm"
                    else ""
                )
            )
        )
    return entry


# ------------------------------------------------------------------------------------------ networks
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


def build_encoders(
    networks: dict[str, dict[str, Any]], state_dict: dict[str, torch.Tensor]
) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """Frozen, eval-mode text and image encoders from their specs and a state dict holding
    ``text_encoder.*`` and ``image_encoder.*`` entries. The image encoder is None when ``networks`` has none
    (an imported release generator without its image encoder)."""
    text_encoder = build_network(networks["text_encoder"])
    text_encoder.load_state_dict(strip_prefix(state_dict, "text_encoder."))
    image_encoder = None
    if "image_encoder" in networks:
        image_spec = dict(networks["image_encoder"])
        if "pretrained" in image_spec:  # the trained weights come from the checkpoint, not ImageNet files
            image_spec["pretrained"] = False
        with warnings.catch_warnings():  # "random weights" warnings do not apply: the weights come next
            warnings.simplefilter("ignore")
            image_encoder = build_network(image_spec)
        image_encoder.load_state_dict(strip_prefix(state_dict, "image_encoder."))
    for net in (text_encoder, image_encoder):
        if net is not None:
            net.requires_grad_(False).eval()
    return text_encoder, image_encoder


def generator_state_dict(state_dict: dict[str, torch.Tensor], ema: bool = True) -> dict[str, torch.Tensor]:
    """The generator weights of a checkpoint's state dict: the EMA ones (``generator_ema.*``) when ``ema``
    and present, else the live ones (``generator.*``)."""
    use_ema = ema and any(k.startswith("generator_ema.") for k in state_dict)
    return strip_prefix(state_dict, "generator_ema." if use_ema else "generator.")


def weights_do_not_fit(
    path: str | os.PathLike[str], entry: dict[str, Any], err: Exception
) -> CheckpointError:
    """The error for a ``load_state_dict`` failure: the weights and the networks the file describes differ."""
    return CheckpointError(
        f"the weights in '{path}' do not fit the networks it describes with this attngan version "
        f"({' '.join(str(err).split())[:300]}). It was written by attngan {entry.get('version')!r} "
        f"(git {entry.get('git')!r}); load it with that version, or retrain."
    )


def generator_from_checkpoint(
    checkpoint: dict[str, Any], path: str | os.PathLike[str], ema: bool = True
) -> Generator:
    """The frozen, eval-mode generator of an already loaded ``"attngan"`` checkpoint.

    Args:
        checkpoint: what :func:`safe_load_checkpoint` returned.
        path: the file it came from (for messages).
        ema: the EMA weights (used for every sample and metric); ``False``: the live training weights.
    """
    entry = attngan_entry(checkpoint, path, kind="attngan")
    networks = entry.get("networks", {})
    if "generator" not in networks:
        raise CheckpointError(f"'{path}' does not describe its generator (networks.generator missing)")
    generator = build_network(networks["generator"])
    try:
        generator.load_state_dict(generator_state_dict(checkpoint.get("state_dict", {}), ema=ema))
    except RuntimeError as err:  # missing / unexpected keys or other shapes
        raise weights_do_not_fit(path, entry, err) from err
    return generator.requires_grad_(False).eval()


def load_generator(path: str | os.PathLike[str], ema: bool = True) -> Generator:
    """The generator of an attngan checkpoint (``attngan-train`` or ``attngan-import-original``), on the CPU.

    Args:
        path: the ``.ckpt`` file.
        ema: the EMA weights (default; what the pipeline and every metric use); ``False``: the live weights.

    Returns:
        A frozen :class:`~attngan.models.Generator` in evaluation mode.

    Raises:
        CheckpointError: the file is missing, unreadable, not an AttnGAN checkpoint, or its weights do not fit.
    """
    return generator_from_checkpoint(safe_load_checkpoint(path), path, ema=ema)


__all__ = [
    "ALLOWED_TARGET_PREFIX",
    "atomic_torch_save",
    "attngan_entry",
    "build_encoders",
    "build_network",
    "generator_from_checkpoint",
    "generator_state_dict",
    "git_state",
    "load_generator",
    "load_weights_only",
    "run_metadata",
    "safe_load_checkpoint",
    "strip_prefix",
    "weights_do_not_fit",
]
