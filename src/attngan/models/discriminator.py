"""One discriminator per image scale (docs/ARCHITECTURE.md "Models"; release ``model.py: D_NET64/128/256``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from attngan.errors import ConfigError
from attngan.models.blocks import Conv3x3Block, DownBlock, with_coordinates
from attngan.models.init import init_weights

SUPPORTED_IMAGE_SIZES = (16, 32, 64, 128, 256)


def discriminator_plan(image_size: int, ndf: int) -> tuple[list[int], list[int]]:
    """Channel plan of the trunk.

    Returns:
        ``(down_channels, refine_channels)``: output channels of every stride-2 block, then of every
        3x3 block, ending at ``8 * ndf`` channels and 4x4.

        - 64: ``ndf, 2ndf, 4ndf, 8ndf`` (the release's ``encode_image_by_16times``);
        - 128: + ``16ndf`` down, 3x3 ``8ndf``;
        - 256: + ``16ndf, 32ndf`` down, 3x3 ``16ndf, 8ndf``;
        - 32 / 16 (ours, for CPU-sized runs): the last three / two layers of the 64 trunk,
          ``2ndf, 4ndf, 8ndf`` / ``4ndf, 8ndf``; the first layer has no BatchNorm in every case.
    """
    if image_size == 16:
        return [4 * ndf, 8 * ndf], []
    if image_size == 32:
        return [2 * ndf, 4 * ndf, 8 * ndf], []
    if image_size == 64:
        return [ndf, 2 * ndf, 4 * ndf, 8 * ndf], []
    if image_size == 128:
        return [ndf, 2 * ndf, 4 * ndf, 8 * ndf, 16 * ndf], [8 * ndf]
    if image_size == 256:
        return [ndf, 2 * ndf, 4 * ndf, 8 * ndf, 16 * ndf, 32 * ndf], [16 * ndf, 8 * ndf]
    raise ConfigError(f"Discriminator image_size must be one of {SUPPORTED_IMAGE_SIZES}, got {image_size}")


class ConditionalHead(nn.Module):
    """Tile ē to 4x4, concat, conv3x3 + BN + LeakyReLU to 8ndf, conv 4x4 stride 4 -> logit.

    Release: ``D_GET_LOGITS(bcondition=True)`` (``jointConv``, ``outlogits.0``), without the sigmoid.
    """

    def __init__(self, ndf: int, embedding_dim: int) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.joint = Conv3x3Block(ndf * 8 + embedding_dim, ndf * 8)
        self.logits = nn.Conv2d(ndf * 8, 1, kernel_size=4, stride=4)

    def forward(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """``(B, 8ndf, 4, 4), (B, E) -> (B,)``."""
        batch = features.size(0)
        if sentence.shape != (batch, self.embedding_dim):
            raise ValueError(f"sentence must be ({batch}, {self.embedding_dim}), got {tuple(sentence.shape)}")
        tiled = sentence.view(batch, self.embedding_dim, 1, 1).expand(-1, -1, 4, 4)
        joint = self.joint(torch.cat((features, tiled), dim=1))  # (B, 8ndf, 4, 4)
        return self.logits(joint).view(batch)


class Discriminator(nn.Module):
    """Discriminator for one image scale: a trunk to ``(B, 8ndf, 4, 4)`` plus two logit heads.

    Built already initialised with :func:`~attngan.models.init.init_weights`. The heads return
    logits (no sigmoid); use BCE-with-logits.

    Args:
        image_size: 16, 32, 64, 128 or 256.
        ndf: discriminator width (DF_DIM: 64 birds, 96 COCO).
        embedding_dim: size of the DAMSM sentence vector ē the conditional head takes.
        coord_channels: CoordConv x/y channels appended to the input image (a training option; False: the release).
    """

    def __init__(
        self, image_size: int, ndf: int, embedding_dim: int = 256, coord_channels: bool = False
    ) -> None:
        super().__init__()
        down_channels, refine_channels = discriminator_plan(image_size, ndf)
        # the constructor arguments: saved beside the weights (checkpoints) to rebuild this network
        self.config: dict[str, Any] = {
            "image_size": image_size,
            "ndf": ndf,
            "embedding_dim": embedding_dim,
            "coord_channels": coord_channels,
        }
        self.image_size = image_size
        self.ndf = ndf
        self.embedding_dim = embedding_dim
        self.coord_channels = coord_channels

        in_channels = [5 if coord_channels else 3, *down_channels[:-1]]
        self.down_blocks = nn.ModuleList(
            DownBlock(c_in, c_out, batch_norm=k > 0)
            for k, (c_in, c_out) in enumerate(zip(in_channels, down_channels))
        )
        in_channels = [down_channels[-1], *refine_channels[:-1]]
        self.refine_blocks = nn.ModuleList(
            Conv3x3Block(c_in, c_out) for c_in, c_out in zip(in_channels, refine_channels)
        )
        self.unconditional_head = nn.Conv2d(ndf * 8, 1, kernel_size=4, stride=4)
        self.conditional_head = ConditionalHead(ndf, embedding_dim)
        init_weights(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Image features.

        Args:
            images: ``(B, 3, image_size, image_size)``.

        Returns:
            ``(B, 8ndf, 4, 4)``.
        """
        if images.dim() != 4 or images.shape[1:] != (3, self.image_size, self.image_size):
            raise ValueError(
                f"images must be (B, 3, {self.image_size}, {self.image_size}), got {tuple(images.shape)}"
            )
        x = with_coordinates(images) if self.coord_channels else images
        for block in self.down_blocks:
            x = block(x)
        for block in self.refine_blocks:
            x = block(x)
        return x

    def unconditional_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Realness logit: ``(B, 8ndf, 4, 4) -> (B,)``."""
        return self.unconditional_head(features).view(features.size(0))

    def conditional_logits(self, features: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Text-match logit: ``(B, 8ndf, 4, 4), ē (B, E) -> (B,)``."""
        return self.conditional_head(features, sentence)
