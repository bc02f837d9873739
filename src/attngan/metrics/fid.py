"""FID protocols: which Inception network, which resize, which normalisation (``metrics.fid.protocol``).

Published FIDs of AttnGAN differ by the protocol more than by the model (DM-GAN's table: CUB 23.98 with
torchvision's ImageNet Inception, 14.01 with the TF-ported one; COCO 35.49 / 29.53), so every FID says which of
these it followed (``metrics.json`` records protocol, weights file + sha256 and resize):

``tf`` (default)
    torch-fidelity's TF-ported 2015-12-05 Inception (``weights-inception-2015-12-05-6726825d.pth``, key
    ``metrics.inception_weights``) with its TensorFlow-1.x bilinear resize of the uint8 images to 299 and
    ``(x - 128) / 128``: TTUR's protocol, the "TF FID" column. The same network also gives the Inception score.
``torchvision``
    torchvision's ImageNet Inception-v3 (``inception_v3_google-0cc3c7bd.pth``, key ``metrics.fid.weights``);
    uint8 images -> PIL bilinear resize to 299x299 -> ``[0, 1]`` -> per channel
    ``x * (std_c / 0.5) + (mean_c - 0.5) / 0.5`` (ImageNet mean/std; torchvision's ``transform_input``) ->
    the blocks up to the final average pool (2048): the DM-GAN / DF-GAN / GALIP evaluation code, the
    "PyTorch FID" column.
``clean``
    clean-fid's ``mode="clean"``: every channel resized to 299 by PIL bicubic (antialiased) in float, clipped
    to [0, 255], not quantised, then the TF-ported network (``(x - 128) / 128``).

The Fréchet distance itself is torch-fidelity's (TTUR's formula, float64).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance as _TorchmetricsFID

from attngan.errors import CheckpointError, ConfigError
from attngan.metrics.inception import (
    INCEPTION_CONFIG_KEY,
    INCEPTION_WEIGHTS_FILENAME,
    WEIGHTS_SOURCE,
    FrozenFeatureNetwork,
    file_sha256,
    find_weights_file,
    images_to_uint8,
    load_plain_state,
    load_tf_inception,
)
from attngan.metrics.reference_stats import ReferenceStatistics

__all__ = [
    "FID_PROTOCOLS",
    "INCEPTION_SIZE",
    "TORCHVISION_WEIGHTS_FILENAME",
    "FIDProtocol",
    "FrechetInceptionDistance",
    "ProtocolFeatures",
    "check_protocol",
    "frechet_distance",
    "load_torchvision_inception",
    "resize_pil_bicubic_float",
    "resize_pil_bilinear_uint8",
    "resize_tf1_bilinear",
]

INCEPTION_SIZE = 299
TORCHVISION_WEIGHTS_FILENAME = "inception_v3_google-0cc3c7bd.pth"
FID_WEIGHTS_CONFIG_KEY = "metrics.fid.weights"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_TORCHVISION_SOURCE = (
    "torchvision's ImageNet Inception-v3 (Inception_V3_Weights.IMAGENET1K_V1), released at "
    "https://download.pytorch.org/models/" + TORCHVISION_WEIGHTS_FILENAME
)
# the blocks of each network up to the final average pool, in order (their attribute names)
_TF_BLOCKS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "MaxPool_2",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a",
    "Mixed_7b", "Mixed_7c", "AvgPool",
)  # fmt: skip
_TORCHVISION_BLOCKS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2",
    "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a",
    "Mixed_7b", "Mixed_7c", "avgpool",
)  # fmt: skip


@dataclass(frozen=True)
class FIDProtocol:
    """One FID protocol (see the module docstring).

    Attributes:
        name: the value of ``metrics.fid.protocol``.
        weights_filename: the Inception weights file it needs.
        config_key: the key configuring that file.
        source: where the file comes from (for the error when it is missing).
        resize: how images reach 299x299, as recorded in ``metrics.json``.
        column: the published numbers it is comparable with.
    """

    name: str
    weights_filename: str
    config_key: str
    source: str
    resize: str
    column: str


FID_PROTOCOLS: dict[str, FIDProtocol] = {
    "tf": FIDProtocol(
        "tf",
        INCEPTION_WEIGHTS_FILENAME,
        INCEPTION_CONFIG_KEY,
        WEIGHTS_SOURCE,
        "uint8 -> 299x299 bilinear, TensorFlow-1.x compatible (torch-fidelity interpolate_bilinear_2d_like_"
        "tensorflow1x, align_corners=False) -> (x - 128) / 128",
        "TF FID (TTUR, torch-fidelity): DM-GAN's 'TF' column, AttnGAN CUB 14.01 / COCO 29.53",
    ),
    "torchvision": FIDProtocol(
        "torchvision",
        TORCHVISION_WEIGHTS_FILENAME,
        FID_WEIGHTS_CONFIG_KEY,
        _TORCHVISION_SOURCE,
        "uint8 -> PIL bilinear 299x299 (torchvision Resize) -> [0, 1] -> x * (std / 0.5) + (mean - 0.5) / 0.5 "
        "(ImageNet mean/std)",
        "PyTorch FID (DM-GAN / DF-GAN / GALIP evaluation code): AttnGAN CUB 23.98 / COCO 35.49",
    ),
    "clean": FIDProtocol(
        "clean",
        INCEPTION_WEIGHTS_FILENAME,
        INCEPTION_CONFIG_KEY,
        WEIGHTS_SOURCE,
        "uint8 -> per channel PIL bicubic 299x299 in float (antialiased), clipped to [0, 255], not quantised "
        "-> (x - 128) / 128",
        "clean-fid (mode='clean'); not in the AttnGAN / DM-GAN tables",
    ),
}


def check_protocol(name: str) -> FIDProtocol:
    """The :class:`FIDProtocol` called ``name``.

    Raises:
        ConfigError: an unknown protocol (the message lists the known ones).
    """
    if name not in FID_PROTOCOLS:
        raise ConfigError(
            f"unknown FID protocol {name!r} (metrics.fid.protocol); choose from {list(FID_PROTOCOLS)}"
        )
    return FID_PROTOCOLS[name]


# ------------------------------------------------------------------------------------------ resizing
def _hwc(image: Tensor) -> np.ndarray:
    return image.permute(1, 2, 0).cpu().numpy()


def resize_pil_bilinear_uint8(images: Tensor, size: int = INCEPTION_SIZE) -> Tensor:
    """PIL bilinear resize of uint8 images, as torchvision's ``Resize((size, size))`` on PIL images.

    Args:
        images: ``(B, 3, H, W)`` uint8.

    Returns:
        ``(B, 3, size, size)`` uint8.
    """
    out = [
        np.asarray(Image.fromarray(_hwc(image)).resize((size, size), Image.Resampling.BILINEAR))
        for image in images
    ]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def resize_pil_bicubic_float(images: Tensor, size: int = INCEPTION_SIZE) -> Tensor:
    """clean-fid's resize: each channel as a float PIL image, bicubic, clipped to [0, 255], not quantised.

    Args:
        images: ``(B, 3, H, W)`` uint8.

    Returns:
        ``(B, 3, size, size)`` float32 in [0, 255].
    """
    out = np.empty((images.shape[0], 3, size, size), dtype=np.float32)
    array = images.cpu().numpy().astype(np.float32)
    for b in range(array.shape[0]):
        for c in range(3):
            channel = Image.fromarray(array[b, c], mode="F").resize((size, size), Image.Resampling.BICUBIC)
            out[b, c] = np.asarray(channel).clip(0, 255)
    return torch.from_numpy(out)


def resize_tf1_bilinear(images: Tensor, size: int = INCEPTION_SIZE) -> Tensor:
    """torch-fidelity's TensorFlow-1.x bilinear resize (``align_corners=False``).

    Args:
        images: ``(B, 3, H, W)`` uint8 or float.

    Returns:
        ``(B, 3, size, size)`` float32 in [0, 255].
    """
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    return interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(size, size), align_corners=False)


# ------------------------------------------------------------------------------------------ networks
def load_torchvision_inception(path: str | os.PathLike[str]) -> nn.Module:
    """torchvision's Inception-v3 with the weights of ``path`` (``inception_v3_google-0cc3c7bd.pth``), eval mode.

    Raises:
        CheckpointError: the file is not a plain state dict of torchvision's Inception-v3.
    """
    from torchvision.models import inception_v3

    state = load_plain_state(path, f"{TORCHVISION_WEIGHTS_FILENAME} ({_TORCHVISION_SOURCE})")
    aux = any(key.startswith("AuxLogits.") for key in state)
    network = inception_v3(weights=None, aux_logits=aux, init_weights=False, transform_input=False)
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"{path} does not hold torchvision's Inception-v3 ({' '.join(str(err).split())[:300]}). Expected "
            f"{TORCHVISION_WEIGHTS_FILENAME} ({_TORCHVISION_SOURCE})."
        ) from err
    return network.eval().requires_grad_(False)


def _run_blocks(network: nn.Module, blocks: tuple[str, ...], x: Tensor) -> Tensor:
    for name in blocks:
        x = getattr(network, name)(x)
    return torch.flatten(x, 1)  # (B, 2048)


class ProtocolFeatures(FrozenFeatureNetwork):
    """2048-d Inception pool features of one FID protocol (``torchvision`` or ``clean``; ``tf`` is
    :class:`~attngan.metrics.inception.InceptionFeatures`, shared with the Inception score).

    Args:
        protocol: ``"torchvision"``, ``"clean"`` or ``"tf"``.
        weights_path: the protocol's weights file (``metrics.fid.weights``; for ``clean``/``tf`` also
            ``metrics.inception_weights``); ``None`` looks in the torch hub cache.

    Raises:
        WeightsNotFoundError: the file is missing (the message names it, where it goes and the config key).
    """

    def __init__(self, protocol: str, weights_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.protocol = check_protocol(protocol)
        p = self.protocol
        self.weights_path = str(find_weights_file(p.weights_filename, weights_path, p.config_key, p.source))
        if p.name == "torchvision":
            network = load_torchvision_inception(self.weights_path)
        else:
            network = load_tf_inception(Path(self.weights_path), antialias=False)
        self.hold(network)  # fixed weights: kept out of state dicts
        self.resize = p.resize
        self.num_features = 2048
        mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("scale", std / 0.5, persistent=False)
        self.register_buffer("shift", (mean - 0.5) / 0.5, persistent=False)

    def describe(self) -> dict[str, str | None]:
        """Protocol, weights file, its sha256 and the resize, for ``metrics.json``."""
        return {
            "protocol": self.protocol.name,
            "weights": self.weights_path,
            "weights_sha256": file_sha256(self.weights_path),
            "resize": self.resize,
            "comparable_with": self.protocol.column,
        }

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Pool features of a batch.

        Args:
            images: ``(B, 3, H, W)`` float in [-1, 1] or uint8.

        Returns:
            ``(features (B, 2048), features)`` (the pair :class:`~attngan.metrics.inception.InceptionFeatures`
            returns; there are no logits here).
        """
        device = self.scale.device
        uint8 = images_to_uint8(images).cpu()
        if self.protocol.name == "torchvision":
            x = resize_pil_bilinear_uint8(uint8).to(device).float() / 255.0  # (B, 3, 299, 299) in [0, 1]
            x = x * self.scale + self.shift
            features = _run_blocks(self.network, _TORCHVISION_BLOCKS, x)
        elif self.protocol.name == "clean":
            x = (resize_pil_bicubic_float(uint8).to(device) - 128.0) / 128.0
            features = _run_blocks(self.network, _TF_BLOCKS, x)
        else:
            x = (resize_tf1_bilinear(uint8.to(device)) - 128.0) / 128.0
            features = _run_blocks(self.network, _TF_BLOCKS, x)
        features = features.float()
        return features, features


# ------------------------------------------------------------------------------------------ distance
def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance of two Gaussians, torch-fidelity's (TTUR's) computation in float64.

    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``, the trace of the square root
    from the eigenvalues of ``sigma1 @ sigma2``.

    Args:
        mu1, mu2: ``(D,)`` means. sigma1, sigma2: ``(D, D)`` covariances.
    """
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.shape[0],) * 2:
        raise ValueError(
            f"FID statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}; "
            "the reference statistics were computed with another network (e.g. another metrics.fid.protocol)"
        )
    stats1, stats2 = {"mu": mu1, "sigma": sigma1}, {"mu": mu2, "sigma": sigma2}
    return float(fid_statistics_to_metric(stats1, stats2, verbose=False)[KEY_METRIC_FID])


class FrechetInceptionDistance(_TorchmetricsFID):
    """FID of generated images against real images or against fixed reference statistics (an ``.npz``).

    The running sums are torchmetrics' (float64, DDP-safe); the distance is :func:`frechet_distance`.

    Args:
        extractor: :class:`ProtocolFeatures` or :class:`~attngan.metrics.inception.InceptionFeatures`.
        reference: ``(mu (D,), sigma (D, D), num_images)`` of the real images; real batches are then
            refused. ``None``: the real side comes from :meth:`update` with ``real=True``.
        reset_real_features: whether :meth:`reset` also forgets the real sums (keep them, ``False``, when the
            same real set is compared against many checkpoints).
    """

    def __init__(
        self,
        extractor: nn.Module,
        reference: ReferenceStatistics | None = None,
        reset_real_features: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(
            feature=extractor, reset_real_features=reset_real_features, normalize=False, **kwargs
        )
        self.reference: ReferenceStatistics | None = None
        if reference is not None:
            self.set_reference(reference)

    def set_reference(self, reference: ReferenceStatistics) -> None:
        """Use fixed real statistics (e.g. DM-GAN's ``bird_val.npz``) instead of real images."""
        if reference.mu.shape[0] != self.real_features_sum.shape[0]:
            raise ValueError(
                f"reference statistics of dimension {reference.mu.shape[0]} ({reference.path}), but this FID's "
                f"network gives {self.real_features_sum.shape[0]} features: they come from another network"
            )
        self.reference = reference

    def update(self, images: Tensor, real: bool) -> None:  # type: ignore[override]
        """Add a batch ``(B, 3, H, W)`` (float in [-1, 1] or uint8), real (test split) or generated."""
        if real and self.reference is not None:
            raise RuntimeError("this FID uses fixed reference statistics; it takes no real images")
        features = self.inception(images)[0].double()  # (B, D)
        if real:
            self.real_features_sum += features.sum(dim=0)
            self.real_features_cov_sum += features.t().mm(features)
            self.real_features_num_samples += features.shape[0]
        else:
            self.fake_features_sum += features.sum(dim=0)
            self.fake_features_cov_sum += features.t().mm(features)
            self.fake_features_num_samples += features.shape[0]

    def _statistics(self, real: bool) -> tuple[np.ndarray, np.ndarray, int]:
        total = self.real_features_sum if real else self.fake_features_sum
        cov_sum = self.real_features_cov_sum if real else self.fake_features_cov_sum
        n = int(self.real_features_num_samples if real else self.fake_features_num_samples)
        if n < 2:
            side = "real" if real else "generated"
            raise RuntimeError(f"FID needs at least 2 {side} images, got {n}")
        mean = (total / n).double()
        cov = (cov_sum.double() - n * torch.outer(mean, mean)) / (n - 1)  # as numpy.cov (ddof 1)
        return mean.cpu().numpy(), cov.cpu().numpy(), n

    def real_statistics(self) -> ReferenceStatistics:
        """``mu``, ``sigma`` and the count of the real images seen (to cache as an ``.npz``)."""
        if self.reference is not None:
            return self.reference
        mu, sigma, n = self._statistics(real=True)
        return ReferenceStatistics(mu, sigma, n)

    @property
    def num_generated(self) -> int:
        """Generated images counted so far."""
        return int(self.fake_features_num_samples)

    def compute(self) -> dict[str, Tensor]:  # type: ignore[override]
        """Returns ``{"fid": value}`` (0-dim float64 tensor)."""
        mu, sigma, _ = self._statistics(real=False)
        real = self.real_statistics()
        return {"fid": torch.tensor(frechet_distance(mu, sigma, real.mu, real.sigma), dtype=torch.float64)}
