"""Inception score and FID over torchmetrics, with Inception weights read from disk and never downloaded.

torchmetrics builds its Inception-v3 (torch-fidelity's ``FeatureExtractorInceptionV3``, the 2015-12-05
TensorFlow graph converted to PyTorch) with ``feature_extractor_weights_path=None`` unless told otherwise, and
torch-fidelity then *downloads* the weights. Here the network is always built from a file that
``find_weights_file`` located first (``metrics.inception_weights`` or the torch hub cache), so no
network call can happen; a missing file raises :class:`~attngan.errors.WeightsNotFoundError`.

One :class:`InceptionFeatures` serves both metrics: a single forward pass yields the 2048-d pool features
(FID) and the 1008 unbiased logits (IS), and the last batch is memoised, so IS and FID of the same images
cost one Inception pass. Any ``nn.Module`` mapping uint8 images ``(B, 3, H, W)`` to ``(B, D)`` (or to a pair
``(features, logits)``) can stand in for Inception; the tests inject a tiny random network.

Resizing (what torchmetrics 1.9's ``NoTrainInceptionV3`` does with the uint8 input):

- ``antialias=False`` (our default): TensorFlow-1.x-compatible bilinear resize to 299x299
  (torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x``, ``align_corners=False``), i.e. what
  torch-fidelity and the original TensorFlow Inception code do;
- ``antialias=True`` (torchmetrics' own default): ``torch.nn.functional.interpolate(mode="bilinear",
  align_corners=False, antialias=True)``.

Then ``(x - 128) / 128``. The setting is reported next to each value (:attr:`InceptionFeatures.resize`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torchmetrics.image.inception import InceptionScore as _TorchmetricsIS
from torchmetrics.utilities import dim_zero_cat

from attngan.errors import CheckpointError, WeightsNotFoundError

__all__ = [
    "INCEPTION_CONFIG_KEY",
    "INCEPTION_WEIGHTS_FILENAME",
    "FrozenFeatureNetwork",
    "InceptionFeatures",
    "InceptionScore",
    "file_sha256",
    "find_weights_file",
    "images_to_uint8",
    "load_plain_state",
]

INCEPTION_WEIGHTS_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_CONFIG_KEY = "metrics.inception_weights"
WEIGHTS_SOURCE = (
    "torch-fidelity's Inception-v3 for IS/FID (the TensorFlow 2015-12-05 graph converted to PyTorch), released at "
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILENAME
)
_RESIZE_TF1 = (
    "299x299 bilinear, TensorFlow-1.x compatible (torch-fidelity interpolate_bilinear_2d_like_tensorflow1x, "
    "align_corners=False), antialias=False"
)
_RESIZE_ANTIALIAS = "299x299 bilinear, torch.nn.functional.interpolate(align_corners=False), antialias=True"


def find_weights_file(
    filename: str, path: str | os.PathLike[str] | None, config_key: str, source: str, hub_cache: bool = True
) -> Path:
    """Locate a pretrained weights file on disk: the configured ``path``, else the torch hub cache.

    Args:
        filename: the file's usual name (what the torch hub cache holds).
        path: the configured file; when given it must exist (a configured path is never silently replaced).
        config_key: the key that configures it, named in the error.
        source: where the file comes from, named in the error.
        hub_cache: look in ``$TORCH_HOME/hub/checkpoints/<filename>`` when no ``path`` is given.

    Raises:
        WeightsNotFoundError: the file is in none of the places searched; the message lists them.
    """
    if path is not None and str(path) != "":
        candidate = Path(path).expanduser()
        if candidate.is_file():
            return candidate
        searched = [str(candidate)]
    elif hub_cache:
        candidate = Path(torch.hub.get_dir()) / "checkpoints" / filename
        if candidate.is_file():
            return candidate
        searched = [f"{candidate}  (torch hub cache: $TORCH_HOME/hub/checkpoints)"]
    else:
        searched = ["(no path configured)"]
    raise WeightsNotFoundError(filename, searched, config_key, source)


_SHA256: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file (memoised by path, size and modification time)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256:
        digest = hashlib.sha256()
        with resolved.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _SHA256[key] = digest.hexdigest()
    return _SHA256[key]


def images_to_uint8(images: Tensor) -> Tensor:
    """Turn generator output into what torch-fidelity's Inception expects.

    Args:
        images: ``(B, 3, H, W)`` float in [-1, 1] (values outside are clipped), or uint8 in [0, 255].

    Returns:
        ``(B, 3, H, W)`` uint8, ``round((x + 1) * 127.5)``.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ValueError(f"expected float images in [-1, 1] or uint8 images, got dtype {images.dtype}")
    return ((images.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


def load_plain_state(path: str | os.PathLike[str], expected: str) -> dict[str, Tensor]:
    """The tensors of a weights file, refusing anything but a plain state dict (``expected``: what it should be).

    Raises:
        CheckpointError: the file cannot be read with ``weights_only=True``.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path}: not a readable plain state dict ({type(err).__name__}: {err}). Replace it with {expected}."
        ) from err


def load_tf_inception(weights_path: Path, antialias: bool) -> nn.Module:
    """torchmetrics' ``NoTrainInceptionV3`` (torch-fidelity's TF-ported Inception): pool features (2048) and
    unbiased logits (1008), from a file checked to hold plain tensors."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    # torch-fidelity itself loads with weights_only=False; check the file is plain tensors first.
    load_plain_state(weights_path, f"{INCEPTION_WEIGHTS_FILENAME} ({WEIGHTS_SOURCE})")
    return NoTrainInceptionV3(
        name="inception-v3-compat",
        features_list=["2048", "logits_unbiased"],
        feature_extractor_weights_path=str(weights_path),
        antialias=antialias,
    )


_Output = TypeVar("_Output")


class FrozenFeatureNetwork(nn.Module):
    """Base of the metric feature networks: a fixed network held outside the module tree, so its weights stay
    out of state dicts and Lightning checkpoints, yet ``.to()`` / ``.cuda()`` still move it and nothing puts it
    in training mode (its BatchNorm statistics must not move). Subclasses set ``self.network`` with
    :meth:`hold`."""

    network: nn.Module

    def hold(self, network: nn.Module) -> None:
        """Keep ``network`` (in eval mode, without gradients) as ``self.network``, unregistered."""
        object.__setattr__(self, "network", network.eval().requires_grad_(False))

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> FrozenFeatureNetwork:
        self.network._apply(fn)
        return super()._apply(fn, recurse)

    def train(self, mode: bool = True) -> FrozenFeatureNetwork:
        """Stay in evaluation mode whatever is asked."""
        return super().train(False)

    _last: tuple[Tensor, int, Any] | None = None

    def memoised(self, images: Tensor, compute: Callable[[Tensor], _Output]) -> _Output:
        """``compute(images)``, run once when the very same unmodified tensor comes twice in a row (IS then FID
        of one batch)."""
        if self._last is not None and self._last[0] is images and self._last[1] == images._version:
            return self._last[2]
        output = compute(images)
        self._last = (images, images._version, output)
        return output


class InceptionFeatures(FrozenFeatureNetwork):
    """Inception features for FID and logits for IS from one forward pass, memoising the last batch.

    Args:
        network: a feature extractor to use instead of Inception: uint8 ``(B, 3, H, W)`` -> ``(B, D)`` (used as
            both FID features and IS logits) or ``-> (features (B, D), logits (B, C))``. Its own resizing,
            if any, applies.
        weights_path: the Inception weights file (``metrics.inception_weights``); ``None`` looks in the torch
            hub cache. Ignored when ``network`` is given.
        antialias: resize with antialiasing (torchmetrics' default) instead of torch-fidelity's
            TensorFlow-compatible bilinear (ours); see the module docstring.
        probe_size: image side of the dummy batch used to find an injected network's output sizes.

    Raises:
        WeightsNotFoundError: no ``network`` and no weights file.
    """

    def __init__(
        self,
        network: nn.Module | None = None,
        weights_path: str | os.PathLike[str] | None = None,
        antialias: bool = False,
        probe_size: int = 64,
    ) -> None:
        super().__init__()
        self.injected = network is not None
        if network is None:
            self.weights_path: str | None = str(
                find_weights_file(
                    INCEPTION_WEIGHTS_FILENAME, weights_path, INCEPTION_CONFIG_KEY, WEIGHTS_SOURCE
                )
            )
            network = load_tf_inception(Path(self.weights_path), antialias)
            self.resize = _RESIZE_ANTIALIAS if antialias else _RESIZE_TF1
            self.num_features, self.num_logits = 2048, 1008
        else:
            self.weights_path = None
            self.resize = "none here (injected feature extractor; its own resizing applies)"
        # not a registered submodule (torchmetrics' own IS/FID save the whole Inception with every checkpoint)
        self.hold(network)
        if self.injected:
            with torch.no_grad():
                probe = torch.zeros(2, 3, probe_size, probe_size, dtype=torch.uint8)
                features, logits = self._run(probe.to(next(network.parameters(), probe).device))
            self.num_features, self.num_logits = features.shape[1], logits.shape[1]

    def describe(self) -> dict[str, str | None]:
        """What was measured with: weights file, its sha256 and the resize, for the results file."""
        return {
            "weights": self.weights_path or "injected network",
            "weights_sha256": file_sha256(self.weights_path) if self.weights_path else None,
            "resize": self.resize,
        }

    def _run(self, images_uint8: Tensor) -> tuple[Tensor, Tensor]:
        if self.injected:
            out = self.network(images_uint8)
        else:
            out = self.network._torch_fidelity_forward(images_uint8)  # (pool (B, 2048), logits (B, 1008))
        if isinstance(out, tuple | list):
            features, logits = out[0], out[-1]
        else:
            features = logits = out
        batch = images_uint8.shape[0]
        return features.reshape(batch, -1), logits.reshape(batch, -1)

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features and logits of a batch.

        Calling twice with the very same, unmodified tensor (IS then FID on one batch) runs the network once.

        Args:
            images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.

        Returns:
            ``(features (B, num_features), logits (B, num_logits))``.
        """
        return self.memoised(images, lambda x: self._run(images_to_uint8(x)))


class InceptionScore(_TorchmetricsIS):
    """Inception score over splits, deterministic (seeded shuffle) and with the release's population std.

    torchmetrics' own ``compute`` shuffles with the global RNG and reports the sample std; the Inception
    score code the paper used (TensorFlow, StackGAN/improved-GAN) splits the images in order and reports
    ``numpy.std`` (population). Here the shuffle is seeded (``shuffle=False`` keeps the order, as the
    TensorFlow code did) and ``std_ddof`` chooses the std (0 = population, default).

    Logits are the unbiased ones (``fc`` without bias), as in the TensorFlow code. The paper's birds number
    used an Inception fine-tuned on CUB; this ImageNet Inception is comparable with the paper only for COCO.

    Args:
        extractor: the shared :class:`InceptionFeatures`.
        splits: number of splits (10 in the paper).
        shuffle: permute the images (seeded) before splitting.
        seed: seed of that permutation.
        std_ddof: 0 = population std (``numpy.std``), 1 = sample std (torchmetrics).
    """

    def __init__(
        self,
        extractor: InceptionFeatures,
        splits: int = 10,
        shuffle: bool = True,
        seed: int = 0,
        std_ddof: int = 0,
        **kwargs,
    ) -> None:
        with (
            warnings.catch_warnings()
        ):  # "will save all extracted features": it is the logits only, 4 KiB each
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            super().__init__(feature=extractor, splits=splits, normalize=False, **kwargs)
        self.shuffle = shuffle
        self.seed = seed
        self.std_ddof = std_ddof

    def update(self, images: Tensor) -> None:  # type: ignore[override]
        """Add a batch of generated images ``(B, 3, H, W)``, float in [-1, 1] or uint8."""
        _, logits = self.inception(images)
        self.features.append(logits.float())

    def compute(self) -> dict[str, Tensor]:  # type: ignore[override]
        """Returns ``{"inception_score": mean, "inception_score_std": std}`` over the splits (0-dim floats)."""
        logits = dim_zero_cat(self.features).double()  # (N, C)
        if logits.shape[0] < self.splits:
            raise RuntimeError(f"Inception score over {self.splits} splits needs >= {self.splits} images.")
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed)
            logits = logits[torch.randperm(logits.shape[0], generator=generator).to(logits.device)]
        scores = []
        for part in logits.chunk(self.splits, dim=0):
            log_prob = part.log_softmax(dim=1)  # (n, C) log p(y|x)
            log_marginal = log_prob.exp().mean(dim=0, keepdim=True).log()  # (1, C) log p(y)
            kl = (log_prob.exp() * (log_prob - log_marginal)).sum(dim=1).mean()
            scores.append(kl.exp())
        scores_t = torch.stack(scores)
        return {
            "inception_score": scores_t.mean().float(),
            "inception_score_std": scores_t.std(correction=self.std_ddof).float(),
        }
