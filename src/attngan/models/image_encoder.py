"""DAMSM image encoders: regions ``(B, D, h, w)`` and a global code ``(B, D)`` from images in [-1, 1].

- :class:`InceptionImageEncoder`: the paper's encoder (release ``model.py: CNN_ENCODER``): a frozen
  ImageNet Inception-v3 with two trainable heads.
- :class:`CNNImageEncoder`: a small, fully trainable CNN with the same interface, for CPU runs and the
  shapes dataset.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from attngan.errors import CheckpointError, WeightsNotFoundError
from attngan.models.blocks import conv1x1

INCEPTION_WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"
INCEPTION_WEIGHTS_SOURCE = (
    "torchvision's ImageNet Inception-v3 "
    "(https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth; fetch it on a machine with "
    "internet access)"
)
INCEPTION_WEIGHTS_CONFIG_KEY = "model.image_encoder.weights_path"

# Inception-v3 blocks up to Mixed_7c, named as in torchvision (and in the release's CNN_ENCODER).
INCEPTION_BLOCKS = (
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    "Mixed_5b",
    "Mixed_5c",
    "Mixed_5d",
    "Mixed_6a",
    "Mixed_6b",
    "Mixed_6c",
    "Mixed_6d",
    "Mixed_6e",
    "Mixed_7a",
    "Mixed_7b",
    "Mixed_7c",
)


def default_inception_weights_path() -> str:
    """Where torchvision would cache the ImageNet Inception-v3 weights: ``<hub dir>/checkpoints/``."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", INCEPTION_WEIGHTS_FILE)


def init_head_(module: nn.Module) -> None:
    """U(-0.1, 0.1) weights for a DAMSM image head, as the release's ``init_trainable_weights``.

    Biases keep PyTorch's default, like the release.
    """
    nn.init.uniform_(module.weight, -0.1, 0.1)


class InceptionBackbone(nn.Module):
    """Inception-v3 trunk (torchvision block names), returning Mixed_6e and the pooled Mixed_7c.

    Shapes: ``(B, 3, 299, 299) -> ((B, 768, 17, 17), (B, 2048))``.
    """

    def __init__(self, init_weights: bool = True) -> None:
        super().__init__()
        from torchvision.models.inception import Inception3

        full = Inception3(aux_logits=False, transform_input=False, init_weights=init_weights)
        for name in INCEPTION_BLOCKS:
            setattr(self, name, getattr(full, name))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_1a_3x3(x)  # (B, 32, 149, 149)
        x = self.Conv2d_2a_3x3(x)  # (B, 32, 147, 147)
        x = self.Conv2d_2b_3x3(x)  # (B, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (B, 64, 73, 73)
        x = self.Conv2d_3b_1x1(x)  # (B, 80, 73, 73)
        x = self.Conv2d_4a_3x3(x)  # (B, 192, 71, 71)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (B, 192, 35, 35)
        x = self.Mixed_5b(x)  # (B, 256, 35, 35)
        x = self.Mixed_5c(x)  # (B, 288, 35, 35)
        x = self.Mixed_5d(x)  # (B, 288, 35, 35)
        x = self.Mixed_6a(x)  # (B, 768, 17, 17)
        x = self.Mixed_6b(x)
        x = self.Mixed_6c(x)
        x = self.Mixed_6d(x)
        regions = self.Mixed_6e(x)  # (B, 768, 17, 17)
        x = self.Mixed_7a(regions)  # (B, 1280, 8, 8)
        x = self.Mixed_7b(x)  # (B, 2048, 8, 8)
        x = self.Mixed_7c(x)  # (B, 2048, 8, 8)
        pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)  # (B, 2048)
        return regions, pooled


class InceptionImageEncoder(nn.Module):
    """Frozen ImageNet Inception-v3 with trainable region and global heads (DAMSM image encoder).

    Images in [-1, 1] are resized bilinearly to 299x299 (no ImageNet mean/std, like the release).
    Regions: Mixed_6e ``(768, 17, 17)`` -> 1x1 conv (no bias) -> ``(D, 17, 17)``. Global: average pool
    of Mixed_7c (2048) -> linear -> ``(D,)``. Heads are initialised U(-0.1, 0.1).

    The backbone never trains: its parameters have ``requires_grad=False`` and it stays in eval mode
    through ``train()`` (so BatchNorm statistics never change) unless ``backbone_train_mode=True``,
    which reproduces the release, where ``train()`` reached the backbone and its BatchNorm statistics
    drifted during DAMSM pre-training. The backbone runs without an autograd graph unless the input
    images require gradients (the generator is trained through the DAMSM loss on its images): then
    gradients reach the images, and still none reach the backbone's parameters.

    Nothing is ever downloaded. Weights come from ``weights_path`` or the torch hub cache
    (``$TORCH_HOME/hub/checkpoints/inception_v3_google-0cc3c7bd.pth``).

    Args:
        embedding_dim: D, size of the region and global features (256).
        weights_path: ImageNet Inception-v3 state dict (torchvision's file); None looks in the hub cache.
        pretrained: False builds random backbone weights (with a warning): for tests, or before loading
            a full checkpoint.
        align_corners: bilinear resize setting; True matches the release (PyTorch 0.3 ``Upsample``).
        backbone_train_mode: let ``train()`` reach the backbone's BatchNorm (release behaviour).
    """

    input_size = 299
    region_size = 17
    backbone_dim = 768
    global_backbone_dim = 2048

    def __init__(
        self,
        embedding_dim: int = 256,
        weights_path: str | os.PathLike[str] | None = None,
        pretrained: bool = True,
        align_corners: bool = True,
        backbone_train_mode: bool = False,
    ) -> None:
        super().__init__()
        # the constructor arguments: saved beside the weights (checkpoints, attngan.hub) to rebuild this network
        self.config: dict[str, Any] = {
            "embedding_dim": embedding_dim,
            "weights_path": None if weights_path is None else os.fspath(weights_path),
            "pretrained": pretrained,
            "align_corners": align_corners,
            "backbone_train_mode": backbone_train_mode,
        }
        self.embedding_dim = embedding_dim
        self.align_corners = align_corners
        self.backbone_train_mode = backbone_train_mode
        self.weights_path: str | None = None

        if pretrained:
            path = self._find_weights(weights_path)
            self.backbone = InceptionBackbone(init_weights=False)
            self._load_backbone(path)
            self.weights_path = path
        else:
            warnings.warn(
                "InceptionImageEncoder(pretrained=False): the Inception-v3 backbone has RANDOM weights. "
                "DAMSM features, losses and R-precision are meaningless unless a trained checkpoint is "
                f"loaded afterwards. Set pretrained=True and {INCEPTION_WEIGHTS_CONFIG_KEY} to use "
                "ImageNet weights.",
                UserWarning,
                stacklevel=2,
            )
            self.backbone = InceptionBackbone(init_weights=True)
        self.backbone.requires_grad_(False)
        self.backbone.eval()

        # Release names: ``emb_features`` (regions), ``emb_cnn_code`` (global).
        self.region_head = conv1x1(self.backbone_dim, embedding_dim)
        self.global_head = nn.Linear(self.global_backbone_dim, embedding_dim)
        init_head_(self.region_head)
        init_head_(self.global_head)

    @staticmethod
    def _find_weights(weights_path: str | os.PathLike[str] | None) -> str:
        path = default_inception_weights_path() if weights_path is None else os.fspath(weights_path)
        if os.path.isfile(path):
            return path
        if weights_path is None:
            path += " (torch hub cache: $TORCH_HOME/hub/checkpoints, TORCH_HOME defaults to ~/.cache/torch)"
        raise WeightsNotFoundError(
            INCEPTION_WEIGHTS_FILE, [path], INCEPTION_WEIGHTS_CONFIG_KEY, INCEPTION_WEIGHTS_SOURCE
        )

    def _load_backbone(self, path: str) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or foreign file: say which one
            raise CheckpointError(
                f"Could not read Inception-v3 weights from {path}: {err}. Expected torchvision's "
                f"{INCEPTION_WEIGHTS_FILE}; set {INCEPTION_WEIGHTS_CONFIG_KEY} to that file."
            ) from err
        if not isinstance(state, dict):
            raise CheckpointError(f"{path} does not hold a state dict (found {type(state).__name__}).")
        # The classifier and auxiliary head of torchvision's file are not used.
        state = {k: v for k, v in state.items() if not k.startswith(("AuxLogits.", "fc."))}
        result = self.backbone.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise CheckpointError(
                f"{path} is not an Inception-v3 state dict: missing {sorted(result.missing_keys)[:10]}, "
                f"unexpected {sorted(result.unexpected_keys)[:10]}. Expected torchvision's {INCEPTION_WEIGHTS_FILE}."
            )

    def train(self, mode: bool = True) -> InceptionImageEncoder:
        """Set train/eval mode on the heads; the backbone stays in eval unless ``backbone_train_mode``."""
        super().train(mode)
        if not self.backbone_train_mode:
            self.backbone.eval()
        return self

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the two heads (the backbone is frozen)."""
        yield from self.region_head.parameters()
        yield from self.global_head.parameters()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images.

        Args:
            images: ``(B, 3, H, W)`` in [-1, 1], any size (resized to 299).

        Returns:
            ``(regions (B, D, 17, 17), global (B, D))``.
        """
        if images.dim() != 4 or images.size(1) != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        x = images
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=self.align_corners
            )
        backbone_needs_graph = any(p.requires_grad for p in self.backbone.parameters())
        # No graph through the frozen backbone unless gradients must reach the images.
        with torch.set_grad_enabled(torch.is_grad_enabled() and (x.requires_grad or backbone_needs_graph)):
            mixed_6e, pooled = self.backbone(x)  # (B, 768, 17, 17), (B, 2048)
        regions = self.region_head(mixed_6e)  # (B, D, 17, 17)
        global_features = self.global_head(pooled)  # (B, D)
        return regions, global_features


class CNNImageEncoder(nn.Module):
    """Small trainable CNN with the DAMSM image-encoder interface (for CPU runs and the shapes data).

    Images are resized to ``input_size`` (bilinear) if needed, then four conv4x4 stride-2 blocks
    (``C, 2C, 4C, 8C`` channels, LeakyReLU 0.2, BatchNorm after the first). The BatchNorm layers are ordinary
    ones: batch statistics while the DAMSM trains, running statistics in eval mode, which is how the AttnGAN
    loss uses the frozen encoder. (Batch statistics at all times were tried: an image's features then depend
    on the rest of its batch, and the generator learned to exploit that — on shapes its last stage turned into
    low-contrast noise that the normalisation blew up into features matching the caption, with lambda 1 and 5.
    GroupNorm or no normalisation did not learn at all on shapes: the loss stayed at chance.) Regions come
    from the third block (``input_size / 8`` per side, 8x8 for 64) through a 1x1 conv (no bias); the global
    code from the average-pooled fourth block through a linear layer. Heads are initialised U(-0.1, 0.1).

    Args:
        embedding_dim: D, size of the region and global features.
        input_size: side the images are resized to; a multiple of 16.
        base_channels: C, width of the first block.
    """

    def __init__(self, embedding_dim: int = 256, input_size: int = 64, base_channels: int = 32) -> None:
        super().__init__()
        if input_size % 16 != 0 or input_size < 16:
            raise ValueError(f"CNNImageEncoder input_size must be a multiple of 16, got {input_size}")
        # the constructor arguments: saved beside the weights (checkpoints, attngan.hub) to rebuild this network
        self.config: dict[str, Any] = {
            "embedding_dim": embedding_dim,
            "input_size": input_size,
            "base_channels": base_channels,
        }
        self.embedding_dim = embedding_dim
        self.input_size = input_size
        self.region_size = input_size // 8
        self.base_channels = base_channels
        c = base_channels

        def block(c_in: int, c_out: int, norm: bool) -> nn.Sequential:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
            if norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            return nn.Sequential(*layers)

        self.local_features = nn.Sequential(
            block(3, c, False), block(c, 2 * c, True), block(2 * c, 4 * c, True)
        )
        self.global_features = block(4 * c, 8 * c, True)
        self.region_head = conv1x1(4 * c, embedding_dim)
        self.global_head = nn.Linear(8 * c, embedding_dim)
        init_head_(self.region_head)
        init_head_(self.global_head)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter (nothing is frozen)."""
        yield from self.parameters()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images.

        Args:
            images: ``(B, 3, H, W)`` in [-1, 1].

        Returns:
            ``(regions (B, D, input_size/8, input_size/8), global (B, D))``.
        """
        if images.dim() != 4 or images.size(1) != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        x = images
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        local = self.local_features(x)  # (B, 4C, s/8, s/8)
        pooled = F.adaptive_avg_pool2d(self.global_features(local), 1).flatten(1)  # (B, 8C)
        return self.region_head(local), self.global_head(pooled)
