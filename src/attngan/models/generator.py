"""The multi-stage attentional generator (docs/ARCHITECTURE.md "Models"; release ``model.py: G_NET``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from attngan.errors import ConfigError
from attngan.models.attention import GlobalAttention
from attngan.models.blocks import GLU, ResidualBlock, UpBlock, conv3x3, with_coordinates
from attngan.models.conditioning import ConditioningAugmentation
from attngan.models.init import init_weights


@dataclass
class GeneratorOutput:
    """What :class:`Generator` returns.

    Attributes:
        images: one ``(B, 3, base_size * 2**i, base_size * 2**i)`` tensor per stage, in [-1, 1].
        attention: one ``(B, T, H_i, W_i)`` map per refinement stage (``num_stages - 1`` of them),
            H_i the feature size that stage attends from (the size of the previous stage's image).
        mu: CA mean, ``(B, condition_dim)``.
        logvar: CA log-variance, ``(B, condition_dim)``.
    """

    images: list[torch.Tensor]
    attention: list[torch.Tensor]
    mu: torch.Tensor
    logvar: torch.Tensor


class InitialStage(nn.Module):
    """Stage 0: ``[c; z]`` -> linear -> BN1d -> GLU -> ``(B, ngf * 2**n, 4, 4)`` -> n up blocks -> ngf.

    Release: ``INIT_STAGE_G`` (``fc``: 0 Linear, 1 BatchNorm1d, 2 GLU; ``upsample1..4``).

    Args:
        ngf: channels of the output features.
        input_dim: ``condition_dim + z_dim``.
        num_upsample: number of ×2 up blocks from 4x4 (4 for 64x64 images).
        coord_channels: CoordConv (a training option, not in the release): x and y channels enter every up block.
    """

    def __init__(self, ngf: int, input_dim: int, num_upsample: int, coord_channels: bool = False) -> None:
        super().__init__()
        self.coord_channels = coord_channels
        extra = 2 if coord_channels else 0
        self.top_channels = ngf * 2**num_upsample
        self.fc = nn.Linear(input_dim, self.top_channels * 4 * 4 * 2, bias=False)
        self.bn = nn.BatchNorm1d(self.top_channels * 4 * 4 * 2)
        self.glu = GLU()
        self.upsample = nn.ModuleList(
            UpBlock(ngf * 2 ** (num_upsample - k) + extra, ngf * 2 ** (num_upsample - k - 1))
            for k in range(num_upsample)
        )

    def forward(self, condition: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``(B, condition_dim), (B, z_dim) -> (B, ngf, 4 * 2**n, 4 * 2**n)``."""
        # Release order: condition first, then noise.
        x = self.glu(self.bn(self.fc(torch.cat((condition, noise), dim=1))))  # (B, top * 16)
        x = x.view(x.size(0), self.top_channels, 4, 4)
        for block in self.upsample:
            x = block(with_coordinates(x) if self.coord_channels else x)
        return x


class RefinementStage(nn.Module):
    """Stages 1..m-1: attention -> ``[h; context]`` -> residual blocks -> up block to ngf.

    Release: ``NEXT_STAGE_G`` (``att``, ``residual``, ``upsample``).

    Args:
        ngf: channels of the image features.
        embedding_dim: channels of the word features.
        num_residual: number of residual blocks (R_NUM).
    """

    def __init__(self, ngf: int, embedding_dim: int, num_residual: int) -> None:
        super().__init__()
        self.attention = GlobalAttention(ngf, embedding_dim)
        self.residual = nn.Sequential(*(ResidualBlock(ngf * 2) for _ in range(num_residual)))
        self.upsample = UpBlock(ngf * 2, ngf)

    def forward(
        self,
        hidden: torch.Tensor,
        words: torch.Tensor,
        word_mask: torch.Tensor | None,
        legacy_mask: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, ngf, H, W), (B, E, T) -> ((B, ngf, 2H, 2W), attention (B, T, H, W))``."""
        context, attention = self.attention(hidden, words, word_mask, legacy_mask=legacy_mask)
        x = torch.cat((hidden, context), dim=1)  # (B, 2ngf, H, W)
        x = self.residual(x)
        return self.upsample(x), attention


class ImageHead(nn.Module):
    """conv3x3 ``ngf -> 3`` (no bias) -> tanh. Release: ``GET_IMAGE_G`` (``img``: 0 conv, 1 Tanh)."""

    def __init__(self, ngf: int) -> None:
        super().__init__()
        self.conv = conv3x3(ngf, 3)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(B, ngf, H, W) -> (B, 3, H, W)`` in [-1, 1]."""
        return torch.tanh(self.conv(hidden))


class Generator(nn.Module):
    """AttnGAN generator: CA, stage 0, ``num_stages - 1`` attentional refinement stages, image heads.

    Built already initialised with :func:`~attngan.models.init.init_weights`.

    Args:
        num_stages: number of image scales (1, 2 = AttnGAN1, 3 = AttnGAN2).
        ngf: generator width (GF_DIM: 32 birds, 48 COCO).
        embedding_dim: size of the DAMSM word and sentence features.
        z_dim: noise size.
        condition_dim: CA condition size.
        num_residual: residual blocks per refinement stage (R_NUM: 2 birds, 3 COCO).
        legacy_attention_mask: reproduce the release's mis-tiled padding mask (for released weights).
        base_size: size of the stage-0 image, ``4 * 2**k`` with k >= 1 (64 in the paper).
        coord_channels: CoordConv x/y channels into stage 0's up blocks (a training option; False: the release).
    """

    def __init__(
        self,
        num_stages: int,
        ngf: int,
        embedding_dim: int = 256,
        z_dim: int = 100,
        condition_dim: int = 100,
        num_residual: int = 2,
        legacy_attention_mask: bool = False,
        base_size: int = 64,
        coord_channels: bool = False,
    ) -> None:
        super().__init__()
        if num_stages < 1:
            raise ConfigError(f"Generator needs num_stages >= 1, got {num_stages}")
        num_upsample = round(math.log2(base_size / 4)) if base_size >= 8 else 0
        if base_size < 8 or 4 * 2**num_upsample != base_size:
            raise ConfigError(
                f"Generator base_size must be 4 * 2**k with k >= 1 (8, 16, 32, 64, ...), got {base_size}"
            )
        # the constructor arguments: saved beside the weights (checkpoints, attngan.hub) to rebuild this network
        self.config: dict[str, Any] = {
            "num_stages": num_stages,
            "ngf": ngf,
            "embedding_dim": embedding_dim,
            "z_dim": z_dim,
            "condition_dim": condition_dim,
            "num_residual": num_residual,
            "legacy_attention_mask": legacy_attention_mask,
            "base_size": base_size,
            "coord_channels": coord_channels,
        }
        self.num_stages = num_stages
        self.ngf = ngf
        self.embedding_dim = embedding_dim
        self.z_dim = z_dim
        self.condition_dim = condition_dim
        self.num_residual = num_residual
        self.legacy_attention_mask = legacy_attention_mask
        self.base_size = base_size
        self.coord_channels = coord_channels

        self.conditioning = ConditioningAugmentation(embedding_dim, condition_dim)
        self.initial_stage = InitialStage(ngf, condition_dim + z_dim, num_upsample, coord_channels)
        self.refinement_stages = nn.ModuleList(
            RefinementStage(ngf, embedding_dim, num_residual) for _ in range(num_stages - 1)
        )
        self.image_heads = nn.ModuleList(ImageHead(ngf) for _ in range(num_stages))
        init_weights(self)

    @property
    def image_sizes(self) -> list[int]:
        """Output image size of every stage."""
        return [self.base_size * 2**i for i in range(self.num_stages)]

    def forward(
        self,
        noise: torch.Tensor,
        sentence: torch.Tensor,
        words: torch.Tensor,
        word_mask: torch.Tensor | None,
        condition_noise: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        """Generate images at every scale.

        Args:
            noise: z, ``(B, z_dim)``.
            sentence: ē, ``(B, embedding_dim)``.
            words: e, ``(B, embedding_dim, T)``.
            word_mask: ``(B, T)`` bool, True at padding (``captions == 0``).
            condition_noise: CA's ε, ``(B, condition_dim)``; ``None`` draws it from the global random state
                (training). Given z and ε, an image depends on its caption only.

        Returns:
            :class:`GeneratorOutput`.
        """
        batch = noise.size(0)
        if noise.shape != (batch, self.z_dim):
            raise ValueError(f"noise must be ({batch}, {self.z_dim}), got {tuple(noise.shape)}")
        if sentence.shape != (batch, self.embedding_dim):
            raise ValueError(f"sentence must be ({batch}, {self.embedding_dim}), got {tuple(sentence.shape)}")

        condition, mu, logvar = self.conditioning(sentence, condition_noise)
        hidden = self.initial_stage(condition, noise)
        images = [self.image_heads[0](hidden)]
        attention_maps = []
        for stage, head in zip(self.refinement_stages, self.image_heads[1:]):
            hidden, attention = stage(hidden, words, word_mask, self.legacy_attention_mask)
            images.append(head(hidden))
            attention_maps.append(attention)
        return GeneratorOutput(images=images, attention=attention_maps, mu=mu, logvar=logvar)
