"""FID reference statistics (``mu``, ``sigma`` of the real images' Inception features) as ``.npz`` files.

The files use the keys of DM-GAN's ``bird_val.npz`` / ``coco_val.npz`` (``mu`` ``(2048,)``, ``sigma``
``(2048, 2048)``), so those files can be given as ``metrics.fid.reference=PATH`` (or ``attngan-eval
reference=PATH``) and ours can be read by pytorch-fid-style code. Ours add ``num_images``, ``protocol`` and the
weights' sha256 as extra keys (which such code ignores).

``attngan-eval`` computes the statistics of the real test images once per dataset, split, image size and
protocol and caches them under ``<paths.cache_dir>/fid_reference/`` (:func:`reference_cache_path`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from attngan.errors import ConfigError

__all__ = [
    "IMAGE_SUFFIXES",
    "ReferenceStatistics",
    "image_batches",
    "list_images",
    "load_reference",
    "reference_cache_path",
    "save_reference",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass
class ReferenceStatistics:
    """``mu`` ``(D,)`` and ``sigma`` ``(D, D)`` (float64) of ``num_images`` real images (``0``: unknown).

    Attributes:
        info: extra string fields stored with the file (protocol, weights_sha256, dataset, ...).
        path: the file they were read from or written to, if any.
    """

    mu: np.ndarray
    sigma: np.ndarray
    num_images: int = 0
    info: dict[str, str] = field(default_factory=dict)
    path: str | None = None


def save_reference(path: str | os.PathLike[str], stats: ReferenceStatistics, **info: Any) -> Path:
    """Write ``stats`` to ``path`` (``.npz`` with ``mu``, ``sigma``, ``num_images`` and ``info``), atomically.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {**stats.info, **{k: str(v) for k, v in info.items() if v is not None}}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        mu=np.asarray(stats.mu, dtype=np.float64),
        sigma=np.asarray(stats.sigma, dtype=np.float64),
        num_images=np.int64(stats.num_images),
        **{k: np.str_(v) for k, v in fields.items()},
    )
    os.replace(tmp, path)
    stats.info, stats.path = fields, str(path)
    return path


def load_reference(path: str | os.PathLike[str]) -> ReferenceStatistics:
    """Read an ``.npz`` with ``mu`` and ``sigma`` (DM-GAN's ``bird_val.npz`` or one we wrote).

    Raises:
        ConfigError: the file is missing, unreadable, lacks ``mu``/``sigma`` or their shapes do not match.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"FID reference statistics {path} do not exist: give an .npz with keys mu and sigma "
            "(metrics.fid.reference=PATH, e.g. DM-GAN's bird_val.npz) or a folder of real images (reference=DIR)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            files = dict(data.items())
    except Exception as err:
        raise ConfigError(f"{path}: not a readable .npz ({type(err).__name__}: {err})") from err
    if "mu" not in files or "sigma" not in files:
        raise ConfigError(f"{path} has keys {sorted(files)}; FID reference statistics need 'mu' and 'sigma'")
    mu, sigma = files.pop("mu").astype(np.float64), files.pop("sigma").astype(np.float64)
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ConfigError(
            f"{path}: mu {mu.shape} and sigma {sigma.shape} do not match; expected (D,) and (D, D)"
        )
    num_images = int(files.pop("num_images", 0))
    info = {k: str(v) for k, v in files.items() if v.ndim == 0}
    return ReferenceStatistics(mu, sigma, num_images, info, str(path))


def reference_cache_path(
    cache_dir: str | os.PathLike[str],
    dataset: str,
    split: str,
    image_size: int,
    protocol: str,
    identity: Mapping[str, Any] | None = None,
) -> Path:
    """Where the statistics of one dataset / split / image size / protocol are cached.

    Args:
        cache_dir: ``paths.cache_dir``.
        identity: what else decides the images and the network (data root, number of images, weights sha256);
            a digest of it goes into the name, so another copy of the data or other weights get their own file.

    Returns:
        ``<cache_dir>/fid_reference/<dataset>_<split>_<size>px_<protocol>_<digest>.npz``.
    """
    text = repr(sorted((str(k), str(v)) for k, v in (identity or {}).items()))
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    name = f"{dataset}_{split}_{int(image_size)}px_{protocol}_{digest}.npz"
    return Path(cache_dir) / "fid_reference" / name


# ------------------------------------------------------------------------------------------ image folders
def list_images(folder: str | os.PathLike[str], what: str = "images") -> list[Path]:
    """The image files under ``folder`` (recursively, sorted).

    Raises:
        ConfigError: ``folder`` is not a directory or holds no image.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{what}={root}: not a directory; expected a folder of .png/.jpg images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"{what}={root} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _read_uint8(path: Path) -> Tensor:
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1)  # (3, H, W) uint8


def image_batches(files: list[Path], batch_size: int) -> Iterator[Tensor]:
    """The images of ``files`` as uint8 batches ``(B, 3, H, W)`` (RGB); a batch ends early where the size changes."""
    batch: list[Tensor] = []
    for path in files:
        image = _read_uint8(path)
        if batch and (len(batch) == batch_size or image.shape != batch[0].shape):
            yield torch.stack(batch)
            batch = []
        batch.append(image)
    if batch:
        yield torch.stack(batch)
