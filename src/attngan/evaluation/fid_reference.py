"""The real side of FID in ``attngan-eval``: a given ``.npz``, the cached statistics of the test images, or the
test images themselves (then cached).

The statistics of one dataset / split / image size / FID protocol (and weights file, resize and data root) are
computed once and kept in ``<paths.cache_dir>/fid_reference/`` (``metrics.fid.cache=false`` turns that off);
``metrics.fid.reference=PATH`` uses a file instead (e.g. DM-GAN's ``bird_val.npz``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig

from attngan.evaluation.suite import MetricSuite
from attngan.metrics.fid import FrechetInceptionDistance
from attngan.metrics.reference_stats import load_reference, reference_cache_path, save_reference
from attngan.progress import progress

if TYPE_CHECKING:
    from attngan.data.datamodule import CaptionDataModule

log = logging.getLogger("attngan.eval")

__all__ = ["feed_real_side"]


def _real_batches(cfg: DictConfig, datamodule: CaptionDataModule) -> Iterable[dict[str, Any]]:
    """The test loader's batches, with a progress display (``progress`` key, ``ATTNGAN_PROGRESS``)."""
    return progress(
        datamodule.test_dataloader(),
        total=len(datamodule.val_dataset),
        desc="FID reference images",
        unit="img",
        enabled=cfg.get("progress", True),
        count=lambda batch: int(batch["images"][-1].shape[0]),
    )


def feed_real_side(
    cfg: DictConfig, suite: MetricSuite, datamodule: CaptionDataModule, device: torch.device | str
) -> None:
    """Give the suite's FID its real statistics, from the cache when they are there.

    Args:
        cfg: the ``eval`` config (``metrics.fid.cache``, ``paths.cache_dir``).
        suite: the metrics of this run.
        datamodule: the data module set up for ``"test"`` at the generator's final size.
        device: where the real images go.
    """
    fid = suite.metrics.get("fid")
    if fid is None:
        suite.update_real_batches(_real_batches(cfg, datamodule), device)
        return
    assert isinstance(fid, FrechetInceptionDistance)  # the registry's "fid"
    if fid.reference is not None:  # metrics.fid.reference was given
        return
    fid_cfg = cfg.metrics.get("fid") or {}
    cache_dir = cfg.get("paths", {}).get("cache_dir") if fid_cfg.get("cache", True) else None
    described = fid.inception.describe()  # type: ignore[union-attr, operator]
    if cache_dir is None or described.get("weights_sha256") is None:  # no cache, or an injected network
        suite.update_real_batches(_real_batches(cfg, datamodule), device)
        return
    size = int(cfg.model.image_sizes[-1])
    protocol = str(fid_cfg.get("protocol") or "tf")
    identity = {
        "root": str(datamodule.root),
        "num_test_images": len(datamodule.val_dataset),
        "weights_sha256": described["weights_sha256"],
        "resize": described.get("resize"),
    }
    path = reference_cache_path(cache_dir, datamodule.dataset_name, "test", size, protocol, identity)
    if path.is_file():
        log.info("FID reference statistics from the cache: %s", path)
        fid.set_reference(load_reference(path))  # type: ignore[operator]
        return
    suite.update_real_batches(_real_batches(cfg, datamodule), device)
    stats = fid.real_statistics()  # type: ignore[operator]
    save_reference(
        path,
        stats,
        protocol=protocol,
        dataset=datamodule.dataset_name,
        split="test",
        image_size=size,
        **identity,
    )
    fid.set_reference(stats)  # type: ignore[operator]
    log.info("cached the FID reference statistics of %d test images: %s", stats.num_images, path)
